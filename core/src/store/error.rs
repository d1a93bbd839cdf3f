//! What can go wrong in the device store, worded for the person holding the device. No variant
//! carries patient data; rusqlite and Automerge errors are reduced to their kind.

use crate::vitals::VitalsError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("there is no Doorstep device store in this directory; create one with `doorstep init`")]
    NotInitialised,
    #[error("a Doorstep device store already exists in this directory")]
    AlreadyInitialised,
    #[error("wrong PIN; {remaining} more wrong {} will wipe this device's data{}", if *remaining == 1 { "attempt" } else { "attempts" }, unsynced_warning(*unsynced_records))]
    WrongPin {
        remaining: u32,
        unsynced_records: u64,
    },
    #[error("too many wrong PINs: wait {seconds} seconds before trying again")]
    LockedOut { seconds: u64 },
    #[error(
        "this device's data has been wiped (too many wrong PINs, or the organisation withdrew the device); enrol the device again to continue"
    )]
    Wiped,
    #[error("the session is locked; unlock with your PIN to continue")]
    Locked,
    #[error(
        "this device's store still opens, so it is not discarded: unlock it with your PIN, or ask the organisation to revoke the device"
    )]
    StillOpens,
    #[error(
        "this device's keys are sealed by the operating system's key store, which is not available to this user or session; unlock the desktop session (or log in as the device's user) and try again"
    )]
    KeyStoreUnavailable,
    #[error("no such user on this device; `doorstep users` lists them")]
    UnknownUser,
    #[error("several users share this device; choose one with --user NAME")]
    ChooseUser,
    #[error("a user with that name already exists on this device")]
    DuplicateUser,
    #[error("the PIN must have at least 6 characters")]
    PinTooShort,
    #[error(transparent)]
    NotPermitted(#[from] crate::permission::NotPermitted),
    #[error(
        "this device is enrolled for a {enrolled}; a colleague sharing it must have that role too, or the team would refuse their entries. Ask the administrator for an enrolment code for a device of their own"
    )]
    RoleDiffersFromEnrolment { enrolled: &'static str },
    #[error("no patient with that id on this device")]
    PatientNotFound,
    #[error("a patient with that NHS number is already on this device")]
    DuplicateNhsNumber,
    #[error(transparent)]
    Incident(#[from] crate::incident::IncidentError),
    #[error(
        "that record is a registered patient's, not an incident: its NHS number is changed by amending its demographics"
    )]
    NotAnIncident,
    #[error(
        "an incident's NHS number is recorded by identifying the patient (with how you know), or withdrawn; not by amending it"
    )]
    IdentifyIncident,
    #[error("no observation with that id on this device")]
    ObservationNotFound,
    #[error("no note with that id in this record")]
    NoteNotFound,
    #[error("only the author of a note can change it; add a note of your own instead")]
    NotYourNote,
    #[error(
        "this record is restricted to named clinicians: only its banner is shown; if you need the record now, use emergency access with your reason"
    )]
    Restricted,
    #[error(
        "only a registered nurse, midwife or paramedic on the team can be named on a restricted record; choose from the team's list"
    )]
    NotOnTheTeam,
    #[error("an entry with that id already exists in this record")]
    DuplicateEntry,
    #[error("that entry is already marked entered-in-error")]
    AlreadyEnteredInError,
    #[error(
        "this record has an active allergy: \"no known allergies\" cannot be recorded; mark the allergy resolved or entered in error first if it is wrong"
    )]
    AllergiesOnRecord,
    #[error(
        "that field holds no conflicting values now (another clinician may have resolved it): reopen the record"
    )]
    NoConflict,
    #[error("nothing was entered: record at least one vital sign, or an observation beside NEWS2")]
    EmptySet,
    #[error("{field} must be {expected}")]
    InvalidValue {
        field: &'static str,
        expected: &'static str,
    },
    #[error("{} {} unusual: check {} and confirm to save", list_labels(fields), if fields.len() == 1 { "is" } else { "are" }, if fields.len() == 1 { "it" } else { "them" })]
    UnusualValues { fields: Vec<crate::vitals::Field> },
    #[error("a reason is required")]
    ReasonRequired,
    #[error(
        "this record holds no clinical decision for SpO2 Scale 2 in force (none recorded, or devices recorded different decisions); score on Scale 1, or record the decision first"
    )]
    Scale2WithoutDecision,
    #[error(
        "that time is in the future (more than {tolerance_minutes} minutes ahead of this device's clock); enter the time the observations were taken, or check the device's clock"
    )]
    TakenInFuture { tolerance_minutes: i64 },
    #[error("an escalation needs an outcome: what the service said or will do")]
    OutcomeRequired,
    #[error("a pregnancy status of {status} needs its date (YYYY-MM-DD): {needs}")]
    MaternityDateRequired {
        status: &'static str,
        needs: &'static str,
    },
    #[error(
        "that date of delivery is in the future; record the patient as pregnant with an expected date"
    )]
    DeliveryInFuture,
    #[error("{0}")]
    ExpectedDeliveryOutOfRange(&'static str),
    #[error(transparent)]
    Vitals(#[from] VitalsError),
    #[error(
        "this device is not enrolled with a sync server; enrol it with `doorstep enrol --server URL --code CODE`"
    )]
    NotEnrolled,
    #[error("the sync server refused: {0}")]
    SyncRefused(String),
    /// What the server relayed contradicts what the organisation's admin key signed: an older or
    /// missing membership, or two different memberships with one version.
    #[error(
        "the sync server sent team membership that the organisation did not sign or that is older than this device has seen ({0}); nothing was changed: tell your administrator, and do not trust this server"
    )]
    Untrusted(&'static str),
    #[error("this device was revoked by the organisation; its data has been wiped")]
    Revoked,
    #[error(
        "stored {what} failed its integrity check: the device store has been altered or damaged"
    )]
    Tampered { what: &'static str },
    #[error("the device store's database failed ({0}); if this persists, re-enrol the device")]
    Database(String),
    #[error(
        "the device store's files could not be read or written ({0}); check disk space and permissions"
    )]
    Io(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        // rusqlite messages name tables and constraints, never bound values.
        StoreError::Database(error.to_string())
    }
}

