//! FHIR R4 UK Core in and out of Doorstep. The core stays free of FHIR: this crate reads the
//! core's records and writes UK Core resources.
//!
//! - [`types`]: hand-written serde types for the resources exchanged; unknown elements are kept.
//! - [`codes`]: the UK Core, SNOMED CT, LOINC and UCUM codes Doorstep emits.
//! - [`export`]: observations and NEWS2 out, as a `collection` Bundle.
//! - [`handover`]: a transfer of care, as words to read aloud and as a FHIR document.

pub mod codes;
pub mod export;
pub mod handover;
pub mod types;

pub use export::{ExportOptions, observations_bundle};
pub use handover::{HandoverOptions, handover_document, handover_text};
pub use types::Bundle;
