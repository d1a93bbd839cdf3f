//! An unlocked device store for one user: everything a shell does with patient data.
//!
//! Each mutating call is one clinician action: one Automerge commit, one sealed chunk, the updated
//! sealed summary and one audit entry, all in one SQLite transaction. The call returns only after
//! that transaction is durable, so what it returns can be shown as "saved".

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use automerge::ActorId;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::audit::{self, AuditAction, AuditBreak, AuditEntry, AuditEvent};
use super::device::{Shared, UserInfo, insert_user};
use super::error::{Result, StoreError};
use super::persist::{self, LoadedDoc};
use super::record::{
    DemographicField, EnteredInError, EntryContainer, EntryStatus, Escalation, NewPatient,
    PatientRecord, RecordDoc, Recorded, Resolution, Resolved, ScaleDecision,
};
use super::restriction::{Access, EMERGENCY_ACCESS_MINUTES};

/// How an action taken under emergency access is marked in the audit.
pub const UNDER_EMERGENCY_ACCESS: &str = "under emergency access";
use super::summary::{PatientSummary, Rank, SUMMARY_VERSION};
use crate::crypto::DataKey;
use crate::ids::{EntryId, NoteId, ObservationId, PatientId};
use crate::nhs_number::NhsNumber;
use crate::observation::{Author, ObservationSet, Role};
use crate::patient::MaternityStatus;
use crate::patient::{Allergy, Flag};
use crate::permission::Action;
use crate::vitals::{Field, Spo2Scale, VitalsInput};

pub(crate) struct Unlocked {
    pub(super) key: DataKey,
    last_used: Instant,
    pub(super) summaries: HashMap<PatientId, PatientSummary>,
    /// Emergency access to restricted records; a lock ends it.
    pub(super) grants: HashMap<PatientId, Grant>,
}

/// Emergency access to one record: until when (to show), and the monotonic deadline that decides,
/// so that turning the device's clock back does not extend it.
#[derive(Clone, Copy)]
pub(super) struct Grant {
    pub(super) until: DateTime<Utc>,
    deadline: Instant,
}

impl Grant {
    fn for_minutes(minutes: i64) -> Self {
        let length = chrono::Duration::minutes(minutes);
        Self {
            until: Utc::now() + length,
            deadline: Instant::now() + length.to_std().unwrap_or_default(),
        }
    }

    /// The time shown while the grant stands; `None` once it has run out.
    pub(super) fn live_until(&self) -> Option<DateTime<Utc>> {
        (Instant::now() < self.deadline).then_some(self.until)
    }
}

/// An unlocked store. Locks itself after the device's idle timeout; after [`Session::lock`] the
/// data key is zeroised and every call fails with [`StoreError::Locked`].
pub struct Session {
    pub(super) shared: Arc<Shared>,
    user: UserInfo,
    idle_limit: Duration,
    state: Mutex<Option<Unlocked>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Session({}, {:?})", self.user.id, self.user.role)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Activity {
    User,
    Background,
}

/// What a shell needs while working inside one action.
pub(super) struct Context<'a> {
    pub(super) connection: MutexGuard<'a, Connection>,
    pub(super) unlocked: MutexGuard<'a, Option<Unlocked>>,
}

impl Context<'_> {
    /// The connection and the unlocked state together, borrowed separately.
    pub(super) fn parts(&mut self) -> Result<(&mut Connection, &mut Unlocked)> {
        let unlocked = self.unlocked.as_mut().ok_or(StoreError::Locked)?;
        Ok((&mut self.connection, unlocked))
    }

    pub(super) fn key(&self) -> Result<&DataKey> {
        self.unlocked
            .as_ref()
            .map(|u| &u.key)
            .ok_or(StoreError::Locked)
    }

    pub(super) fn unlocked(&self) -> Result<&Unlocked> {
        self.unlocked.as_ref().ok_or(StoreError::Locked)
    }

    pub(super) fn summaries(&mut self) -> Result<&mut HashMap<PatientId, PatientSummary>> {
        self.unlocked
            .as_mut()
            .map(|u| &mut u.summaries)
            .ok_or(StoreError::Locked)
    }
}

