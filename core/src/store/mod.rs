//! The encrypted device store: patient records as Automerge documents in SQLite, every blob sealed
//! under the device data key, every action audited.
//!
//! [`Device`] is the closed store (users, unlock); [`Session`] is an unlocked store for one user.
//! Both are owned types with no lifetimes or generics in their API, so the desktop app and the
//! uniffi bindings can wrap them as they are.

mod access;
mod audit;
mod db;
mod device;
mod draft;
mod error;
mod import;
mod incident;
mod linked;
mod persist;
mod record;
mod restriction;
mod session;
mod summary;
mod sync;

pub use access::Candidate;
pub use audit::{AuditAction, AuditBreak, AuditEntry, AuditEvent};
pub(crate) use audit::{GENESIS as AUDIT_GENESIS, hash_of as audit_hash};
pub use device::{Device, MIN_PIN_LEN, UnlockPolicy, UserInfo};
pub use draft::Draft;
pub use error::StoreError;
pub use import::{ImportOutcome, Imported, NewPatients, RecordImport};
pub use incident::Identified;
pub use linked::{LinkedRecord, read_as_one};
pub use record::{
    AllergyEntry, AllergyStatus, Conflict, DemographicField, EnteredInError, EntryContainer,
    EntryStatus, Escalation, EscalationEntry, EscalationService, FlagEntry, MaternityEntry,
    NewNote, NewPatient, NoteEntry, ObservationEntry, PatientRecord, RecordDoc, Recorded,
    Resolution, Resolved, ScaleDecision, ScaleReview, Snapshot, SourceIdentifier, UnknownService,
};
pub use restriction::{
    Access, EMERGENCY_ACCESS_MINUTES, NamedClinician, Restriction, RestrictionDecision,
    RestrictionReason,
};
pub use session::{CLOCK_SKEW_TOLERANCE_MINUTES, Session, UNDER_EMERGENCY_ACCESS};
pub use summary::{
    LatestNews2, PatientSummary, Rank, RankedSet, Ranking, SUMMARY_VERSION, similar_names,
};
pub use sync::{
    CLOCK_SKEW_WARNING_SECONDS, PreparedUpload, ProtocolInUse, PullOutcome, RosterOutcome,
    SyncGuard, SyncStatus,
};

/// The database file's name inside a data directory.
pub const DATABASE_FILE: &str = db::DATABASE_FILE;
