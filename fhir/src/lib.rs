//! FHIR R4 UK Core in and out of Doorstep. The core stays free of FHIR: this crate reads the
//! core's records and writes UK Core resources.
//!
//! - [`types`]: hand-written serde types for the resources exchanged; unknown elements are kept.
//! - [`codes`]: the UK Core, SNOMED CT, LOINC and UCUM codes Doorstep emits.
//! - [`export`]: observations and NEWS2 out, as a `collection` Bundle.
//! - [`handover`]: a transfer of care, as words to read aloud and as a FHIR document.
//! - [`atmist`]: a crew's handover at the door, in ATMIST(ER) order, read aloud in under a minute.
//! - [`lists`]: allergies, alerts, medicines and problems out, so that they import back as they left.
//! - [`import`]: bundles from the GP record and the shared care record in, checked whole first.

pub mod atmist;
pub mod codes;
pub mod export;
pub mod handover;
pub mod import;
pub mod lists;
pub mod types;

pub use atmist::{Atmist, AtmistOptions, atmist};
pub use export::{ExportOptions, observations_bundle};
pub use handover::{HandoverOptions, handover_document, handover_text};
pub use import::{ApplyError, ImportError, ImportPlan, ImportReport, apply, read_bundle};
pub use types::Bundle;