impl Session {
    pub(crate) fn start(shared: Arc<Shared>, user: UserInfo, key: DataKey) -> Result<Self> {
        let idle_limit = Duration::from_secs(shared.policy.idle_lock_seconds);
        let summaries = {
            let mut connection = shared.lock_connection()?;
            let transaction = connection.transaction()?;
            let event = |at, action| AuditEvent {
                at,
                user: user.id,
                role: user.role,
                device: shared.device_id,
                patient: None,
                action,
                reason: None,
            };
            // Wrong PINs could not be sealed when they happened; they enter the chain now, each
            // with its own time, before this unlock.
            let pending: Vec<(i64, i64, String)> = {
                let mut statement = transaction
                    .prepare("SELECT id, at, user_id FROM failed_unlocks ORDER BY id")?;
                let rows =
                    statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
                rows.collect::<std::result::Result<_, _>>()?
            };
            for (_, at, failed_user) in &pending {
                let at = DateTime::from_timestamp_millis(*at).unwrap_or_default();
                let mut failed = event(at, AuditAction::FailedUnlock);
                if let Ok(id) = failed_user.parse() {
                    failed.user = id;
                }
                audit::append(&transaction, &key, failed)?;
            }
            transaction.execute("DELETE FROM failed_unlocks", [])?;
            transaction.execute(
                "UPDATE device SET failed_attempts = 0, locked_until = 0 WHERE id = 1",
                [],
            )?;
            audit::append(&transaction, &key, event(Utc::now(), AuditAction::Unlock))?;
            let mut summaries = persist::read_summaries(&transaction, &key)?;
            // Summaries written by an earlier build lack what ranking and "due" need: rebuilt
            // once from their records.
            let actor = ActorId::from(shared.device_id.as_uuid().as_bytes().as_slice());
            for summary in summaries
                .iter_mut()
                .filter(|summary| summary.version < SUMMARY_VERSION)
            {
                let loaded = persist::load_doc(&transaction, &key, summary.id, actor.clone())?;
                *summary = PatientSummary::of(&loaded.doc.read(summary.id)?);
                persist::write_summary(&transaction, &key, summary)?;
            }
            transaction.commit()?;
            summaries
        };
        Ok(Self {
            shared,
            user,
            idle_limit,
            state: Mutex::new(Some(Unlocked {
                key,
                last_used: Instant::now(),
                summaries: summaries.into_iter().map(|s| (s.id, s)).collect(),
                grants: HashMap::new(),
            })),
        })
    }

    pub fn user(&self) -> &UserInfo {
        &self.user
    }

    /// Refuses, with a typed error a shell shows, what this user's role may not do.
    pub(super) fn permit(&self, action: Action) -> Result<()> {
        Ok(self.user.role.check(action)?)
    }

    pub(super) fn author(&self) -> Author {
        Author {
            user: self.user.id,
            role: self.user.role,
            device: self.shared.device_id,
        }
    }

    pub(super) fn actor(&self) -> ActorId {
        ActorId::from(self.shared.device_id.as_uuid().as_bytes().as_slice())
    }

    pub(super) fn event(
        &self,
        action: AuditAction,
        patient: Option<PatientId>,
        reason: Option<String>,
    ) -> AuditEvent {
        AuditEvent {
            at: Utc::now(),
            user: self.user.id,
            role: self.user.role,
            device: self.shared.device_id,
            patient,
            action,
            reason,
        }
    }

