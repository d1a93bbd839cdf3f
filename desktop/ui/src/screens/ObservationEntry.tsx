// Recording a set: the patient banner above it, large touch targets, numeric entry, each value
// checked by the core as it is typed, the NEWS2 total, band and required response appearing as
// values are entered, a clear warning while the set is partial, "check this value" for a rare
// value before it is saved, and "Saved" only once the store has acknowledged the set. The form is
// kept sealed in the store as it is typed, so the idle lock does not lose it.
import { type ReactNode, useEffect, useRef, useState } from "react";
import {
  api,
  type CommandError,
  type DraftForm,
  type PatientRecord,
  type Preview,
  type RestoredDraft,
  type SavedSet,
} from "../api";
import { EscalationDialog } from "../components/EscalationDialog";
import { NotApplicableNotice, News2Response, SetBadge } from "../components/News2Badge";
import { PatientBanner } from "../components/PatientBanner";
import {
  ACVPU,
  ADDITIONAL_FIELDS,
  ADDITIONAL_KEYS,
  EMPTY_FORM,
  NUMERIC_FIELDS,
  OXYGEN_DEVICES,
  URINE_PROTEIN,
  enteredCount,
  hasAdditional,
  parseForm,
  type FieldSpec,
  type Form,
} from "../logic/entry";
import { dateTime, fromUkInput, ukInputNow } from "../logic/format";

/** One typed number: its label and unit, the field, and the core's or the typing's error. */
function NumberField({
  spec,
  value,
  error,
  onChange,
  children,
}: {
  spec: FieldSpec<string>;
  value: string;
  error: string | undefined;
  onChange: (value: string) => void;
  children?: ReactNode;
}) {
  return (
    <div className={`field ${error ? "invalid" : ""}`}>
      <label htmlFor={`f-${spec.key}`}>
        {spec.label} <small>{spec.unit}</small>
      </label>
      <input
        id={`f-${spec.key}`}
        data-testid={`field-${spec.key}`}
        inputMode={spec.letters ? "text" : spec.decimals ? "decimal" : "numeric"}
        autoComplete="off"
        value={value}
        onChange={(event) => onChange(event.target.value)}
        aria-invalid={Boolean(error)}
        aria-describedby={error ? `e-${spec.key}` : undefined}
      />
      {error && (
        <p id={`e-${spec.key}`} className="field-error" role="alert">
          {error}
        </p>
      )}
      {children}
    </div>
  );
}

const FIELD_LABELS: Record<string, string> = Object.fromEntries(NUMERIC_FIELDS.map((spec) => [spec.key, spec.label]));
const FIELD_UNITS: Record<string, string> = Object.fromEntries(NUMERIC_FIELDS.map((spec) => [spec.key, spec.unit]));

