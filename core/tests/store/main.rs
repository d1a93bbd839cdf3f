//! The encrypted device store, through its public facade only.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod adversarial;
mod at_rest;
mod audit_trail;
mod community;
mod durability;
mod incidents;
mod merge;
mod records;
mod restricted;
mod safety;
mod simulation;
mod unlock;

use std::path::Path;

use chrono::NaiveDate;
use doorstep_core::NhsNumber;
use doorstep_core::observation::Role;
use doorstep_core::patient::{Address, Allergy, AllergySeverity, Demographics, GpPractice, Sex};
use doorstep_core::store::{Device, NewPatient, Session, UnlockPolicy};
use doorstep_core::vitals::VitalsInput;

pub const PIN: &str = "246810";

pub fn new_device(dir: &Path) -> Session {
    Device::create(
        dir,
        "Nell Nightingale",
        Role::Nurse,
        PIN,
        UnlockPolicy::default(),
    )
    .unwrap()
}

pub fn demographics(serial: u32, given: &str, family: &str) -> Demographics {
    Demographics {
        nhs_number: NhsNumber::test_number(serial).unwrap(),
        given: given.to_owned(),
        family: family.to_owned(),
        birth_date: NaiveDate::from_ymd_opt(1937, 2, 3).unwrap(),
        sex: Sex::Female,
        address: Address {
            lines: vec!["7 Wolfsbane Crescent".to_owned()],
            town: "Ambridge".to_owned(),
            postcode: "ZZ99 3WZ".to_owned(),
        },
        gp_practice: GpPractice {
            ods_code: "Y90001".to_owned(),
            name: "Lantern Row Surgery".to_owned(),
        },
        contacts: vec![],
    }
}

pub fn patient(serial: u32, given: &str, family: &str) -> NewPatient {
    let mut patient = NewPatient::with_demographics(demographics(serial, given, family));
    patient.allergies.push(Allergy {
        substance: "Unobtainium".to_owned(),
        reaction: "anaphylaxis".to_owned(),
        severity: AllergySeverity::Severe,
    });
    patient
}

/// The first serial from `n` whose 999-range NHS number has a valid check digit.
pub fn valid_serial(n: u32) -> u32 {
    (n..)
        .find(|n| NhsNumber::test_number(*n).is_some())
        .unwrap()
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

pub fn vitals(line: &str) -> VitalsInput {
    VitalsInput::from_json(line).unwrap().0
}

pub const COMPLETE: &str = r#"{"respiration_rate": 22, "spo2": 95, "on_oxygen": false, "systolic_bp": 105, "pulse": 95, "consciousness": "A", "temperature": 38.4}"#;
