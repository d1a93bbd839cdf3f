//! One patient's record as an Automerge document.
//!
//! Layout of the document (keys at the root):
//!
//! | key | type | how it merges |
//! |---|---|---|
//! | `demographics` | map of registers, each `{value, by, at}` JSON | concurrent values kept and reported as conflicts |
//! | `allergies`, `flags` | map id → map {`entry`, `status`} | entries from every device kept |
//! | `spo2_scale_decision` | register `{scale, by, at, note}` | conflicts reported; decisions that disagree, or one by a role that may not decide, leave Scale 1 in force |
//! | `medications`, `problems` | register: snapshot `{source, as_of, items}` | conflicts reported |
//! | `care_plan_version` | register `{value, by, at}`: the whole plan | conflicts reported, both versions kept whole |
//! | `care_plan`, `care_plan_edited` | text, register `{by, at}` | read only: plans saved before versions, merged character by character |
//! | `allergy_status` | register `{value: "no-known-allergies", by, at}` | conflicts reported; stands only while no allergy is newer |
//! | `notes` | map id → map {`meta`, `text` (text), `entered_in_error`} | appended; text merges |
//! | `observations` | map id → map {`set`, `entered_in_error`} | appended, never rewritten |
//! | `maternity` | register `{status, period, by, at}` | conflicts reported; any concurrent value rules NEWS2 out |
//! | `escalations` | map id → map {`entry`} (created on first use) | appended |
//! | `restriction` | register `{value: {state, reason, clinicians}, by, at}` | any concurrent restriction stands, naming only who every one names ([`restriction_in_force`](super::restriction::restriction_in_force)) |
//!
//! Every mutating method is one clinician action and makes exactly one Automerge commit.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ChangeHash, ObjId, ObjType, ROOT, ReadDoc, Value};
use chrono::{DateTime, NaiveDate, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::error::{Result, StoreError};
use super::restriction::{
    RecordedDecision, Restriction, RestrictionDecision, restriction_in_force,
};
use crate::ids::{EntryId, NoteId, ObservationId, PatientId};
use crate::incident::{AgeGroup, Identification, Incident};
use crate::news2::{MaternityPeriod, NotApplicable, ResponseProtocol};
use crate::nhs_number::NhsNumber;
use crate::observation::{Author, ObservationSet, Scoring};
use crate::patient::{
    Address, Allergy, Contact, Demographics, Flag, GpPractice, MaternityStatus, Medication, Sex,
};
use crate::permission::Action;
use crate::vitals::Spo2Scale;

const SCHEMA_VERSION: i64 = 1;

/// Who did something and when.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorded {
    pub by: Author,
    pub at: DateTime<Utc>,
}

/// A mark that an entry was made in error. The entry itself stays readable.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnteredInError {
    pub by: Author,
    pub at: DateTime<Utc>,
    pub reason: String,
}

/// The clinical decision that this patient's SpO2 is scored on Scale 2 (or back on Scale 1).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScaleDecision {
    pub scale: Spo2Scale,
    pub by: Author,
    pub at: DateTime<Utc>,
    pub note: String,
}

/// Medicines or problems as imported from a source system at a point in time.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot<T> {
    pub source: String,
    pub as_of: DateTime<Utc>,
    pub items: Vec<T>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryStatus {
    Active,
    Resolved,
    EnteredInError,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllergyEntry {
    pub id: EntryId,
    #[serde(flatten)]
    pub allergy: Allergy,
    pub recorded: Recorded,
    pub status: EntryStatus,
    /// The entry's identifier in the system it was imported from; `None` for entries made here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceIdentifier>,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlagEntry {
    pub id: EntryId,
    #[serde(flatten)]
    pub flag: Flag,
    pub recorded: Recorded,
    pub status: EntryStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceIdentifier>,
}

/// An entry's identifier in another system (a FHIR `Identifier`): imports of the same entry find
/// it again by this, on any device, because the entry's id is derived from it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SourceIdentifier {
    pub system: String,
    pub value: String,
}

impl SourceIdentifier {
    /// The id every device gives the entry with this identifier: SHA-256 of `system|value` as a
    /// name-based UUID (RFC 9562 version 8), never equal to an id a device drew at random
    /// (version 4). A device checks an imported entry arriving by sync against it, so an import
    /// can only ever write entries of its own.
    pub fn entry_id(&self) -> EntryId {
        let digest = ring::digest::digest(
            &ring::digest::SHA256,
            format!("{}|{}", self.system, self.value).as_bytes(),
        );
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest.as_ref()[..16]);
        bytes[6] = (bytes[6] & 0x0f) | 0x80;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        EntryId::from_u128(u128::from_be_bytes(bytes))
    }
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct ObservationEntry {
    #[serde(flatten)]
    pub set: ObservationSet,
    pub entered_in_error: Option<EnteredInError>,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteEntry {
    pub id: NoteId,
    pub text: String,
    pub recorded: Recorded,
    pub entered_in_error: Option<EnteredInError>,
}

/// A pregnancy status as recorded: the status, the dates it rules NEWS2 out (fixed with the
/// organisation's postnatal period when it was recorded), who recorded it and when.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaternityEntry {
    #[serde(flatten)]
    pub status: MaternityStatus,
    pub period: Option<MaternityPeriod>,
    pub by: Author,
    pub at: DateTime<Utc>,
}

/// Who a clinician escalated to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EscalationService {
    #[serde(rename = "999")]
    Emergency999,
    #[serde(rename = "111")]
    Nhs111,
    #[serde(rename = "gp")]
    Gp,
    /// Urgent community response (2-hour crisis response).
    #[serde(rename = "ucr")]
    UrgentCommunityResponse,
    /// Single point of access.
    #[serde(rename = "spa")]
    SinglePointOfAccess,
    #[serde(rename = "maternity-triage")]
    MaternityTriage,
    #[serde(rename = "other")]
    Other,
}

impl EscalationService {
    pub const ALL: [EscalationService; 7] = [
        EscalationService::Emergency999,
        EscalationService::Nhs111,
        EscalationService::Gp,
        EscalationService::UrgentCommunityResponse,
        EscalationService::SinglePointOfAccess,
        EscalationService::MaternityTriage,
        EscalationService::Other,
    ];

    pub fn key(self) -> &'static str {
        match self {
            EscalationService::Emergency999 => "999",
            EscalationService::Nhs111 => "111",
            EscalationService::Gp => "gp",
            EscalationService::UrgentCommunityResponse => "ucr",
            EscalationService::SinglePointOfAccess => "spa",
            EscalationService::MaternityTriage => "maternity-triage",
            EscalationService::Other => "other",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            EscalationService::Emergency999 => "999",
            EscalationService::Nhs111 => "NHS 111",
            EscalationService::Gp => "GP",
            EscalationService::UrgentCommunityResponse => "Urgent community response",
            EscalationService::SinglePointOfAccess => "Single point of access",
            EscalationService::MaternityTriage => "Maternity triage",
            EscalationService::Other => "Other",
        }
    }
}

impl std::str::FromStr for EscalationService {
    type Err = UnknownService;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        let s = s.trim().to_lowercase();
        EscalationService::ALL
            .into_iter()
            .find(|service| service.key() == s)
            .ok_or(UnknownService)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown service; use 999, 111, gp, ucr, spa, maternity-triage or other")]
pub struct UnknownService;

/// A call made about the patient: to whom, when, what they said.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Escalation {
    pub service: EscalationService,
    /// When the call was made.
    pub at: DateTime<Utc>,
    /// What the service said or will do ("ambulance dispatched, category 2").
    pub outcome: String,
    /// The service's reference (incident number, case number).
    pub reference: Option<String>,
    /// Situation, background, assessment, recommendation, as handed over.
    pub sbar: Option<String>,
    /// The set that prompted it, when there was one.
    pub observation: Option<ObservationId>,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationEntry {
    pub id: EntryId,
    #[serde(flatten)]
    pub escalation: Escalation,
    pub recorded: Recorded,
}

/// Two or more devices set a single-valued field concurrently. Every value is kept and shown with
/// who set it; a clinician resolves it by setting the field again.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    pub field: String,
    pub values: Vec<serde_json::Value>,
}

/// Why Scale 1 stands although a Scale 2 decision was recorded: until a registered clinician
/// decides again, the safe scale is in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScaleReview {
    /// Two devices recorded different scales at the same time.
    Disputed,
    /// The decision carries a role that may not decide the scale (a synced entry from a
    /// modified or misconfigured device).
    NotByAClinician,
}

impl ScaleReview {
    pub fn message(self) -> &'static str {
        match self {
            ScaleReview::Disputed => {
                "two devices recorded different SpO2 scale decisions: Scale 1 is used until a registered clinician decides again"
            }
            ScaleReview::NotByAClinician => {
                "the SpO2 scale decision on record was not made by a registered clinician: Scale 1 is used until one decides"
            }
        }
    }
}

/// The scale in force given every concurrently recorded decision and the one every replica
/// picks as the winner.
fn scale_in_force(
    winner: Option<&ScaleDecision>,
    all: &[ScaleDecision],
) -> (Spo2Scale, Option<ScaleReview>) {
    let Some(winner) = winner else {
        return (Spo2Scale::Scale1, None);
    };
    if all.iter().any(|decision| decision.scale != winner.scale) {
        return (Spo2Scale::Scale1, Some(ScaleReview::Disputed));
    }
    if all
        .iter()
        .any(|decision| !decision.by.role.is_registered_clinician())
    {
        return (Spo2Scale::Scale1, Some(ScaleReview::NotByAClinician));
    }
    (winner.scale, None)
}

