// Choose who you are, enter your PIN. A wrong PIN says how many attempts are left before the
// device wipes itself; after several, the wait before the next try is shown and counted down.
import { useEffect, useState } from "react";
import { api, asCommandError, type User } from "../api";

export function Unlock({ users, onUnlocked }: { users: User[]; onUnlocked: (user: User) => void }) {
  const [chosen, setChosen] = useState<string>(users.length === 1 ? users[0].id : "");
  const [pin, setPin] = useState("");
  const [message, setMessage] = useState<string | null>(null);
  const [waitUntil, setWaitUntil] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const [now, setNow] = useState(Date.now());

  useEffect(() => {
    if (!waitUntil) return;
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, [waitUntil]);

  const waiting = waitUntil !== null && waitUntil > now ? Math.ceil((waitUntil - now) / 1000) : 0;

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    if (!chosen || pin.length === 0 || waiting > 0) return;
    setBusy(true);
    setMessage(null);
    try {
      onUnlocked(await api.unlock(chosen, pin));
    } catch (error) {
      const failure = asCommandError(error);
      if (failure.code === "wrong-pin") {
        const unsynced = failure.unsynced_records ?? 0;
        setMessage(
          `Wrong PIN. ${failure.remaining} more wrong ${failure.remaining === 1 ? "attempt" : "attempts"} will wipe this device.` +
            (unsynced > 0
              ? ` Changes to ${unsynced} patient record${unsynced === 1 ? "" : "s"} not yet synced would be lost: if you are unsure of your PIN, ask your team lead before trying again.`
              : ""),
        );
      } else if (failure.code === "locked-out" && failure.seconds) {
        setWaitUntil(Date.now() + failure.seconds * 1000);
        setNow(Date.now());
        setMessage("Too many wrong PINs.");
      } else {
        setMessage(failure.message);
      }
      setPin("");
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="centre unlock">
      <form onSubmit={submit} aria-labelledby="unlock-title">
        <h1 id="unlock-title">Unlock Doorstep</h1>
        <fieldset>
          <legend>Who are you?</legend>
          <div className="user-list">
            {users.map((user) => (
              <label key={user.id} className={`user-choice ${chosen === user.id ? "chosen" : ""}`}>
                <input
                  type="radio"
                  name="user"
                  value={user.id}
                  checked={chosen === user.id}
                  onChange={() => setChosen(user.id)}
                />
                {user.name} <small>{user.role}</small>
              </label>
            ))}
          </div>
        </fieldset>
        <label htmlFor="pin">PIN</label>
        <input
          id="pin"
          type="password"
          inputMode="numeric"
          autoComplete="current-password"
          value={pin}
          onChange={(event) => setPin(event.target.value)}
          autoFocus
        />
        {message && (
          <p className="error" role="alert" data-testid="unlock-error">
            {message}
            {waiting > 0 && ` Try again in ${waiting} seconds.`}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy || !chosen || waiting > 0}>
          {busy ? "Unlocking…" : "Unlock"}
        </button>
      </form>
    </main>
  );
}
