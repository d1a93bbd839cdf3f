#![doc = include_str!("../README.md")]

/// `Debug` that names the type and nothing else, for types holding patient data.
macro_rules! redacted_debug {
    ($($ty:ty),* $(,)?) => {
        $(impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($ty), "(<redacted>)"))
            }
        })*
    };
}

pub mod additional;
pub mod crypto;
pub mod ids;
pub mod incident;
pub mod news2;
pub mod nhs_number;
pub mod observation;
pub mod patient;
pub mod permission;
pub mod store;
pub mod sync;
pub mod unusual;
pub mod view;
pub mod vitals;

pub use ids::{DeviceId, EntryId, NoteId, ObservationId, PatientId, UserId};
pub use nhs_number::{NhsNumber, NhsNumberError};
pub use vitals::{Acvpu, Spo2Scale, VitalSigns, VitalsError, VitalsInput};
