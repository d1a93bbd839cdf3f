// Always visible: offline / syncing with progress / synced N minutes ago / N changes waiting,
// with "Sync now".
import { useEffect, useState } from "react";
import { api, type CommandError, type SyncStatus } from "../api";
import { syncText } from "../logic/syncText";
import { setLockCeiling } from "../screens/Settings";

export function SyncBar({ onError }: { onError: (error: unknown) => CommandError }) {
  const [status, setStatus] = useState<SyncStatus | null>(null);
  const [now, setNow] = useState(new Date());

  useEffect(() => {
    let live = true;
    const unlisten = api.onSyncStatus((next) => live && setStatus(next));
    const refresh = () => {
      api
        .syncStatus()
        .then((next) => {
          if (!live) return;
          setLockCeiling(next.idle_limit_seconds);
          setStatus(next);
          // The store locks itself when idle: stop showing the record the moment it has.
          if (!next.unlocked) onError({ code: "locked", message: "The session locked itself after being idle." });
        })
        .catch(onError);
      setNow(new Date());
    };
    refresh();
    const timer = window.setInterval(refresh, 15_000);
    return () => {
      live = false;
      window.clearInterval(timer);
      void unlisten.then((stop) => stop());
    };
  }, [onError]);

  if (!status) return <span className="sync" />;
  const line = syncText(status, now);
  return (
    <span className={`sync sync-${line.tone}`} role="status" aria-live="polite" data-testid="sync-status">
      <span className="sync-dot" aria-hidden="true" />
      <span className="sync-text">{line.text}</span>
      {status.clock_wrong && status.clock_skew_seconds !== null && (
        <span className="clock-warning" role="alert" data-testid="clock-warning">
          This device's clock is {Math.round(Math.abs(status.clock_skew_seconds) / 60)} minutes{" "}
          {status.clock_skew_seconds > 0 ? "ahead of" : "behind"} the server's: observation times come from it. Correct the
          date and time settings.
        </span>
      )}
      {status.enrolled && (
        <button
          className="small"
          disabled={status.activity.phase !== "idle"}
          onClick={() =>
            api
              .syncNow()
              .then(setStatus)
              .catch(onError)
          }
        >
          Sync now
        </button>
      )}
    </span>
  );
}