/// Whether the patient has allergies on record, was confirmed to have none, or was never asked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum AllergyStatus {
    /// At least one active allergy or adverse reaction.
    Recorded,
    /// A clinician confirmed no known allergies, after every allergy entry on record.
    NoKnownAllergies { by: Author, at: DateTime<Utc> },
    /// Never asked, or an allergy was recorded after "no known allergies" and is no longer active.
    NotRecorded,
}

/// What "no known allergies" is stored as.
const NO_KNOWN_ALLERGIES: &str = "no-known-allergies";

/// A patient record as read from its document: owned, plain data for the shells.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct PatientRecord {
    pub id: PatientId,
    /// `None` on an incident record until the patient is identified.
    pub nhs_number: Option<NhsNumber>,
    /// Empty on an incident record until someone records the name.
    pub given: String,
    pub family: String,
    /// `None` on an incident record: its age is the incident's estimate.
    pub birth_date: Option<NaiveDate>,
    pub sex: Sex,
    pub address: Option<Address>,
    pub gp_practice: Option<GpPractice>,
    pub contacts: Vec<Contact>,
    pub conflicts: Vec<Conflict>,
    pub allergies: Vec<AllergyEntry>,
    pub flags: Vec<FlagEntry>,
    pub spo2_scale_decision: Option<ScaleDecision>,
    /// Set when Scale 1 stands despite a recorded decision.
    #[serde(default)]
    pub spo2_scale_review: Option<ScaleReview>,
    #[serde(default = "not_recorded")]
    pub allergy_status: AllergyStatus,
    pub medications: Option<Snapshot<Medication>>,
    pub problems: Option<Snapshot<String>>,
    pub care_plan: String,
    pub care_plan_edited: Option<Recorded>,
    pub notes: Vec<NoteEntry>,
    pub observations: Vec<ObservationEntry>,
    /// The winning pregnancy status, if one was ever recorded.
    #[serde(default)]
    pub maternity: Option<MaternityEntry>,
    #[serde(default)]
    pub escalations: Vec<EscalationEntry>,
    /// Restricted to named clinicians; others on the team see the banner only.
    #[serde(default)]
    pub restriction: Option<Restriction>,
    /// The temporary identity of a record started for a patient no one had identified.
    #[serde(default)]
    pub incident: Option<Incident>,
    /// Who identified an incident's patient, how they knew, and when (or withdrew it).
    #[serde(default)]
    pub identification: Option<Identification>,
    /// Other records of the same patient (sharing its NHS number), whose entries are shown here.
    #[serde(default)]
    pub linked: Vec<super::linked::LinkedRecord>,
    /// What decides whether NEWS2 applies: every concurrently recorded birth date and
    /// maternity period, not only the winning ones.
    #[serde(skip)]
    pub(crate) applicability: Applicability,
}

/// The facts NEWS2's applicability rests on, with every value devices disagree about.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Applicability {
    pub(crate) birth_dates: Vec<NaiveDate>,
    pub(crate) maternity: Vec<MaternityPeriod>,
    /// Adult or child as an incident's clinician stated it: counts only while no birth date is
    /// known, since a date of birth is a fact and an estimate is not.
    pub(crate) stated_group: Option<AgeGroup>,
}

impl Applicability {
    /// Whether any recorded status says the patient is pregnant (not yet delivered) on the UK
    /// date of `taken_at`: observations of a pregnancy (the fetal heart) are recorded only then.
    pub(crate) fn pregnant_on(&self, taken_at: DateTime<Utc>) -> bool {
        self.maternity
            .iter()
            .any(|period| period.pregnant_on(crate::news2::uk_date(taken_at)))
    }

    /// Whether NEWS2 is ruled out at `taken_at`: by any of the birth dates (a disputed date of
    /// birth counts as the youngest) or any maternity period.
    pub(crate) fn not_applicable(&self, taken_at: DateTime<Utc>) -> Option<NotApplicable> {
        match (self.birth_dates.iter().max(), self.stated_group) {
            (Some(youngest), _) => {
                crate::news2::not_applicable(*youngest, &self.maternity, taken_at)
            }
            (None, Some(group)) => {
                crate::news2::not_applicable_for_group(group, &self.maternity, taken_at)
            }
            // Only an incident record lacks a birth date, and it always states a group; should
            // a record have neither, it is read as a child's: no score rather than a wrong one.
            (None, None) => {
                crate::news2::not_applicable_for_group(AgeGroup::Child, &self.maternity, taken_at)
            }
        }
    }
}

/// What a new set is scored with on this record: applicability at `taken_at` and the ceiling of
/// care in force.
pub(crate) struct ScoringFacts {
    pub(crate) applicability: Applicability,
    pub(crate) ceiling_of_care: Vec<String>,
}

impl ScoringFacts {
    pub(crate) fn scoring<'a>(
        &self,
        protocol: &'a ResponseProtocol,
        taken_at: DateTime<Utc>,
    ) -> Scoring<'a> {
        Scoring {
            protocol,
            not_applicable: self.applicability.not_applicable(taken_at),
            ceiling_of_care: self.ceiling_of_care.clone(),
        }
    }
}

/// The ceiling-of-care entries among active flags, as shown beside a NEWS2 response.
fn ceiling_of_care<'a>(flags: impl IntoIterator<Item = &'a Flag>) -> Vec<String> {
    flags
        .into_iter()
        .filter(|flag| flag.kind.limits_care())
        .map(|flag| format!("{}: {}", flag.kind.label(), flag.detail))
        .collect()
}

impl std::fmt::Debug for PatientRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PatientRecord({}, <redacted>)", self.id)
    }
}

impl PatientRecord {
    /// Whether the medicines list is older than `review_days` at `now` (or there is none):
    /// shown so nobody reads a months-old list as what the patient takes today.
    pub fn medications_out_of_date(&self, now: DateTime<Utc>, review_days: u16) -> bool {
        self.medications.as_ref().is_some_and(|snapshot| {
            now - snapshot.as_of > chrono::Duration::days(i64::from(review_days))
        })
    }

    /// The scale this record's SpO2 must be scored on.
    pub fn spo2_scale(&self) -> Spo2Scale {
        if self.spo2_scale_review.is_some() {
            return Spo2Scale::Scale1;
        }
        self.spo2_scale_decision
            .as_ref()
            .map_or(Spo2Scale::Scale1, |decision| decision.scale)
    }

    /// "FAMILY, Given", or an incident's temporary name while no name is recorded.
    pub fn display_name(&self) -> String {
        crate::incident::shown_name(&self.family, &self.given, self.sex, self.incident.as_ref())
    }

    /// Whether NEWS2 is ruled out for a set taken at `taken_at` on this record.
    pub fn news2_not_applicable(&self, taken_at: DateTime<Utc>) -> Option<NotApplicable> {
        self.applicability.not_applicable(taken_at)
    }

    /// Whether the record says the patient is pregnant at `at` (the observations of a pregnancy,
    /// such as the fetal heart, are recorded only then).
    pub fn pregnant_on(&self, at: DateTime<Utc>) -> bool {
        self.applicability.pregnant_on(at)
    }

    /// DNACPR, ReSPECT and end-of-life entries in force, as shown beside a NEWS2 response.
    pub fn ceiling_of_care(&self) -> Vec<String> {
        ceiling_of_care(
            self.flags
                .iter()
                .filter(|entry| entry.status == EntryStatus::Active)
                .map(|entry| &entry.flag),
        )
    }

    /// The latest observation set not marked entered-in-error (observations beside NEWS2 on
    /// their own are not a set).
    pub fn latest_observation(&self) -> Option<&ObservationSet> {
        self.observations
            .iter()
            .rev()
            .find(|entry| entry.entered_in_error.is_none() && !entry.set.is_beside_only())
            .map(|entry| &entry.set)
    }

    /// The demographics a registered patient's record holds; `None` for an incident record not
    /// yet identified with an NHS number and a date of birth.
    pub fn demographics(&self) -> Option<Demographics> {
        Some(Demographics {
            nhs_number: self.nhs_number?,
            given: self.given.clone(),
            family: self.family.clone(),
            birth_date: self.birth_date?,
            sex: self.sex,
            address: self.address.clone().unwrap_or_default(),
            gp_practice: self.gp_practice.clone().unwrap_or_default(),
            contacts: self.contacts.clone(),
        })
    }
}

/// Everything known about a patient when their record is first made on a device: a new
/// registration, or an import from a GP or shared-record system.
#[derive(Clone)]
pub struct NewPatient {
    pub demographics: Demographics,
    pub allergies: Vec<Allergy>,
    pub flags: Vec<Flag>,
    pub medications: Option<Snapshot<Medication>>,
    pub problems: Option<Snapshot<String>>,
    pub spo2_scale_decision: Option<ScaleDecision>,
    pub observations: Vec<ObservationSet>,
    /// Pregnancy status, where known at registration.
    pub maternity: Option<MaternityStatus>,
    /// Visit notes brought in with the record (a caseload moved from another system, or synthetic
    /// history), each written in the name of whoever brings the record in, at its own time.
    pub notes: Vec<NewNote>,
}

