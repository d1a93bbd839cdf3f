// The app's commands, typed. Every call goes to the Rust core through Tauri's IPC; nothing here
// scores, validates or stores clinical data.
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";

export type CommandError = {
  code: string;
  message: string;
  remaining?: number;
  /** Patient records whose changes a wipe would lose. */
  unsynced_records?: number;
  seconds?: number;
  field?: string;
  /** Values the core asks to be checked before the set is saved. */
  fields?: string[];
};

export function asCommandError(error: unknown): CommandError {
  if (typeof error === "object" && error !== null && "code" in error && "message" in error) {
    return error as CommandError;
  }
  return { code: "internal", message: String(error) };
}

export type Risk = "low" | "low-medium" | "medium" | "high";

/** What the core permits this user's role; the core refuses anything else whatever the UI shows. */
export type May = {
  read_records: boolean;
  decide_spo2_scale: boolean;
  mark_entered_in_error: boolean;
  resolve_conflict: boolean;
  edit_care_plan: boolean;
  amend_record: boolean;
  emergency_access: boolean;
  restrict_record: boolean;
  import_records: boolean;
  register_patients: boolean;
  start_incident: boolean;
};
export type User = { id: string; name: string; role: string; may: May };

/** What an import of a FHIR file did, counted by the core; entries are numbered from 1. */
export type ImportedPatient = { entry: number; name: string; nhs_number: string };
export type ImportResult = {
  patients: number;
  /** Refused: the NHS number is held for another patient. Named as the file names them. */
  refused: ImportedPatient[];
  /** Details differ from the record held (not changed). */
  differ: ImportedPatient[];
  report: {
    patients_created: number;
    patients_updated: number;
    patients_unchanged: number;
    entries_added: number;
    entries_updated: number;
    entries_kept: number;
    snapshots_applied: number;
    snapshots_stale: number;
    no_known_allergies_recorded: number;
    demographics_differ_entries: number[];
    refused_entries: number[];
    not_held_entries: number[];
    skipped: { entry: number; resource: string; reason: string }[];
  };
};
export type DeviceView = { set_up: boolean; users: User[]; unlocked: User | null };

export type NotApplicableReason = "under-16" | "pregnant" | "postnatal";
export type NotApplicable = { reason: NotApplicableReason; message: string };

export type LatestNews2 = {
  taken_at: string;
  total: number | null;
  risk: Risk | null;
  partial: boolean;
  effective_risk: Risk | null;
  points: number;
  /** NEWS2 was not used for this set: there is no score at all. */
  not_applicable: NotApplicableReason | null;
};

export type RestrictionReason = "safeguarding" | "sexual-health" | "staff-as-patient";
/** What this user may see of a record, decided by the core. */
export type Access =
  | { access: "open" }
  | { access: "named" }
  | { access: "banner-only"; may_decide: boolean }
  | { access: "emergency"; reason: RestrictionReason; until: string };
export type NamedClinician = { device: string; name: string };
export type Candidate = NamedClinician & { role: string; you: boolean };
export type Restriction = {
  reason: RestrictionReason;
  words: string;
  clinicians: NamedClinician[];
  by: Author;
  at: string;
  disputed: boolean;
};

export type FlagKind = "dnacpr" | "respect" | "end-of-life-wishes" | "safeguarding" | "child-protection" | "other";
export type MedicationStatus = "active" | "on-hold" | "not-started" | "unknown";

export type AgeBand = "under-1" | "1-4" | "5-12" | "13-15" | "16-17" | "18-39" | "40-64" | "65-79" | "80+" | "unknown";
export type AgeGroup = "adult" | "child";
/** A record started for a patient no one had identified: its temporary identity, as the core words it. */
export type IncidentView = {
  reference: string;
  place: string;
  description: string;
  age_band: AgeBand;
  age_band_words: string;
  estimated_age: number | null;
  /** Adult or child: what NEWS2's use rests on until a date of birth is known. */
  age_group: AgeGroup;
  started: string;
  occurred_at: string | null;
  by: Author;
  temporary_name: string;
};
export type IncidentForm = {
  reference: string;
  place: string;
  description: string;
  sex: "female" | "male" | "other" | "unknown";
  age_band: AgeBand;
  estimated_age: number | null;
  stated_group: AgeGroup | null;
  /** When it happened or began, where known (not when the record is started). */
  occurred_at: string | null;
};
export type IdentificationSource = "patient" | "relative-or-carer" | "document" | "police" | "care-record" | "other";
/** Who identified an incident's patient, how they knew and when; no number: withdrawn. */
export type Identification = { nhs_number: string | null; source: IdentificationSource | null; by: Author; at: string };

