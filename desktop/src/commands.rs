//! The app's commands: thin wrappers over the core's facade. Each runs on a blocking thread (the
//! store is synchronous and durable writes wait for the disk), never on the UI's thread, and
//! returns JSON the UI renders as it is. Scoring, validation, audit and storage all happen in the
//! core; nothing here computes a clinical value.

use std::sync::Arc;

use doorstep_core::news2::{self, ResponseProtocol};
use doorstep_core::patient::MaternityStatus;
use doorstep_core::permission::Action;
use doorstep_core::store::{
    Device, Escalation, EscalationService, NamedClinician, Resolution, RestrictionReason, Session,
};
use doorstep_core::vitals::{Spo2Scale, VitalsInput};
use doorstep_core::{ObservationId, PatientId, view};
use serde::Serialize;
use serde_json::{Value, json};
use tauri::{AppHandle, State};

use crate::error::{CommandError, CommandResult};
use crate::state::AppState;
use crate::sync_engine;

type AppStateRef<'a> = State<'a, Arc<AppState>>;

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> CommandResult<T> + Send + 'static,
) -> CommandResult<T> {
    tauri::async_runtime::spawn_blocking(work)
        .await
        .map_err(|_| CommandError::new("internal", "the app failed to finish that; try again"))?
}

fn patient_id(text: &str) -> CommandResult<PatientId> {
    text.parse()
        .map_err(|_| CommandError::bad_input("that patient id is not valid"))
}

#[derive(Debug, Serialize)]
pub struct UserView {
    id: String,
    name: String,
    role: String,
    /// What the core permits this role, so the UI offers only what will be accepted (the core
    /// still refuses anything else).
    may: MayView,
}

#[derive(Debug, Serialize)]
pub struct MayView {
    read_records: bool,
    decide_spo2_scale: bool,
    mark_entered_in_error: bool,
    resolve_conflict: bool,
    edit_care_plan: bool,
    amend_record: bool,
    emergency_access: bool,
    restrict_record: bool,
    import_records: bool,
    register_patients: bool,
    start_incident: bool,
}

#[derive(Debug, Serialize)]
pub struct DeviceView {
    /// False until the device is enrolled (or set up) here.
    set_up: bool,
    users: Vec<UserView>,
    unlocked: Option<UserView>,
}

fn user_view(user: &doorstep_core::store::UserInfo) -> UserView {
    UserView {
        id: user.id.to_string(),
        name: user.name.clone(),
        role: user.role.key().to_owned(),
        may: MayView {
            read_records: user.role.may(Action::ReadRecords),
            decide_spo2_scale: user.role.may(Action::DecideSpo2Scale),
            mark_entered_in_error: user.role.may(Action::MarkEnteredInError),
            resolve_conflict: user.role.may(Action::ResolveConflict),
            edit_care_plan: user.role.may(Action::EditCarePlan),
            amend_record: user.role.may(Action::AmendRecord),
            emergency_access: user.role.may(Action::EmergencyAccess),
            restrict_record: user.role.may(Action::RestrictRecord),
            import_records: user.role.may(Action::ImportRecords),
            register_patients: user.role.may(Action::RegisterPatient),
            start_incident: user.role.may(Action::StartIncident),
        },
    }
}

/// Who can unlock this device, and who has.
#[tauri::command]
pub async fn device(state: AppStateRef<'_>) -> CommandResult<DeviceView> {
    let state = Arc::clone(&state);
    blocking(move || {
        let device = match Device::open_in(&state.data_dir, crate::key_store()) {
            Ok(device) => device,
            Err(doorstep_core::store::StoreError::NotInitialised) => {
                return Ok(DeviceView {
                    set_up: false,
                    users: Vec::new(),
                    unlocked: None,
                });
            }
            Err(error) => return Err(error.into()),
        };
        Ok(DeviceView {
            set_up: true,
            users: device.users()?.iter().map(user_view).collect(),
            unlocked: state.current().map(|session| user_view(session.user())),
        })
    })
    .await
}

