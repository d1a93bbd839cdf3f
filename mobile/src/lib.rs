//! # doorstep-mobile
//!
//! The one crate that knows uniffi: the core's facade — a device store, a session, the caseload,
//! a record, observation sets scored by the core, notes, the care plan, sync and the audit — for
//! Kotlin (Android), Swift (iOS) and Python (host tests), through bindings generated from the
//! built library by `scripts/bindings.sh`.
//!
//! Thin by design: every clinical rule and every permission stays in `doorstep-core`; these are
//! objects over it, not over SQL or Automerge. Views a shell shows whole (a record, a scored set)
//! cross as the same JSON the desktop app shows (`doorstep_core::view`); lists a shell walks
//! (the caseload, the audit) cross as typed records.
//!
//! **Threads.** Every method that touches the disk or the network blocks until it is done and is
//! safe to call from any thread; call it off the main (UI) thread. Each says so in its docs. Only
//! [`DeviceStore::new`] touches neither.
//!
//! **Errors** are [`MobileError`] variants, each with a message that says what to do and carries
//! no patient data.
//!
//! **Key store.** A platform implements [`KeyStore`] and [`KeySealer`] (Android Keystore, the iOS
//! Keychain or Secure Enclave) to wrap the device's data key; without one the software sealer
//! (a key file beside the database) is the fallback. See `mobile/README.md`.

mod error;
mod key_store;
mod session;
mod store;
mod sync;
mod types;

pub use error::MobileError;
pub use key_store::{KeySealer, KeySealerError, KeyStore};
pub use session::MobileSession;
pub use store::DeviceStore;
pub use sync::{ChangeListener, SyncListener, SyncProgress, SyncSummary};
pub use types::{AuditRow, CaseloadRow, NewIncident, NewPatient, SetView, User};

uniffi::setup_scaffolding!();
