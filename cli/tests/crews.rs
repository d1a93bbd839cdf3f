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

    // A glucose on its own, between sets: kept, never scored.
    let glucose = ok(
        d,
        &[
            "obs",
            "add",
            "--patient",
            &man,
            "--vitals",
            r#"{"blood_glucose": "LO"}"#,
        ],
    );
    assert!(glucose["news2"].is_null() && glucose["not_applicable"].is_null());
    assert_eq!(glucose["beside_only"], true);
    assert_eq!(
        glucose["additional"][0]["text"],
        "LO (below the meter's range)"
    );
    let said = text(
        d,
        &[
            "obs",
            "add",
            "--patient",
            &man,
            "--vitals",
            r#"{"pain_score": 4}"#,
        ],
    );
    assert!(said.contains("observations beside NEWS2 only"), "{said}");
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

fn text(dir: &Path, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_doorstep"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("DOORSTEP_PIN", PIN)
        .env_remove("DOORSTEP_DATA_DIR")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .output()
        .unwrap();
    assert!(output.status.success(), "{args:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn a_crew_records_a_stranger_at_once_and_identifies_him_later() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(
        d,
        &["init", "--user-name", "Pat Medic", "--role", "paramedic"],
    );
    let held = patient(d, "999 100 0100", "1961-03-04", "male");
    let started = ok(
        d,
        &[
            "incident",
            "start",
            "--sex",
            "male",
            "--age-band",
            "unknown",
            "--estimated-age",
            "60",
            "--adult",
            "--reference",
            "CAD-1203-0042",
            "--description",
            "Found collapsed in a car park, no wallet",
            "--place",
            "Station Road car park",
        ],
    );
    let incident = started["id"].as_str().unwrap().to_owned();
    let set = ok(
        d,
        &[
            "obs",
            "add",
            "--patient",
            &incident,
            "--vitals",
            &vitals(json!({"blood_glucose": 2.4, "gcs_eye": 3, "gcs_verbal": 4, "gcs_motor": 6})),
        ],
    );
    // Stated adult: scored with NEWS2.
    assert!(set["news2"]["total"].is_u64(), "{set}");

    // A child of unknown age: NEWS2 is not used.
    let child = ok(
        d,
        &[
            "incident",
            "start",
            "--sex",
            "female",
            "--age-band",
            "5-12",
            "--reference",
            "CAD-1203-0057",
        ],
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let child_set = ok(
        d,
        &[
            "obs",
            "add",
            "--patient",
            &child,
            "--vitals",
            &vitals(json!({})),
        ],
    );
    assert!(child_set["news2"].is_null());
    assert_eq!(child_set["not_applicable"]["reason"], "under-16");

    // Refusals name what to do.
    for (args, message) in [
        (
            vec!["--age-band", "unknown"],
            "say whether the patient is an adult (16 or over) or a child",
        ),
        (
            vec!["--age-band", "13-15", "--adult"],
            "adult or child contradicts the age band",
        ),
        (
            vec!["--age-band", "40-64", "--estimated-age", "30"],
            "the estimated age is outside the age band",
        ),
        (vec!["--age-band", "30-40"], "the age band is not one of"),
    ] {
        let mut full = vec!["incident", "start", "--sex", "male", "--reference", "R1"];
        full.extend(args.iter().copied());
        let refused = doorstep(d, &full);
        assert!(!refused.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }

    // Listed on their own, newest first; the unidentified one has no NHS number.
    let list = ok(d, &["incident", "list"]);
    let rows = list.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["id"], child.as_str());
    assert_eq!(rows[1]["id"], incident.as_str());
    assert!(rows[1]["nhs_number"].is_null());
    assert_eq!(rows[1]["incident"]["reference"], "CAD-1203-0042");
    assert_eq!(
        rows[1]["display_name"],
        "Unknown male, about 60 (estimated), adult"
    );
    let handover = text(d, &["handover", "--patient", &incident]);
    assert!(handover.contains("NHS number not known"), "{handover}");
    assert!(handover.contains("treated as an adult"), "{handover}");
    // At the door: ATMIST, from the record and the crew's words, under a minute aloud.
    let atmist = ok(
        d,
        &[
            "handover",
            "--patient",
            &incident,
            "--format",
            "atmist",
            "--eta",
            "10 minutes",
            "--treatment",
            "glucose 10% 100 mL",
        ],
    );
    let letters: String = atmist["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line["letter"].as_str().unwrap())
        .collect();
    assert_eq!(letters, "ATMISTER");
    assert_eq!(
        atmist["lines"][0]["text"],
        "Male, age not known, about 60 (estimated), treated as an adult; not identified"
    );
    assert!(
        atmist["lines"][4]["text"]
            .as_str()
            .unwrap()
            .contains("blood glucose 2.4 mmol/L"),
        "{atmist}"
    );
    assert_eq!(atmist["lines"][6]["text"], "10 minutes");
    assert!(atmist["seconds_aloud"].as_u64().unwrap() < 60, "{atmist}");
    let spoken = text(
        d,
        &["handover", "--patient", &incident, "--format", "atmist"],
    );
    assert!(spoken.starts_with("A  Age and sex: Male"), "{spoken}");

    // Identified: both histories read as one from either id.
    let identified = ok(
        d,
        &[
            "incident",
            "identify",
            &incident,
            "--nhs-number",
            "9991000100",
            "--source",
            "document",
        ],
    );
    assert_eq!(identified["linked_to"][0]["id"], held.as_str());
    assert_eq!(identified["linked_to"][0]["display_name"], "PATIENT, Test");
    // Born 1961: 65 at the scene, about 60 as estimated; both male. Nothing to check.
    assert_eq!(identified["linked_to"][0]["mismatches"], json!([]));
    for opened in [&held, &incident] {
        let record = ok(d, &["patient", "show", opened]);
        assert_eq!(record["id"], held.as_str());
        assert_eq!(record["linked"][0]["id"], incident.as_str());
        assert_eq!(
            record["linked"][0]["incident"]["reference"],
            "CAD-1203-0042"
        );
        let sets: Vec<&Value> = record["observations"].as_array().unwrap().iter().collect();
        assert_eq!(sets.len(), 1);
        assert_eq!(sets[0]["id"], set["id"]);
    }
    let caseload = ok(d, &["patient", "list"]);
    assert_eq!(
        caseload.as_array().unwrap().len(),
        2,
        "the identified man is one row; the child is another"
    );
    // A registered patient is never "identified".
    let refused = doorstep(
        d,
        &["incident", "identify", &held, "--nhs-number", "9991000100"],
    );
    assert!(!refused.status.success());
    // Withdrawn: no one knows who he is after all; his set leaves the registered record.
    let withdrawn = ok(d, &["incident", "withdraw", &incident]);
    assert!(withdrawn["nhs_number"].is_null());
    let record = ok(d, &["patient", "show", &held]);
    assert_eq!(record["observations"], json!([]));
    assert_eq!(ok(d, &["patient", "list"]).as_array().unwrap().len(), 3);
}