/// Unlocks the store for a user with their PIN; then syncs in the background.
#[tauri::command]
pub async fn unlock(
    app: AppHandle,
    state: AppStateRef<'_>,
    user: String,
    pin: String,
) -> CommandResult<UserView> {
    let state = Arc::clone(&state);
    let session = blocking({
        let state = Arc::clone(&state);
        move || {
            let device = Device::open_in(&state.data_dir, crate::key_store())?;
            let user = user
                .parse()
                .map_err(|_| CommandError::bad_input("choose a user"))?;
            Ok(Arc::new(device.unlock(user, &pin)?))
        }
    })
    .await?;
    let view = user_view(session.user());
    state.set_session(Some(session));
    sync_engine::wake(&app);
    Ok(view)
}

/// Locks now: the key is zeroised and the unlock screen shows.
#[tauri::command]
pub async fn lock(state: AppStateRef<'_>) -> CommandResult<()> {
    state.set_session(None);
    Ok(())
}

/// The person is using the app (reading, scrolling, typing) though no other command ran: the
/// store's idle clock restarts. Background polls never call this, so they cannot keep a record
/// unlocked on an unattended tablet.
#[tauri::command]
pub async fn user_activity(state: AppStateRef<'_>) -> CommandResult<()> {
    let state = Arc::clone(&state);
    blocking(move || match state.current() {
        Some(session) => Ok(session.touch()?),
        None => Ok(()),
    })
    .await
}

/// Enrols this device with a code from the organisation's administrator, creating its store.
#[tauri::command]
pub async fn enrol(
    app: AppHandle,
    state: AppStateRef<'_>,
    server: String,
    code: String,
    pin: String,
) -> CommandResult<UserView> {
    let state = Arc::clone(&state);
    let session = blocking({
        let state = Arc::clone(&state);
        move || {
            Ok(Arc::new(doorstep_transport::enrol_in(
                &state.data_dir,
                server.trim(),
                code.trim(),
                &pin,
                crate::key_store(),
            )?))
        }
    })
    .await?;
    let view = user_view(session.user());
    state.set_session(Some(session));
    sync_engine::wake(&app);
    Ok(view)
}

async fn with_session<T: Send + 'static>(
    state: &AppStateRef<'_>,
    work: impl FnOnce(&Session, &ResponseProtocol) -> CommandResult<T> + Send + 'static,
) -> CommandResult<T> {
    let state = Arc::clone(state);
    blocking(move || {
        let session = state.session()?;
        // The organisation's signed protocol, as the core scores with it.
        let protocol = session.protocol()?;
        work(&session, &protocol)
    })
    .await
}

/// A change to the store, then a sync soon: every write leaves the device as soon as there is
/// signal.
async fn changing<T: Send + 'static>(
    app: &AppHandle,
    state: &AppStateRef<'_>,
    work: impl FnOnce(&Session, &ResponseProtocol) -> CommandResult<T> + Send + 'static,
) -> CommandResult<T> {
    let out = with_session(state, work).await?;
    sync_engine::wake(app);
    Ok(out)
}

/// The caseload: everyone on the device, most urgent first or by name; or those matching a
/// search by name or NHS number.
#[tauri::command]
pub async fn caseload(
    state: AppStateRef<'_>,
    query: Option<String>,
    by_risk: bool,
) -> CommandResult<Vec<Value>> {
    with_session(&state, move |session, _| {
        Ok(view::caseload_json(
            session,
            query.as_deref().unwrap_or_default(),
            by_risk,
            chrono::Utc::now(),
        )?)
    })
    .await
}

/// This device's incident records, newest first.
#[tauri::command]
pub async fn incidents(state: AppStateRef<'_>) -> CommandResult<Vec<Value>> {
    with_session(&state, move |session, _| {
        Ok(view::incidents_json(session, chrono::Utc::now())?)
    })
    .await
}

/// What the "New incident" form sent: the temporary identity of a patient no one has identified.
#[derive(serde::Deserialize)]
pub struct IncidentForm {
    reference: String,
    place: String,
    description: String,
    sex: doorstep_core::patient::Sex,
    age_band: doorstep_core::incident::AgeBand,
    estimated_age: Option<u8>,
    stated_group: Option<doorstep_core::incident::AgeGroup>,
    occurred_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl std::fmt::Debug for IncidentForm {
    // What the crew typed describes the patient.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IncidentForm(<redacted>)")
    }
}

impl std::fmt::Debug for AtmistForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AtmistForm(<redacted>)")
    }
}