export function ObservationEntry({
  record,
  draft,
  onDone,
  onError,
}: {
  record: PatientRecord;
  /** A form left when the device locked, to carry on with. */
  draft?: RestoredDraft;
  onDone: () => void;
  onError: (error: unknown) => CommandError;
}) {
  const patient = record.id;
  const name = `${record.given} ${record.family}`;
  const scale = record.spo2_scale;
  const [form, setForm] = useState<Form>(
    draft
      ? { text: draft.text, onOxygen: draft.onOxygen, consciousness: draft.consciousness }
      : EMPTY_FORM,
  );
  const [preview, setPreview] = useState<Preview | null>(null);
  // The observations beside NEWS2: folded away until asked for (one touch), open when a draft
  // already holds some.
  const [moreOpen, setMoreOpen] = useState(() => hasAdditional(form));
  // The core's reading of the record decides whether the pregnancy's observations are offered.
  const pregnant = record.pregnant_now;
  const [saving, setSaving] = useState(false);
  const [saved, setSaved] = useState<SavedSet | null>(null);
  // Empty: taken now. Otherwise the time read off a monitor or written up after the visit. A set
  // carried on after a lock was taken when it was typed, not when the device was unlocked again.
  const [takenAt, setTakenAt] = useState(
    draft ? draft.takenAt || ukInputNow(new Date(draft.savedAt)) : "",
  );
  const draftTimer = useRef<number | undefined>(undefined);
  const draftWrite = useRef<Promise<unknown>>(Promise.resolve());
  const wroteDraft = useRef(Boolean(draft));
  // Rare values the core asked to check before saving; confirmed by the second press.
  const [checking, setChecking] = useState<string[] | null>(null);
  const [escalating, setEscalating] = useState(false);
  const [escalated, setEscalated] = useState<string | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  // Milliseconds from pressing Save to "Saved" on screen, for the end-to-end benchmark.
  const saveStarted = useRef(0);
  const [saveMs, setSaveMs] = useState<number | null>(null);
  useEffect(() => {
    if (saved) setSaveMs(Math.round(performance.now() - saveStarted.current));
  }, [saved]);
  const [cancelling, setCancelling] = useState(false);
  const parsed = parseForm(form, { pregnancy: pregnant });
  const entered = enteredCount(parsed.vitals);
  // Observations beside NEWS2 with no vital sign are saved on their own, never scored.
  const besideOnly = entered === 0 && hasAdditional(form);
  const takenRead = takenAt ? fromUkInput(takenAt) : null;
  const takenIso = takenRead && "iso" in takenRead ? takenRead.iso : null;
  const takenError = takenRead && "error" in takenRead ? takenRead.error : null;
  const takenLate = takenIso !== null && Date.now() - new Date(takenIso).getTime() > 24 * 3600_000;

  useEffect(() => {
    let live = true;
    const timer = window.setTimeout(() => {
      api
        .preview(patient, parsed.vitals, takenIso)
        .then((next) => live && setPreview(next))
        .catch(onError);
    }, 80);
    return () => {
      live = false;
      window.clearTimeout(timer);
    };
    // Keyed on the set's content: a new object with the same values must not ask again.
  }, [JSON.stringify(parsed.vitals), scale, takenIso]);

  // The form as typed, sealed in the store half a second after the last change.
  useEffect(() => {
    if (saved) return;
    setChecking(null);
    const empty = Object.values(form.text).every((text) => !text) && form.onOxygen === null && form.consciousness === null && !takenAt;
    // Opening the form must not throw away a draft this screen never wrote (another patient's).
    if (empty && !wroteDraft.current) return;
    draftTimer.current = window.setTimeout(() => {
      draftTimer.current = undefined;
      const kept: DraftForm = { text: form.text as Record<string, string>, onOxygen: form.onOxygen, consciousness: form.consciousness, takenAt };
      wroteDraft.current = !empty;
      draftWrite.current = (empty ? api.discardDraft() : api.saveDraft(patient, kept)).catch(() => undefined);
    }, 500);
    return () => window.clearTimeout(draftTimer.current);
  }, [JSON.stringify(form), takenAt, saved]);

  const unusual = preview?.unusual ?? [];
  const unusualFor = (key: string) => unusual.find((u) => u.field === key)?.message;

  const coreErrors = new Map((preview?.errors ?? []).map((e) => [e.field ?? "", e.error]));
  const errorFor = (key: string) => parsed.errors[key as keyof typeof parsed.errors] ?? coreErrors.get(key);
  const blocking = Object.keys(parsed.errors).length > 0 || (preview?.errors.length ?? 0) > 0;
  // An error in the folded section opens it: Save must never be blocked by something out of sight.
  const additionalError = ADDITIONAL_KEYS.some((key) => Boolean(errorFor(key)));
  const showMore = moreOpen || additionalError;

  const save = async (confirmed: string[] = []) => {
    saveStarted.current = performance.now();
    setSaving(true);
    setFailure(null);
    // A draft write still pending or in flight must not land after the set clears the draft.
    window.clearTimeout(draftTimer.current);
    await draftWrite.current;
    try {
      const result = await api.recordObservation(patient, parsed.vitals, takenIso, confirmed);
      setChecking(null);
      setSaved(result);
    } catch (error) {
      const failed = onError(error);
      if (failed.code === "unusual-values" && failed.fields) {
        setChecking(failed.fields);
      } else {
        setFailure(failed.message);
      }
    } finally {
      setSaving(false);
    }
  };

  const setText = (key: string, value: string) =>
    setForm((current) => ({ ...current, text: { ...current.text, [key]: value } }));

  if (saved) {
    return (
      <main className="page entry">
        <PatientBanner record={record} />
        <h1 className="visually-hidden">Set saved for {name}</h1>
        <SetBadge set={saved} size="large" />
        <News2Response set={saved} takenAt={saved.taken_at} />
        <div className="saved-panel" role="status" data-testid="saved" data-save-ms={saveMs ?? undefined}>
          <h2>Saved</h2>
          <p>
            The set for {name}, taken {dateTime(saved.taken_at)}, is stored on this device. It will sync when the server
            can be reached.
          </p>
          {saved.additional.length > 0 && (
            <p data-testid="saved-additional">
              Also recorded, not part of NEWS2: {saved.additional.map((item) => `${item.label} ${item.text}`).join("; ")}
            </p>
          )}
          {saved.warnings.map((warning) => (
            <p key={warning} className="warning" role="alert">
              {warning}
            </p>
          ))}
        </div>
        {saved.escalation_prompt && !escalated && (
          <div className="escalation-prompt" role="alert" data-testid="escalation-prompt">
            <p>
              <strong>This response asks you to contact someone.</strong> Record who you called, what they said and their
              reference.
            </p>
            <button className="primary big" onClick={() => setEscalating(true)} data-testid="record-escalation">
              Record escalation
            </button>
          </div>
        )}
        {escalated && (
          <p className="saved" role="status" data-testid="escalation-saved">
            {escalated}
          </p>
        )}
        <button className={saved.escalation_prompt && !escalated ? "big" : "primary big"} onClick={onDone}>
          Back to the record
        </button>
        {escalating && (
          <EscalationDialog
            patient={patient}
            observation={saved.id}
            suggested={saved.escalation_service}
            onCancel={() => setEscalating(false)}
            onDone={(message) => {
              setEscalating(false);
              setEscalated(message);
            }}
            onError={onError}
          />
        )}
      </main>
    );
  }

  return (
    <main className="page entry">
      <PatientBanner record={record} />
      <h2>Observations for {name}</h2>
      {draft && (
        <p className="hint" data-testid="draft-restored">
          Carried on from the values you had entered before the device locked. The time taken is when you typed
          them: check it.
        </p>
      )}
      <p className="hint">
        SpO₂ {scale === 2 ? "Scale 2 (target 88–92%), as the record's clinical decision says" : "Scale 1"}.
      </p>
      <div className="field taken-at">
        <label htmlFor="taken-at">
          Time taken, UK time <small>leave empty for now; set it for a monitor reading or a set written up later</small>
        </label>
        <input
          id="taken-at"
          data-testid="taken-at"
          type="datetime-local"
          value={takenAt}
          max={ukInputNow(new Date())}
          onChange={(event) => setTakenAt(event.target.value)}
          aria-describedby="taken-at-read"
        />
        {/* The input shows the date in the device's order (12/03 may read as 12 March): the date
            in words says which day was meant. */}
        <p className="hint" id="taken-at-read" data-testid="taken-at-read">
          {takenIso ? `Taken ${dateTime(takenIso)}` : "Taken now, when you save"}
        </p>
        {takenError && (
          <p className="field-error" role="alert">
            {takenError}
          </p>
        )}
        {takenLate && (
          <p className="warning" role="alert">
            More than 24 hours ago: check the date and time.
          </p>
        )}
      </div>
      <div className="entry-grid">
        <div className="fields">
          {NUMERIC_FIELDS.map((spec) => {
            const error = errorFor(spec.key);
            return (
              <NumberField
                key={spec.key}
                spec={spec}
                value={form.text[spec.key] ?? ""}
                error={error}
                onChange={(value) => setText(spec.key, value)}
              >
                {!error && unusualFor(spec.key) && (
                  <p className="unusual" data-testid={`unusual-${spec.key}`}>
                    {unusualFor(spec.key)}
                  </p>
                )}
                {spec.key === "spo2" && (
                  <div className="segmented" role="radiogroup" aria-label="Air or oxygen">
                    {[false, true].map((oxygen) => (
                      <button
                        key={String(oxygen)}
                        role="radio"
                        data-testid={oxygen ? "on-oxygen" : "on-air"}
                        aria-checked={form.onOxygen === oxygen}
                        className={form.onOxygen === oxygen ? "chosen" : ""}
                        onClick={() => setForm((current) => ({ ...current, onOxygen: oxygen }))}
                      >
                        {oxygen ? "On oxygen" : "On air"}
                      </button>
                    ))}
                  </div>
                )}
              </NumberField>
            );
          })}
          <div className="field">
            <span className="label" id="acvpu-label">
              Consciousness (ACVPU)
            </span>
            <div className="segmented acvpu" role="radiogroup" aria-labelledby="acvpu-label">
              {ACVPU.map((level) => (
                <button
                  key={level.letter}
                  role="radio"
                  data-testid={`acvpu-${level.letter}`}
                  aria-checked={form.consciousness === level.letter}
                  className={form.consciousness === level.letter ? "chosen" : ""}
                  onClick={() => setForm((current) => ({ ...current, consciousness: level.letter }))}
                >
                  <strong>{level.letter}</strong>
                  <small>{level.word}</small>
                </button>
              ))}
            </div>
          </div>
          <section className="more-observations">
          <button
            className="disclosure"
            aria-expanded={showMore}
            aria-controls="more-observations"
            data-testid="more-observations"
            onClick={() => setMoreOpen((open) => !open)}
          >
            {showMore ? "▾" : "▸"} More observations <small>not part of NEWS2: diastolic, glucose, pain, oxygen, GCS, urine protein{pregnant ? ", fetal heart" : ""}</small>
          </button>
          {showMore && (
            <div id="more-observations" className="fields">
              {ADDITIONAL_FIELDS.filter((spec) => !spec.pregnancy || pregnant).map((spec) => (
                <NumberField
                  key={spec.key}
                  spec={spec}
                  value={form.text[spec.key] ?? ""}
                  error={errorFor(spec.key)}
                  onChange={(value) => setText(spec.key, value)}
                />
              ))}
              <div className={`field ${errorFor("oxygen_device") ? "invalid" : ""}`}>
                <label htmlFor="f-oxygen_device">Oxygen given through</label>
                <select
                  id="f-oxygen_device"
                  data-testid="field-oxygen_device"
                  value={form.text.oxygen_device ?? ""}
                  onChange={(event) => setText("oxygen_device", event.target.value)}
                >
                  <option value="">Not recorded</option>
                  {OXYGEN_DEVICES.map((device) => (
                    <option key={device.key} value={device.key}>
                      {device.word}
                    </option>
                  ))}
                </select>
                {errorFor("oxygen_device") && (
                  <p className="field-error" role="alert">
                    {errorFor("oxygen_device")}
                  </p>
                )}
              </div>
              <div className="field">
                <span className="label" id="protein-label">
                  Urine protein (dipstick)
                </span>
                <div className="segmented" role="radiogroup" aria-labelledby="protein-label">
                  {URINE_PROTEIN.map((value) => (
                    <button
                      key={value}
                      role="radio"
                      data-testid={`protein-${value}`}
                      aria-checked={form.text.urine_protein === value}
                      className={form.text.urine_protein === value ? "chosen" : ""}
                      onClick={() => setText("urine_protein", form.text.urine_protein === value ? "" : value)}
                    >
                      {value}
                    </button>
                  ))}
                </div>
              </div>
            </div>
          )}
          </section>
        </div>
        <aside className="live-score" aria-live="polite" data-testid="live-score">
          {preview && !preview.news2 && preview.not_applicable && (
            <>
              <SetBadge set={preview} size="large" />
              <NotApplicableNotice notApplicable={preview.not_applicable} />
            </>
          )}
          {besideOnly && (
            <p className="not-applicable-notice" role="note" data-testid="beside-only-notice">
              <strong>No vital signs entered.</strong> These observations are saved beside NEWS2 on their own: never scored,
              and not counted as a NEWS2 set for when the next one is due.
            </p>
          )}
          {preview?.news2 && entered > 0 && (
            <>
              <SetBadge set={preview} size="large" />
              {preview.news2.partial ? (
                <p className="partial-warning" role="alert" data-testid="partial-warning">
                  Incomplete set: {entered} of 7 parameters entered. NEWS2 has no total until all seven are recorded
                  {preview.news2.minimum_risk ? `; the values so far already mean at least ${preview.news2.minimum_risk} risk` : ""}.
                </p>
              ) : (
                <News2Response set={preview} />
              )}
            </>
          )}
          {failure && (
            <p className="error" role="alert">
              {failure}
            </p>
          )}
          {checking ? (
            <div className="unusual-check" role="alert" data-testid="unusual-check">
              <p>
                <strong>Check {checking.length === 1 ? "this value" : "these values"} before saving:</strong>
              </p>
              <ul>
                {checking.map((field) => (
                  <li key={field}>
                    {FIELD_LABELS[field] ?? field} {String(parsed.vitals[field as keyof typeof parsed.vitals] ?? "")}{" "}
                    {FIELD_UNITS[field] ?? ""}: {unusualFor(field) ?? "unusual"}
                  </li>
                ))}
              </ul>
              <button className="primary big" disabled={saving} onClick={() => void save(checking)} data-testid="confirm-unusual">
                {saving ? "Saving…" : "I have checked: save"}
              </button>
              <button onClick={() => setChecking(null)}>Go back and correct</button>
            </div>
          ) : (
            <button
              className="primary big"
              disabled={saving || blocking || (entered === 0 && !besideOnly) || takenError !== null}
              onClick={() => void save()}
              data-testid="save-observation"
            >
              {saving ? "Saving…" : besideOnly ? "Save observations" : entered < 7 ? "Save incomplete set" : "Save set"}
            </button>
          )}
          {cancelling ? (
            <div className="confirm-cancel" role="alert" data-testid="confirm-cancel">
              <p>Discard the {entered} value{entered === 1 ? "" : "s"} typed? They are not saved anywhere else.</p>
              <button
                className="danger"
                onClick={() => {
                  api.discardDraft().catch(() => undefined);
                  onDone();
                }}
              >
                Discard them
              </button>
              <button onClick={() => setCancelling(false)}>Keep typing</button>
            </div>
          ) : (
            <button
              onClick={() => {
                if (entered > 0) {
                  setCancelling(true);
                  return;
                }
                api.discardDraft().catch(() => undefined);
                onDone();
              }}
            >
              Cancel
            </button>
          )}
        </aside>
      </div>
    </main>
  );
}
