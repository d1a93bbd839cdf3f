//! End-to-end encrypted sync: the real server in-process on port 0, real devices through the
//! `doorstep` binary.
//!
//! This is also the server's conformance suite: every scenario runs against both backends,
//! embedded SQLite and PostgreSQL (a throwaway cluster per test), through the same HTTP API.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use doorstep_sync_server::{App, RunningServer, start};
use doorstep_tests::postgres::{Cluster, Durability};
use serde_json::Value;

const PIN: &str = "246810";

/// Which store the server under test runs on: every test here runs on both.
#[derive(Debug, Clone, Copy)]
enum Backend {
    Sqlite,
    Postgres,
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $name() { super::$name(super::Backend::Sqlite) })*
        }
        mod postgres {
            $(#[test] fn $name() { super::$name(super::Backend::Postgres) })*
        }
    };
}

on_both_backends!(
    two_devices_converge_and_then_sync_moves_nothing,
    a_revoked_device_is_refused_wipes_itself_and_never_gets_the_new_key,
    a_change_is_pushed_to_a_listening_device_as_a_notice_without_data,
    snapshots_let_the_server_drop_old_units_and_a_new_device_downloads_one,
    a_replayed_request_is_refused,
    a_device_flooding_the_server_is_slowed_with_a_clear_429,
    a_code_enrols_one_device_only,
);

/// One or more server instances in-process on port 0, on one store.
struct TestServer {
    url: String,
    urls: Vec<String>,
    database: String,
    dir: tempfile::TempDir,
    cluster: Option<Cluster>,
    servers: Vec<RunningServer>,
    runtime: tokio::runtime::Runtime,
}