/// Starts an incident record; returns its id.
#[tauri::command]
pub async fn start_incident(
    app: AppHandle,
    state: AppStateRef<'_>,
    form: IncidentForm,
) -> CommandResult<String> {
    changing(&app, &state, move |session, _| {
        let id = session.start_incident(&doorstep_core::incident::NewIncident {
            reference: form.reference,
            place: form.place,
            description: form.description,
            sex: form.sex,
            age_band: form.age_band,
            estimated_age: form.estimated_age,
            stated_group: form.stated_group,
            occurred_at: form.occurred_at,
        })?;
        Ok(id.to_string())
    })
    .await
}

fn nhs_number(text: &str) -> CommandResult<doorstep_core::NhsNumber> {
    doorstep_core::NhsNumber::parse(text)
        .map_err(|error| CommandError::bad_input(error.to_string()))
}

/// Who an NHS number would link an incident to, for the clinician to confirm before anything
/// changes.
#[tauri::command]
pub async fn identify_preview(
    state: AppStateRef<'_>,
    patient: String,
    nhs: String,
) -> CommandResult<Vec<Value>> {
    with_session(&state, move |session, _| {
        Ok(view::identify_preview_json(
            session,
            patient_id(&patient)?,
            nhs_number(&nhs)?,
        )?)
    })
    .await
}

/// Records the NHS number of an incident's patient, once confirmed; returns the id of the
/// record now shown (the registered patient's where the device holds one).
#[tauri::command]
pub async fn identify_incident(
    app: AppHandle,
    state: AppStateRef<'_>,
    patient: String,
    nhs: String,
    source: doorstep_core::incident::IdentificationSource,
) -> CommandResult<String> {
    changing(&app, &state, move |session, _| {
        let incident = patient_id(&patient)?;
        let identified = session.identify_incident(incident, nhs_number(&nhs)?, Some(source))?;
        Ok(identified.record_to_show(incident).to_string())
    })
    .await
}

/// Withdraws a wrong identification of an incident's patient: read apart again.
#[tauri::command]
pub async fn withdraw_identification(
    app: AppHandle,
    state: AppStateRef<'_>,
    patient: String,
) -> CommandResult<()> {
    changing(&app, &state, move |session, _| {
        session.withdraw_identification(patient_id(&patient)?)?;
        Ok(())
    })
    .await
}

/// One record, opened (and audited) as a view; a record restricted to others shows its banner
/// only (`access` says which).
#[tauri::command]
pub async fn record(state: AppStateRef<'_>, patient: String) -> CommandResult<Value> {
    with_session(&state, move |session, protocol| {
        Ok(view::record_view_json(
            session,
            patient_id(&patient)?,
            protocol,
        )?)
    })
    .await
}

fn handover_options(
    session: &Session,
    protocol: &doorstep_core::news2::ResponseProtocol,
    to: Option<String>,
) -> CommandResult<doorstep_fhir::HandoverOptions> {
    let user = session.user();
    Ok(doorstep_fhir::HandoverOptions {
        by: format!("{} ({})", user.name, user.role.words()),
        to,
        at: chrono::Utc::now(),
        names: session
            .team_members()?
            .into_iter()
            .map(|member| (member.device, member.user))
            .collect(),
        medicines_review_days: protocol.medicines_review_days,
    })
}

/// What a crew adds to an ATMIST handover that the record does not hold.
#[derive(Default, serde::Deserialize)]
pub struct AtmistForm {
    injuries: Option<String>,
    treatment: Option<String>,
    eta: Option<String>,
    requirements: Option<String>,
}

/// The handover for whoever takes the patient on: the words to read aloud or print, and the same
/// as a FHIR document. Audited as an export, with to whom.
#[tauri::command]
pub async fn handover(
    state: AppStateRef<'_>,
    patient: String,
    to: Option<String>,
    atmist: Option<AtmistForm>,
) -> CommandResult<Value> {
    with_session(&state, move |session, protocol| {
        let to = to
            .map(|to| to.trim().to_owned())
            .filter(|to| !to.is_empty());
        let purpose = match &to {
            Some(to) => format!("handover to {to}"),
            None => "handover".to_owned(),
        };
        let record = session.export_record_for(patient_id(&patient)?, &purpose)?;
        let options = handover_options(session, protocol, to)?;
        let atmist = atmist.unwrap_or_default();
        let at_the_door = doorstep_fhir::atmist(
            &record,
            &doorstep_fhir::AtmistOptions {
                at: options.at,
                injuries: atmist.injuries,
                treatment: atmist.treatment,
                eta: atmist.eta,
                requirements: atmist.requirements,
            },
        );
        Ok(json!({
            "text": doorstep_fhir::handover_text(&record, &options),
            "document": doorstep_fhir::handover_document(&record, &options),
            "atmist": at_the_door,
            "atmist_text": at_the_door.text(),
        }))
    })
    .await
}

