// The app's screens and how one leads to another. Unlock first; then the caseload, a record,
// observation entry. Locks on idle and on demand; a "locked" answer from the core at any point
// returns to the unlock screen.
import { useCallback, useEffect, useRef, useState } from "react";
import { api, asCommandError, type DeviceView, type Draft, type PatientRecord, type RestoredDraft, type User } from "./api";
import { SyncBar } from "./components/SyncBar";
import { Caseload } from "./screens/Caseload";
import { Enrol } from "./screens/Enrol";
import { Incidents } from "./screens/Incidents";
import { ObservationEntry } from "./screens/ObservationEntry";
import { RecordScreen } from "./screens/Record";
import { Settings, lockMinutes } from "./screens/Settings";
import { Unlock } from "./screens/Unlock";
import { dateTime, longDate, nhsNumber } from "./logic/format";

type Screen =
  | { name: "caseload" }
  | { name: "record"; patient: string }
  | { name: "observe"; record: PatientRecord; draft?: RestoredDraft }
  | { name: "incidents"; startNew: boolean }
  | { name: "settings" };

export function App() {
  const [device, setDevice] = useState<DeviceView | null>(null);
  const [user, setUser] = useState<User | null>(null);
  const [screen, setScreen] = useState<Screen>({ name: "caseload" });
  // A new screen starts at its top: what the clinician needs first (the banner, the first field)
  // is never left scrolled away behind the fixed bars.
  useEffect(() => {
    window.scrollTo(0, 0);
  }, [screen]);
  const [loadError, setLoadError] = useState<string | null>(null);
  const lastActivity = useRef(Date.now());
  // A form left half-entered when the device locked: offered back to the same user after unlock.
  const [draft, setDraft] = useState<Draft | null>(null);
  const topbar = useRef<HTMLElement | null>(null);

  // The patient banner sticks just under the top bar, whatever height the bar wraps to.
  useEffect(() => {
    const bar = topbar.current;
    if (!bar) return;
    const measure = () => document.documentElement.style.setProperty("--topbar-h", `${bar.offsetHeight}px`);
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(bar);
    return () => observer.disconnect();
  }, [user]);

  useEffect(() => {
    if (!user) return;
    api
      .draft()
      .then(setDraft)
      .catch(() => setDraft(null));
  }, [user]);

  const refreshDevice = useCallback(async () => {
    try {
      const view = await api.device();
      setDevice(view);
      setUser(view.unlocked);
    } catch (error) {
      setLoadError(asCommandError(error).message);
    }
  }, []);

  useEffect(() => {
    void refreshDevice();
  }, [refreshDevice]);

  const lock = useCallback(async () => {
    await api.lock();
    setUser(null);
    setScreen({ name: "caseload" });
    void refreshDevice();
  }, [refreshDevice]);

  /** Any command answering "locked" (the core locks itself when idle) shows the unlock screen. */
  const onError = useCallback(
    (error: unknown) => {
      const failure = asCommandError(error);
      if (failure.code === "locked" || failure.code === "wiped") {
        setUser(null);
        void refreshDevice();
      }
      return failure;
    },
    [refreshDevice],
  );

  // Lock on idle: no touch, key or pointer for the chosen number of minutes.
  useEffect(() => {
    let toldCore = 0;
    const touch = () => {
      lastActivity.current = Date.now();
      // The store's own idle clock counts only what the person does, never background polls: tell
      // it (at most every 30 s) that someone is using the app.
      if (user && lastActivity.current - toldCore > 30_000) {
        toldCore = lastActivity.current;
        void api.userActivity().catch(() => undefined);
      }
    };
    const events = ["pointerdown", "keydown", "wheel", "touchstart"];
    events.forEach((name) => window.addEventListener(name, touch, { passive: true }));
    const timer = window.setInterval(() => {
      if (user && Date.now() - lastActivity.current > lockMinutes() * 60_000) void lock();
    }, 5_000);
    return () => {
      events.forEach((name) => window.removeEventListener(name, touch));
      window.clearInterval(timer);
    };
  }, [user, lock]);

  if (loadError) {
    return (
      <main className="centre">
        <p role="alert" className="error">
          {loadError}
        </p>
      </main>
    );
  }
  if (!device) return <main className="centre" aria-busy="true" />;
  if (!device.set_up) {
    return (
      <Enrol
        onEnrolled={(enrolled) => {
          setUser(enrolled);
          void refreshDevice();
        }}
      />
    );
  }
  if (!user) {
    return <Unlock users={device.users} onUnlocked={setUser} />;
  }

  return (
    <div className="app">
      <header className="topbar" ref={topbar}>
        <button
          className="brand"
          onClick={() => setScreen({ name: "caseload" })}
          aria-label="Doorstep: back to the caseload"
        >
          Doorstep
        </button>
        <SyncBar onError={onError} />
        <span className="who">
          {user.name} <small>({user.role})</small>
        </span>
        <button onClick={() => setScreen({ name: "settings" })}>Settings</button>
        <button onClick={() => void lock()} className="lock">
          Lock
        </button>
      </header>
      {draft && screen.name !== "observe" && (
        <div className="page">
          <section className="draft-offer" role="alert" data-testid="draft-offer">
            <p>
              <strong>Unsaved observations for {draft.patient_name}</strong> (
              {draft.nhs_number ? `NHS No. ${nhsNumber(draft.nhs_number)}` : "NHS No. not known"}
              {draft.birth_date ? `, born ${longDate(draft.birth_date)}` : ""}), entered before the device locked (
              {dateTime(draft.saved_at)}).
            </p>
            <button
              className="primary"
              data-testid="draft-continue"
              onClick={() =>
                void api
                  .record(draft.patient)
                  .then((record) => {
                    if (record.access.access === "banner-only") {
                      // Emergency access ended with the lock: open the record (and ask for access
                      // again there) before carrying on; the draft is kept meanwhile.
                      setScreen({ name: "record", patient: draft.patient });
                      return;
                    }
                    setScreen({ name: "observe", record, draft: { ...draft.form, savedAt: draft.saved_at } });
                    setDraft(null);
                  })
                  .catch(onError)
              }
            >
              Carry on with them
            </button>{" "}
            <button
              data-testid="draft-discard"
              onClick={() => {
                setDraft(null);
                api.discardDraft().catch(onError);
              }}
            >
              Discard them
            </button>
          </section>
        </div>
      )}
      {screen.name === "caseload" && (
        <Caseload
          may={user.may}
          onOpen={(patient) => setScreen({ name: "record", patient })}
          onIncidents={(startNew) => setScreen({ name: "incidents", startNew })}
          onError={onError}
        />
      )}
      {screen.name === "record" && (
        <RecordScreen
          key={screen.patient}
          patient={screen.patient}
          may={user.may}
          onObserve={(record) => setScreen({ name: "observe", record })}
          onOpen={(patient) => setScreen({ name: "record", patient })}
          onClose={() => setScreen({ name: "caseload" })}
          onError={onError}
        />
      )}
      {screen.name === "observe" && (
        <ObservationEntry
          key={screen.record.id}
          record={screen.record}
          draft={screen.draft}
          onDone={() => setScreen({ name: "record", patient: screen.record.id })}
          onError={onError}
        />
      )}
      {screen.name === "incidents" && (
        <Incidents
          may={user.may}
          startNew={screen.startNew}
          onOpen={(patient) => setScreen({ name: "record", patient })}
          onClose={() => setScreen({ name: "caseload" })}
          onError={onError}
        />
      )}
      {screen.name === "settings" && (
        <Settings
          onSwitchUser={() => void lock()}
          onClose={() => setScreen({ name: "caseload" })}
          onError={onError}
        />
      )}
    </div>
  );
}
