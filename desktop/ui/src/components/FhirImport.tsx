// Import of a FHIR file from the GP record or the shared care record. The file is read here and
// handed whole to the core, which checks all of it before writing anything and applies it in one
// transaction; a refusal names the entry and the field. What it did is shown as the core counted
// it, with the entries it left out and the patients whose details differ from the record held.
import { useRef, useState } from "react";
import { api, type CommandError, type ImportResult } from "../api";

export function FhirImport({ onImported, onError }: { onImported: () => void; onError: (error: unknown) => CommandError }) {
  const input = useRef<HTMLInputElement>(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<ImportResult | null>(null);
  const [refusal, setRefusal] = useState<string | null>(null);

  const chosen = async (file: File | undefined) => {
    if (!file) return;
    setBusy(true);
    setRefusal(null);
    try {
      const text = await file.text();
      setResult(await api.importFhir(text));
      onImported();
    } catch (failure) {
      const error = onError(failure);
      if (error.code === "import-refused") setRefusal(error.message);
    } finally {
      setBusy(false);
      if (input.current) input.current.value = "";
    }
  };

  return (
    <>
      <label className="button file-button" data-testid="fhir-import">
        {busy ? "Importing…" : "Import FHIR file"}
        <input
          ref={input}
          type="file"
          accept=".json,application/fhir+json,application/json"
          className="visually-hidden"
          data-testid="fhir-import-file"
          disabled={busy}
          onChange={(event) => void chosen(event.target.files?.[0])}
        />
      </label>
      {(result || refusal) && (
        <div className="dialog-backdrop">
          <div
            className="dialog"
            role="dialog"
            aria-modal="true"
            aria-labelledby="import-title"
            data-testid="import-result"
            onKeyDown={(event) => {
              if (event.key === "Escape") {
                setResult(null);
                setRefusal(null);
              }
            }}
          >
            <h2 id="import-title">{refusal ? "Nothing was imported" : "FHIR file imported"}</h2>
            {refusal && (
              <p className="error" role="alert" data-testid="import-refusal">
                {refusal}
              </p>
            )}
            {result && <ImportSummary result={result} />}
            <div className="actions">
              <button
                className="primary"
                autoFocus
                onClick={() => {
                  setResult(null);
                  setRefusal(null);
                }}
              >
                Close
              </button>
            </div>
          </div>
        </div>
      )}
    </>
  );
}

function ImportSummary({ result }: { result: ImportResult }) {
  const r = result.report;
  return (
    <>
      <ul data-testid="import-counts">
        <li>
          {result.patients} patients: {r.patients_created} new, {r.patients_updated} updated, {r.patients_unchanged} unchanged
        </li>
        <li>
          Allergies and alerts: {r.entries_added} added, {r.entries_updated} updated
          {r.entries_kept > 0 && `, ${r.entries_kept} kept as recorded on this device`}
        </li>
        <li>
          Medicines and problem lists: {r.snapshots_applied} taken in (none was held, or this one is newer)
          {r.snapshots_stale > 0 && `, ${r.snapshots_stale} older than the list held and not applied`}
        </li>
      </ul>
      {r.demographics_differ_entries.length > 0 && (
        <p className="warning" data-testid="import-differ">
          Check the patients in entries {r.demographics_differ_entries.join(", ")}: their name, sex, address or GP practice
          differ from the record on this device. The record was not changed.
        </p>
      )}
      {r.skipped.length > 0 && (
        <>
          <h3>Not imported</h3>
          <ul data-testid="import-skipped">
            {r.skipped.map((skipped) => (
              <li key={skipped.entry}>
                Entry {skipped.entry} ({skipped.resource}): {skipped.reason}
              </li>
            ))}
          </ul>
        </>
      )}
    </>
  );
}