/// Saves the handover as a FHIR document file for the receiving system, in the organisation's
/// export folder (`DOORSTEP_EXPORT_DIR`, else the user's downloads folder, under `Doorstep`). The
/// file name carries the time and a random id, never the patient. Audited as an export.
#[tauri::command]
pub async fn save_handover(
    app: tauri::AppHandle,
    state: AppStateRef<'_>,
    patient: String,
    to: Option<String>,
) -> CommandResult<Value> {
    let folder = match std::env::var_os("DOORSTEP_EXPORT_DIR") {
        Some(dir) => std::path::PathBuf::from(dir),
        None => tauri::Manager::path(&app)
            .download_dir()
            .map_err(|_| {
                CommandError::new(
                    "no-export-folder",
                    "this device has no downloads folder: ask your administrator to set DOORSTEP_EXPORT_DIR",
                )
            })?
            .join("Doorstep"),
    };
    with_session(&state, move |session, protocol| {
        let to = to
            .map(|to| to.trim().to_owned())
            .filter(|to| !to.is_empty());
        let purpose = match &to {
            Some(to) => format!("handover saved as a FHIR file for {to}"),
            None => "handover saved as a FHIR file".to_owned(),
        };
        let record = session.export_record_for(patient_id(&patient)?, &purpose)?;
        let document = doorstep_fhir::handover_document(&record, &handover_options(session, protocol, to)?);
        let now = chrono::Utc::now();
        let name = format!(
            "handover-{}-{}.json",
            now.format("%Y%m%d-%H%M%S"),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let write = || -> std::io::Result<std::path::PathBuf> {
            use std::io::Write as _;
            std::fs::create_dir_all(&folder)?;
            let path = folder.join(name);
            let bytes = serde_json::to_vec_pretty(&document).map_err(std::io::Error::other)?;
            // A new file only this user can read: the document is the patient's record.
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&path)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            Ok(path)
        };
        let path = write().map_err(|_| {
            CommandError::new(
                "export-write-failed",
                "the handover file could not be saved: check the export folder exists and has space",
            )
        })?;
        Ok(json!({ "path": path.display().to_string() }))
    })
    .await
}

/// Imports a FHIR bundle (the text of a file the user chose): checked whole, applied in one
/// transaction by the core, then synced. Returns what changed and what was left out, naming the
/// patients it refers to as the file names them (the user is importing them).
#[tauri::command]
pub async fn import_fhir(
    app: AppHandle,
    state: AppStateRef<'_>,
    text: String,
) -> CommandResult<Value> {
    changing(&app, &state, move |session, _| {
        let plan = doorstep_fhir::read_bundle(&text)
            .map_err(|error| CommandError::new("import-refused", error.to_string()))?;
        let doorstep_fhir::ApplyError::Store(store) = match doorstep_fhir::apply(
            session,
            &plan,
            None,
            doorstep_core::store::NewPatients::Register,
            |_| {},
        ) {
            Ok(report) => {
                let named = |entries: &[usize]| -> Vec<Value> {
                    entries
                        .iter()
                        .filter_map(|entry| {
                            let at = plan.patient_entries.iter().position(|e| e == entry)?;
                            let demographics = &plan.records.get(at)?.demographics;
                            Some(json!({
                                "entry": entry,
                                "name": demographics.display_name(),
                                "nhs_number": demographics.nhs_number.to_string(),
                            }))
                        })
                        .collect()
                };
                return Ok(json!({
                    "patients": plan.records.len(),
                    "refused": named(&report.refused_entries),
                    "differ": named(&report.demographics_differ_entries),
                    "report": report,
                }));
            }
            Err(error) => error,
        };
        Err(CommandError::from(store))
    })
    .await
}

