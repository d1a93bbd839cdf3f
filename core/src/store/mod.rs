//! The encrypted device store: patient records as Automerge documents in SQLite, every blob sealed
//! under the device data key, every action audited.
//!
//! [`Device`] is the closed store (users, unlock); [`Session`] is an unlocked store for one user.
//! Both are owned types with no lifetimes or generics in their API, so the desktop app and the
//! uniffi bindings can wrap them as they are.

mod audit;
mod db;
mod device;
mod error;
mod persist;
mod record;
mod session;
mod summary;
mod sync;

pub use audit::{AuditAction, AuditBreak, AuditEntry, AuditEvent};
pub use device::{Device, MIN_PIN_LEN, UnlockPolicy, UserInfo};
pub use error::StoreError;
pub use record::{
    AllergyEntry, Conflict, DemographicField, EnteredInError, EntryContainer, EntryStatus,
    FlagEntry, NewPatient, NoteEntry, ObservationEntry, PatientRecord, RecordDoc, Recorded,
    ScaleDecision, Snapshot,
};
pub use session::Session;
pub use summary::{LatestNews2, PatientSummary};
pub use sync::{PreparedUpload, PullOutcome, RosterOutcome, SyncGuard, SyncStatus};

/// The database file's name inside a data directory.
pub const DATABASE_FILE: &str = db::DATABASE_FILE;
