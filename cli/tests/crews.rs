//! Observations beside NEWS2 (issue 15: ambulance crews and midwives), through the real binary:
//! `obs add` takes diastolic pressure, blood glucose, pain, the oxygen given, GCS and, in a
//! pregnancy, the fetal heart and urine protein in its `--vitals` JSON, stores them with the set,
//! never scores them, and refuses a value out of range or at odds with the set, naming the field.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

use chrono::{Duration, Utc};
use serde_json::{Value, json};

const PIN: &str = "246810";

fn doorstep(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_doorstep"))
        .arg("--data-dir")
        .arg(dir)
        .arg("--json")
        .args(args)
        .env("DOORSTEP_PIN", PIN)
        .env_remove("DOORSTEP_DATA_DIR")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .output()
        .unwrap()
}

fn ok(dir: &Path, args: &[&str]) -> Value {
    let output = doorstep(dir, args);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn patient(dir: &Path, nhs: &str, born: &str, sex: &str) -> String {
    ok(
        dir,
        &[
            "patient",
            "add",
            "--nhs-number",
            nhs,
            "--given",
            "Test",
            "--family",
            "Patient",
            "--birth-date",
            born,
            "--sex",
            sex,
        ],
    )["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn vitals(extra: Value) -> String {
    let mut set = json!({"respiration_rate": 18, "spo2": 96, "on_oxygen": true, "systolic_bp": 132,
        "pulse": 88, "consciousness": "A", "temperature": 37.1});
    for (key, value) in extra.as_object().unwrap() {
        set[key] = value.clone();
    }
    set.to_string()
}

#[test]
fn a_crew_s_additional_observations_are_stored_shown_and_never_scored() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(
        d,
        &["init", "--user-name", "Pat Medic", "--role", "paramedic"],
    );
    let man = patient(d, "999 100 0100", "1961-03-04", "male");
    let plain = ok(
        d,
        &[
            "obs",
            "add",
            "--patient",
            &man,
            "--vitals",
            &vitals(json!({})),
        ],
    );
    let extra = json!({"diastolic_bp": 84, "blood_glucose": 3.1, "pain_score": 7,
        "oxygen_device": "reservoir-mask", "oxygen_flow": 15,
        "gcs_eye": 3, "gcs_verbal": 4, "gcs_motor": 6});
    let set = ok(
        d,
        &["obs", "add", "--patient", &man, "--vitals", &vitals(extra)],
    );
    // The same vital signs score the same: nothing added counts towards NEWS2.
    assert_eq!(set["news2"], plain["news2"]);
    assert_eq!(plain["additional"], json!([]));
    let shown: Vec<(&str, &str)> = set["additional"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            (
                item["field"].as_str().unwrap(),
                item["text"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            ("diastolic_bp", "84 mmHg"),
            ("blood_glucose", "3.1 mmol/L"),
            ("pain_score", "7/10"),
            ("oxygen_device", "reservoir (non-rebreather) mask, 15 L/min"),
            ("gcs_eye", "13 (E3 V4 M6)"),
        ]
    );
    // Kept with the set in the record, shown the same way.
    let record = ok(d, &["patient", "show", &man]);
    let stored = record["observations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["id"] == set["id"])
        .unwrap();
    assert_eq!(stored["additional"], set["additional"]);
    assert_eq!(
        stored["additional_values"]["gcs"],
        json!({"eye": 3, "verbal": 4, "motor": 6})
    );
    assert_eq!(stored["additional_values"]["oxygen_flow"], 15.0);
    assert_eq!(stored["news2"]["total"], plain["news2"]["total"]);

    // Refused, naming the field, and nothing saved.
    let refusals = [
        (
            json!({"blood_glucose": 110}),
            "blood glucose must be a number from 0.5 to 50 mmol/L, or HI or LO",
        ),
        (
            json!({"gcs_eye": 4, "gcs_motor": 6}),
            "GCS needs all three responses",
        ),
        (
            json!({"diastolic_bp": 140}),
            "diastolic blood pressure must be lower than systolic",
        ),
        (
            json!({"oxygen_flow": 4}),
            "an oxygen flow rate needs the oxygen device",
        ),
        (
            json!({"oxygen_device": "nasal-cannula", "on_oxygen": false}),
            "set air or oxygen to oxygen",
        ),
        (
            json!({"fetal_heart_rate": 140}),
            "record the pregnancy first",
        ),
        (
            json!({"pain_score": 11}),
            "pain score must be a whole number from 0 to 10",
        ),
    ];
    for (extra, message) in refusals {
        let refused = doorstep(
            d,
            &[
                "obs",
                "add",
                "--patient",
                &man,
                "--vitals",
                &vitals(extra.clone()),
            ],
        );
        assert!(!refused.status.success(), "{extra}");
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(stderr.contains(message), "{extra}: {stderr}");
    }
    let record = ok(d, &["patient", "show", &man]);
    assert_eq!(record["observations"].as_array().unwrap().len(), 2);
}

#[test]
fn a_midwife_records_the_fetal_heart_and_urine_protein_where_news2_does_not_apply() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(
        d,
        &["init", "--user-name", "Mo Midwife", "--role", "midwife"],
    );
    let woman = patient(d, "999 100 0127", "1993-04-05", "female");
    let due = (Utc::now() + Duration::days(50)).date_naive().to_string();
    ok(
        d,
        &[
            "patient",
            "maternity",
            &woman,
            "--status",
            "pregnant",
            "--date",
            &due,
        ],
    );
    let extra = json!({"on_oxygen": false, "systolic_bp": 152, "diastolic_bp": 104,
        "fetal_heart_rate": 142, "urine_protein": "++"});
    let set = ok(
        d,
        &[
            "obs",
            "add",
            "--patient",
            &woman,
            "--vitals",
            &vitals(extra),
        ],
    );
    assert_eq!(set["news2"], Value::Null);
    assert_eq!(set["not_applicable"]["reason"], "pregnant");
    let texts: Vec<&str> = set["additional"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["104 mmHg", "142 beats/min", "++"]);
    let refused = doorstep(
        d,
        &[
            "obs",
            "add",
            "--patient",
            &woman,
            "--vitals",
            &vitals(json!({"on_oxygen": false, "urine_protein": "4+"})),
        ],
    );
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains("urine protein must be one of negative, trace, +, ++, +++, ++++")
    );
}