/// The team's registered clinicians a restriction may name, this user first.
#[tauri::command]
pub async fn restriction_candidates(state: AppStateRef<'_>) -> CommandResult<Vec<Value>> {
    with_session(&state, move |session, _| {
        Ok(session
            .restriction_candidates()?
            .into_iter()
            .map(|candidate| json!(candidate))
            .collect())
    })
    .await
}

/// Restricts a record to the chosen clinicians (and the user deciding).
#[tauri::command]
pub async fn restrict_record(
    app: AppHandle,
    state: AppStateRef<'_>,
    patient: String,
    reason: String,
    clinicians: Vec<NamedClinician>,
) -> CommandResult<()> {
    changing(&app, &state, move |session, _| {
        let reason: RestrictionReason = reason.parse().map_err(CommandError::bad_input)?;
        session.restrict_record(patient_id(&patient)?, reason, &clinicians)?;
        Ok(())
    })
    .await
}

#[tauri::command]
pub async fn lift_restriction(
    app: AppHandle,
    state: AppStateRef<'_>,
    patient: String,
) -> CommandResult<()> {
    changing(&app, &state, move |session, _| {
        session.lift_restriction(patient_id(&patient)?)?;
        Ok(())
    })
    .await
}

/// A record outside the user's own caseload, for an emergency: the reason is required and the
/// access is flagged in the audit for review.
/// The audit entry syncs at once: the organisation reviews emergency access promptly.
#[tauri::command]
pub async fn emergency_access(
    app: AppHandle,
    state: AppStateRef<'_>,
    patient: String,
    reason: String,
) -> CommandResult<Value> {
    changing(&app, &state, move |session, protocol| {
        let record = session.emergency_access(patient_id(&patient)?, &reason)?;
        Ok(view::shown_record_json(session, protocol, &record)?)
    })
    .await
}

/// Scores the values entered so far, as they are typed: each value checked on its own, the
/// valid ones scored by the core for this patient at the time taken (no score at all where NEWS2
/// does not apply), the response the result demands.
#[tauri::command]
pub async fn preview_observation(
    state: AppStateRef<'_>,
    patient: String,
    vitals: Value,
    taken_at: Option<String>,
) -> CommandResult<Value> {
    with_session(&state, move |session, protocol| {
        let Value::Object(entered) = vitals else {
            return Err(CommandError::bad_input("the entered values are not a set"));
        };
        let taken_at = parse_time(taken_at.as_deref())?;
        let (signs, errors) = VitalsInput::validate_each(&entered);
        let set = session.preview_observation(patient_id(&patient)?, signs, taken_at)?;
        let mut value = view::set_json(&set, protocol);
        value["errors"] = json!(
            errors
                .iter()
                .map(view::vitals_error_json)
                .collect::<Vec<_>>()
        );
        Ok(value)
    })
    .await
}

/// A time the UI sends (RFC 3339, from the clinician's local time), or none for now.
fn parse_time(text: Option<&str>) -> CommandResult<Option<chrono::DateTime<chrono::Utc>>> {
    match text.map(str::trim).filter(|text| !text.is_empty()) {
        None => Ok(None),
        Some(text) => chrono::DateTime::parse_from_rfc3339(text)
            .map(|at| Some(at.with_timezone(&chrono::Utc)))
            .map_err(|_| CommandError::bad_input("that time is not a valid date and time")),
    }
}

/// Records a set durably; answers only once the store has it.
#[tauri::command]
pub async fn record_observation(
    app: AppHandle,
    state: AppStateRef<'_>,
    patient: String,
    vitals: Value,
    taken_at: Option<String>,
    confirm_unusual: Option<Vec<String>>,
) -> CommandResult<Value> {
    changing(&app, &state, move |session, protocol| {
        let Value::Object(entered) = vitals else {
            return Err(CommandError::bad_input("the entered values are not a set"));
        };
        let input = VitalsInput::from_json_object(&entered)
            .map_err(doorstep_core::store::StoreError::from)?;
        let taken_at = parse_time(taken_at.as_deref())?;
        let confirmed = confirm_unusual
            .unwrap_or_default()
            .iter()
            .map(|key| {
                doorstep_core::vitals::Field::from_key(key)
                    .ok_or_else(|| CommandError::bad_input("unknown field to confirm"))
            })
            .collect::<CommandResult<Vec<_>>>()?;
        let set = session.record_observation_confirming(
            patient_id(&patient)?,
            &input,
            taken_at,
            &confirmed,
        )?;
        let mut value = view::set_json(&set, protocol);
        let late =
            chrono::Utc::now().signed_duration_since(set.taken_at()) > chrono::Duration::hours(24);
        value["warnings"] = json!(if late {
            vec!["Taken more than 24 hours ago: check the date and time."]
        } else {
            Vec::new()
        });
        Ok(value)
    })
    .await
}