/// A visit note brought in with a new record.
#[derive(Clone, PartialEq, Eq)]
pub struct NewNote {
    pub id: NoteId,
    pub at: DateTime<Utc>,
    pub text: String,
}

impl NewPatient {
    /// The same patient as entered on this device by `author` under `protocol`: each observation
    /// set is scored again here (whether NEWS2 applies on its date, the response in the protocol's
    /// words) and, with the SpO2 scale decision it carries, attributed to the person and device
    /// bringing it in. The team accepts an entry only in the name of the device that signs it
    /// (ARCHITECTURE.md, "Authorship bound to the signer"), so imported history is the importer's
    /// entry.
    pub fn attributed_to(&self, author: Author, protocol: &ResponseProtocol) -> NewPatient {
        let mut patient = self.clone();
        let facts = ScoringFacts {
            applicability: Applicability {
                birth_dates: vec![self.demographics.birth_date],
                maternity: self
                    .maternity
                    .iter()
                    .filter_map(|status| MaternityPeriod::of(status, protocol.postnatal_days))
                    .collect(),
                stated_group: None,
            },
            ceiling_of_care: ceiling_of_care(&self.flags),
        };
        patient.observations = self
            .observations
            .iter()
            .map(|set| {
                ObservationSet::record(
                    set.id(),
                    set.taken_at(),
                    author,
                    *set.vitals(),
                    set.scale(),
                    &facts.scoring(protocol, set.taken_at()),
                )
            })
            .collect();
        if let Some(decision) = &mut patient.spo2_scale_decision {
            decision.by = author;
        }
        patient
    }
}

impl std::fmt::Debug for NewPatient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPatient(<redacted>)")
    }
}

impl NewPatient {
    pub fn with_demographics(demographics: Demographics) -> Self {
        Self {
            demographics,
            allergies: Vec::new(),
            flags: Vec::new(),
            medications: None,
            problems: None,
            spo2_scale_decision: None,
            observations: Vec::new(),
            maternity: None,
            notes: Vec::new(),
        }
    }
}

redacted_debug!(
    EnteredInError,
    ScaleDecision,
    AllergyEntry,
    FlagEntry,
    ObservationEntry,
    NoteEntry,
    Conflict,
    MaternityEntry,
    Escalation,
    EscalationEntry,
    NewNote
);

impl<T> std::fmt::Debug for Snapshot<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Snapshot(<redacted>)")
    }
}

/// A demographic register's stored form: the value with who set it.
#[derive(Serialize, Deserialize)]
struct Register<T> {
    value: T,
    by: Author,
    at: DateTime<Utc>,
}

fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T> {
    serde_json::from_value(value).map_err(|_| StoreError::Tampered { what: "record" })
}

/// A pregnancy status's dates checked against today: a delivery in the future, or an expected date
/// more than 40 weeks ahead or 2 weeks past, is a slip (a wrong year) that would switch NEWS2 on or
/// off wrongly.
pub(crate) fn check_maternity(status: &MaternityStatus, today: NaiveDate) -> Result<()> {
    match *status {
        MaternityStatus::Postnatal { delivered } if delivered > today => {
            Err(StoreError::DeliveryInFuture)
        }
        MaternityStatus::Pregnant { expected_delivery }
            if expected_delivery > today + chrono::Days::new(280) =>
        {
            Err(StoreError::ExpectedDeliveryOutOfRange(
                "that expected date of delivery is more than 40 weeks away: check the year",
            ))
        }
        MaternityStatus::Pregnant { expected_delivery }
            if expected_delivery + chrono::Days::new(14) < today =>
        {
            Err(StoreError::ExpectedDeliveryOutOfRange(
                "that expected date of delivery is more than 2 weeks past: if the baby is born, record the patient as postnatal with the date of delivery",
            ))
        }
        _ => Ok(()),
    }
}

fn not_recorded() -> AllergyStatus {
    AllergyStatus::NotRecorded
}

fn record_error(_: automerge::AutomergeError) -> StoreError {
    StoreError::Tampered { what: "record" }
}

fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|_| StoreError::Tampered { what: "record" })
}

fn from_json<T: DeserializeOwned>(text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|_| StoreError::Tampered { what: "record" })
}

/// A value's place in a document and a digest of it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct ValueDigest {
    path: String,
    digest: [u8; 16],
}

impl ValueDigest {
    pub(super) fn path(&self) -> &str {
        &self.path
    }

    fn of(path: &str, text: &str) -> Self {
        let full = crate::crypto::sha256(&[text.as_bytes()]);
        let mut digest = [0u8; 16];
        digest.copy_from_slice(&full[..16]);
        Self {
            path: path.to_owned(),
            digest,
        }
    }
}

/// What a value at `path` (as [`RecordDoc::new_value_authors`] names it) records, so that a value
/// arriving by sync can be checked against its author's role as the acting device's session
/// checks it. `None` for paths that record no action of their own (and for keys a later build
/// adds: they are checked by the build that knows them).
pub(super) fn action_at(path: &str) -> Option<Action> {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["observations", _, "set"] => Some(Action::RecordObservation),
        ["observations", _, "entered_in_error"] | ["notes", _, "entered_in_error"] => {
            Some(Action::MarkEnteredInError)
        }
        ["notes", _, "meta"] => Some(Action::WriteNote),
        ["escalations", _, "entry"] => Some(Action::Escalate),
        ["care_plan_version"] | ["care_plan_edited"] => Some(Action::EditCarePlan),
        ["spo2_scale_decision"] => Some(Action::DecideSpo2Scale),
        ["restriction"] => Some(Action::RestrictRecord),
        ["incident"] => Some(Action::StartIncident),
        ["identification"] => Some(Action::AmendRecord),
        // What an import brings in: a registered clinician records it, an integration device
        // imports it (its own entries only: `sync::check_authorship`).
        ["allergies", ..] | ["flags", ..] | ["allergy_status"] | ["medications"] | ["problems"] => {
            Some(Action::ImportRecords)
        }
        ["demographics", ..] | ["maternity"] => Some(Action::AmendRecord),
        _ => None,
    }
}

/// Who a stored value says made it, where the record's readers look for it: an observation set's
/// `author`, a register's or mark's `by`, an entry's `recorded.by`. A value naming more than one
/// author, or one that does not parse, is a forged claim (readers ignore fields they do not
/// expect, so a decoy field must not pass the check while another is shown).
fn claimed_author(text: &str) -> Option<Author> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let found: Vec<&serde_json::Value> = [
        value.get("author"),
        value.get("by"),
        value
            .get("recorded")
            .and_then(|recorded| recorded.get("by")),
    ]
    .into_iter()
    .flatten()
    .collect();
    let first = found.first()?;
    let forged = Author {
        user: crate::ids::UserId::from_u128(0),
        role: crate::observation::Role::HealthcareAssistant,
        device: crate::ids::DeviceId::from_u128(0),
    };
    if found.iter().any(|other| other != first) {
        return Some(forged);
    }
    Some(serde_json::from_value((*first).clone()).unwrap_or(forged))
}

/// A patient's Automerge document.
pub struct RecordDoc {
    doc: AutoCommit,
    /// Heads at the last load or save: what the device store already holds.
    saved_heads: Vec<ChangeHash>,
}

impl std::fmt::Debug for RecordDoc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecordDoc(<redacted>)")
    }
}

impl RecordDoc {
    /// A new record with its containers, one commit. `protocol` fixes the postnatal period of a
    /// pregnancy status recorded at registration.
    pub fn create(
        actor: ActorId,
        patient: &NewPatient,
        recorded: Recorded,
        protocol: &ResponseProtocol,
    ) -> Result<Self> {
        let (mut record, demographics) = Self::empty(actor)?;
        let d = &patient.demographics;
        record.put_register(&demographics, "nhs_number", &d.nhs_number, recorded)?;
        record.put_register(&demographics, "given", &d.given, recorded)?;
        record.put_register(&demographics, "family", &d.family, recorded)?;
        record.put_register(&demographics, "birth_date", &d.birth_date, recorded)?;
        record.put_register(&demographics, "sex", &d.sex, recorded)?;
        record.put_register(&demographics, "address", &d.address, recorded)?;
        record.put_register(&demographics, "gp_practice", &d.gp_practice, recorded)?;
        record.put_register(&demographics, "contacts", &d.contacts, recorded)?;
        for allergy in &patient.allergies {
            record.put_allergy(allergy, recorded)?;
        }
        for flag in &patient.flags {
            record.put_flag(flag, recorded)?;
        }
        if let Some(medications) = &patient.medications {
            record
                .doc
                .put(ROOT, "medications", to_json(medications)?)
                .map_err(record_error)?;
        }
        if let Some(problems) = &patient.problems {
            record
                .doc
                .put(ROOT, "problems", to_json(problems)?)
                .map_err(record_error)?;
        }
        if let Some(decision) = &patient.spo2_scale_decision {
            record
                .doc
                .put(ROOT, "spo2_scale_decision", to_json(decision)?)
                .map_err(record_error)?;
        }
        if let Some(status) = &patient.maternity {
            record.put_maternity(status, protocol, recorded)?;
        }
        for set in &patient.observations {
            record.put_observation(set)?;
        }
        for note in &patient.notes {
            record.put_note(
                note.id,
                &note.text,
                Recorded {
                    by: recorded.by,
                    at: note.at,
                },
            )?;
        }
        record.commit("create record", recorded.at);
        Ok(record)
    }