impl From<std::io::Error> for StoreError {
    fn from(error: std::io::Error) -> Self {
        StoreError::Io(error.kind().to_string())
    }
}

impl From<crate::crypto::CryptoError> for StoreError {
    fn from(error: crate::crypto::CryptoError) -> Self {
        match error {
            crate::crypto::CryptoError::Random => {
                StoreError::Io("random number generator".to_owned())
            }
            _ => StoreError::Tampered { what: "data" },
        }
    }
}

/// What a wipe would lose that no other device holds.
fn unsynced_warning(records: u64) -> String {
    match records {
        0 => String::new(),
        1 => ", and changes to 1 patient record not yet synced would be lost: if you are unsure of your PIN, ask your team lead before trying again".to_owned(),
        n => format!(", and changes to {n} patient records not yet synced would be lost: if you are unsure of your PIN, ask your team lead before trying again"),
    }
}

/// "SpO2 and respiration rate", for a sentence.
fn list_labels(fields: &[crate::vitals::Field]) -> String {
    let labels: Vec<&str> = fields.iter().map(|field| field.label()).collect();
    match labels.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

impl StoreError {
    /// A stable code a shell branches on (the desktop's commands, the mobile bindings), never
    /// matching on message text.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::WrongPin { .. } => "wrong-pin",
            StoreError::LockedOut { .. } => "locked-out",
            StoreError::UnusualValues { .. } => "unusual-values",
            StoreError::Vitals(_) => "invalid-vitals",
            StoreError::NotInitialised => "not-set-up",
            StoreError::Wiped => "wiped",
            StoreError::Locked => "locked",
            StoreError::UnknownUser | StoreError::ChooseUser => "unknown-user",
            StoreError::PatientNotFound
            | StoreError::ObservationNotFound
            | StoreError::NoteNotFound => "not-found",
            StoreError::ReasonRequired => "reason-required",
            StoreError::AlreadyEnteredInError => "already-entered-in-error",
            StoreError::Scale2WithoutDecision => "scale2-needs-decision",
            StoreError::NotEnrolled => "not-enrolled",
            StoreError::Revoked => "revoked",
            StoreError::SyncRefused(_) => "refused",
            StoreError::Untrusted(_) => "untrusted-server",
            StoreError::PinTooShort => "pin-too-short",
            StoreError::TakenInFuture { .. } => "time-in-future",
            StoreError::OutcomeRequired => "outcome-required",
            StoreError::NotPermitted(_) | StoreError::NotYourNote => "not-permitted",
            StoreError::NoConflict => "no-conflict",
            StoreError::Restricted => "restricted",
            StoreError::AllergiesOnRecord => "allergies-on-record",
            StoreError::DuplicateNhsNumber => "duplicate-nhs-number",
            StoreError::KeyStoreUnavailable => "key-store-unavailable",
            StoreError::StillOpens => "still-opens",
            StoreError::NotOnTheTeam
            | StoreError::InvalidValue { .. }
            | StoreError::EmptySet
            | StoreError::MaternityDateRequired { .. }
            | StoreError::DeliveryInFuture
            | StoreError::ExpectedDeliveryOutOfRange(_)
            | StoreError::Incident(_)
            | StoreError::NotAnIncident
            | StoreError::IdentifyIncident => "bad-input",
            _ => "store",
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