/// Records the patient's pregnancy status: `pregnant` with the expected date of delivery,
/// `postnatal` with the date of delivery, or `none`.
#[tauri::command]
pub async fn set_maternity(
    app: AppHandle,
    state: AppStateRef<'_>,
    patient: String,
    status: String,
    date: Option<String>,
) -> CommandResult<()> {
    changing(&app, &state, move |session, _| {
        let date = match date.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
            None => None,
            Some(text) => Some(
                text.parse::<chrono::NaiveDate>()
                    .map_err(|_| CommandError::bad_input("enter the date as YYYY-MM-DD"))?,
            ),
        };
        let missing = || CommandError::bad_input("enter the date for this status");
        let status = match status.as_str() {
            "pregnant" => MaternityStatus::Pregnant {
                expected_delivery: date.ok_or_else(missing)?,
            },
            "postnatal" => MaternityStatus::Postnatal {
                delivered: date.ok_or_else(missing)?,
            },
            "none" => MaternityStatus::None,
            _ => {
                return Err(CommandError::bad_input(
                    "choose pregnant, postnatal or neither",
                ));
            }
        };
        session.set_maternity(patient_id(&patient)?, status)?;
        Ok(())
    })
    .await
}

/// Records an escalation: the service called, when, what they said, their reference, the SBAR.
#[tauri::command]
#[allow(clippy::too_many_arguments)] // one argument per field of the form
pub async fn escalate(
    app: AppHandle,
    state: AppStateRef<'_>,
    patient: String,
    service: String,
    at: Option<String>,
    outcome: String,
    reference: Option<String>,
    sbar: Option<String>,
    observation: Option<String>,
) -> CommandResult<String> {
    changing(&app, &state, move |session, _| {
        let service: EscalationService =
            service
                .parse()
                .map_err(|error: doorstep_core::store::UnknownService| {
                    CommandError::bad_input(error.to_string())
                })?;
        let observation = match observation.as_deref().filter(|o| !o.is_empty()) {
            None => None,
            Some(text) => Some(
                text.parse::<ObservationId>()
                    .map_err(|_| CommandError::bad_input("that observation id is not valid"))?,
            ),
        };
        let escalation = Escalation {
            service,
            at: parse_time(at.as_deref())?.unwrap_or_else(chrono::Utc::now),
            outcome,
            reference,
            sbar,
            observation,
        };
        let id = session.escalate(patient_id(&patient)?, &escalation)?;
        Ok(id.to_string())
    })
    .await
}

/// Marks a set entered-in-error, with the reason; the set stays in the record, struck through.
#[tauri::command]
pub async fn entered_in_error(
    app: AppHandle,
    state: AppStateRef<'_>,
    observation: String,
    reason: String,
) -> CommandResult<()> {
    changing(&app, &state, move |session, _| {
        let observation: ObservationId = observation
            .parse()
            .map_err(|_| CommandError::bad_input("that observation id is not valid"))?;
        session.mark_observation_entered_in_error(observation, &reason)?;
        Ok(())
    })
    .await
}

#[tauri::command]
pub async fn add_note(
    app: AppHandle,
    state: AppStateRef<'_>,
    patient: String,
    text: String,
) -> CommandResult<()> {
    changing(&app, &state, move |session, _| {
        if text.trim().is_empty() {
            return Err(CommandError::bad_input("write the note first"));
        }
        session.add_note(patient_id(&patient)?, &text)?;
        Ok(())
    })
    .await
}

#[tauri::command]
pub async fn set_care_plan(
    app: AppHandle,
    state: AppStateRef<'_>,
    patient: String,
    text: String,
) -> CommandResult<()> {
    changing(&app, &state, move |session, _| {
        session.set_care_plan(patient_id(&patient)?, &text)?;
        Ok(())
    })
    .await
}

