//! The community NEWS2 command-line contract (issue: NEWS2 fit for the community), through the
//! real binary: `patient maternity`, `obs add --taken-at` and its JSON, `patient list --by-risk`
//! with due times and the risk ranked by, and `escalate`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

const PIN: &str = "246810";
const HIGH: &str = r#"{"respiration_rate": 30, "spo2": 90, "on_oxygen": false, "systolic_bp": 88, "pulse": 135, "consciousness": "A", "temperature": 37.0}"#;
const ZERO: &str = r#"{"respiration_rate": 16, "spo2": 98, "on_oxygen": false, "systolic_bp": 130, "pulse": 70, "consciousness": "A", "temperature": 36.8}"#;
const CHILD_NORMAL: &str = r#"{"respiration_rate": 34, "spo2": 97, "on_oxygen": false, "systolic_bp": 95, "pulse": 130, "consciousness": "A", "temperature": 37.0}"#;

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

fn store() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    ok(
        dir.path(),
        &["init", "--user-name", "Nell Nightingale", "--role", "nurse"],
    );
    dir
}

fn add(dir: &Path, nhs: &str, family: &str, born: &str, sex: &str) -> String {
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
            family,
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

fn obs(dir: &Path, patient: &str, vitals: &str) -> Value {
    ok(
        dir,
        &["obs", "add", "--patient", patient, "--vitals", vitals],
    )
}

const OBS_KEYS: [&str; 6] = [
    "id",
    "taken_at",
    "news2",
    "not_applicable",
    "response",
    "next_due",
];

#[test]
fn obs_add_prints_the_contract_and_no_score_where_news2_does_not_apply() {
    let dir = store();
    let d = dir.path();
    let adult = add(d, "999 100 0100", "Adult", "1940-01-02", "male");
    let high = obs(d, &adult, HIGH);
    for key in OBS_KEYS {
        assert!(high.get(key).is_some(), "{key} missing from {high}");
    }
    assert_eq!(high["news2"]["risk"], "high");
    assert_eq!(high["not_applicable"], Value::Null);
    assert_eq!(high["response"]["protocol"], "doorstep-community");
    assert_eq!(high["response"]["version"], 1);
    assert!(
        high["response"]["text"]
            .as_str()
            .unwrap()
            .contains("call 999")
    );
    // Continuous monitoring: due at once.
    assert_eq!(high["next_due"], high["taken_at"]);

    let zero = obs(d, &adult, ZERO);
    assert_eq!(zero["news2"]["total"], 0);
    assert_eq!(
        zero["next_due"],
        Value::Null,
        "score 0: at the planned visit"
    );

    let four = (Utc::now() - Duration::days(4 * 365 + 30))
        .date_naive()
        .to_string();
    let child = add(d, "999 100 0119", "Child", &four, "female");
    let set = obs(d, &child, CHILD_NORMAL);
    assert_eq!(set["news2"], Value::Null);
    assert_eq!(set["response"], Value::Null);
    assert_eq!(set["next_due"], Value::Null);
    assert_eq!(set["not_applicable"]["reason"], "under-16");
    assert!(
        set["not_applicable"]["message"]
            .as_str()
            .unwrap()
            .contains("paediatric")
    );

    let woman = add(d, "999 100 0127", "Mother", "1993-04-05", "female");
    let edd = (Utc::now() + Duration::days(60)).date_naive().to_string();
    let recorded = ok(
        d,
        &[
            "patient",
            "maternity",
            &woman,
            "--status",
            "pregnant",
            "--date",
            &edd,
        ],
    );
    assert_eq!(recorded["maternity"], "pregnant");
    let set = obs(
        d,
        &woman,
        r#"{"respiration_rate": 16, "spo2": 98, "on_oxygen": false, "systolic_bp": 165, "pulse": 80, "consciousness": "A", "temperature": 36.8}"#,
    );
    assert_eq!(set["news2"], Value::Null);
    assert_eq!(set["not_applicable"]["reason"], "pregnant");
    let delivered = (Utc::now() - Duration::days(5)).date_naive().to_string();
    ok(
        d,
        &[
            "patient",
            "maternity",
            &woman,
            "--status",
            "postnatal",
            "--date",
            &delivered,
        ],
    );
    let set = obs(d, &woman, ZERO);
    assert_eq!(set["not_applicable"]["reason"], "postnatal");
    // A status that needs a date without one is refused with what to add.
    let refused = doorstep(d, &["patient", "maternity", &woman, "--status", "pregnant"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--date"));

    // `patient show` keeps the stored response and says NEWS2 is not used for her today.
    let shown = ok(d, &["patient", "show", &woman]);
    assert_eq!(shown["news2_not_applicable_now"]["reason"], "postnatal");
    assert_eq!(shown["maternity"]["status"], "postnatal");
    let shown = ok(d, &["patient", "show", &adult]);
    assert_eq!(
        shown["observations"][0]["response"]["protocol"],
        "doorstep-community"
    );

    // The text form never prints a score for the child.
    let text = Command::new(env!("CARGO_BIN_EXE_doorstep"))
        .arg("--data-dir")
        .arg(d)
        .args(["patient", "show", &child])
        .env("DOORSTEP_PIN", PIN)
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("NEWS2 not used (under-16)"), "{text}");
    assert!(
        !text.contains("HIGH") && !text.contains("NEWS2 8"),
        "{text}"
    );
}

#[test]
fn taken_at_is_never_in_the_future_and_a_late_set_is_flagged() {
    let dir = store();
    let d = dir.path();
    let patient = add(d, "999 100 0100", "Adult", "1940-01-02", "male");
    let future = (Utc::now() + Duration::hours(2)).to_rfc3339();
    let refused = doorstep(
        d,
        &[
            "obs",
            "add",
            "--patient",
            &patient,
            "--vitals",
            ZERO,
            "--taken-at",
            &future,
        ],
    );
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("future"), "{message}");

    let earlier = (Utc::now() - Duration::hours(30)).to_rfc3339();
    let late = ok(
        d,
        &[
            "obs",
            "add",
            "--patient",
            &patient,
            "--vitals",
            HIGH,
            "--taken-at",
            &earlier,
        ],
    );
    let taken: DateTime<Utc> = late["taken_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        taken.timestamp(),
        earlier.parse::<DateTime<Utc>>().unwrap().timestamp()
    );
    assert_eq!(
        late["warnings"],
        json!(["taken more than 24 hours ago: check the date and time"])
    );
}

#[test]
fn the_caseload_ranks_by_risk_with_due_times_and_the_unknown_above_low() {
    let dir = store();
    let d = dir.path();
    let high = add(d, "999 100 0100", "Highman", "1940-01-02", "male");
    let low = add(d, "999 100 0119", "Lowe", "1940-01-02", "female");
    let never = add(d, "999 100 0127", "Neverseen", "1940-01-02", "female");
    obs(d, &high, HIGH);
    // A newer incomplete set (one temperature) must not lower the HIGH patient.
    obs(d, &high, r#"{"temperature": 37.1}"#);
    obs(d, &low, ZERO);
    let rows = ok(d, &["patient", "list", "--by-risk"]);
    let rows = rows.as_array().unwrap();
    let order: Vec<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(order, [high.as_str(), never.as_str(), low.as_str()]);
    assert_eq!(rows[0]["rank_risk"], "high");
    assert_eq!(rows[0]["overdue"], true);
    assert!(rows[0]["next_due"].is_string());
    assert_eq!(rows[1]["rank_risk"], "unknown");
    assert_eq!(rows[1]["last_observed"], Value::Null);
    assert_eq!(rows[1]["overdue"], false);
    assert_eq!(rows[2]["rank_risk"], "low");
    assert_eq!(rows[2]["next_due"], Value::Null);
    for row in rows {
        for key in ["next_due", "overdue", "rank_risk"] {
            assert!(row.get(key).is_some(), "{key} missing from {row}");
        }
    }
}

#[test]
fn an_escalation_is_recorded_and_listed_with_the_record() {
    let dir = store();
    let d = dir.path();
    let patient = add(d, "999 100 0100", "Adult", "1940-01-02", "male");
    let set = obs(d, &patient, HIGH);
    let at = (Utc::now() - Duration::minutes(3)).to_rfc3339();
    let recorded = ok(
        d,
        &[
            "escalate",
            "--patient",
            &patient,
            "--service",
            "999",
            "--outcome",
            "Ambulance dispatched, category 2",
            "--reference",
            "CAD-1234",
            "--sbar",
            "NEWS2 12; known COPD; looks septic; convey",
            "--at",
            &at,
            "--observation",
            set["id"].as_str().unwrap(),
        ],
    );
    assert!(recorded["id"].is_string());
    let shown = ok(d, &["patient", "show", &patient]);
    let escalation = &shown["escalations"][0];
    assert_eq!(escalation["service"], "999");
    assert_eq!(escalation["reference"], "CAD-1234");
    assert_eq!(escalation["outcome"], "Ambulance dispatched, category 2");
    assert_eq!(escalation["observation"], set["id"]);

    let bad = doorstep(
        d,
        &[
            "escalate",
            "--patient",
            &patient,
            "--service",
            "pager",
            "--outcome",
            "x",
        ],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("ucr"));
    let audit = ok(d, &["audit"]);
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|entry| entry["action"] == "escalate")
    );
}

#[test]
fn a_local_protocol_file_is_refused_for_a_device_store() {
    let dir = store();
    let example =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/response-protocol.example.toml");
    let output = doorstep(
        dir.path(),
        &[
            "--response-protocol",
            example.to_str().unwrap(),
            "patient",
            "list",
        ],
    );
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("admin protocol set"));
}