    /// A new incident record: a temporary identity and no NHS number, name or date of birth,
    /// which identifying the patient later adds. One commit.
    pub fn create_incident(
        actor: ActorId,
        incident: &Incident,
        sex: Sex,
        recorded: Recorded,
    ) -> Result<Self> {
        let (mut record, demographics) = Self::empty(actor)?;
        record.put_register(&demographics, "sex", &sex, recorded)?;
        record
            .doc
            .put(ROOT, "incident", to_json(incident)?)
            .map_err(record_error)?;
        record.commit("start incident", recorded.at);
        Ok(record)
    }

    /// A document with every container and no content, not yet committed.
    fn empty(actor: ActorId) -> Result<(Self, ObjId)> {
        let mut doc = AutoCommit::new().with_actor(actor);
        doc.put(ROOT, "schema", SCHEMA_VERSION)
            .map_err(record_error)?;
        let demographics = doc
            .put_object(ROOT, "demographics", ObjType::Map)
            .map_err(record_error)?;
        // Every container exists from the first commit: two devices each creating one on first
        // use would make two maps under one key, and a reader of the winner would lose the other.
        for key in ["allergies", "flags", "notes", "observations", "escalations"] {
            doc.put_object(ROOT, key, ObjType::Map)
                .map_err(record_error)?;
        }
        // Kept so that a record created here opens on a device from before care-plan versions.
        doc.put_object(ROOT, "care_plan", ObjType::Text)
            .map_err(record_error)?;
        Ok((
            Self {
                doc,
                saved_heads: Vec::new(),
            },
            demographics,
        ))
    }

    /// Rebuilds a document from its stored snapshot and the chunks saved after it.
    pub fn load<'a>(
        actor: ActorId,
        snapshot: Option<&[u8]>,
        chunks: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Self> {
        let mut doc = match snapshot {
            Some(bytes) => AutoCommit::load(bytes).map_err(record_error)?,
            None => AutoCommit::new(),
        };
        for chunk in chunks {
            doc.load_incremental(chunk).map_err(record_error)?;
        }
        let saved_heads = doc.get_heads();
        Ok(Self {
            doc: doc.with_actor(actor),
            saved_heads,
        })
    }

    /// The changes since the last save or load: what a durable write appends.
    pub fn save_incremental(&mut self) -> Vec<u8> {
        let bytes = self.doc.save_after(&self.saved_heads);
        self.saved_heads = self.doc.get_heads();
        bytes
    }

    /// The whole document, compressed: what compaction writes.
    pub fn save(&mut self) -> Vec<u8> {
        let bytes = self.doc.save();
        self.saved_heads = self.doc.get_heads();
        bytes
    }

    /// The whole document without Automerge's own column compression: what a sync unit
    /// compresses, against the sync dictionary, to about half of [`RecordDoc::save`].
    pub fn save_uncompressed(&mut self) -> Vec<u8> {
        self.doc.save_nocompress()
    }

    /// The document's heads, as hex change hashes.
    pub fn heads(&mut self) -> Vec<String> {
        self.doc
            .get_heads()
            .iter()
            .map(|hash| hash.to_string())
            .collect()
    }

    /// Every change not already covered by `heads` (hex change hashes); unknown hashes are ignored,
    /// which at worst resends changes the other side will deduplicate.
    pub fn changes_after(&mut self, heads: &[String]) -> Vec<u8> {
        let heads: Vec<ChangeHash> = heads.iter().filter_map(|h| h.parse().ok()).collect();
        let known: Vec<ChangeHash> = heads
            .into_iter()
            .filter(|hash| self.doc.get_change_by_hash(hash).is_some())
            .collect();
        self.doc.save_after(&known)
    }

    /// Applies changes from another replica; applying the same changes twice changes nothing.
    pub fn apply_changes(&mut self, bytes: &[u8]) -> Result<()> {
        self.doc.load_incremental(bytes).map_err(record_error)?;
        Ok(())
    }

    /// True when some applied changes wait for changes this replica has not seen yet.
    pub fn is_missing_changes(&mut self) -> bool {
        !self.doc.get_missing_deps(&[]).is_empty()
    }

    /// The SpO2 scale in force on the record, without reading the rest of it.
    pub fn spo2_scale(&self) -> Result<Spo2Scale> {
        Ok(self.scale_decisions()?.1)
    }

    /// The winning scale decision, the scale in force and why it differs from the decision.
    fn scale_decisions(&self) -> Result<(Option<ScaleDecision>, Spo2Scale, Option<ScaleReview>)> {
        let all = self
            .registers(&ROOT, "spo2_scale_decision")?
            .iter()
            .map(|text| from_json::<ScaleDecision>(text))
            .collect::<Result<Vec<_>>>()?;
        let winner: Option<ScaleDecision> =
            self.read_register(&ROOT, "spo2_scale_decision", &mut Vec::new())?;
        let (scale, review) = scale_in_force(winner.as_ref(), &all);
        Ok((winner, scale, review))
    }

    /// Merges another replica's changes into this one (used by sync and by tests of convergence).
    pub fn merge(&mut self, other: &mut RecordDoc) -> Result<()> {
        self.doc.merge(&mut other.doc).map_err(record_error)?;
        Ok(())
    }