/** A registered patient an NHS number would link an incident to. */
export type IdentifyMatch = {
  id: string;
  display_name: string;
  birth_date: string | null;
  sex: string;
  /** Where the record disagrees with what was recorded on scene (sex, age), in the core's words. */
  mismatches: string[];
};

export type Summary = {
  id: string;
  /** Null for an incident record not yet identified. */
  nhs_number: string | null;
  /** "FAMILY, Given", or an incident's temporary name. */
  display_name: string;
  incident: IncidentView | null;
  given: string;
  family: string;
  /** Null for an incident record. */
  birth_date: string | null;
  latest_news2: LatestNews2 | null;
  flags: FlagKind[];
  allergies: string[];
  conflicts: boolean;
  /** When the next set is due by the protocol, if it counts one down. */
  next_due: string | null;
  overdue: boolean;
  /** The due time comes from a set that asks for continuous monitoring. */
  continuous: boolean;
  /** The risk the caseload was ordered by; "unknown" ranks above low. */
  rank_risk: Risk | "unknown";
  last_observed: string | null;
  /** NEWS2 does not apply to this patient today. */
  news2_not_applicable: NotApplicable | null;
  /** Another patient on the device shares this family name. */
  similar_name: boolean;
  access: Access;
};

export type News2 = {
  total: number | null;
  risk: Risk | null;
  partial: boolean;
  missing: string[];
  scores: Record<string, number>;
  monitoring: string;
  response: string;
  lower_bound: number | null;
  minimum_risk: Risk | null;
  spo2_scale: number;
  algorithm: string;
};

export type Author = { user: string; role: string; device: string };
export type Recorded = { by: Author; at: string };
export type EnteredInError = { reason: string; by: Author; at: string };

export type Vitals = {
  respiration_rate?: number;
  spo2?: number;
  on_oxygen?: boolean;
  systolic_bp?: number;
  pulse?: number;
  consciousness?: string;
  temperature?: number;
  /** Recorded beside NEWS2 and never scored. */
  diastolic_bp?: number;
  /** mmol/L, or "HI" / "LO" as the meter shows. */
  blood_glucose?: number | string;
  pain_score?: number;
  oxygen_device?: string;
  oxygen_flow?: number;
  /** 1–4, or "C" (eyes closed by swelling). */
  gcs_eye?: number | string;
  /** 1–5, or "T" (intubated or tracheostomy). */
  gcs_verbal?: number | string;
  gcs_motor?: number;
  fetal_heart_rate?: number;
  urine_protein?: string;
};

/** An observation recorded beside NEWS2, as the core words it: after its label in a list
 *  ("GCS", "13 (E3 V4 M6)"), and short for a chart column ("13"). */
export type AdditionalShown = { field: string; label: string; text: string; short: string };

/** The response shown when a set was saved, in the organisation's protocol's words. */
export type ShownResponse = {
  protocol: string;
  version: number;
  setting: "community" | "ambulance" | "hospital";
  text: string;
  monitoring: string;
  ceiling_of_care: string[];
  /** False where these are the current protocol's words, not the ones stored with the set. */
  stored: boolean;
};

/** A set as the core scored it: a NEWS2 result, or none with the reason. */
export type SetView = {
  news2: News2 | null;
  not_applicable: NotApplicable | null;
  response: ShownResponse | null;
  next_due: string | null;
  /** Scored when the record was read (its birth date or pregnancy status changed since). */
  scored_on_reading: boolean;
  escalation_prompt: boolean;
  /** The service the response's setting names first, decided by the core. */
  escalation_service: EscalationService | null;
  /** Values outside their usual range: to check before saving. */
  unusual: Unusual[];
  /** Unusual values the author checked and confirmed when saving. */
  confirmed_unusual: string[];
  /** Observations recorded with the set, never part of its score. */
  additional: AdditionalShown[];
  /** Observations beside NEWS2 recorded on their own: no vital sign, nothing for NEWS2. */
  beside_only: boolean;
};

export type Unusual = { field: string; message: string };

export type Observation = SetView & {
  id: string;
  taken_at: string;
  author: Author;
  vitals: Vitals;
  entered_in_error: EnteredInError | null;
};

export type EscalationService = "999" | "111" | "gp" | "ucr" | "spa" | "maternity-triage" | "other";

export type EscalationEntry = {
  id: string;
  service: EscalationService;
  at: string;
  outcome: string;
  reference: string | null;
  sbar: string | null;
  observation: string | null;
  recorded: Recorded;
};

