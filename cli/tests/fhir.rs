//! `doorstep fhir export` through the real binary: a UK Core Bundle with the patient, the vitals
//! and a NEWS2 total for a complete set; none for a partial one; the export audited.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

use serde_json::Value;

const PIN: &str = "246810";
const COMPLETE: &str = r#"{"respiration_rate": 26, "spo2": 93, "on_oxygen": false, "systolic_bp": 95, "pulse": 120, "consciousness": "A", "temperature": 38.6}"#;
const PARTIAL: &str = r#"{"respiration_rate": 18, "pulse": 80}"#;

fn run(dir: &Path, args: &[&str]) -> Value {
    serde_json::from_str(&run_text(dir, args)).unwrap()
}

fn run_text(dir: &Path, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_doorstep"))
        .arg("--data-dir")
        .arg(dir)
        .arg("--json")
        .args(args)
        .env("DOORSTEP_PIN", PIN)
        .env_remove("DOORSTEP_DATA_DIR")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn coded<'a>(bundle: &'a Value, code: &str) -> Vec<&'a Value> {
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| &entry["resource"])
        .filter(|resource| {
            resource["code"]["coding"]
                .as_array()
                .is_some_and(|codings| codings.iter().any(|c| c["code"] == code))
        })
        .collect()
}

#[test]
fn a_patients_sets_go_out_as_a_uk_core_bundle_with_a_total_only_when_complete() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run(
        d,
        &["init", "--user-name", "Nell Nightingale", "--role", "nurse"],
    );
    let patient = run(
        d,
        &[
            "patient",
            "add",
            "--nhs-number",
            "999 100 0100",
            "--given",
            "Una",
            "--family",
            "Usher",
            "--birth-date",
            "1940-01-02",
        ],
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    run(
        d,
        &["obs", "add", "--patient", &patient, "--vitals", COMPLETE],
    );
    run(
        d,
        &["obs", "add", "--patient", &patient, "--vitals", PARTIAL],
    );

    let bundle = run(d, &["fhir", "export", "--patient", &patient]);
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "collection");
    let first = &bundle["entry"][0]["resource"];
    assert_eq!(first["resourceType"], "Patient");
    assert_eq!(first["identifier"][0]["value"], "9991000100");
    let totals = coded(&bundle, "1104051000000101");
    assert_eq!(totals.len(), 1, "the complete set's total only");
    assert_eq!(totals[0]["valueQuantity"]["value"], 10.0);
    assert_eq!(totals[0]["valueQuantity"]["code"], "{ScoreOf}");
    assert_eq!(totals[0]["performer"][0]["display"], "a nurse");
    assert_eq!(
        coded(&bundle, "9279-1").len(),
        2,
        "both sets' respiration rates"
    );

    let words = run_text(d, &["handover", "--patient", &patient, "--to", "ED majors"]);
    for expected in [
        "HANDOVER",
        "USHER, Una",
        "ALLERGIES NOT RECORDED",
        "NEWS2 10 (HIGH)",
        "INCOMPLETE SET: no NEWS2 total",
        "ED majors",
        "Nell Nightingale (nurse)",
    ] {
        assert!(
            words.contains(expected),
            "{expected} missing from:\n{words}"
        );
    }
    let document = run(d, &["handover", "--patient", &patient, "--format", "fhir"]);
    assert_eq!(document["type"], "document");
    assert_eq!(
        document["entry"][0]["resource"]["resourceType"],
        "Composition"
    );

    let audit = run(d, &["audit"]);
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .filter(|entry| entry["action"] == "export")
            .map(|entry| entry["reason"].as_str().unwrap_or_default())
            .collect::<Vec<_>>()
            == ["FHIR export", "handover to ED majors", "handover"],
        "the export and both handovers are audited, each with what it was for"
    );
}

/// The FHIR crate's GP record fixture: two patients, their allergies, alerts, medicines and
/// problems, an alert kind Doorstep does not show and an Encounter.
const GP_RECORD: &str = include_str!("../../fhir/tests/fixtures/gp-record.json");

fn failing(dir: &Path, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_doorstep"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("DOORSTEP_PIN", PIN)
        .env_remove("DOORSTEP_DATA_DIR")
        .output()
        .unwrap();
    assert!(!output.status.success(), "{args:?} succeeded");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn fhir_import_brings_in_a_gp_record_once_and_a_bad_file_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run(
        d,
        &[
            "init",
            "--user-name",
            "Ivy Integration",
            "--role",
            "integration",
        ],
    );
    let file = d.join("gp-record.json");
    std::fs::write(&file, GP_RECORD).unwrap();
    let bad = d.join("bad.json");
    std::fs::write(&bad, GP_RECORD.replace("\"9991000100\"", "\"9991000101\"")).unwrap();

    let error = failing(d, &["fhir", "import", bad.to_str().unwrap()]);
    assert!(
        error.contains("entry 2 (Patient), Patient.identifier (NHS number)"),
        "{error}"
    );
    assert!(!error.contains("Usher"), "{error}");

    let report = run(d, &["fhir", "import", file.to_str().unwrap()]);
    assert_eq!(report["patients_created"], 2, "{report}");
    assert_eq!(report["entries_added"], 5);
    assert_eq!(report["skipped"].as_array().unwrap().len(), 1);
    let again = run(
        d,
        &[
            "fhir",
            "import",
            file.to_str().unwrap(),
            "--source",
            "GP Connect",
        ],
    );
    assert_eq!(again["patients_unchanged"], 2, "{again}");

    // The integration service brings records in; it does not read them.
    for command in [&["patient", "list"][..], &["audit"][..]] {
        let refused = failing(d, command);
        assert!(
            refused.contains("as an integration service you may not see patient records"),
            "{refused}"
        );
    }
}
