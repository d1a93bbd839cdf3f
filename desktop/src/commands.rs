//! The app's commands: thin wrappers over the core's facade. Each runs on a blocking thread (the
//! store is synchronous and durable writes wait for the disk), never on the UI's thread, and
//! returns JSON the UI renders as it is. Scoring, validation, audit and storage all happen in the
//! core; nothing here computes a clinical value.

use std::sync::Arc;

use doorstep_core::news2::{self, ResponseProtocol};
use doorstep_core::store::{Device, Session};
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
    }
}

/// Who can unlock this device, and who has.
#[tauri::command]
pub async fn device(state: AppStateRef<'_>) -> CommandResult<DeviceView> {
    let state = Arc::clone(&state);
    blocking(move || {
        let device = match Device::open_in(&state.data_dir, &doorstep_keystore::OsKeyStore) {
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
            let device = Device::open_in(&state.data_dir, &doorstep_keystore::OsKeyStore)?;
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
                &doorstep_keystore::OsKeyStore,
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
        work(&session, &state.protocol)
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
        let query = query.unwrap_or_default();
        let summaries = if !query.trim().is_empty() {
            session.find(query.trim())?
        } else if by_risk {
            session.caseload()?
        } else {
            session.patients()?
        };
        Ok(summaries.iter().map(view::summary_json).collect())
    })
    .await
}

fn record_view(
    session: &Session,
    protocol: &ResponseProtocol,
    record: &doorstep_core::store::PatientRecord,
) -> CommandResult<Value> {
    let mut value = view::record_json(record, protocol)
        .map_err(|_| CommandError::new("internal", "the record could not be shown"))?;
    let status = session.sync_status()?;
    value["sync"] = json!({
        "last_sync": status.last_sync,
        "unsynced_changes": session.has_unsynced_changes(record.id)?,
        "enrolled": status.server.is_some(),
    });
    value["spo2_scale"] = json!(u8::from(record.spo2_scale()));
    // Entries carry the author's device; the team's roster names who uses it.
    let mut authors = serde_json::Map::new();
    for member in session.team_members()? {
        authors.insert(
            member.device.to_string(),
            json!({"name": member.user, "role": member.role.key()}),
        );
    }
    value["authors"] = Value::Object(authors);
    Ok(value)
}

/// One record, opened (and audited) as a view.
#[tauri::command]
pub async fn record(state: AppStateRef<'_>, patient: String) -> CommandResult<Value> {
    with_session(&state, move |session, protocol| {
        let record = session.open_record(patient_id(&patient)?)?;
        record_view(session, protocol, &record)
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
        record_view(session, protocol, &record)
    })
    .await
}

/// Scores the values entered so far, as they are typed: each value checked on its own, the
/// valid ones scored by the core on the record's scale, the response the result demands.
#[tauri::command]
pub async fn preview_observation(
    state: AppStateRef<'_>,
    vitals: Value,
    scale: u8,
) -> CommandResult<Value> {
    let protocol = state.protocol.clone();
    let Value::Object(entered) = vitals else {
        return Err(CommandError::bad_input("the entered values are not a set"));
    };
    let scale = Spo2Scale::try_from(scale).map_err(CommandError::bad_input)?;
    let (signs, errors) = VitalsInput::validate_each(&entered);
    let result = news2::score(&signs, scale);
    Ok(json!({
        "news2": view::news2_json(&result, &protocol),
        "errors": errors.iter().map(view::vitals_error_json).collect::<Vec<_>>(),
    }))
}

/// Records a set durably; answers only once the store has it.
#[tauri::command]
pub async fn record_observation(
    app: AppHandle,
    state: AppStateRef<'_>,
    patient: String,
    vitals: Value,
) -> CommandResult<Value> {
    changing(&app, &state, move |session, protocol| {
        let Value::Object(entered) = vitals else {
            return Err(CommandError::bad_input("the entered values are not a set"));
        };
        let input = VitalsInput::from_json_object(&entered)
            .map_err(doorstep_core::store::StoreError::from)?;
        let set = session.record_observation(patient_id(&patient)?, &input, None)?;
        Ok(json!({
            "id": set.id(),
            "taken_at": set.taken_at(),
            "news2": view::news2_json(set.news2(), protocol),
        }))
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
