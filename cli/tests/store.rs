//! The device-store commands' contract, end to end through the real binary.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const PIN: &str = "246810";

fn doorstep(dir: &Path, pin: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_doorstep"))
        .arg("--data-dir")
        .arg(dir)
        .arg("--json")
        .args(args)
        .env("DOORSTEP_PIN", pin)
        .env_remove("DOORSTEP_DATA_DIR")
        // Tests never touch the developer's own key store: without a session bus the software
        // sealer is used; the key-store test starts its own.
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .output()
        .unwrap()
}

fn ok(dir: &Path, args: &[&str]) -> Value {
    let output = doorstep(dir, PIN, args);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn new_store() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let created = ok(
        dir.path(),
        &["init", "--user-name", "Nell Nightingale", "--role", "nurse"],
    );
    assert!(created["device_id"].is_string());
    dir
}

#[test]
fn a_record_round_trips_through_the_commands() {
    let dir = new_store();
    let d = dir.path();
    let added = ok(
        d,
        &[
            "patient",
            "add",
            "--nhs-number",
            "999 100 0100",
            "--given",
            "Zeb",
            "--family",
            "Quill",
            "--birth-date",
            "1940-01-02",
            "--sex",
            "male",
        ],
    );
    let id = added["id"].as_str().unwrap().to_owned();

    let obs = ok(
        d,
        &[
            "obs",
            "add",
            "--patient",
            &id,
            "--vitals",
            r#"{"respiration_rate": 26, "spo2": 93, "on_oxygen": false, "systolic_bp": 95, "pulse": 120, "consciousness": "A", "temperature": 38.6}"#,
        ],
    );
    assert_eq!(obs["news2"]["total"], 10);
    assert_eq!(obs["news2"]["risk"], "high");
    let obs_id = obs["id"].as_str().unwrap().to_owned();

    let flags = ok(
        d,
        &[
            "obs",
            "add",
            "--patient",
            &id,
            "--respiration-rate",
            "16",
            "--spo2",
            "97",
            "--systolic-bp",
            "120",
            "--pulse",
            "70",
            "--consciousness",
            "A",
            "--temperature",
            "36.8",
        ],
    );
    assert_eq!(
        flags["news2"]["total"], 0,
        "flags without --on-oxygen mean air"
    );

    let note = ok(
        d,
        &[
            "note",
            "add",
            "--patient",
            &id,
            "--text",
            "Seen at home; daughter present",
        ],
    );
    assert!(note["id"].is_string());
    ok(
        d,
        &[
            "obs",
            "entered-in-error",
            &obs_id,
            "--reason",
            "wrong patient",
        ],
    );

    let list = ok(d, &["patient", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    for key in [
        "id",
        "nhs_number",
        "given",
        "family",
        "birth_date",
        "latest_news2",
    ] {
        assert!(list[0].get(key).is_some(), "{key}");
    }
    assert_eq!(
        list[0]["latest_news2"]["total"], 0,
        "the entered-in-error set is no longer the latest"
    );
    let found = ok(d, &["patient", "find", "9991000100"]);
    assert_eq!(found[0]["id"], id.as_str());
    assert_eq!(
        ok(d, &["patient", "find", "qu"]).as_array().unwrap().len(),
        1
    );

    let record = ok(d, &["patient", "show", &id]);
    assert_eq!(record["family"], "Quill");
    let observations = record["observations"].as_array().unwrap();
    assert_eq!(observations.len(), 2);
    let marked = observations
        .iter()
        .find(|o| o["id"] == obs_id.as_str())
        .unwrap();
    assert_eq!(marked["entered_in_error"]["reason"], "wrong patient");
    assert_eq!(marked["news2"]["total"], 10, "the original stays readable");
    assert_eq!(record["notes"][0]["text"], "Seen at home; daughter present");

    // Scale 2 only with a recorded decision; emergency access needs a reason and is audited.
    let scale_2 = r#"{"respiration_rate": 18, "spo2": 89, "spo2_scale": 2, "on_oxygen": true, "systolic_bp": 130, "pulse": 80, "consciousness": "A", "temperature": 37.0}"#;
    assert!(
        !doorstep(
            d,
            PIN,
            &["obs", "add", "--patient", &id, "--vitals", scale_2]
        )
        .status
        .success()
    );
    ok(
        d,
        &[
            "patient",
            "decide-scale",
            &id,
            "--scale",
            "2",
            "--note",
            "respiratory consultant, target 88-92%",
        ],
    );
    assert_eq!(
        ok(d, &["obs", "add", "--patient", &id, "--vitals", scale_2])["news2"]["spo2_scale"],
        2
    );
    assert!(
        !doorstep(d, PIN, &["patient", "show", &id, "--emergency-reason", " "])
            .status
            .success()
    );
    ok(
        d,
        &[
            "patient",
            "show",
            &id,
            "--emergency-reason",
            "unconscious, no caseload nurse reachable",
        ],
    );
    ok(d, &["patient", "export", &id]);

    let audit = ok(d, &["audit"]);
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "create-record",
        "record-observation",
        "add-note",
        "entered-in-error",
        "view-record",
    ] {
        assert!(
            actions.contains(&action),
            "{action} missing from {actions:?}"
        );
    }
    assert_eq!(ok(d, &["audit", "verify"])["intact"], true);
}

#[test]
fn colleagues_share_a_device_each_with_their_own_pin() {
    let dir = new_store();
    let d = dir.path();
    let output = Command::new(env!("CARGO_BIN_EXE_doorstep"))
        .args([
            "--data-dir",
            d.to_str().unwrap(),
            "--json",
            "users",
            "add",
            "--user-name",
            "Maud Midwife",
            "--role",
            "midwife",
        ])
        .env("DOORSTEP_PIN", PIN)
        .env("DOORSTEP_NEW_PIN", "975311")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let users = ok(d, &["users"]);
    assert_eq!(users.as_array().unwrap().len(), 2);
    let as_midwife = |pin: &str| {
        Command::new(env!("CARGO_BIN_EXE_doorstep"))
            .args([
                "--data-dir",
                d.to_str().unwrap(),
                "--json",
                "--user",
                "Maud Midwife",
                "patient",
                "list",
            ])
            .env("DOORSTEP_PIN", pin)
            .output()
            .unwrap()
    };
    assert!(as_midwife("975311").status.success());
    assert!(
        !as_midwife(PIN).status.success(),
        "another user's PIN does not open this user"
    );
    // With two users, the CLI asks which one.
    let output = doorstep(d, PIN, &["patient", "list"]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("--user"));
}

#[test]
fn a_wrong_pin_exits_non_zero_and_prints_no_patient_data() {
    let dir = new_store();
    let d = dir.path();
    ok(
        d,
        &[
            "patient",
            "add",
            "--nhs-number",
            "9991000100",
            "--given",
            "Zeb",
            "--family",
            "Quill",
            "--birth-date",
            "1940-01-02",
        ],
    );
    let output = doorstep(d, "0000", &["patient", "list"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("wrong PIN"), "{stderr}");
    assert!(output.stdout.is_empty());
    for secret in ["Quill", "Zeb", "9991000100", "1940"] {
        assert!(!stderr.contains(secret));
    }
}

#[test]
fn invalid_input_is_refused_with_the_field_named() {
    let dir = new_store();
    let d = dir.path();
    let bad = doorstep(
        d,
        PIN,
        &[
            "patient",
            "add",
            "--nhs-number",
            "943 476 5918",
            "--given",
            "A",
            "--family",
            "B",
            "--birth-date",
            "1940-01-02",
        ],
    );
    assert!(!bad.status.success());
    assert!(
        String::from_utf8(bad.stderr)
            .unwrap()
            .contains("check digit")
    );
    let id = ok(
        d,
        &[
            "patient",
            "add",
            "--nhs-number",
            "9991000100",
            "--given",
            "A",
            "--family",
            "B",
            "--birth-date",
            "1940-01-02",
        ],
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let bad = doorstep(d, PIN, &["obs", "add", "--patient", &id, "--spo2", "104"]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8(bad.stderr)
            .unwrap()
            .contains("SpO2 must be a whole number from 30 to 100")
    );
    let record = ok(d, &["patient", "show", &id]);
    assert!(record["observations"].as_array().unwrap().is_empty());
}

#[test]
fn fixtures_load_a_caseload_sorted_by_risk() {
    let dir = new_store();
    let d = dir.path();
    let loaded = ok(d, &["fixtures", "load", "--patients", "30", "--seed", "5"]);
    assert_eq!(loaded["loaded"], 30);
    let list = ok(d, &["patient", "list", "--by-risk"]);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 30);
    let rank = |v: &Value| match v["latest_news2"]["effective_risk"].as_str() {
        Some("high") => 3,
        Some("medium") => 2,
        Some("low-medium") => 1,
        _ => 0,
    };
    for pair in list.windows(2) {
        assert!(rank(&pair[0]) >= rank(&pair[1]));
    }
    assert!(
        list.iter()
            .all(|p| p["nhs_number"].as_str().unwrap().starts_with("999"))
    );
}

/// A private session bus with GNOME Keyring's Secret Service on it, unlocked, in a temporary
/// home: what a desktop session gives the app. Stopped when dropped.
struct SecretService {
    bus: std::process::Child,
    keyring: std::process::Child,
    address: String,
    home: tempfile::TempDir,
}

impl SecretService {
    fn start() -> Self {
        use std::io::{BufRead as _, Write as _};
        let home = tempfile::tempdir().unwrap();
        let runtime = home.path().join("run");
        std::fs::create_dir_all(&runtime).unwrap();
        let missing = |what: &str| {
            format!("{what} is missing: run scripts/setup.sh (it installs dbus and gnome-keyring)")
        };
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|_| panic!("{}", missing("dbus-daemon")));
        let mut address = String::new();
        std::io::BufReader::new(bus.stdout.take().unwrap())
            .read_line(&mut address)
            .unwrap();
        let address = address.trim().to_owned();
        let mut keyring = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .env("HOME", home.path())
            .env("XDG_RUNTIME_DIR", &runtime)
            .env("XDG_DATA_HOME", home.path().join("data"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|_| panic!("{}", missing("gnome-keyring-daemon")));
        // The login keyring's password, as a desktop login would give it; then end of input.
        let mut stdin = keyring.stdin.take().unwrap();
        stdin.write_all(b"test session password").unwrap();
        drop(stdin);
        let service = Self {
            bus,
            keyring,
            address,
            home,
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let owned = Command::new("dbus-send")
                .args([
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                    "string:org.freedesktop.secrets",
                ])
                .env("DBUS_SESSION_BUS_ADDRESS", &service.address)
                .output()
                .unwrap();
            if String::from_utf8_lossy(&owned.stdout).contains("boolean true") {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the Secret Service did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        service
    }

    /// `doorstep` with this session's key store available.
    fn doorstep(&self, dir: &Path, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_doorstep"))
            .arg("--data-dir")
            .arg(dir)
            .arg("--json")
            .args(args)
            .env("DOORSTEP_PIN", PIN)
            .env_remove("DOORSTEP_DATA_DIR")
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .env("HOME", self.home.path())
            .output()
            .unwrap()
    }
}

impl Drop for SecretService {
    fn drop(&mut self) {
        let _ = self.keyring.kill();
        let _ = self.keyring.wait();
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}

#[test]
fn the_os_key_store_seals_the_device_key_when_there_is_one_and_a_key_file_otherwise() {
    let service = SecretService::start();
    let dir = tempfile::tempdir().unwrap();
    let keyed = dir.path().join("keyed");
    let json = |output: Output| -> Value {
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    };
    json(service.doorstep(
        &keyed,
        &["init", "--user-name", "Nell Nightingale", "--role", "nurse"],
    ));
    assert_eq!(
        json(service.doorstep(&keyed, &["status"]))["key_sealer"],
        "os-keyring-v1"
    );
    assert!(
        !keyed.join("device.key").exists(),
        "no key file beside the database"
    );
    let added = json(service.doorstep(
        &keyed,
        &[
            "patient",
            "add",
            "--nhs-number",
            "9991000100",
            "--given",
            "Quill",
            "--family",
            "Zebedee",
            "--birth-date",
            "1940-01-01",
        ],
    ));
    let id = added["id"].as_str().unwrap();
    assert_eq!(
        json(service.doorstep(&keyed, &["patient", "show", id]))["family"],
        "Zebedee"
    );
    // A copy of the directory, opened without that key store, gives nothing, even with the PIN.
    let copy = dir.path().join("copy");
    std::fs::create_dir_all(&copy).unwrap();
    for entry in std::fs::read_dir(&keyed).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
    }
    let refused = doorstep(&copy, PIN, &["patient", "list"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("key store"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    // Where there is no key store, the software sealer is the stated fallback.
    let plain = dir.path().join("plain");
    ok(
        &plain,
        &["init", "--user-name", "Bea Birchall", "--role", "nurse"],
    );
    assert_eq!(ok(&plain, &["status"])["key_sealer"], "software-v1");
    assert!(plain.join("device.key").exists());
}