    /// Takes the locks for one user action, locking the session first if it sat idle too long; the
    /// action then restarts the idle clock.
    pub(super) fn context(&self) -> Result<Context<'_>> {
        self.context_for(Activity::User)
    }

    /// Takes the locks for work the user did not ask for just now (background sync, status polls):
    /// it fails once the session has sat idle too long, and never keeps it unlocked.
    pub(super) fn background_context(&self) -> Result<Context<'_>> {
        self.context_for(Activity::Background)
    }

    fn context_for(&self, activity: Activity) -> Result<Context<'_>> {
        let mut unlocked = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match unlocked.as_mut() {
            None => return Err(StoreError::Locked),
            Some(state) if state.last_used.elapsed() > self.idle_limit => {
                *unlocked = None;
                return Err(StoreError::Locked);
            }
            Some(state) => {
                if activity == Activity::User {
                    state.last_used = Instant::now();
                }
            }
        }
        Ok(Context {
            connection: self.shared.lock_connection()?,
            unlocked,
        })
    }

    /// The person is using the app (scrolling, reading, typing) without a store call: restarts
    /// the idle clock. Fails if the session has already locked itself.
    pub fn touch(&self) -> Result<()> {
        self.context().map(drop)
    }

    /// The organisation's idle limit for this device: a shell may lock sooner, never later.
    pub fn idle_limit(&self) -> Duration {
        self.idle_limit
    }

    /// Whether the session has locked itself for idleness (or was locked), without counting as use.
    pub fn has_locked(&self) -> bool {
        self.background_context().is_err()
    }

    /// Locks now: the data key is zeroised and the decrypted summaries dropped.
    pub fn lock(&self) -> Result<()> {
        let mut context = self.context()?;
        let key = context.key()?;
        audit::append(
            &context.connection,
            key,
            self.event(AuditAction::Lock, None, None),
        )?;
        *context.unlocked = None;
        Ok(())
    }

    pub fn is_locked(&self) -> bool {
        self.state
            .lock()
            .map(|state| state.is_none())
            .unwrap_or(true)
    }

    /// Adds another user who can unlock this device with their own PIN (shift colleagues sharing a
    /// tablet). Registered clinicians may add colleagues; only an administrator adds an
    /// administrator ([`crate::permission`]).
    pub fn add_user(&self, name: &str, role: Role, pin: &str) -> Result<UserInfo> {
        self.permit(Action::AddUser { role })?;
        if let Some(enrolled) = self.enrolled_role()?
            && enrolled != role
        {
            return Err(StoreError::RoleDiffersFromEnrolment {
                enrolled: enrolled.key(),
            });
        }
        let mut context = self.context()?;
        let (connection, unlocked) = context.parts()?;
        let key = &unlocked.key;
        let transaction = connection.transaction()?;
        let id = insert_user(
            &transaction,
            self.shared.sealer.as_ref(),
            self.shared.policy.pin_kdf,
            key,
            name,
            role,
            pin,
        )?;
        audit::append(
            &transaction,
            key,
            self.event(AuditAction::AddUser, None, None),
        )?;
        transaction.commit()?;
        Ok(UserInfo {
            id,
            name: name.trim().to_owned(),
            role,
        })
    }

    /// Registers a new patient, or imports one from a source system, as one action.
    pub fn add_patient(&self, patient: &NewPatient) -> Result<PatientId> {
        let mut ids = self.import_patients(std::slice::from_ref(patient), |_| {})?;
        ids.pop().ok_or(StoreError::PatientNotFound)
    }

    /// Adds many patients, committing in batches; `progress` is told how many are done.
    pub fn import_patients(
        &self,
        patients: &[NewPatient],
        mut progress: impl FnMut(usize),
    ) -> Result<Vec<PatientId>> {
        const BATCH: usize = 250;
        self.permit(Action::RegisterPatient)?;
        let protocol = self.protocol()?;
        let mut ids = Vec::with_capacity(patients.len());
        for batch in patients.chunks(BATCH) {
            let mut context = self.context()?;
            let mut summaries = Vec::with_capacity(batch.len());
            {
                let (connection, unlocked) = context.parts()?;
                let key = &unlocked.key;
                let known: std::collections::HashSet<NhsNumber> = unlocked
                    .summaries
                    .values()
                    .filter_map(|s| s.registered_nhs_number())
                    .collect();
                let transaction = connection.transaction()?;
                for patient in batch {
                    if known.contains(&patient.demographics.nhs_number)
                        || summaries.iter().any(|s: &PatientSummary| {
                            s.nhs_number == Some(patient.demographics.nhs_number)
                        })
                    {
                        return Err(StoreError::DuplicateNhsNumber);
                    }
                    let id = PatientId::random();
                    let recorded = Recorded {
                        by: self.author(),
                        at: Utc::now(),
                    };
                    let patient = patient.attributed_to(self.author(), &protocol);
                    let mut doc = RecordDoc::create(self.actor(), &patient, recorded, &protocol)?;
                    persist::insert_doc(&transaction, key, id, &mut doc)?;
                    persist::mark_dirty(&transaction, id)?;
                    let record = doc.read(id)?;
                    let summary = PatientSummary::of(&record);
                    persist::write_summary(&transaction, key, &summary)?;
                    for set in &patient.observations {
                        index_observation(&transaction, set.id(), id)?;
                    }
                    let action = if patient.observations.is_empty() {
                        AuditAction::CreateRecord
                    } else {
                        AuditAction::ImportRecord
                    };
                    audit::append(&transaction, key, self.event(action, Some(id), None))?;
                    summaries.push(summary);
                    ids.push(id);
                }
                transaction.commit()?;
            }
            let cache = context.summaries()?;
            for summary in summaries {
                cache.insert(summary.id, summary);
            }
            progress(ids.len());
        }
        Ok(ids)
    }

    /// Every patient on the device, most urgent first, then by name.
    pub fn caseload(&self) -> Result<Vec<PatientSummary>> {
        Ok(self
            .ranked_caseload(Utc::now())?
            .into_iter()
            .map(|(summary, _)| summary)
            .collect())
    }

    /// Every patient with their rank at `now`, most urgent first: the worse of the last complete
    /// set within the protocol's window and any newer partial set's floor (high, medium,
    /// low-medium), then patients whose risk is unknown (never observed, nothing recent, NEWS2
    /// not applicable), then low; overdue first within each, then by points, then by name.
    pub fn ranked_caseload(&self, now: DateTime<Utc>) -> Result<Vec<(PatientSummary, Rank)>> {
        self.permit(Action::ReadRecords)?;
        let window = chrono::Duration::hours(i64::from(self.protocol()?.complete_set_window_hours));
        let context = self.context()?;
        let mut list: Vec<(PatientSummary, Rank)> = super::incident::caseload_rows(self, &context)?
            .into_iter()
            .map(|shown| {
                let rank = shown.rank(now, window);
                (shown, rank)
            })
            .collect();
        list.sort_by(|(a, rank_a), (b, rank_b)| {
            rank_b
                .urgency()
                .cmp(&rank_a.urgency())
                .then_with(|| a.family.cmp(&b.family))
                .then_with(|| a.given.cmp(&b.given))
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(list)
    }

    /// Every patient, by family then given name.
    pub fn patients(&self) -> Result<Vec<PatientSummary>> {
        self.permit(Action::ReadRecords)?;
        let context = self.context()?;
        let mut list: Vec<PatientSummary> = super::incident::caseload_rows(self, &context)?;
        list.sort_by(|a, b| {
            (a.family.to_lowercase(), a.given.to_lowercase(), a.id).cmp(&(
                b.family.to_lowercase(),
                b.given.to_lowercase(),
                b.id,
            ))
        });
        Ok(list)
    }

    /// One patient's caseload summary (name, NHS number, date of birth), without opening the
    /// record: what a shell shows to say whose draft or row this is.
    pub fn summary(&self, patient: PatientId) -> Result<PatientSummary> {
        self.permit(Action::ReadRecords)?;
        let context = self.context()?;
        let unlocked = context.unlocked()?;
        unlocked
            .summaries
            .get(&patient)
            .map(|summary| self.shown(unlocked, summary))
            .ok_or(StoreError::PatientNotFound)
    }

    /// Patients on this device whose family name another patient shares ([`similar_names`](super::summary::similar_names)).
    pub fn similar_names(&self) -> Result<std::collections::HashSet<PatientId>> {
        self.permit(Action::ReadRecords)?;
        let mut context = self.context()?;
        Ok(super::summary::similar_names(context.summaries()?.values()))
    }

    /// The other patients on this device who share `patient`'s family name, by name: who the
    /// similar-name marker warns of.
    pub fn similar_to(&self, patient: PatientId) -> Result<Vec<PatientSummary>> {
        self.permit(Action::ReadRecords)?;
        let context = self.context()?;
        let unlocked = context.unlocked()?;
        let this = unlocked
            .summaries
            .get(&patient)
            .ok_or(StoreError::PatientNotFound)?;
        let family = this.spoken_family();
        let mut similar: Vec<PatientSummary> = unlocked
            .summaries
            .values()
            .filter(|other| other.id != patient && other.spoken_family() == family)
            .map(|other| self.shown(unlocked, other))
            .collect();
        similar.sort_by(|a, b| (&a.given, a.birth_date, a.id).cmp(&(&b.given, b.birth_date, b.id)));
        Ok(similar)
    }

    /// Patients whose NHS number is `query` (any spacing), or whose name starts with it.
    pub fn find(&self, query: &str) -> Result<Vec<PatientSummary>> {
        self.permit(Action::ReadRecords)?;
        let number = NhsNumber::parse(query).ok();
        let context = self.context()?;
        let unlocked = context.unlocked()?;
        let summaries = &unlocked.summaries;
        let mut found: Vec<PatientSummary> = match number {
            Some(number) => summaries
                .values()
                .filter(|s| s.nhs_number == Some(number))
                .map(|s| self.shown(unlocked, s))
                .collect(),
            None => summaries
                .values()
                .filter(|s| s.matches_name(query))
                .map(|s| self.shown(unlocked, s))
                .collect(),
        };
        found.sort_by(|a, b| (&a.family, &a.given, a.id).cmp(&(&b.family, &b.given, b.id)));
        Ok(found)
    }

    /// Loads a record for this user: one restricted to others is refused (its banner stays
    /// readable through the summaries). Decided on the record itself, not on a summary.
    pub(super) fn load(&self, context: &Context<'_>, patient: PatientId) -> Result<LoadedDoc> {
        let loaded = persist::load_doc(&context.connection, context.key()?, patient, self.actor())?;
        let access = Access::of(
            loaded.doc.restriction()?.as_ref(),
            self.shared.device_id,
            (&self.user.name, self.user.role),
            context
                .unlocked()?
                .grants
                .get(&patient)
                .and_then(Grant::live_until),
            Utc::now(),
        );
        if !access.may_open() {
            return Err(StoreError::Restricted);
        }
        Ok(loaded)
    }

    /// Opens a record to read it; audited as a view.
    pub fn open_record(&self, patient: PatientId) -> Result<PatientRecord> {
        self.permit(Action::ReadRecords)?;
        self.read_audited(patient, AuditAction::ViewRecord, None)
    }

    /// Opens a record for export (handover, transfer); audited as an export.
    pub fn export_record(&self, patient: PatientId) -> Result<PatientRecord> {
        self.permit(Action::ReadRecords)?;
        self.read_audited(patient, AuditAction::Export, None)
    }

    /// Opens a record for export, audited with what it is for ("FHIR export", "handover to ED
    /// majors"), so the organisation's review can tell one from another.
    pub fn export_record_for(&self, patient: PatientId, purpose: &str) -> Result<PatientRecord> {
        self.permit(Action::ReadRecords)?;
        let purpose = required_reason(purpose)?;
        self.read_audited(patient, AuditAction::Export, Some(purpose))
    }

    /// Opens a record outside the user's legitimate relationship; a reason is required and the
    /// access is flagged in the audit trail for review.
    /// A restricted record is then open to this user for [`EMERGENCY_ACCESS_MINUTES`] or until the
    /// lock; what they do with it is audited as done under emergency access.
    pub fn emergency_access(&self, patient: PatientId, reason: &str) -> Result<PatientRecord> {
        self.permit(Action::EmergencyAccess)?;
        let reason = required_reason(reason)?;
        // Read, audited and granted under one hold of the store: no other call can use the grant
        // before its audit entry exists.
        let mut context = self.context()?;
        let loaded = persist::load_doc(&context.connection, context.key()?, patient, self.actor())?;
        let record = loaded.doc.read(patient)?;
        audit::append(
            &context.connection,
            context.key()?,
            self.event(AuditAction::EmergencyAccess, Some(patient), Some(reason)),
        )?;
        let (_, unlocked) = context.parts()?;
        unlocked
            .grants
            .insert(patient, Grant::for_minutes(EMERGENCY_ACCESS_MINUTES));
        Ok(record)
    }

    /// The reason to audit an action on `patient` with: marked when it is taken under emergency
    /// access, so the organisation's review sees everything done with it.
    fn audited_reason(
        &self,
        unlocked: &Unlocked,
        patient: PatientId,
        reason: Option<String>,
    ) -> Option<String> {
        let under_emergency = unlocked
            .grants
            .get(&patient)
            .and_then(Grant::live_until)
            .is_some();
        match (under_emergency, reason) {
            (false, reason) => reason,
            (true, None) => Some(UNDER_EMERGENCY_ACCESS.to_owned()),
            (true, Some(reason)) => Some(format!("{reason} ({UNDER_EMERGENCY_ACCESS})")),
        }
    }

    pub(super) fn read_audited(
        &self,
        patient: PatientId,
        action: AuditAction,
        reason: Option<String>,
    ) -> Result<PatientRecord> {
        let context = self.context()?;
        // The record asked for decides: one restricted to this user is refused whatever it is
        // linked to.
        self.load(&context, patient)?;
        let unlocked = context.unlocked()?;
        let group = super::incident::group_of(unlocked, patient);
        let (records, restricted) = self.group_records(&context, unlocked, &group)?;
        // Each record read is audited as its own view: the review sees every record whose
        // entries were shown.
        for record in &records {
            let reason = self.audited_reason(unlocked, record.id, reason.clone());
            audit::append(
                &context.connection,
                context.key()?,
                self.event(action, Some(record.id), reason),
            )?;
        }
        super::linked::joined(patient, records, restricted).ok_or(StoreError::PatientNotFound)
    }

    /// Runs one action on a record and stores it durably with its audit entry.
    pub(super) fn act<T>(
        &self,
        patient: PatientId,
        action: AuditAction,
        reason: Option<String>,
        change: impl FnOnce(&mut RecordDoc, &Connection) -> Result<T>,
        summarise: impl FnOnce(&mut PatientSummary, &RecordDoc, &T) -> Result<()>,
    ) -> Result<T> {
        let mut context = self.context()?;
        let mut loaded = self.load(&context, patient)?;
        let reason = self.audited_reason(context.unlocked()?, patient, reason);
        let (connection, unlocked) = context.parts()?;
        let mut summary = unlocked
            .summaries
            .get(&patient)
            .cloned()
            .ok_or(StoreError::PatientNotFound)?;
        let key = &unlocked.key;
        let transaction = connection.transaction()?;
        let out = change(&mut loaded.doc, &transaction)?;
        persist::append_changes(&transaction, key, patient, &mut loaded)?;
        persist::mark_dirty(&transaction, patient)?;
        summarise(&mut summary, &loaded.doc, &out)?;
        persist::write_summary(&transaction, key, &summary)?;
        audit::append(&transaction, key, self.event(action, Some(patient), reason))?;
        transaction.commit()?;
        context.summaries()?.insert(patient, summary);
        Ok(out)
    }

    /// Records an observation set, scored by the core on the record's SpO2 scale under the
    /// organisation's protocol, or not scored where NEWS2 does not apply to the patient on the
    /// day it was taken. `taken_at` (when the set was read off a monitor or written up later)
    /// defaults to now and may not be in the future beyond [`CLOCK_SKEW_TOLERANCE_MINUTES`].
    /// Returns only once the set is durable.
    pub fn record_observation(
        &self,
        patient: PatientId,
        input: &VitalsInput,
        taken_at: Option<DateTime<Utc>>,
    ) -> Result<ObservationSet> {
        self.record_observation_confirming(patient, input, taken_at, &[])
    }

    /// [`Self::record_observation`], with the values outside their usual range
    /// ([`crate::unusual`]) that the clinician checked and confirmed; any unusual value not
    /// confirmed refuses the set with [`StoreError::UnusualValues`]. The confirmation is stored
    /// with the set.
    pub fn record_observation_confirming(
        &self,
        patient: PatientId,
        input: &VitalsInput,
        taken_at: Option<DateTime<Utc>>,
        confirmed: &[Field],
    ) -> Result<ObservationSet> {
        self.permit(Action::RecordObservation)?;
        let vitals = input.validate()?;
        // Nothing at all records no observation. Observations beside NEWS2 alone (a glucose
        // between sets) are kept as an entry of their own, never scored.
        let beside_only = vitals == crate::vitals::VitalSigns::default();
        if beside_only && input.additional.is_empty() {
            return Err(StoreError::EmptySet);
        }
        let unusual: Vec<Field> = crate::unusual::unusual_values(&vitals)
            .into_iter()
            .map(|unusual| unusual.field)
            .collect();
        let unconfirmed: Vec<Field> = unusual
            .iter()
            .copied()
            .filter(|field| !confirmed.contains(field))
            .collect();
        if !unconfirmed.is_empty() {
            return Err(StoreError::UnusualValues {
                fields: unconfirmed,
            });
        }
        let author = self.author();
        let taken_at = checked_time(taken_at)?;
        let protocol = self.protocol()?;
        let group = {
            let context = self.context()?;
            self.group_for_scoring(&context, patient)?
        };
        self.act(
            patient,
            AuditAction::RecordObservation,
            None,
            |doc, connection| {
                let (facts, scale) = scoring_with(group.as_ref(), doc)?;
                if input.spo2_scale == Some(2) && scale != Spo2Scale::Scale2 {
                    return Err(StoreError::Scale2WithoutDecision);
                }
                let additional = input
                    .validate_additional(&vitals, facts.applicability.pregnant_on(taken_at))?;
                let set = if beside_only {
                    ObservationSet::beside_only(
                        ObservationId::random(),
                        taken_at,
                        author,
                        scale,
                        additional,
                    )
                } else {
                    ObservationSet::record(
                        ObservationId::random(),
                        taken_at,
                        author,
                        vitals,
                        scale,
                        &facts.scoring(&protocol, taken_at),
                    )
                    .confirming(unusual)
                    .with_additional(additional)
                };
                doc.add_observation(&set)?;
                // The form this set came from is saved: nothing to offer back after a lock.
                super::draft::clear(connection, author.user)?;
                index_observation(connection, set.id(), patient)?;
                Ok(set)
            },
            |summary, _, set| {
                summary.observe(set);
                Ok(())
            },
        )
    }

    /// Scores values as they are typed, exactly as [`Self::record_observation`] would score them
    /// for this patient at `taken_at` (now if absent), without saving anything: a child's or a
    /// pregnant woman's values get no score while typed either.
    /// The set is scored on the scale in force on the record, as saving it would be.
    pub fn preview_observation(
        &self,
        patient: PatientId,
        vitals: crate::vitals::VitalSigns,
        taken_at: Option<DateTime<Utc>>,
    ) -> Result<ObservationSet> {
        self.permit(Action::RecordObservation)?;
        let taken_at = taken_at.unwrap_or_else(Utc::now);
        let protocol = self.protocol()?;
        let context = self.context()?;
        let loaded = self.load(&context, patient)?;
        let group = self.group_for_scoring(&context, patient)?;
        let (facts, scale) = scoring_with(group.as_ref(), &loaded.doc)?;
        Ok(ObservationSet::record(
            ObservationId::random(),
            taken_at,
            self.author(),
            vitals,
            scale,
            &facts.scoring(&protocol, taken_at),
        ))
    }

    /// Marks an observation entered-in-error. The set stays in the record, with who, when and why.
    pub fn mark_observation_entered_in_error(
        &self,
        observation: ObservationId,
        reason: &str,
    ) -> Result<PatientId> {
        self.permit(Action::MarkEnteredInError)?;
        let reason = required_reason(reason)?;
        let patient = {
            let context = self.context()?;
            let found: Option<String> = context
                .connection
                .query_row(
                    "SELECT patient_id FROM observation_index WHERE observation_id = ?1",
                    params![observation.to_string()],
                    |row| row.get(0),
                )
                .optional()?;
            found
                .and_then(|id| id.parse::<PatientId>().ok())
                .ok_or(StoreError::ObservationNotFound)?
        };
        let mark = EnteredInError {
            by: self.author(),
            at: Utc::now(),
            reason: reason.clone(),
        };
        self.act(
            patient,
            AuditAction::EnteredInError,
            Some(reason),
            |doc, _| doc.mark_observation_entered_in_error(observation, &mark),
            resummarise(patient),
        )?;
        Ok(patient)
    }

    pub fn add_note(&self, patient: PatientId, text: &str) -> Result<NoteId> {
        self.permit(Action::WriteNote)?;
        let id = NoteId::random();
        let recorded = self.recorded();
        self.act(
            patient,
            AuditAction::AddNote,
            None,
            |doc, _| doc.add_note(id, text, recorded),
            |_, _, _| Ok(()),
        )?;
        Ok(id)
    }

    pub fn edit_note(&self, patient: PatientId, note: NoteId, text: &str) -> Result<()> {
        self.permit(Action::WriteNote)?;
        let recorded = self.recorded();
        self.act(
            patient,
            AuditAction::EditNote,
            None,
            |doc, _| doc.edit_note(note, text, recorded),
            |_, _, _| Ok(()),
        )
    }

    pub fn set_care_plan(&self, patient: PatientId, text: &str) -> Result<()> {
        self.permit(Action::EditCarePlan)?;
        let recorded = self.recorded();
        self.act(
            patient,
            AuditAction::UpdateCarePlan,
            None,
            |doc, _| doc.set_care_plan(text, recorded),
            |_, _, _| Ok(()),
        )
    }

    pub fn add_allergy(&self, patient: PatientId, allergy: &Allergy) -> Result<EntryId> {
        self.permit(Action::AmendRecord)?;
        let recorded = self.recorded();
        self.act(
            patient,
            AuditAction::Amend,
            None,
            |doc, _| doc.add_allergy(allergy, recorded),
            resummarise(patient),
        )
    }

    pub fn add_flag(&self, patient: PatientId, flag: &Flag) -> Result<()> {
        self.permit(Action::AmendRecord)?;
        let recorded = self.recorded();
        self.act(
            patient,
            AuditAction::Amend,
            None,
            |doc, _| doc.add_flag(flag, recorded).map(|_| ()),
            resummarise(patient),
        )
    }

    /// Amends one demographic field; the previous value stays in the record's history, and a value
    /// set concurrently on another device is kept and reported as a conflict.
    pub fn amend_demographic(
        &self,
        patient: PatientId,
        field: DemographicField,
        value: serde_json::Value,
    ) -> Result<()> {
        self.permit(Action::AmendRecord)?;
        if field == DemographicField::NhsNumber && self.is_incident(patient)? {
            // An incident's number is its identification: with how it is known, and audited.
            return Err(StoreError::IdentifyIncident);
        }
        if field == DemographicField::NhsNumber {
            let number = NhsNumber::parse(value.as_str().unwrap_or_default()).ok();
            let context = self.context()?;
            let taken = context.unlocked.as_ref().is_some_and(|unlocked| {
                unlocked.summaries.values().any(|summary| {
                    summary.id != patient
                        && number.is_some()
                        && summary.registered_nhs_number() == number
                })
            });
            if taken {
                return Err(StoreError::DuplicateNhsNumber);
            }
        }
        let recorded = self.recorded();
        self.act(
            patient,
            AuditAction::Amend,
            None,
            |doc, _| doc.amend_demographic(field, value, recorded),
            resummarise(patient),
        )
    }

    /// Settles a conflict on `field` (as the record names it) with one of the recorded values or
    /// a new one: one action, attributed to this clinician and audited.
    pub fn resolve_conflict(
        &self,
        patient: PatientId,
        field: &str,
        resolution: &Resolution,
    ) -> Result<()> {
        self.permit(Action::ResolveConflict)?;
        let protocol = self.protocol()?;
        let recorded = self.recorded();
        // An incident's number links it to the registered record holding it: no duplicate.
        let incident = self.is_incident(patient)?;
        let others: std::collections::HashSet<NhsNumber> = {
            let mut context = self.context()?;
            context
                .summaries()?
                .values()
                .filter(|summary| summary.id != patient)
                .filter_map(PatientSummary::registered_nhs_number)
                .collect()
        };
        // The field's name is the reason in the audit: it says what was settled, not the values.
        let audited = field.to_owned();
        self.act(
            patient,
            AuditAction::ResolveConflict,
            Some(audited),
            |doc, _| match doc.resolve_conflict(field, resolution, recorded, &protocol)? {
                Resolved::NhsNumber(number) if !incident && others.contains(&number) => {
                    Err(StoreError::DuplicateNhsNumber)
                }
                _ => Ok(()),
            },
            resummarise(patient),
        )
    }

    /// Records that the patient was asked and has no known allergies.
    pub fn confirm_no_known_allergies(&self, patient: PatientId) -> Result<()> {
        self.permit(Action::AmendRecord)?;
        let recorded = self.recorded();
        self.act(
            patient,
            AuditAction::Amend,
            None,
            |doc, _| doc.confirm_no_known_allergies(recorded),
            resummarise(patient),
        )
    }

    /// Marks an allergy or alert resolved or entered-in-error; it stays in the record.
    pub fn set_entry_status(
        &self,
        patient: PatientId,
        container: EntryContainer,
        entry: EntryId,
        status: EntryStatus,
    ) -> Result<()> {
        self.permit(match status {
            EntryStatus::EnteredInError => Action::MarkEnteredInError,
            _ => Action::AmendRecord,
        })?;
        let recorded = self.recorded();
        self.act(
            patient,
            AuditAction::Amend,
            None,
            |doc, _| doc.set_entry_status(container, entry, status, recorded),
            resummarise(patient),
        )
    }

    /// Records the clinical decision to score this patient's SpO2 on `scale`.
    pub fn decide_spo2_scale(
        &self,
        patient: PatientId,
        scale: Spo2Scale,
        note: &str,
    ) -> Result<()> {
        self.permit(Action::DecideSpo2Scale)?;
        let note = required_reason(note)?;
        let decision = ScaleDecision {
            scale,
            by: self.author(),
            at: Utc::now(),
            note: note.clone(),
        };
        self.act(
            patient,
            AuditAction::Amend,
            Some(note),
            |doc, _| doc.set_spo2_scale_decision(&decision),
            |_, _, _| Ok(()),
        )
    }

    /// Records the patient's pregnancy status; NEWS2 is not used while pregnant and for the
    /// organisation's postnatal period after birth.
    pub fn set_maternity(&self, patient: PatientId, status: MaternityStatus) -> Result<()> {
        self.permit(Action::AmendRecord)?;
        // A pregnancy lasts 40 weeks to its expected date and at most 2 beyond it.
        super::record::check_maternity(&status, crate::news2::uk_date(Utc::now()))?;
        let protocol = self.protocol()?;
        let recorded = self.recorded();
        self.act(
            patient,
            AuditAction::RecordMaternity,
            None,
            |doc, _| doc.set_maternity(&status, &protocol, recorded),
            resummarise(patient),
        )
    }

    /// Records an escalation about the patient (who was called, when, what they said). `at`
    /// defaults to now and may not be in the future.
    pub fn escalate(&self, patient: PatientId, escalation: &Escalation) -> Result<EntryId> {
        self.permit(Action::Escalate)?;
        let mut escalation = escalation.clone();
        escalation.outcome = escalation.outcome.trim().to_owned();
        if escalation.outcome.is_empty() {
            return Err(StoreError::OutcomeRequired);
        }
        escalation.at = checked_time(Some(escalation.at))?;
        let trimmed = |text: &Option<String>| {
            text.as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
        };
        escalation.reference = trimmed(&escalation.reference);
        escalation.sbar = trimmed(&escalation.sbar);
        let recorded = self.recorded();
        self.act(
            patient,
            AuditAction::Escalate,
            None,
            |doc, _| doc.add_escalation(&escalation, recorded),
            |_, _, _| Ok(()),
        )
    }

    /// Whether `patient`'s record is an incident's (from its summary).
    pub(super) fn is_incident(&self, patient: PatientId) -> Result<bool> {
        let context = self.context()?;
        Ok(context
            .unlocked()?
            .summaries
            .get(&patient)
            .ok_or(StoreError::PatientNotFound)?
            .incident
            .is_some())
    }

    pub(super) fn recorded(&self) -> Recorded {
        Recorded {
            by: self.author(),
            at: Utc::now(),
        }
    }

    /// The device's audit trail: it names patients and holds the reasons clinicians gave, so it
    /// is read as records are.
    /// The audit of this device. For a record restricted to others the entries stay (who, when,
    /// what) but their reasons do not: a scale note or an emergency access reason would say what
    /// the restriction hides.
    pub fn audit_entries(&self) -> Result<Vec<AuditEntry>> {
        self.permit(Action::ReadRecords)?;
        let context = self.context()?;
        let mut entries = audit::entries(&context.connection, context.key()?)?;
        let unlocked = context.unlocked()?;
        for entry in &mut entries {
            if let Some(patient) = entry.event.patient
                && !self
                    .access_in(unlocked, patient)
                    .is_ok_and(|access| access.may_open())
            {
                entry.event.reason = None;
            }
        }
        Ok(entries)
    }

    /// Checks the audit chain: `Ok(Ok(n))` with `n` intact entries, or where it breaks.
    pub fn verify_audit(&self) -> Result<std::result::Result<u64, AuditBreak>> {
        let context = self.context()?;
        audit::verify(&context.connection, context.key()?)
    }
}

/// How far ahead of this device's clock a time may be entered: clocks on two devices differ.
pub const CLOCK_SKEW_TOLERANCE_MINUTES: i64 = 5;

/// A time a clinician entered (now when absent), refused when it is in the future.
fn checked_time(at: Option<DateTime<Utc>>) -> Result<DateTime<Utc>> {
    let now = Utc::now();
    let at = at.unwrap_or(now);
    if at > now + chrono::Duration::minutes(CLOCK_SKEW_TOLERANCE_MINUTES) {
        return Err(StoreError::TakenInFuture {
            tolerance_minutes: CLOCK_SKEW_TOLERANCE_MINUTES,
        });
    }
    Ok(at)
}

fn required_reason(reason: &str) -> Result<String> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(StoreError::ReasonRequired);
    }
    Ok(reason.to_owned())
}

