//! The safety controls' command-line contract, through the real binary: a rare value refused until
//! confirmed, a role refused what it may not do, "no known allergies" confirmed, a conflict settled.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

const PIN: &str = "246810";
const ASSISTANT_PIN: &str = "975311";
/// SpO2 39 and a respiration rate of 61: valid, and rare enough to be checked.
const UNUSUAL: &str = r#"{"respiration_rate": 61, "spo2": 39, "on_oxygen": false, "systolic_bp": 105, "pulse": 95, "consciousness": "A", "temperature": 37.0}"#;

fn run(dir: &Path, user: Option<(&str, &str)>, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_doorstep"));
    command.arg("--data-dir").arg(dir).arg("--json");
    let pin = match user {
        Some((name, pin)) => {
            command.args(["--user", name]);
            pin
        }
        None => PIN,
    };
    command
        .args(args)
        .env("DOORSTEP_PIN", pin)
        .env("DOORSTEP_NEW_PIN", ASSISTANT_PIN)
        .env_remove("DOORSTEP_DATA_DIR")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .output()
        .unwrap()
}

fn ok(dir: &Path, user: Option<(&str, &str)>, args: &[&str]) -> Value {
    let output = run(dir, user, args);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn refused(dir: &Path, user: Option<(&str, &str)>, args: &[&str]) -> String {
    let output = run(dir, user, args);
    assert!(!output.status.success(), "{args:?} was accepted");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Adds a user to the store (the nurse who created it decides); their PIN is `ASSISTANT_PIN`.
fn add_user(dir: &Path, name: &str, role: &str) {
    ok(
        dir,
        None,
        &["users", "add", "--user-name", name, "--role", role],
    );
}

/// A store with a nurse and one patient; returns the patient's id.
fn store_with_patient(dir: &Path) -> String {
    ok(
        dir,
        None,
        &["init", "--user-name", "Nell Nightingale", "--role", "nurse"],
    );
    ok(
        dir,
        None,
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
        .to_owned()
}

#[test]
fn a_rare_value_is_refused_until_confirmed_and_the_confirmation_is_printed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let patient = store_with_patient(d);
    let message = refused(
        d,
        None,
        &["obs", "add", "--patient", &patient, "--vitals", UNUSUAL],
    );
    assert!(
        message.contains("SpO2 and respiration rate are unusual: check them and confirm to save"),
        "{message}"
    );
    let shown = ok(
        d,
        None,
        &[
            "obs",
            "add",
            "--patient",
            &patient,
            "--vitals",
            UNUSUAL,
            "--confirm-unusual",
            "spo2,respiration_rate",
        ],
    );
    assert_eq!(
        shown["confirmed_unusual"],
        json!(["spo2", "respiration_rate"])
    );
    assert_eq!(shown["unusual"].as_array().unwrap().len(), 2);
    let record = ok(d, None, &["patient", "show", &patient]);
    assert_eq!(
        record["observations"][0]["confirmed_unusual"],
        json!(["spo2", "respiration_rate"])
    );
}

#[test]
fn a_healthcare_assistant_records_a_set_but_is_refused_the_scale_decision() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let patient = store_with_patient(d);
    add_user(d, "Hal Helper", "healthcare-assistant");
    let hal = Some(("Hal Helper", ASSISTANT_PIN));
    let set = ok(
        d,
        hal,
        &[
            "obs",
            "add",
            "--patient",
            &patient,
            "--respiration-rate",
            "18",
        ],
    );
    assert!(set["id"].is_string());
    let message = refused(
        d,
        hal,
        &[
            "patient",
            "decide-scale",
            &patient,
            "--scale",
            "2",
            "--note",
            "COPD",
        ],
    );
    assert!(
        message.contains(
            "as a healthcare assistant you may not decide the SpO2 scale: ask a registered nurse, midwife or paramedic"
        ),
        "{message}"
    );
    let message = refused(
        d,
        hal,
        &[
            "users",
            "add",
            "--user-name",
            "Another",
            "--role",
            "administrator",
        ],
    );
    assert!(
        message.contains("may not add an administrator"),
        "{message}"
    );
}

#[test]
fn no_known_allergies_is_recorded_and_shown_with_who() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let patient = store_with_patient(d);
    let before = ok(d, None, &["patient", "show", &patient]);
    assert_eq!(before["allergy_status"]["status"], "not-recorded");
    ok(d, None, &["patient", "no-known-allergies", &patient]);
    let after = ok(d, None, &["patient", "show", &patient]);
    assert_eq!(after["allergy_status"]["status"], "no-known-allergies");
    assert!(after["allergy_status"]["by"]["user"].is_string());
    // Nothing to settle: the command says so rather than inventing a change.
    let message = refused(
        d,
        None,
        &[
            "patient", "resolve", &patient, "--field", "given", "--keep", "0",
        ],
    );
    assert!(message.contains("no conflicting values"), "{message}");
}

#[test]
fn a_restricted_record_is_refused_to_a_colleague_not_named_until_emergency_access() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let patient = store_with_patient(d);
    add_user(d, "Nora Newt", "nurse");
    let nora = Some(("Nora Newt", ASSISTANT_PIN));
    let nell = Some(("Nell Nightingale", PIN));
    let message = refused(
        d,
        nell,
        &[
            "patient",
            "restrict",
            &patient,
            "--reason",
            "safeguarding",
            "--clinician",
            "Somebody Else",
        ],
    );
    assert!(
        message.contains("no registered clinician called"),
        "{message}"
    );
    let restricted = ok(
        d,
        nell,
        &["patient", "restrict", &patient, "--reason", "safeguarding"],
    );
    assert_eq!(restricted["clinicians"][0]["name"], "Nell Nightingale");

    let rows = ok(d, nora, &["patient", "list"]);
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["id"] == patient.as_str())
        .unwrap();
    assert_eq!(row["access"]["access"], "banner-only");
    assert!(row.get("reason").is_none() && row["access"].get("reason").is_none());
    let message = refused(d, nora, &["patient", "show", &patient]);
    assert!(
        message.contains("restricted to named clinicians") && message.contains("emergency access"),
        "{message}"
    );
    let opened = ok(
        d,
        nora,
        &[
            "patient",
            "show",
            &patient,
            "--emergency-reason",
            "patient unwell, named nurse off duty",
        ],
    );
    assert_eq!(opened["family"], "Usher");
    let message = refused(d, nora, &["patient", "unrestrict", &patient]);
    assert!(message.contains("restricted"), "{message}");

    ok(d, nell, &["patient", "unrestrict", &patient]);
    ok(d, nora, &["patient", "show", &patient]);
}