export type MaternityEntry = {
  status: "pregnant" | "postnatal" | "none";
  expected_delivery?: string;
  delivered?: string;
  by: Author;
  at: string;
};

export type Entry<T> = T & { id: string; recorded: Recorded; status: string };

export type PatientRecord = {
  id: string;
  nhs_number: string | null;
  display_name: string;
  incident: IncidentView | null;
  /** Other records of the same patient (an identified incident), whose entries are shown here. */
  linked: { id: string; incident: IncidentView | null; restricted: boolean; identification: Identification | null }[];
  identification: Identification | null;
  given: string;
  family: string;
  birth_date: string | null;
  sex: string;
  address: { lines: string[]; town: string; postcode: string } | null;
  gp_practice: { ods_code: string; name: string } | null;
  contacts: { name: string; relationship: string; phone: string }[];
  conflicts: { field: string; values: unknown[] }[];
  /** `description` is the core's words for the allergy, saying what the source left out. */
  allergies: Entry<{ substance: string; reaction: string; severity: string; description: string }>[];
  flags: Entry<{ kind: FlagKind; detail: string }>[];
  spo2_scale_decision: unknown | null;
  /** `description` is the core's words for each medicine, with its status where not simply taken now. */
  medications: {
    source: string;
    as_of: string;
    items: { name: string; dose: string; frequency: string; status?: MedicationStatus; description: string }[];
  } | null;
  problems: { source: string; as_of: string; items: string[] } | null;
  care_plan: string;
  care_plan_edited: Recorded | null;
  notes: { id: string; text: string; recorded: Recorded; entered_in_error: EnteredInError | null }[];
  observations: Observation[];
  maternity: MaternityEntry | null;
  escalations: EscalationEntry[];
  news2_not_applicable_now: NotApplicable | null;
  /** The core's reading of the record: pregnant now (the fetal heart is recorded only then). */
  pregnant_now: boolean;
  ceiling_of_care: string[];
  sync: { last_sync: string | null; unsynced_changes: boolean; enrolled: boolean };
  /** Team members by device, from the admin-signed roster. */
  authors: Record<string, { name: string; role: string }>;
  spo2_scale: number;
  spo2_scale_review: { reason: "disputed" | "not-by-a-clinician"; message: string } | null;
  allergy_status:
    | { status: "recorded" }
    | { status: "no-known-allergies"; by: Author; at: string }
    | { status: "not-recorded" };
  medications_out_of_date: boolean;
  medicines_review_days: number;
  similar_name: boolean;
  /** Other registered records on the device holding this NHS number: not read together. */
  shares_nhs_number: number;
  /** The other patients on the device with this family name. */
  similar_to: { given: string; family: string; birth_date: string | null }[];
  /** "banner-only": the record holds the banner's contents and nothing else. */
  access: Access;
  restriction: Restriction | null;
};

/** The observation form as typed, kept sealed by the core across the idle lock. */
export type DraftForm = { text: Record<string, string>; onOxygen: boolean | null; consciousness: string | null; takenAt: string };
/** A draft as offered back: the form and when it was last saved. */
export type RestoredDraft = DraftForm & { savedAt: string };
export type Draft = {
  patient: string;
  patient_name: string;
  nhs_number: string | null;
  birth_date: string | null;
  saved_at: string;
  form: DraftForm;
};

export type Preview = SetView & { errors: { error: string; field: string | null }[] };
export type SavedSet = SetView & { id: string; taken_at: string; warnings: string[] };

export type SyncActivity =
  | { phase: "idle" }
  | { phase: "uploading"; done: number; total: number }
  | { phase: "downloading"; received: number };

export type SyncStatus = {
  unlocked: boolean;
  enrolled: boolean;
  server: string | null;
  activity: SyncActivity;
  last_sync: string | null;
  pending: number;
  last_attempt_at: string | null;
  error_code: string | null;
  error: string | null;
  /** Colleagues' changes held back until what they need arrives. */
  waiting: number;
  /** The organisation's idle limit: the app's own lock may be sooner, never later. */
  idle_limit_seconds: number | null;
  /** This device's clock minus the server's at the last sync, in seconds. */
  clock_skew_seconds: number | null;
  clock_wrong: boolean;
  /** The NEWS2 response protocol in use. */
  protocol: string | null;
};

/** What the crew adds to an ATMIST handover that the record does not hold. */
export type AtmistForm = { injuries: string | null; treatment: string | null; eta: string | null; requirements: string | null };
/** A crew's handover at the door, as the core writes it: a line per heading, and its length aloud. */
export type Atmist = {
  lines: { letter: string; heading: string; text: string }[];
  words: number;
  seconds_aloud: number;
};