/// Settles a conflict: `keep` one of the recorded values (the value as the record showed it), or
/// enter a new `value`.
#[tauri::command]
pub async fn resolve_conflict(
    app: AppHandle,
    state: AppStateRef<'_>,
    patient: String,
    field: String,
    keep: Option<Value>,
    value: Option<Value>,
) -> CommandResult<()> {
    changing(&app, &state, move |session, _| {
        let resolution = match (keep, value) {
            (Some(kept), None) => Resolution::Keep(kept),
            (None, Some(value)) => Resolution::Enter(value),
            _ => {
                return Err(CommandError::bad_input(
                    "choose one of the recorded values or enter a new one",
                ));
            }
        };
        session.resolve_conflict(patient_id(&patient)?, &field, &resolution)?;
        Ok(())
    })
    .await
}

/// Records the clinical decision on the SpO2 scale (only registered clinicians; the core checks).
#[tauri::command]
pub async fn decide_scale(
    app: AppHandle,
    state: AppStateRef<'_>,
    patient: String,
    scale: u8,
    note: String,
) -> CommandResult<()> {
    changing(&app, &state, move |session, _| {
        let scale = Spo2Scale::try_from(scale).map_err(CommandError::bad_input)?;
        session.decide_spo2_scale(patient_id(&patient)?, scale, &note)?;
        Ok(())
    })
    .await
}

#[tauri::command]
pub async fn confirm_no_known_allergies(
    app: AppHandle,
    state: AppStateRef<'_>,
    patient: String,
) -> CommandResult<()> {
    changing(&app, &state, move |session, _| {
        session.confirm_no_known_allergies(patient_id(&patient)?)?;
        Ok(())
    })
    .await
}

/// Keeps the observation form as typed, sealed, so that the idle lock does not lose it.
#[tauri::command]
pub async fn save_draft(state: AppStateRef<'_>, patient: String, form: Value) -> CommandResult<()> {
    with_session(&state, move |session, _| {
        session.save_draft(patient_id(&patient)?, &form)?;
        Ok(())
    })
    .await
}

/// The form this user left when the device locked, offered back after unlock.
#[tauri::command]
pub async fn draft(state: AppStateRef<'_>) -> CommandResult<Option<Value>> {
    with_session(&state, move |session, _| {
        let Some(draft) = session.draft()? else {
            return Ok(None);
        };
        // Who it is for, from the caseload summary: offering the draft is not opening the record.
        let summary = match session.summary(draft.patient) {
            Ok(summary) => summary,
            Err(doorstep_core::store::StoreError::PatientNotFound) => {
                session.discard_draft()?;
                return Ok(None);
            }
            Err(error) => return Err(error.into()),
        };
        Ok(Some(json!({
            "patient": draft.patient,
            "patient_name": if summary.family.is_empty() && summary.given.is_empty() {
                summary.display_name()
            } else {
                format!("{} {}", summary.given, summary.family.to_uppercase())
            },
            "nhs_number": summary.nhs_number,
            "birth_date": summary.birth_date,
            "saved_at": draft.saved_at,
            "form": draft.form,
        })))
    })
    .await
}

#[tauri::command]
pub async fn discard_draft(state: AppStateRef<'_>) -> CommandResult<()> {
    with_session(&state, move |session, _| Ok(session.discard_draft()?)).await
}

/// The always-visible sync status.
#[tauri::command]
pub async fn sync_status(state: AppStateRef<'_>) -> CommandResult<sync_engine::StatusView> {
    let state = Arc::clone(&state);
    blocking(move || sync_engine::status(&state)).await
}

/// Syncs now, on demand; the status bar follows its progress through `sync-status` events.
#[tauri::command]
pub async fn sync_now(
    app: AppHandle,
    state: AppStateRef<'_>,
) -> CommandResult<sync_engine::StatusView> {
    let state = Arc::clone(&state);
    blocking(move || {
        sync_engine::run_once(&app, &state);
        sync_engine::status(&state)
    })
    .await
}

/// The observation chart's coloured bands on a scale, from the core's own scoring.
#[tauri::command]
pub async fn chart_bands(scale: u8) -> CommandResult<Vec<news2::ParameterBands>> {
    let scale = Spo2Scale::try_from(scale).map_err(CommandError::bad_input)?;
    Ok(news2::chart_bands(scale))
}