    /// The change hashes this document holds at its heads.
    pub(super) fn raw_heads(&mut self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    /// The actors of every change applied since `heads`.
    pub(super) fn actors_since(&mut self, heads: &[ChangeHash]) -> Vec<ActorId> {
        self.doc
            .get_changes(heads)
            .into_iter()
            .map(|change| change.actor_id().clone())
            .collect()
    }

    /// Whether every change `bytes` depends on, outside `bytes` itself, is already in this
    /// document: applying it then leaves nothing waiting in memory.
    pub(super) fn can_apply(&self, bytes: &[u8]) -> bool {
        let mut alone = AutoCommit::new();
        if alone.load_incremental(bytes).is_err() {
            // Malformed: applying it fails too, and the caller refuses it then.
            return true;
        }
        alone
            .get_missing_deps(&[])
            .iter()
            .all(|hash| self.doc.get_change_by_hash(hash).is_some())
    }

    /// Every attributed value in the document (each JSON value at each key, concurrent values
    /// included), as its place and a digest of its text: a value that appears after applying a
    /// unit is one the unit wrote. Text objects (care plan, note bodies) are not values here.
    pub(super) fn value_digests(&self) -> Result<std::collections::BTreeSet<ValueDigest>> {
        let mut out = std::collections::BTreeSet::new();
        self.walk_values(&ROOT, String::new(), &mut |path, text| {
            out.insert(ValueDigest::of(path, text));
        })?;
        Ok(out)
    }

    /// Each value not in `before`: where it is (`/observations/ID/set`) and the author it claims
    /// (`None` for a value that names nobody, such as an imported medicines list).
    pub(super) fn new_value_authors(
        &self,
        before: &std::collections::BTreeSet<ValueDigest>,
    ) -> Result<Vec<(String, Option<Author>)>> {
        let mut out = Vec::new();
        self.walk_values(&ROOT, String::new(), &mut |path, text| {
            if !before.contains(&ValueDigest::of(path, text)) {
                out.push((path.to_owned(), claimed_author(text)));
            }
        })?;
        Ok(out)
    }

    fn walk_values(
        &self,
        object: &ObjId,
        path: String,
        visit: &mut dyn FnMut(&str, &str),
    ) -> Result<()> {
        for key in self.doc.keys(object) {
            let here = format!("{path}/{key}");
            for (value, id) in self.doc.get_all(object, &key).map_err(record_error)? {
                match value {
                    Value::Object(ObjType::Map) => self.walk_values(&id, here.clone(), visit)?,
                    Value::Object(_) => {}
                    Value::Scalar(_) => {
                        if let Some(text) = value.as_str() {
                            visit(&here, text);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// A second, independent replica of this document with its own actor, for convergence tests
    /// and for handing a record to another device.
    pub fn fork_with_actor(&mut self, actor: ActorId) -> Self {
        let doc = self.doc.fork().with_actor(actor);
        Self {
            saved_heads: Vec::new(),
            doc,
        }
    }

    fn commit(&mut self, action: &str, at: DateTime<Utc>) {
        self.doc.commit_with(
            CommitOptions::default()
                .with_message(action)
                .with_time(at.timestamp()),
        );
    }

    fn map(&self, key: &str) -> Result<ObjId> {
        match self.doc.get(ROOT, key).map_err(record_error)? {
            Some((Value::Object(_), id)) => Ok(id),
            _ => Err(StoreError::Tampered { what: "record" }),
        }
    }

    fn child_map(&self, parent: &ObjId, key: &str) -> Result<Option<ObjId>> {
        match self.doc.get(parent, key).map_err(record_error)? {
            Some((Value::Object(_), id)) => Ok(Some(id)),
            _ => Ok(None),
        }
    }

    fn put_register<T: Serialize>(
        &mut self,
        object: &ObjId,
        key: &str,
        value: &T,
        recorded: Recorded,
    ) -> Result<()> {
        let register = Register {
            value,
            by: recorded.by,
            at: recorded.at,
        };
        self.doc
            .put(object, key, to_json(&register)?)
            .map_err(record_error)?;
        Ok(())
    }

    fn put_allergy(&mut self, allergy: &Allergy, recorded: Recorded) -> Result<EntryId> {
        let id = EntryId::random();
        let entry = AllergyEntry {
            id,
            allergy: allergy.clone(),
            recorded,
            status: EntryStatus::Active,
            source: None,
        };
        self.put_entry("allergies", id, &entry)?;
        Ok(id)
    }

    fn put_flag(&mut self, flag: &Flag, recorded: Recorded) -> Result<EntryId> {
        let id = EntryId::random();
        let entry = FlagEntry {
            id,
            flag: flag.clone(),
            recorded,
            status: EntryStatus::Active,
            source: None,
        };
        self.put_entry("flags", id, &entry)?;
        Ok(id)
    }

    fn put_entry<T: Serialize>(&mut self, container: &str, id: EntryId, entry: &T) -> Result<()> {
        let map = self.map(container)?;
        let item = self
            .doc
            .put_object(&map, id.to_string(), ObjType::Map)
            .map_err(record_error)?;
        self.doc
            .put(&item, "entry", to_json(entry)?)
            .map_err(record_error)?;
        Ok(())
    }

    fn put_observation(&mut self, set: &ObservationSet) -> Result<()> {
        let map = self.map("observations")?;
        if self.child_map(&map, &set.id().to_string())?.is_some() {
            return Err(StoreError::DuplicateEntry);
        }
        let item = self
            .doc
            .put_object(&map, set.id().to_string(), ObjType::Map)
            .map_err(record_error)?;
        self.doc
            .put(&item, "set", to_json(set)?)
            .map_err(record_error)?;
        Ok(())
    }

    pub fn add_observation(&mut self, set: &ObservationSet) -> Result<()> {
        self.put_observation(set)?;
        self.commit("record observation", set.taken_at());
        Ok(())
    }

    pub fn mark_observation_entered_in_error(
        &mut self,
        id: ObservationId,
        mark: &EnteredInError,
    ) -> Result<()> {
        let map = self.map("observations")?;
        let item = self
            .child_map(&map, &id.to_string())?
            .ok_or(StoreError::ObservationNotFound)?;
        if self
            .doc
            .get(&item, "entered_in_error")
            .map_err(record_error)?
            .is_some()
        {
            return Err(StoreError::AlreadyEnteredInError);
        }
        self.doc
            .put(&item, "entered_in_error", to_json(mark)?)
            .map_err(record_error)?;
        self.commit("mark observation entered in error", mark.at);
        Ok(())
    }

    fn put_maternity(
        &mut self,
        status: &MaternityStatus,
        protocol: &ResponseProtocol,
        recorded: Recorded,
    ) -> Result<()> {
        let entry = MaternityEntry {
            status: *status,
            period: MaternityPeriod::of(status, protocol.postnatal_days),
            by: recorded.by,
            at: recorded.at,
        };
        self.doc
            .put(ROOT, "maternity", to_json(&entry)?)
            .map_err(record_error)?;
        Ok(())
    }

    /// Records the patient's pregnancy status: pregnant (expected date of delivery), postnatal
    /// (date of delivery) or neither.
    pub fn set_maternity(
        &mut self,
        status: &MaternityStatus,
        protocol: &ResponseProtocol,
        recorded: Recorded,
    ) -> Result<()> {
        self.put_maternity(status, protocol, recorded)?;
        self.commit("record pregnancy status", recorded.at);
        Ok(())
    }

    /// Records an escalation: who was called, when, and what they said.
    pub fn add_escalation(
        &mut self,
        escalation: &Escalation,
        recorded: Recorded,
    ) -> Result<EntryId> {
        let id = EntryId::random();
        let map = match self.doc.get(ROOT, "escalations").map_err(record_error)? {
            Some((Value::Object(ObjType::Map), id)) => id,
            Some(_) => return Err(StoreError::Tampered { what: "record" }),
            // Records made before escalations were kept get the map on first use.
            None => self
                .doc
                .put_object(ROOT, "escalations", ObjType::Map)
                .map_err(record_error)?,
        };
        if let Some(observation) = escalation.observation {
            let observations = self.map("observations")?;
            if self
                .child_map(&observations, &observation.to_string())?
                .is_none()
            {
                return Err(StoreError::ObservationNotFound);
            }
        }
        let entry = EscalationEntry {
            id,
            escalation: escalation.clone(),
            recorded,
        };
        let item = self
            .doc
            .put_object(&map, id.to_string(), ObjType::Map)
            .map_err(record_error)?;
        self.doc
            .put(&item, "entry", to_json(&entry)?)
            .map_err(record_error)?;
        self.commit("record escalation", recorded.at);
        Ok(id)
    }

    /// What a new set on this record is scored with, without reading the rest of it.
    pub(crate) fn scoring_facts(&self) -> Result<ScoringFacts> {
        let demographics = self.map("demographics")?;
        let birth_dates = self
            .registers(&demographics, "birth_date")?
            .iter()
            .map(|text| from_json::<Register<NaiveDate>>(text).map(|r| r.value))
            .collect::<Result<Vec<_>>>()?;
        let flags: Vec<FlagEntry> = self.entries("flags")?;
        let incident: Option<Incident> = self.read_register(&ROOT, "incident", &mut Vec::new())?;
        Ok(ScoringFacts {
            applicability: Applicability {
                birth_dates,
                maternity: self.maternity_periods()?,
                stated_group: incident.map(|incident| incident.age_group),
            },
            ceiling_of_care: ceiling_of_care(
                flags
                    .iter()
                    .filter(|entry| entry.status == EntryStatus::Active)
                    .map(|entry| &entry.flag),
            ),
        })
    }

    /// The dates each recorded status rules NEWS2 out: the period stored with it, widened to the
    /// period its status gives with the default postnatal days (an entry written without one, or
    /// with a shorter one, rules out no less) and to the day it was recorded (a status in force
    /// when recorded covers that day whatever its dates say).
    fn maternity_periods(&self) -> Result<Vec<MaternityPeriod>> {
        let entries = self
            .registers(&ROOT, "maternity")?
            .iter()
            .map(|text| from_json::<MaternityEntry>(text))
            .collect::<Result<Vec<_>>>()?;
        Ok(entries
            .into_iter()
            .filter_map(|entry| {
                let computed =
                    MaternityPeriod::of(&entry.status, crate::news2::DEFAULT_POSTNATAL_DAYS)?;
                let recorded_on = crate::news2::uk_date(entry.at);
                let stored = entry.period.unwrap_or(computed);
                Some(MaternityPeriod {
                    from: stored.from.min(computed.from).min(recorded_on),
                    delivered: stored.delivered.or(computed.delivered),
                    until: stored.until.max(computed.until).max(recorded_on),
                })
            })
            .collect())
    }

    pub fn add_note(&mut self, id: NoteId, text: &str, recorded: Recorded) -> Result<()> {
        self.put_note(id, text, recorded)?;
        self.commit("add note", recorded.at);
        Ok(())
    }

    fn put_note(&mut self, id: NoteId, text: &str, recorded: Recorded) -> Result<()> {
        let notes = self.map("notes")?;
        if self.child_map(&notes, &id.to_string())?.is_some() {
            return Err(StoreError::DuplicateEntry);
        }
        let item = self
            .doc
            .put_object(&notes, id.to_string(), ObjType::Map)
            .map_err(record_error)?;
        self.doc
            .put(&item, "meta", to_json(&recorded)?)
            .map_err(record_error)?;
        let body = self
            .doc
            .put_object(&item, "text", ObjType::Text)
            .map_err(record_error)?;
        self.doc
            .splice_text(&body, 0, 0, text)
            .map_err(record_error)?;
        Ok(())
    }

    /// Replaces a note's text; the edit is stored as character insertions and deletions, so
    /// concurrent edits on two devices merge.
    pub fn edit_note(&mut self, id: NoteId, text: &str, recorded: Recorded) -> Result<()> {
        let notes = self.map("notes")?;
        let item = self
            .child_map(&notes, &id.to_string())?
            .ok_or(StoreError::NoteNotFound)?;
        let meta: Recorded = match self.doc.get(&item, "meta").map_err(record_error)? {
            Some((value, _)) => from_json(value.as_str().unwrap_or_default())?,
            None => return Err(StoreError::Tampered { what: "record" }),
        };
        // A note is its author's account of a visit: nobody else rewrites it.
        if meta.by.user != recorded.by.user {
            return Err(StoreError::NotYourNote);
        }
        let body = self
            .child_map(&item, "text")?
            .ok_or(StoreError::Tampered { what: "record" })?;
        self.doc.update_text(&body, text).map_err(record_error)?;
        self.commit("edit note", recorded.at);
        Ok(())
    }

    /// Saves the whole care plan as one version. Two devices saving concurrently keep both
    /// versions whole, reported as a conflict: merging two rewrites of an instruction character
    /// by character can produce one that neither clinician wrote.
    /// Restricts the record to named clinicians, or lifts the restriction: one decision.
    pub fn decide_restriction(
        &mut self,
        decision: &RestrictionDecision,
        recorded: Recorded,
    ) -> Result<()> {
        self.put_register(&ROOT, "restriction", decision, recorded)?;
        let message = match decision {
            RestrictionDecision::Restricted { .. } => "restrict record",
            RestrictionDecision::Lifted => "lift restriction",
        };
        self.commit(message, recorded.at);
        Ok(())
    }

    /// The restriction in force, from every concurrent decision.
    pub fn restriction(&self) -> Result<Option<Restriction>> {
        let decisions = self
            .registers(&ROOT, "restriction")?
            .iter()
            .map(|text| from_json::<RecordedDecision>(text))
            .collect::<Result<Vec<_>>>()?;
        Ok(restriction_in_force(&decisions))
    }

    pub fn set_care_plan(&mut self, text: &str, recorded: Recorded) -> Result<()> {
        self.put_care_plan(text, recorded)?;
        self.commit("update care plan", recorded.at);
        Ok(())
    }

    /// The plan as a version and, for devices on a build from before versions, as the old text
    /// and its editor too, so their caseload does not show a stale plan.
    fn put_care_plan(&mut self, text: &str, recorded: Recorded) -> Result<()> {
        self.put_register(&ROOT, "care_plan_version", &text, recorded)?;
        if let Some((Value::Object(ObjType::Text), body)) =
            self.doc.get(ROOT, "care_plan").map_err(record_error)?
        {
            self.doc.update_text(&body, text).map_err(record_error)?;
        }
        self.doc
            .put(ROOT, "care_plan_edited", to_json(&recorded)?)
            .map_err(record_error)?;
        Ok(())
    }

    /// Settles a conflict on `field` (as named in [`Conflict::field`]) as one action by the
    /// resolving clinician: one of the values devices recorded, or a new one where the field
    /// takes one (demographics, the care plan, pregnancy status).
    pub fn resolve_conflict(
        &mut self,
        field: &str,
        resolution: &Resolution,
        recorded: Recorded,
        protocol: &ResponseProtocol,
    ) -> Result<Resolved> {
        let demographic = DemographicField::ALL
            .into_iter()
            .find(|candidate| candidate.key() == field);
        let (object, key) = match (demographic, field) {
            (Some(field), _) => (self.map("demographics")?, field.key()),
            (None, "care_plan") => (ROOT, "care_plan_version"),
            (
                None,
                key @ ("spo2_scale_decision"
                | "medications"
                | "problems"
                | "maternity"
                | "allergy_status"),
            ) => (ROOT, key),
            (None, _) => return Err(StoreError::NoConflict),
        };
        let values = self.registers(&object, key)?;
        if values.len() < 2 {
            return Err(StoreError::NoConflict);
        }
        let chosen = match resolution {
            Resolution::Keep(kept) => Some(
                values
                    .iter()
                    .find(|text| from_json::<serde_json::Value>(text).is_ok_and(|v| &v == kept))
                    .ok_or(StoreError::NoConflict)?,
            ),
            Resolution::Enter(_) => None,
        };
        let mut resolved = Resolved::Other;
        let entered = |expected: &'static str| match resolution {
            Resolution::Enter(value) => Ok(value.clone()),
            Resolution::Keep(_) => Err(StoreError::InvalidValue {
                field: "resolution",
                expected,
            }),
        };
        match (demographic, key) {
            (Some(field), _) => {
                let value = match chosen {
                    Some(text) => from_json::<Register<serde_json::Value>>(text)?.value,
                    None => entered("a value")?,
                };
                let value = field.checked(value)?;
                if field == DemographicField::NhsNumber {
                    resolved = Resolved::NhsNumber(from_value(value.clone())?);
                }
                self.put_register(&object, field.key(), &value, recorded)?;
            }
            (None, "care_plan_version") => {
                let text = match chosen {
                    Some(text) => from_json::<Register<String>>(text)?.value,
                    None => match entered("the care plan's text")? {
                        serde_json::Value::String(text) => text,
                        _ => {
                            return Err(StoreError::InvalidValue {
                                field: "care_plan",
                                expected: "text",
                            });
                        }
                    },
                };
                self.put_care_plan(&text, recorded)?;
            }
            (None, "maternity") => {
                let status =
                    match chosen {
                        Some(text) => from_json::<MaternityEntry>(text)?.status,
                        None => serde_json::from_value(entered("a pregnancy status")?).map_err(
                            |_| StoreError::InvalidValue {
                                field: "maternity",
                                expected: "a pregnancy status",
                            },
                        )?,
                    };
                check_maternity(&status, crate::news2::uk_date(recorded.at))?;
                self.put_maternity(&status, protocol, recorded)?;
            }
            (None, "spo2_scale_decision") => {
                let Some(text) = chosen else {
                    return Err(StoreError::InvalidValue {
                        field: "spo2_scale_decision",
                        expected: "one of the recorded decisions (or record a new decision)",
                    });
                };
                let kept: ScaleDecision = from_json(text)?;
                let decision = ScaleDecision {
                    scale: kept.scale,
                    by: recorded.by,
                    at: recorded.at,
                    note: format!("concurrent decisions settled; kept: {}", kept.note),
                };
                self.doc
                    .put(ROOT, "spo2_scale_decision", to_json(&decision)?)
                    .map_err(record_error)?;
            }
            (None, "allergy_status") => {
                let Some(text) = chosen else {
                    return Err(StoreError::InvalidValue {
                        field: "resolution",
                        expected: "one of the recorded values",
                    });
                };
                let kept: Register<String> = from_json(text)?;
                self.put_register(&ROOT, "allergy_status", &kept.value, recorded)?;
            }
            (None, key) => {
                // Imported snapshots carry their source, not a clinician: kept as imported; the
                // audit names who settled it.
                let Some(text) = chosen else {
                    return Err(StoreError::InvalidValue {
                        field: "resolution",
                        expected: "one of the recorded values",
                    });
                };
                let text = text.clone();
                self.doc.put(ROOT, key, text).map_err(record_error)?;
            }
        }
        self.commit("resolve conflict", recorded.at);
        Ok(resolved)
    }

    /// Records that the patient has no known allergies (asked and confirmed). Refused while an
    /// allergy is active on the record.
    pub fn confirm_no_known_allergies(&mut self, recorded: Recorded) -> Result<()> {
        let active = self
            .entries::<AllergyEntry>("allergies")?
            .iter()
            .any(|entry| entry.status == EntryStatus::Active);
        if active {
            return Err(StoreError::AllergiesOnRecord);
        }
        self.put_register(&ROOT, "allergy_status", &NO_KNOWN_ALLERGIES, recorded)?;
        self.commit("confirm no known allergies", recorded.at);
        Ok(())
    }

    pub fn add_allergy(&mut self, allergy: &Allergy, recorded: Recorded) -> Result<EntryId> {
        let id = self.put_allergy(allergy, recorded)?;
        self.commit("add allergy", recorded.at);
        Ok(id)
    }

    pub fn add_flag(&mut self, flag: &Flag, recorded: Recorded) -> Result<EntryId> {
        let id = self.put_flag(flag, recorded)?;
        self.commit("add flag", recorded.at);
        Ok(id)
    }

    /// Marks an allergy or flag resolved or entered-in-error. The entry stays in the record.
    pub fn set_entry_status(
        &mut self,
        container: EntryContainer,
        id: EntryId,
        status: EntryStatus,
        recorded: Recorded,
    ) -> Result<()> {
        self.put_entry_status(container, id, status, recorded)?;
        self.commit("change entry status", recorded.at);
        Ok(())
    }

    /// Writes an imported allergy or flag under its id: a new entry, or the entry's content
    /// replaced in place (its status register kept). Not committed: an import commits once.
    pub(super) fn put_imported_entry<T: Serialize>(
        &mut self,
        container: EntryContainer,
        id: EntryId,
        entry: &T,
    ) -> Result<()> {
        let map = self.map(container.key())?;
        match self.child_map(&map, &id.to_string())? {
            Some(item) => {
                self.doc
                    .put(&item, "entry", to_json(entry)?)
                    .map_err(record_error)?;
                Ok(())
            }
            None => self.put_entry(container.key(), id, entry),
        }
    }

    /// Replaces the medicines or problems snapshot. Not committed: an import commits once.
    pub(super) fn put_snapshot<T: Serialize>(
        &mut self,
        list: SnapshotList,
        snapshot: &Snapshot<T>,
    ) -> Result<()> {
        self.doc
            .put(ROOT, list.key(), to_json(snapshot)?)
            .map_err(record_error)?;
        Ok(())
    }

    /// Whether the allergy or alert `id` in `container` is an imported one: it carries a source
    /// identifier whose derived id is its own. An integration device may write only these.
    pub(super) fn is_imported_entry(&self, container: &str, id: &str) -> bool {
        let Ok(map) = self.map(container) else {
            return false;
        };
        let Ok(Some(item)) = self.child_map(&map, id) else {
            return false;
        };
        let Ok(Some((value, _))) = self.doc.get(&item, "entry") else {
            return false;
        };
        #[derive(Deserialize)]
        struct Sourced {
            source: Option<SourceIdentifier>,
        }
        value
            .as_str()
            .and_then(|text| serde_json::from_str::<Sourced>(text).ok())
            .and_then(|entry| entry.source)
            .is_some_and(|source| source.entry_id().to_string() == id)
    }

    /// Records "no known allergies" as the source asserted it. Not committed: an import commits
    /// once.
    pub(super) fn put_no_known_allergies(&mut self, recorded: Recorded) -> Result<()> {
        self.put_register(&ROOT, "allergy_status", &NO_KNOWN_ALLERGIES, recorded)
    }

    /// Commits what an import wrote as one change.
    pub(super) fn commit_import(&mut self, at: DateTime<Utc>) {
        self.commit("import", at);
    }

    pub(super) fn put_entry_status(
        &mut self,
        container: EntryContainer,
        id: EntryId,
        status: EntryStatus,
        recorded: Recorded,
    ) -> Result<()> {
        let map = self.map(container.key())?;
        let item = self
            .child_map(&map, &id.to_string())?
            .ok_or(StoreError::NoteNotFound)?;
        let register = Register {
            value: status,
            by: recorded.by,
            at: recorded.at,
        };
        self.doc
            .put(&item, "status", to_json(&register)?)
            .map_err(record_error)?;
        Ok(())
    }

    pub fn set_spo2_scale_decision(&mut self, decision: &ScaleDecision) -> Result<()> {
        self.doc
            .put(ROOT, "spo2_scale_decision", to_json(decision)?)
            .map_err(record_error)?;
        self.commit("record SpO2 scale decision", decision.at);
        Ok(())
    }

    /// Records who an incident's patient is (or, with no number, that the identification is
    /// withdrawn), with how the clinician knew: the NHS number register and the identification,
    /// one commit.
    pub fn identify(&mut self, identification: &Identification) -> Result<()> {
        let demographics = self.map("demographics")?;
        let recorded = Recorded {
            by: identification.by,
            at: identification.at,
        };
        self.put_register(
            &demographics,
            "nhs_number",
            &identification.nhs_number,
            recorded,
        )?;
        self.doc
            .put(ROOT, "identification", to_json(identification)?)
            .map_err(record_error)?;
        self.commit("identify patient", identification.at);
        Ok(())
    }

    /// Amends one demographic field (an attributed change; the previous value stays in history).
    pub fn amend_demographic(
        &mut self,
        field: DemographicField,
        value: serde_json::Value,
        recorded: Recorded,
    ) -> Result<()> {
        let value = field.checked(value)?;
        let demographics = self.map("demographics")?;
        self.put_register(&demographics, field.key(), &value, recorded)?;
        self.commit("amend demographics", recorded.at);
        Ok(())
    }

    fn registers(&self, object: &ObjId, key: &str) -> Result<Vec<String>> {
        Ok(self
            .doc
            .get_all(object, key)
            .map_err(record_error)?
            .into_iter()
            .filter_map(|(value, _)| value.as_str().map(str::to_owned))
            .collect())
    }

    /// The winning value of a register and, when devices disagreed, a conflict listing all values.
    fn read_register<T: DeserializeOwned>(
        &self,
        object: &ObjId,
        key: &str,
        conflicts: &mut Vec<Conflict>,
    ) -> Result<Option<T>> {
        let values = self.registers(object, key)?;
        if values.len() > 1 {
            conflicts.push(Conflict {
                field: key.to_owned(),
                values: values
                    .iter()
                    .map(|text| from_json::<serde_json::Value>(text))
                    .collect::<Result<_>>()?,
            });
        }
        // `get` picks the same winner on every replica.
        match self.doc.get(object, key).map_err(record_error)? {
            Some((value, _)) => match value.as_str() {
                Some(text) => Ok(Some(from_json(text)?)),
                None => Err(StoreError::Tampered { what: "record" }),
            },
            None => Ok(None),
        }
    }

    fn demographic<T: DeserializeOwned>(
        &self,
        object: &ObjId,
        key: &str,
        conflicts: &mut Vec<Conflict>,
    ) -> Result<Option<T>> {
        Ok(self
            .read_register::<Register<T>>(object, key, conflicts)?
            .map(|register| register.value))
    }

    fn entries<T: DeserializeOwned + HasStatus>(&self, container: &str) -> Result<Vec<T>> {
        let map = self.map(container)?;
        let mut entries = Vec::new();
        for key in self.doc.keys(&map) {
            let Some(item) = self.child_map(&map, &key)? else {
                continue;
            };
            let Some((value, _)) = self.doc.get(&item, "entry").map_err(record_error)? else {
                continue;
            };
            let mut entry: T = from_json(value.as_str().unwrap_or_default())?;
            if let Some((status, _)) = self.doc.get(&item, "status").map_err(record_error)? {
                let register: Register<EntryStatus> =
                    from_json(status.as_str().unwrap_or_default())?;
                entry.set_status(register.value);
            }
            entries.push(entry);
        }
        Ok(entries)
    }

    /// The care plan in force and who saved it; concurrent versions are reported as a conflict on
    /// `care_plan`, each whole. A record whose plan was never saved as a version reads its text.
    fn care_plan(&self, conflicts: &mut Vec<Conflict>) -> Result<(String, Option<Recorded>)> {
        let mut found = Vec::new();
        let version: Option<Register<String>> =
            self.read_register(&ROOT, "care_plan_version", &mut found)?;
        for mut conflict in found {
            conflict.field = "care_plan".to_owned();
            conflicts.push(conflict);
        }
        let edited: Option<Recorded> =
            self.read_register(&ROOT, "care_plan_edited", &mut Vec::new())?;
        let legacy_text = || -> Result<String> {
            Ok(
                match self.doc.get(ROOT, "care_plan").map_err(record_error)? {
                    Some((Value::Object(ObjType::Text), id)) => {
                        self.doc.text(id).map_err(record_error)?
                    }
                    _ => String::new(),
                },
            )
        };
        // The newest of every concurrently saved version: devices on this build write the old
        // editor register with each version, so only an older build's edit is newer than all.
        let newest_version = self
            .registers(&ROOT, "care_plan_version")?
            .iter()
            .map(|text| from_json::<Register<String>>(text).map(|version| version.at))
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .max();
        match version {
            // A device on an older build edited the text after the last version: its edit is
            // the newest plan.
            Some(_)
                if edited
                    .zip(newest_version)
                    .is_some_and(|(edited, newest)| edited.at > newest) =>
            {
                Ok((legacy_text()?, edited))
            }
            Some(version) => {
                let edited = Recorded {
                    by: version.by,
                    at: version.at,
                };
                Ok((version.value, Some(edited)))
            }
            None => Ok((legacy_text()?, edited)),
        }
    }

    fn allergy_status(
        &self,
        allergies: &[AllergyEntry],
        conflicts: &mut Vec<Conflict>,
    ) -> Result<AllergyStatus> {
        if allergies
            .iter()
            .any(|entry| entry.status == EntryStatus::Active)
        {
            return Ok(AllergyStatus::Recorded);
        }
        let mut found = Vec::new();
        let confirmed: Option<Register<String>> =
            self.read_register(&ROOT, "allergy_status", &mut found)?;
        // Two devices both confirming "no known allergies" agree: not a conflict to settle.
        conflicts.extend(found.into_iter().filter(|conflict| {
            conflict
                .values
                .windows(2)
                .any(|pair| pair[0]["value"] != pair[1]["value"])
        }));
        Ok(match confirmed {
            Some(register)
                if register.value == NO_KNOWN_ALLERGIES
                    && allergies
                        .iter()
                        .all(|entry| entry.recorded.at < register.at) =>
            {
                AllergyStatus::NoKnownAllergies {
                    by: register.by,
                    at: register.at,
                }
            }
            _ => AllergyStatus::NotRecorded,
        })
    }

    /// Reads the whole record. Ordering is by content (time, then id), so every replica holding
    /// the same changes reads exactly the same record.
    pub fn read(&self, id: PatientId) -> Result<PatientRecord> {
        let demographics = self.map("demographics")?;
        let mut conflicts = Vec::new();
        let missing = || StoreError::Tampered { what: "record" };
        let incident: Option<Incident> = self.read_register(&ROOT, "incident", &mut conflicts)?;
        // Only an incident record may lack who the patient is.
        fn required<T>(value: Option<T>, incident: bool) -> Result<Option<T>> {
            match value {
                None if !incident => Err(StoreError::Tampered { what: "record" }),
                value => Ok(value),
            }
        }
        let is_incident = incident.is_some();
        // An incident's identification may be withdrawn: the register then holds null.
        let nhs_number = required(
            self.demographic::<Option<NhsNumber>>(&demographics, "nhs_number", &mut conflicts)?
                .flatten(),
            is_incident,
        )?;
        let given: String = required(
            self.demographic(&demographics, "given", &mut conflicts)?,
            is_incident,
        )?
        .unwrap_or_default();
        let family: String = required(
            self.demographic(&demographics, "family", &mut conflicts)?,
            is_incident,
        )?
        .unwrap_or_default();
        let birth_date = required(
            self.demographic(&demographics, "birth_date", &mut conflicts)?,
            is_incident,
        )?;
        let sex = self
            .demographic(&demographics, "sex", &mut conflicts)?
            .unwrap_or(Sex::Unknown);
        let address = self.demographic(&demographics, "address", &mut conflicts)?;
        let gp_practice = self.demographic(&demographics, "gp_practice", &mut conflicts)?;
        let contacts = self
            .demographic(&demographics, "contacts", &mut conflicts)?
            .unwrap_or_default();

        let _: Option<ScaleDecision> =
            self.read_register(&ROOT, "spo2_scale_decision", &mut conflicts)?;
        let (spo2_scale_decision, _, spo2_scale_review) = self.scale_decisions()?;
        let medications = self.read_register(&ROOT, "medications", &mut conflicts)?;
        let problems = self.read_register(&ROOT, "problems", &mut conflicts)?;
        let (care_plan, care_plan_edited) = self.care_plan(&mut conflicts)?;

        let mut allergies: Vec<AllergyEntry> = self.entries("allergies")?;
        allergies.sort_by_key(|entry| (entry.recorded.at, entry.id));
        let allergy_status = self.allergy_status(&allergies, &mut conflicts)?;
        let mut flags: Vec<FlagEntry> = self.entries("flags")?;
        flags.sort_by_key(|entry| (entry.recorded.at, entry.id));

        let notes_map = self.map("notes")?;
        let mut notes = Vec::new();
        for key in self.doc.keys(&notes_map) {
            let Some(item) = self.child_map(&notes_map, &key)? else {
                continue;
            };
            let recorded: Recorded = match self.doc.get(&item, "meta").map_err(record_error)? {
                Some((value, _)) => from_json(value.as_str().unwrap_or_default())?,
                None => continue,
            };
            let text = match self.child_map(&item, "text")? {
                Some(body) => self.doc.text(&body).map_err(record_error)?,
                None => String::new(),
            };
            let entered_in_error =
                self.read_register(&item, "entered_in_error", &mut Vec::new())?;
            notes.push(NoteEntry {
                id: key.parse().map_err(|_| missing())?,
                text,
                recorded,
                entered_in_error,
            });
        }
        notes.sort_by_key(|note| (note.recorded.at, note.id));

        let observations_map = self.map("observations")?;
        let mut observations = Vec::new();
        for key in self.doc.keys(&observations_map) {
            let Some(item) = self.child_map(&observations_map, &key)? else {
                continue;
            };
            let Some(set) = self.read_register::<ObservationSet>(&item, "set", &mut Vec::new())?
            else {
                continue;
            };
            let entered_in_error =
                self.read_register(&item, "entered_in_error", &mut Vec::new())?;
            observations.push(ObservationEntry {
                set,
                entered_in_error,
            });
        }
        observations.sort_by_key(|entry| (entry.set.taken_at(), entry.set.id()));

        let maternity = self.read_register(&ROOT, "maternity", &mut conflicts)?;
        let applicability = Applicability {
            birth_dates: self
                .registers(&demographics, "birth_date")?
                .iter()
                .map(|text| from_json::<Register<NaiveDate>>(text).map(|r| r.value))
                .collect::<Result<Vec<_>>>()?,
            maternity: self.maternity_periods()?,
            stated_group: incident.as_ref().map(|incident| incident.age_group),
        };
        // Applicability follows the record as it stands: a set scored before the record showed
        // NEWS2 must not be used on its date (a birth date corrected, a pregnancy recorded on
        // another device) loses its score, and a set stored without one where the record now
        // shows NEWS2 applies (a birth date corrected to an adult's, a forged "not applicable")
        // is scored here by the core, marked as scored on reading.
        for entry in &mut observations {
            match applicability.not_applicable(entry.set.taken_at()) {
                Some(reason) => entry.set.withhold(reason),
                None => entry.set.score_on_reading(),
            }
        }

        let mut escalations = Vec::new();
        // Every concurrent copy of the map: records made before it was created with the record
        // may hold two, one from each device that recorded the first escalation.
        for (value, map) in self
            .doc
            .get_all(ROOT, "escalations")
            .map_err(record_error)?
        {
            if !matches!(value, Value::Object(ObjType::Map)) {
                continue;
            }
            for key in self.doc.keys(&map) {
                let Some(item) = self.child_map(&map, &key)? else {
                    continue;
                };
                if let Some(entry) =
                    self.read_register::<EscalationEntry>(&item, "entry", &mut Vec::new())?
                {
                    escalations.push(entry);
                }
            }
        }
        escalations.sort_by_key(|entry: &EscalationEntry| (entry.escalation.at, entry.id));
        escalations.dedup_by_key(|entry| entry.id);

        Ok(PatientRecord {
            id,
            nhs_number,
            given,
            family,
            birth_date,
            sex,
            address,
            gp_practice,
            contacts,
            conflicts,
            allergies,
            flags,
            spo2_scale_decision,
            spo2_scale_review,
            allergy_status,
            medications,
            problems,
            care_plan,
            care_plan_edited,
            notes,
            observations,
            maternity,
            escalations,
            restriction: self.restriction()?,
            incident,
            // Only an incident is identified; elsewhere the value is no one's to show.
            identification: if is_incident {
                self.read_register(&ROOT, "identification", &mut Vec::new())?
            } else {
                None
            },
            linked: Vec::new(),
            applicability,
        })
    }
}

/// Which list an allergy or alert entry lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryContainer {
    Allergies,
    Flags,
}

impl EntryContainer {
    fn key(self) -> &'static str {
        match self {
            EntryContainer::Allergies => "allergies",
            EntryContainer::Flags => "flags",
        }
    }
}

/// The lists a source system sends whole, as a snapshot at a point in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SnapshotList {
    Medications,
    Problems,
}

impl SnapshotList {
    fn key(self) -> &'static str {
        match self {
            SnapshotList::Medications => "medications",
            SnapshotList::Problems => "problems",
        }
    }
}

/// How a clinician settles a conflict: keep one of the values devices recorded (the value itself,
/// exactly as [`Conflict::values`] showed it, so a sync arriving meanwhile cannot change which one
/// is kept), or enter a new one.
#[derive(Clone, PartialEq)]
pub enum Resolution {
    Keep(serde_json::Value),
    Enter(serde_json::Value),
}

impl std::fmt::Debug for Resolution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Resolution::Keep(_) => f.write_str("Keep(<redacted>)"),
            Resolution::Enter(_) => f.write_str("Enter(<redacted>)"),
        }
    }
}