export type EscalationForm = {
  service: EscalationService;
  at: string | null;
  outcome: string;
  reference: string;
  sbar: string;
  observation: string | null;
};

export type Band = { from: number; to: number; score: number };
export type ParameterBands = { parameter: string; unit: string; bands: Band[]; note: string | null };

export const api = {
  device: () => invoke<DeviceView>("device"),
  unlock: (user: string, pin: string) => invoke<User>("unlock", { user, pin }),
  lock: () => invoke<void>("lock"),
  userActivity: () => invoke<void>("user_activity"),
  enrol: (server: string, code: string, pin: string) => invoke<User>("enrol", { server, code, pin }),
  caseload: (query: string, byRisk: boolean) => invoke<Summary[]>("caseload", { query, byRisk }),
  record: (patient: string) => invoke<PatientRecord>("record", { patient }),
  incidents: () => invoke<Summary[]>("incidents"),
  startIncident: (form: IncidentForm) => invoke<string>("start_incident", { form }),
  identifyPreview: (patient: string, nhs: string) => invoke<IdentifyMatch[]>("identify_preview", { patient, nhs }),
  identifyIncident: (patient: string, nhs: string, source: IdentificationSource) =>
    invoke<string>("identify_incident", { patient, nhs, source }),
  withdrawIdentification: (patient: string) => invoke<void>("withdraw_identification", { patient }),
  emergencyAccess: (patient: string, reason: string) =>
    invoke<PatientRecord>("emergency_access", { patient, reason }),
  restrictionCandidates: () => invoke<Candidate[]>("restriction_candidates"),
  restrictRecord: (patient: string, reason: RestrictionReason, clinicians: NamedClinician[]) =>
    invoke<void>("restrict_record", { patient, reason, clinicians }),
  liftRestriction: (patient: string) => invoke<void>("lift_restriction", { patient }),
  handover: (patient: string, to: string | null, atmist: AtmistForm | null = null) =>
    invoke<{ text: string; document: unknown; atmist: Atmist; atmist_text: string }>("handover", { patient, to, atmist }),
  saveHandover: (patient: string, to: string | null) => invoke<{ path: string }>("save_handover", { patient, to }),
  importFhir: (text: string) => invoke<ImportResult>("import_fhir", { text }),
  preview: (patient: string, vitals: Vitals, takenAt: string | null) =>
    invoke<Preview>("preview_observation", { patient, vitals, takenAt }),
  recordObservation: (patient: string, vitals: Vitals, takenAt: string | null, confirmUnusual: string[] = []) =>
    invoke<SavedSet>("record_observation", { patient, vitals, takenAt, confirmUnusual }),
  resolveConflict: (patient: string, field: string, choice: { keep: unknown } | { value: unknown }) =>
    invoke<void>("resolve_conflict", {
      patient,
      field,
      keep: "keep" in choice ? choice.keep : null,
      value: "value" in choice ? choice.value : null,
    }),
  decideScale: (patient: string, scale: number, note: string) => invoke<void>("decide_scale", { patient, scale, note }),
  confirmNoKnownAllergies: (patient: string) => invoke<void>("confirm_no_known_allergies", { patient }),
  saveDraft: (patient: string, form: DraftForm) => invoke<void>("save_draft", { patient, form }),
  draft: () => invoke<Draft | null>("draft"),
  discardDraft: () => invoke<void>("discard_draft"),
  setMaternity: (patient: string, status: string, date: string | null) =>
    invoke<void>("set_maternity", { patient, status, date }),
  escalate: (patient: string, form: EscalationForm) =>
    invoke<string>("escalate", {
      patient,
      service: form.service,
      at: form.at,
      outcome: form.outcome,
      reference: form.reference,
      sbar: form.sbar,
      observation: form.observation,
    }),
  enteredInError: (observation: string, reason: string) =>
    invoke<void>("entered_in_error", { observation, reason }),
  addNote: (patient: string, text: string) => invoke<void>("add_note", { patient, text }),
  setCarePlan: (patient: string, text: string) => invoke<void>("set_care_plan", { patient, text }),
  syncStatus: () => invoke<SyncStatus>("sync_status"),
  syncNow: () => invoke<SyncStatus>("sync_now"),
  chartBands: (scale: number) => invoke<ParameterBands[]>("chart_bands", { scale }),
  onSyncStatus: (handler: (status: SyncStatus) => void): Promise<UnlistenFn> =>
    listen<SyncStatus>("sync-status", (event) => handler(event.payload)),
};