pub(super) fn index_observation(
    connection: &Connection,
    observation: ObservationId,
    patient: PatientId,
) -> Result<()> {
    connection
        .prepare_cached(
            "INSERT INTO observation_index (observation_id, patient_id) VALUES (?1, ?2)
             ON CONFLICT (observation_id) DO NOTHING",
        )?
        .execute(params![observation.to_string(), patient.to_string()])?;
    Ok(())
}

/// What a new set is scored with: the facts and SpO2 scale of the patient's records read as one
/// where the record is linked (an identified incident), so a set scores at saving as it will read
/// afterwards; else the record's own.
fn scoring_with(
    group: Option<&PatientRecord>,
    doc: &RecordDoc,
) -> Result<(super::record::ScoringFacts, Spo2Scale)> {
    match group {
        Some(joined) => Ok((
            super::record::ScoringFacts {
                applicability: joined.applicability.clone(),
                ceiling_of_care: joined.ceiling_of_care(),
            },
            joined.spo2_scale(),
        )),
        None => Ok((doc.scoring_facts()?, doc.spo2_scale()?)),
    }
}

/// Rebuilds a summary from the whole record, for actions that can change more than the latest set.
pub(super) fn resummarise<T>(
    patient: PatientId,
) -> impl FnOnce(&mut PatientSummary, &RecordDoc, &T) -> Result<()> {
    move |summary, doc, _| {
        *summary = PatientSummary::of(&doc.read(patient)?);
        Ok(())
    }
}
