#![doc = include_str!("../README.md")]

pub mod ids;
pub mod news2;
pub mod nhs_number;
pub mod observation;
pub mod patient;
pub mod vitals;

pub use ids::{DeviceId, ObservationId, PatientId, UserId};
pub use nhs_number::{NhsNumber, NhsNumberError};
pub use vitals::{Acvpu, Spo2Scale, VitalSigns, VitalsError, VitalsInput};
