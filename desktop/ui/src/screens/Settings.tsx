// Settings: the lock timeout, the server this device syncs with, switching user.
import { useEffect, useState } from "react";
import { api, type CommandError, type SyncStatus } from "../api";

const LOCK_KEY = "doorstep.lockMinutes";
const LOCK_CHOICES = [1, 2, 5, 10];
/** The organisation's idle limit, in minutes, as the core last reported it. */
let ceilingMinutes = Infinity;

/** Records the organisation's idle limit from a sync status: the app never locks later. */
export function setLockCeiling(seconds: number | null) {
  if (seconds !== null && seconds > 0) ceilingMinutes = seconds / 60;
}

/** Minutes of no activity before the app locks: the choice (5 unless chosen), never past the
 * organisation's limit. */
export function lockMinutes(): number {
  const stored = Number(window.localStorage.getItem(LOCK_KEY));
  const chosen = LOCK_CHOICES.includes(stored) ? stored : 5;
  return Math.min(chosen, ceilingMinutes);
}

export function Settings({
  onSwitchUser,
  onClose,
  onError,
}: {
  onSwitchUser: () => void;
  onClose: () => void;
  onError: (error: unknown) => CommandError;
}) {
  const [minutes, setMinutes] = useState(lockMinutes());
  const [status, setStatus] = useState<SyncStatus | null>(null);
  useEffect(() => {
    api
      .syncStatus()
      .then((next) => {
        setLockCeiling(next.idle_limit_seconds);
        setStatus(next);
      })
      .catch(onError);
  }, [onError]);

  return (
    <main className="page settings">
      <h1>Settings</h1>
      <section>
        <h2>Lock when idle</h2>
        <div className="segmented" role="radiogroup" aria-label="Lock after">
          {LOCK_CHOICES.map((choice) => (
            <button
              key={choice}
              role="radio"
              disabled={status?.idle_limit_seconds != null && choice * 60 > status.idle_limit_seconds}
              aria-checked={minutes === choice}
              className={minutes === choice ? "chosen" : ""}
              onClick={() => {
                window.localStorage.setItem(LOCK_KEY, String(choice));
                setMinutes(choice);
              }}
            >
              {choice} min
            </button>
          ))}
        </div>
        <p className="hint">
          {status?.idle_limit_seconds != null
            ? `Your organisation locks this device after ${Math.round(status.idle_limit_seconds / 60)} minutes without use, whatever is chosen here.`
            : "The device also locks itself after a limit set by your organisation."}
        </p>
      </section>
      <section>
        <h2>Sync</h2>
        <p>{status?.enrolled ? `This device syncs with ${status.server}.` : "This device is not enrolled for sync."}</p>
        {status?.error && <p className="error">{status.error}</p>}
      </section>
      <section>
        <h2>Users</h2>
        <button onClick={onSwitchUser}>Lock and switch user</button>
      </section>
      <button onClick={onClose}>Back to the caseload</button>
    </main>
  );
}
