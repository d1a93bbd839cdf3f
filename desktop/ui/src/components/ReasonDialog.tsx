// A decision that needs a stated reason (emergency access, entered-in-error): the confirm button
// stays disabled until a reason is written.
import { useState, type ReactNode } from "react";

export function ReasonDialog({
  id,
  title,
  children,
  confirm,
  danger = false,
  onConfirm,
  onCancel,
}: {
  id: string;
  title: string;
  children: ReactNode;
  confirm: string;
  danger?: boolean;
  onConfirm: (reason: string) => void;
  onCancel: () => void;
}) {
  const [reason, setReason] = useState("");
  return (
    <div className="dialog-backdrop">
      <form
        className="dialog"
        role="dialog"
        aria-modal="true"
        aria-labelledby={`${id}-title`}
        onKeyDown={(event) => {
          if (event.key === "Escape") onCancel();
        }}
        onSubmit={(event) => {
          event.preventDefault();
          if (reason.trim()) onConfirm(reason.trim());
        }}
      >
        <h2 id={`${id}-title`}>{title}</h2>
        {children}
        <label htmlFor={`${id}-reason`}>Reason (required)</label>
        <textarea
          id={`${id}-reason`}
          value={reason}
          onChange={(event) => setReason(event.target.value)}
          required
          // The reason is the one thing to do here: a keyboard user starts typing at once.
          autoFocus
        />
        <div className="actions">
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
          <button type="submit" className={`primary ${danger ? "danger" : ""}`} disabled={!reason.trim()}>
            {confirm}
          </button>
        </div>
      </form>
    </div>
  );
}
