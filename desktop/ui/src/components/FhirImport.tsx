// Import of a FHIR file from the GP record or the shared care record. The file is read here and
// handed whole to the core, which checks all of it before writing anything and applies it in one
// transaction; a refusal names the entry and the field. What it did is shown as the core counted
// it, with the entries it left out and the patients whose details differ from the record held.
import { useRef, useState } from "react";
import { api, type CommandError, type ImportResult } from "../api";
import { nhsNumber } from "../logic/format";

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
      {result.refused.length > 0 && (
        <div className="warning" role="alert" data-testid="import-refused">
          <p>
            <strong>Not imported:</strong> the NHS number is held on this device for a patient with another date of birth
            or first name. Check with the source which patient this is.
          </p>
          <ul>
            {result.refused.map((patient) => (
              <li key={patient.entry}>
                {patient.name}, NHS {nhsNumber(patient.nhs_number)} (entry {patient.entry})
              </li>
            ))}
          </ul>
        </div>
      )}
      <ul data-testid="import-counts">
        <li>
          {result.patients} patients: {r.patients_created} new, {r.patients_updated} updated, {r.patients_unchanged} unchanged
        </li>
        <li>
          Allergies and alerts: {r.entries_added} added, {r.entries_updated} updated
          {r.entries_kept > 0 &&
            `, ${r.entries_kept} left as they are on this device (recorded here, or closed here or by an earlier import)`}
        </li>
        {r.no_known_allergies_recorded > 0 && <li>“No known allergies” recorded for {r.no_known_allergies_recorded}</li>}
        <li>
          Medicines and problem lists: {r.snapshots_applied} updated from this file
          {r.snapshots_stale > 0 && `, ${r.snapshots_stale} older than the list already held and not used`}
        </li>
      </ul>
      {result.differ.length > 0 && (
        <div className="warning" data-testid="import-differ">
          <p>
            Check these patients: their name, sex, address or GP practice in the file differ from the record on this device.
            The record was not changed.
          </p>
          <ul>
            {result.differ.map((patient) => (
              <li key={patient.entry}>
                {patient.name}, NHS {nhsNumber(patient.nhs_number)}
              </li>
            ))}
          </ul>
        </div>
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