/// What a resolution wrote, for the checks that need the rest of the device (an NHS number no
/// other patient holds).
#[derive(Debug)]
pub enum Resolved {
    NhsNumber(NhsNumber),
    Other,
}

/// A demographic field that can be amended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DemographicField {
    NhsNumber,
    Given,
    Family,
    BirthDate,
    Sex,
    Address,
    GpPractice,
    Contacts,
}

impl DemographicField {
    pub const ALL: [DemographicField; 8] = [
        DemographicField::NhsNumber,
        DemographicField::Given,
        DemographicField::Family,
        DemographicField::BirthDate,
        DemographicField::Sex,
        DemographicField::Address,
        DemographicField::GpPractice,
        DemographicField::Contacts,
    ];

    /// `value` in the shape this field stores, or a refusal naming what it takes: a value of
    /// the wrong shape would make the record unreadable on every device.
    pub fn checked(self, value: serde_json::Value) -> Result<serde_json::Value> {
        fn shaped<T: Serialize + DeserializeOwned>(
            value: serde_json::Value,
            field: &'static str,
            expected: &'static str,
        ) -> Result<T> {
            serde_json::from_value(value).map_err(|_| StoreError::InvalidValue { field, expected })
        }
        let field = self.key();
        let checked = match self {
            DemographicField::NhsNumber => {
                let text: String = shaped(value, field, "a valid NHS number")?;
                let number = NhsNumber::parse(&text).map_err(|_| StoreError::InvalidValue {
                    field,
                    expected: "a valid NHS number",
                })?;
                serde_json::to_value(number)
            }
            DemographicField::Given | DemographicField::Family => {
                let text: String = shaped(value, field, "a name")?;
                let text = text.trim();
                if text.is_empty() {
                    return Err(StoreError::InvalidValue {
                        field,
                        expected: "a name",
                    });
                }
                serde_json::to_value(text)
            }
            DemographicField::BirthDate => {
                let date: NaiveDate = shaped(value, field, "a date (YYYY-MM-DD)")?;
                if date > crate::news2::uk_date(Utc::now()) {
                    return Err(StoreError::InvalidValue {
                        field,
                        expected: "a date of birth not in the future",
                    });
                }
                serde_json::to_value(date)
            }
            DemographicField::Sex => serde_json::to_value(shaped::<Sex>(
                value,
                field,
                "male, female, other or unknown",
            )?),
            DemographicField::Address => {
                serde_json::to_value(shaped::<Option<Address>>(value, field, "an address")?)
            }
            DemographicField::GpPractice => {
                serde_json::to_value(shaped::<Option<GpPractice>>(value, field, "a GP practice")?)
            }
            DemographicField::Contacts => {
                serde_json::to_value(shaped::<Vec<Contact>>(value, field, "a list of contacts")?)
            }
        };
        checked.map_err(|_| StoreError::Tampered { what: "record" })
    }

    pub fn key(self) -> &'static str {
        match self {
            DemographicField::NhsNumber => "nhs_number",
            DemographicField::Given => "given",
            DemographicField::Family => "family",
            DemographicField::BirthDate => "birth_date",
            DemographicField::Sex => "sex",
            DemographicField::Address => "address",
            DemographicField::GpPractice => "gp_practice",
            DemographicField::Contacts => "contacts",
        }
    }
}

trait HasStatus {
    fn set_status(&mut self, status: EntryStatus);
}

impl HasStatus for AllergyEntry {
    fn set_status(&mut self, status: EntryStatus) {
        self.status = status;
    }
}

impl HasStatus for FlagEntry {
    fn set_status(&mut self, status: EntryStatus) {
        self.status = status;
    }
}