impl TestServer {
    fn start(backend: Backend) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (database, cluster) = match backend {
            Backend::Sqlite => (
                format!("sqlite:{}", dir.path().join("server.db").display()),
                None,
            ),
            Backend::Postgres => {
                let cluster = Cluster::start(Durability::Throwaway).unwrap();
                (cluster.url(), Some(cluster))
            }
        };
        let mut server = Self {
            url: String::new(),
            urls: Vec::new(),
            database,
            dir,
            cluster,
            servers: Vec::new(),
            runtime,
        };
        server.url = server.start_instance();
        server
    }

    /// Starts another instance on the same database and returns its URL.
    fn start_instance(&mut self) -> String {
        let running = self.runtime.block_on(async {
            let app = App::connect(&self.database).await.unwrap();
            start(app, "127.0.0.1:0".parse().unwrap()).await.unwrap()
        });
        let url = running.url();
        self.servers.push(running);
        self.urls.push(url.clone());
        url
    }

    /// Every file the server's store wrote.
    fn files(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        let mut pending = vec![self.dir.path().to_owned()];
        if let Some(cluster) = &self.cluster {
            pending.push(cluster.data_dir());
        }
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    pending.push(path);
                } else {
                    files.push(path);
                }
            }
        }
        files
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        for server in self.servers.drain(..) {
            self.runtime.block_on(server.stop());
        }
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_doorstep"))
        .arg("--json")
        .args(args)
        .env("DOORSTEP_PIN", PIN)
        .env("DOORSTEP_ADMIN_PASSPHRASE", "ambridge admin passphrase")
        .env_remove("DOORSTEP_DATA_DIR")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> Value {
    let output = run(args);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// An organisation with one team and two enrolled devices.
struct Team {
    server: TestServer,
    root: tempfile::TempDir,
}

impl Team {
    fn admin(&self) -> PathBuf {
        self.root.path().join("admin")
    }

    fn device(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    fn on(&self, device: &str, args: &[&str]) -> Value {
        let dir = self.device(device);
        let mut all = vec!["--data-dir", path(&dir)];
        all.extend_from_slice(args);
        ok(&all)
    }

    fn setup(backend: Backend) -> Self {
        Self::setup_on(TestServer::start(backend))
    }

    /// The organisation is set up through the first instance; device "a" enrols through the
    /// first instance and "b" through the last.
    fn setup_on(server: TestServer) -> Self {
        let root = tempfile::tempdir().unwrap();
        let team = Team { server, root };
        let admin = team.admin();
        ok(&[
            "admin",
            "--admin-dir",
            path(&admin),
            "init",
            "--server",
            &team.server.url,
            "--org",
            "Ambridge Community",
        ]);
        ok(&[
            "admin",
            "--admin-dir",
            path(&admin),
            "team",
            "create",
            "north",
        ]);
        let last = team.server.urls.last().unwrap().clone();
        team.enrol("a", &team.code("Nell Nightingale"), &team.server.url);
        team.enrol("b", &team.code("Bea Birchall"), &last);
        team
    }

    /// A one-time enrolment code for a nurse in team "north".
    fn code(&self, user: &str) -> String {
        ok(&[
            "admin",
            "--admin-dir",
            path(&self.admin()),
            "enrol-code",
            "--team",
            "north",
            "--user-name",
            user,
            "--role",
            "nurse",
        ])["code"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn enrol(&self, device: &str, code: &str, server: &str) -> Output {
        let dir = self.device(device);
        run(&[
            "--data-dir",
            path(&dir),
            "enrol",
            "--server",
            server,
            "--code",
            code,
        ])
    }
}

const SET: &str = r#"{"respiration_rate": 26, "spo2": 93, "on_oxygen": false, "systolic_bp": 95, "pulse": 120, "consciousness": "A", "temperature": 38.6}"#;

fn two_devices_converge_and_then_sync_moves_nothing(backend: Backend) {
    let team = Team::setup(backend);
    let patient = team.on(
        "a",
        &[
            "patient",
            "add",
            "--nhs-number",
            "9991000100",
            "--given",
            "Zebediah",
            "--family",
            "Quillfeatherstone",
            "--birth-date",
            "1937-02-03",
        ],
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let first = team.on("a", &["obs", "add", "--patient", &patient, "--vitals", SET])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(team.on("a", &["status"])["pending"], 1);
    assert_eq!(team.on("a", &["sync"])["uploaded"], 1);
    assert_eq!(team.on("a", &["status"])["pending"], 0);
    assert_eq!(team.on("b", &["sync"])["downloaded"], 1);

    // Both work offline on the same record, then sync in turn.
    team.on(
        "a",
        &[
            "note",
            "add",
            "--patient",
            &patient,
            "--text",
            "Xylophonic wheeze, left base",
        ],
    );
    team.on("b", &["obs", "add", "--patient", &patient, "--vitals", SET]);
    team.on(
        "b",
        &[
            "obs",
            "entered-in-error",
            &first,
            "--reason",
            "thermometer faulty",
        ],
    );
    team.on("a", &["sync"]);
    team.on("b", &["sync"]);
    team.on("a", &["sync"]);

    let a = team.on("a", &["patient", "show", &patient]);
    let b = team.on("b", &["patient", "show", &patient]);
    assert_eq!(a, b, "both devices show the same record");
    assert_eq!(a["observations"].as_array().unwrap().len(), 2);
    assert_eq!(a["notes"][0]["text"], "Xylophonic wheeze, left base");
    let marked = a["observations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == first.as_str())
        .unwrap();
    assert_eq!(marked["entered_in_error"]["reason"], "thermometer faulty");

    for device in ["a", "b", "a", "b"] {
        let report = team.on(device, &["sync"]);
        assert_eq!(
            (report["uploaded"].as_u64(), report["downloaded"].as_u64()),
            (Some(0), Some(0)),
            "{device}: {report}"
        );
    }

    // The organisation sees every device's audit, opened with its keys, and each device's trail
    // holds together: no entry missing, every link following.
    let listed = run(&["admin", "--admin-dir", path(&team.admin()), "audit"]);
    assert!(listed.status.success());
    let warnings = String::from_utf8_lossy(&listed.stderr);
    assert!(!warnings.contains("WARNING"), "{warnings}");
    let audit: Value = serde_json::from_slice(&listed.stdout).unwrap();
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
            "{action} missing from the organisation's audit: {actions:?}"
        );
    }
    let eie = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "entered-in-error")
        .unwrap();
    assert_eq!(eie["reason"], "thermometer faulty");

    // Each device knows who its colleagues are, as the admin key vouches, to name entries' authors.
    let members = open_session(&team.device("a")).team_members().unwrap();
    let mut names: Vec<&str> = members.iter().map(|m| m.user.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["Bea Birchall", "Nell Nightingale"]);

    // The server holds no plaintext patient data in its files.
    for file in team.server.files() {
        let bytes = std::fs::read(&file).unwrap();
        for needle in [
            "Zebediah",
            "Quillfeatherstone",
            "9991000100",
            "1937-02-03",
            "Xylophonic",
            "thermometer",
        ] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{needle} in plaintext in {}",
                file.display()
            );
        }
    }
}

fn a_revoked_device_is_refused_wipes_itself_and_never_gets_the_new_key(backend: Backend) {
    let team = Team::setup(backend);
    let patient = team.on(
        "a",
        &[
            "patient",
            "add",
            "--nhs-number",
            "9991000100",
            "--given",
            "Ada",
            "--family",
            "Ashdown",
            "--birth-date",
            "1940-01-02",
        ],
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    team.on("a", &["sync"]);
    team.on("b", &["sync"]);
    // A copy of the device as a thief would keep it, from before the revocation.
    let stolen = team.device("stolen");
    copy_dir(&team.device("b"), &stolen);
    let b_id = team.on("b", &["status"])["device_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin = team.admin();
    ok(&["admin", "--admin-dir", path(&admin), "revoke", &b_id]);

    let output = run(&["--data-dir", path(&team.device("b")), "sync"]);
    assert_eq!(output.status.code(), Some(3));
    let left: Vec<String> = std::fs::read_dir(team.device("b"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["WIPED"]);

    // The remaining device wrote a note before it heard of the revocation: the server refuses
    // it sealed under the old key, the device takes in the new one and seals it again.
    team.on(
        "a",
        &[
            "note",
            "add",
            "--patient",
            &patient,
            "--text",
            "written after the revocation",
        ],
    );
    assert_eq!(team.on("a", &["sync"])["uploaded"], 1);

    // The stolen copy is refused on every request, and wipes itself when it tries to sync.
    let session = open_session(&stolen);
    let refused = (0..1_000)
        .filter(|n| {
            let path = if n % 2 == 0 {
                "/v1/units?after=0&limit=500"
            } else {
                "/v1/roster"
            };
            signed_get(&team.server.url, &session, path)
                .status()
                .as_u16()
                == 410
        })
        .count();
    assert_eq!(refused, 1_000, "a revoked device gets nothing");
    drop(session);
    let output = run(&["--data-dir", path(&stolen), "sync"]);
    assert_eq!(output.status.code(), Some(3));
}

fn a_change_is_pushed_to_a_listening_device_as_a_notice_without_data(backend: Backend) {
    let team = Team::setup(backend);
    let session = open_session(&team.device("b"));
    let (sender, received) = std::sync::mpsc::channel();
    let listener = std::thread::spawn(move || {
        doorstep_transport::listen(&session, |notice| {
            sender.send(notice).unwrap();
            false
        })
        .unwrap();
        session
    });
    let patient = team.on(
        "a",
        &[
            "patient",
            "add",
            "--nhs-number",
            "9991000100",
            "--given",
            "Ada",
            "--family",
            "Ashdown",
            "--birth-date",
            "1940-01-02",
        ],
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The stream may open after the first upload; keep changing the record until a notice comes.
    let mut notice = None;
    for _ in 0..20 {
        team.on(
            "a",
            &["note", "add", "--patient", &patient, "--text", "visit"],
        );
        team.on("a", &["sync"]);
        if let Ok(received) = received.recv_timeout(std::time::Duration::from_millis(500)) {
            notice = Some(received);
            break;
        }
    }
    let notice = notice.expect("a push notice");
    assert_eq!(notice.doc.as_deref(), Some(patient.as_str()));
    assert!(notice.seq.is_some());
    let session = listener.join().unwrap();
    // The notice said only "changed"; the data comes through the normal pull.
    let report = doorstep_transport::sync(&session, |_| {}).unwrap();
    assert!(report.downloaded >= 1);
    assert_eq!(session.patients().unwrap()[0].id.to_string(), patient);
}

fn snapshots_let_the_server_drop_old_units_and_a_new_device_downloads_one(backend: Backend) {
    let team = Team::setup(backend);
    let a = open_session(&team.device("a"));
    let patient = a.add_patient(&new_patient(100_010)).unwrap();
    let mut snapshots = 0;
    for visit in 0..doorstep_transport::SNAPSHOT_AFTER_UNITS + 2 {
        a.add_note(patient, &format!("visit {visit}")).unwrap();
        snapshots += doorstep_transport::sync(&a, |_| {}).unwrap().snapshots;
    }
    assert_eq!(
        snapshots,
        1,
        "one snapshot after {} units",
        doorstep_transport::SNAPSHOT_AFTER_UNITS
    );

    // A device enrolled now receives the snapshot and the units after it, not the whole history.
    let enrolled = team.enrol("c", &team.code("Cy"), &team.server.url);
    assert!(enrolled.status.success());
    let report = team.on("c", &["sync"]);
    assert!(report["downloaded"].as_u64().unwrap() <= 3, "{report}");
    let from_a = serde_json::to_value(a.open_record(patient).unwrap()).unwrap();
    drop(a);
    let from_c = team.on("c", &["patient", "show", &patient.to_string()]);
    assert_eq!(
        from_c["notes"].as_array().unwrap().len(),
        from_a["notes"].as_array().unwrap().len()
    );
    assert_eq!(from_c["notes"], from_a["notes"]);
}

fn a_replayed_request_is_refused(backend: Backend) {
    let team = Team::setup(backend);
    let session = open_session(&team.device("a"));
    doorstep_transport::install_crypto_provider();
    let client = reqwest::blocking::Client::new();
    let path = "/v1/roster";
    let headers = session.sign_request("GET", path, &[]).unwrap();
    let send = || {
        let mut request = client.get(format!("{}{path}", team.server.url));
        for (name, value) in &headers {
            request = request.header(*name, value);
        }
        request.send().unwrap().status().as_u16()
    };
    assert_eq!(send(), 200);
    assert_eq!(send(), 401, "the same signed request a second time");
}

fn a_device_flooding_the_server_is_slowed_with_a_clear_429(backend: Backend) {
    let team = Team::setup(backend);
    let session = open_session(&team.device("a"));
    let mut statuses = std::collections::BTreeMap::new();
    let mut message = String::new();
    for _ in 0..400 {
        let response = signed_get(&team.server.url, &session, "/v1/roster");
        let status = response.status().as_u16();
        if status == 429 {
            message = response.text().unwrap();
        }
        *statuses.entry(status).or_insert(0) += 1;
    }
    assert!(
        statuses.get(&200).copied().unwrap_or(0) >= 200,
        "{statuses:?}"
    );
    assert!(statuses.get(&429).copied().unwrap_or(0) > 0, "{statuses:?}");
    assert!(message.contains("too many requests"), "{message}");
}

/// A device's session opened directly, to make raw signed requests.
fn a_code_enrols_one_device_only(backend: Backend) {
    let team = Team::setup(backend);
    let code = team.code("Cy");
    assert!(team.enrol("c", &code, &team.server.url).status.success());
    // Another device with the same code is refused.
    let second = team.enrol("d", &code, &team.server.url);
    assert!(!second.status.success());
    let message = String::from_utf8_lossy(&second.stderr);
    assert!(message.contains("already been used"), "{message}");
    let devices = ok(&["admin", "--admin-dir", path(&team.admin()), "devices"]);
    assert_eq!(devices.as_array().unwrap().len(), 3);
}

/// PostgreSQL lets several stateless instances share one database. A device listening on one
/// instance hears of a change uploaded through the other; and while two devices upload through
/// different instances at once, a third that keeps pulling misses nothing (within a team,
/// sequences become visible in order, so a cursor never passes a unit still being committed).
#[test]
fn postgres_two_instances_push_across_and_order_concurrent_uploads() {
    let mut server = TestServer::start(Backend::Postgres);
    server.start_instance();
    let team = Team::setup_on(server);
    let urls = team.server.urls.clone();
    assert!(team.enrol("c", &team.code("Cy"), &urls[1]).status.success());

    let b = open_session(&team.device("b"));
    let (sender, received) = std::sync::mpsc::channel();
    let listener = std::thread::spawn(move || {
        doorstep_transport::listen(&b, |notice| {
            sender.send(notice).unwrap();
            false
        })
        .unwrap();
        b
    });
    let a = open_session(&team.device("a"));
    let patient = a.add_patient(&new_patient(100_010)).unwrap();
    let mut notice = None;
    for visit in 0..20 {
        a.add_note(patient, &format!("before {visit}")).unwrap();
        doorstep_transport::sync(&a, |_| {}).unwrap();
        if let Ok(heard) = received.recv_timeout(std::time::Duration::from_millis(500)) {
            notice = Some(heard);
            break;
        }
    }
    let notice = notice.expect("a notice through the other instance");
    assert_eq!(notice.doc, Some(patient.to_string()));
    let b = listener.join().unwrap();
    doorstep_transport::sync(&b, |_| {}).unwrap();
    assert_eq!(b.patients().unwrap()[0].id, patient);

    const NOTES: usize = 25;
    let c = open_session(&team.device("c"));
    let writing = &std::sync::atomic::AtomicUsize::new(2);
    std::thread::scope(|scope| {
        for (session, name) in [(&a, "a"), (&b, "b")] {
            scope.spawn(move || {
                for n in 0..NOTES {
                    session.add_note(patient, &format!("{name} {n}")).unwrap();
                    doorstep_transport::sync(session, |_| {}).unwrap();
                }
                writing.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            });
        }
        let c = &c;
        scope.spawn(move || {
            while writing.load(std::sync::atomic::Ordering::SeqCst) > 0 {
                doorstep_transport::sync(c, |_| {}).unwrap();
            }
        });
    });
    for session in [&a, &b, &c] {
        doorstep_transport::sync(session, |_| {}).unwrap();
    }
    let notes = |session: &doorstep_core::store::Session| {
        let mut texts: Vec<String> = session
            .open_record(patient)
            .unwrap()
            .notes
            .iter()
            .map(|note| note.text.clone())
            .collect();
        texts.sort();
        texts
    };
    let on_c = notes(&c);
    for name in ["a", "b"] {
        for n in 0..NOTES {
            let text = format!("{name} {n}");
            assert!(
                on_c.contains(&text),
                "{text} never reached the pulling device"
            );
        }
    }
    assert_eq!(notes(&a), on_c);
    assert_eq!(notes(&b), on_c);
}

fn new_patient(serial: u32) -> doorstep_core::store::NewPatient {
    doorstep_core::store::NewPatient::with_demographics(doorstep_core::patient::Demographics {
        nhs_number: doorstep_core::NhsNumber::test_number(serial).unwrap(),
        given: "Ada".to_owned(),
        family: "Ashdown".to_owned(),
        birth_date: chrono::NaiveDate::from_ymd_opt(1940, 1, 2).unwrap(),
        sex: doorstep_core::patient::Sex::Female,
        address: doorstep_core::patient::Address {
            lines: vec![],
            town: String::new(),
            postcode: String::new(),
        },
        gp_practice: doorstep_core::patient::GpPractice {
            ods_code: String::new(),
            name: String::new(),
        },
        contacts: vec![],
    })
}

fn open_session(dir: &Path) -> doorstep_core::store::Session {
    let device = doorstep_core::store::Device::open(dir).unwrap();
    let user = device.find_user(None).unwrap();
    device.unlock(user.id, PIN).unwrap()
}

/// A GET signed by `session`, as the transport would send it.
fn signed_get(
    server: &str,
    session: &doorstep_core::store::Session,
    path: &str,
) -> reqwest::blocking::Response {
    doorstep_transport::install_crypto_provider();
    let mut request = reqwest::blocking::Client::new().get(format!("{server}{path}"));
    for (name, value) in session.sign_request("GET", path, &[]).unwrap() {
        request = request.header(name, value);
    }
    request.send().unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// A certificate authority of the organisation's, and a server certificate it issued for
/// 127.0.0.1: (CA PEM, server certificate PEM, server key PEM).
fn organisation_ca() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Ambridge Community Test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .unwrap()
        .signed_by(&server_key, &ca, &ca_key)
        .unwrap();
    (ca.pem(), server.pem(), server_key.serialize_pem())
}

#[test]
fn https_with_the_organisation_s_certificate_authority_and_nothing_without_it() {
    let (ca, cert, key) = organisation_ca();
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let database = format!("sqlite:{}", dir.path().join("server.db").display());
    let server = runtime.block_on(async {
        let app = App::connect(&database).await.unwrap();
        let tls = doorstep_sync_server::tls_config(cert.as_bytes(), key.as_bytes()).unwrap();
        doorstep_sync_server::start_tls(app, "127.0.0.1:0".parse().unwrap(), tls)
            .await
            .unwrap()
    });
    let url = server.url();
    assert!(url.starts_with("https://"));
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca).unwrap();
    let run_trusting = |args: &[&str], trust: bool| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_doorstep"));
        command
            .arg("--json")
            .args(args)
            .env("DOORSTEP_PIN", PIN)
            .env("DOORSTEP_ADMIN_PASSPHRASE", "ambridge admin passphrase")
            .env_remove("DOORSTEP_DATA_DIR")
            .env_remove("DOORSTEP_CA_CERT");
        if trust {
            command.env("DOORSTEP_CA_CERT", &ca_file);
        }
        command.output().unwrap()
    };
    let ok_trusting = |args: &[&str]| {
        let output = run_trusting(args, true);
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice::<Value>(&output.stdout).unwrap()
    };
    let admin = dir.path().join("admin");
    let device = dir.path().join("nell");
    // Without the organisation's CA the server's certificate is not trusted: nothing is sent.
    let refused = run_trusting(
        &[
            "admin",
            "--admin-dir",
            path(&admin),
            "init",
            "--server",
            &url,
            "--org",
            "Ambridge",
        ],
        false,
    );
    assert!(!refused.status.success());
    std::fs::remove_dir_all(&admin).ok();
    ok_trusting(&[
        "admin",
        "--admin-dir",
        path(&admin),
        "init",
        "--server",
        &url,
        "--org",
        "Ambridge",
    ]);
    ok_trusting(&[
        "admin",
        "--admin-dir",
        path(&admin),
        "team",
        "create",
        "north",
    ]);
    let code = ok_trusting(&[
        "admin",
        "--admin-dir",
        path(&admin),
        "enrol-code",
        "--team",
        "north",
        "--user-name",
        "Nell Nightingale",
        "--role",
        "nurse",
    ])["code"]
        .as_str()
        .unwrap()
        .to_owned();
    ok_trusting(&[
        "--data-dir",
        path(&device),
        "enrol",
        "--server",
        &url,
        "--code",
        &code,
    ]);
    let report = ok_trusting(&["--data-dir", path(&device), "sync"]);
    assert_eq!(report["rejected"], 0);
    assert!(
        !run_trusting(&["--data-dir", path(&device), "sync"], false)
            .status
            .success()
    );
    runtime.block_on(server.stop());
}

/// The admin signs a NEWS2 response protocol for the team; a device takes it at its next sync and
/// stores its id, version and words with each set; the sync measures the device's clock against
/// the server's.
#[test]
fn the_team_protocol_is_signed_by_the_admin_and_reaches_the_device() {
    let team = Team::setup(Backend::Sqlite);
    let admin = team.admin();
    let example =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/response-protocol.example.toml");
    let set = ok(&[
        "admin",
        "--admin-dir",
        path(&admin),
        "protocol",
        "set",
        "--team",
        "north",
        "--file",
        path(&example),
    ]);
    assert_eq!(set["protocol"], "wessex-ambulance");
    let shown = ok(&[
        "admin",
        "--admin-dir",
        path(&admin),
        "protocol",
        "show",
        "--team",
        "north",
    ]);
    assert_eq!(shown["setting"], "ambulance");
    assert_eq!(shown["high"]["next_set_minutes"], 0);

    let before = team.on("a", &["status"]);
    assert_eq!(before["protocol"]["id"], "doorstep-community");
    let report = team.on("a", &["sync"]);
    assert!(
        report["clock_skew_seconds"].as_i64().unwrap().abs() <= 5,
        "{report}"
    );
    let status = team.on("a", &["status"]);
    assert_eq!(status["protocol"]["id"], "wessex-ambulance");
    assert_eq!(status["protocol"]["version"], 1);
    assert!(status["clock_skew_seconds"].is_i64());

    let patient = team.on(
        "a",
        &[
            "patient",
            "add",
            "--nhs-number",
            "9991000100",
            "--given",
            "Tom",
            "--family",
            "Forrest",
            "--birth-date",
            "1950-02-03",
        ],
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let obs = team.on("a", &["obs", "add", "--patient", &patient, "--vitals", SET]);
    assert_eq!(obs["response"]["protocol"], "wessex-ambulance");
    assert_eq!(obs["response"]["setting"], "ambulance");
    assert!(
        obs["response"]["text"]
            .as_str()
            .unwrap()
            .contains("pre-alert")
    );

    // The same version with other words is refused: stored sets must name the words they showed.
    let reworded = team.root.path().join("reworded.toml");
    let text = std::fs::read_to_string(&example)
        .unwrap()
        .replace("convey immediately", "convey at once");
    std::fs::write(&reworded, text).unwrap();
    let refused = run(&[
        "admin",
        "--admin-dir",
        path(&admin),
        "protocol",
        "set",
        "--team",
        "north",
        "--file",
        path(&reworded),
    ]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("raise `version`"));
}
