// A new device: enrol it with the one-time code from the organisation's administrator. The PIN
// chosen here seals the device's store.
import { useState } from "react";
import { api, asCommandError, type User } from "../api";

export function Enrol({ onEnrolled }: { onEnrolled: (user: User) => void }) {
  const [server, setServer] = useState("");
  const [code, setCode] = useState("");
  const [pin, setPin] = useState("");
  const [again, setAgain] = useState("");
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    if (pin.length < 6) return setMessage("Choose a PIN of at least 6 digits.");
    if (pin !== again) return setMessage("The two PINs differ; enter the same PIN twice.");
    setBusy(true);
    setMessage(null);
    try {
      onEnrolled(await api.enrol(server, code, pin));
    } catch (error) {
      setMessage(asCommandError(error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="centre">
      <form onSubmit={submit}>
        <h1>Set up this device</h1>
        <p>Enter the sync server and the one-time code your administrator gave you.</p>
        <label htmlFor="server">Sync server</label>
        <input id="server" type="url" placeholder="https://sync.example.nhs.uk" value={server} onChange={(e) => setServer(e.target.value)} required />
        <label htmlFor="code">Enrolment code</label>
        <input id="code" value={code} onChange={(e) => setCode(e.target.value)} required autoComplete="off" />
        <label htmlFor="new-pin">Choose a PIN</label>
        <input id="new-pin" type="password" inputMode="numeric" value={pin} onChange={(e) => setPin(e.target.value)} />
        <label htmlFor="new-pin-again">The same PIN again</label>
        <input id="new-pin-again" type="password" inputMode="numeric" value={again} onChange={(e) => setAgain(e.target.value)} />
        {message && (
          <p className="error" role="alert">
            {message}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Enrolling…" : "Enrol this device"}
        </button>
      </form>
    </main>
  );
}
