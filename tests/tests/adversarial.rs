//! The attacks of the adversarial-sync issue over HTTP: the real server in-process on port 0, real
//! devices through the real transport, and a man-in-the-middle between them that forwards, or
//! answers with what a hostile server or proxy would say. The same attacks against the device's
//! sync API, with more variants, are in `core/tests/store/adversarial.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use doorstep_core::DeviceId;
use doorstep_core::store::{Device, Session, StoreError};
use doorstep_core::sync::admin::lockbox_context;
use doorstep_core::sync::keys::{self, SigningKey};
use doorstep_core::sync::wire::{
    B64, Endorsement, ErrorBody, Lockbox, Membership, PURPOSE_MEMBERSHIP, Roster, Signed,
    SyncRequest, SyncResponse, Unit, UploadRequest,
};
use doorstep_sync_server::{App, RunningServer, start};
use doorstep_tests::sim_device::{SimDevice, SimError};
use doorstep_transport::{AdminClient, TransportError};

const PIN: &str = "246810";
const ADMIN_PASSPHRASE: &str = "ambridge admin passphrase";

/// What the man in the middle does with the next requests.
#[derive(Clone)]
enum Mode {
    Forward,
    /// Answers everything with "revoked, wipe", as any proxy on a plain-http path could.
    WipeWithoutProof,
    /// The same with a "proof": a membership revoking the device, signed by a key not the admin's.
    WipeWithForgedProof(Box<Signed>),
    /// Serves this roster body instead of the server's (a membership from before a revocation).
    ReplayRoster(Bytes),
    /// Adds to the roster a lockbox for the next epoch holding this key, the server's choice,
    /// sealed to the requesting device (anyone can: agreement keys are public).
    InjectLockbox([u8; 32]),
}

struct Middle {
    upstream: String,
    mode: Mutex<Mode>,
    client: reqwest::Client,
    /// Every unit devices uploaded through the middle, as it saw them.
    uploaded: Mutex<Vec<Unit>>,
    /// The last roster the server sent each device in a sync answer: the middle can only rewrite
    /// a roster it has seen, as the server itself could always send an old one.
    rosters: Mutex<std::collections::HashMap<String, Vec<u8>>>,
}

/// The request body as JSON bytes (devices gzip large bodies).
fn plain_body(headers: &HeaderMap, body: &[u8]) -> Vec<u8> {
    use std::io::Read as _;
    if headers.get("content-encoding").is_some_and(|v| v == "gzip") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(body)
            .read_to_end(&mut out)
            .unwrap();
        out
    } else {
        body.to_vec()
    }
}

/// The roster with a lockbox of `key` for the next epoch, sealed to `device`.
fn with_injected_lockbox(roster: &[u8], device: &str, key: &[u8; 32]) -> Vec<u8> {
    let mut roster: Roster = serde_json::from_slice(roster).unwrap();
    let device: DeviceId = device.parse().unwrap();
    let agreement = roster
        .enrolments
        .iter()
        .filter_map(|e| e.endorsement.peek::<Endorsement>())
        .find(|e| e.member.device == device)
        .and_then(|e| e.member.agreement_key.key32())
        .unwrap();
    let next = roster
        .membership
        .as_ref()
        .and_then(|m| m.peek::<Membership>())
        .map_or(1, |m| m.epoch)
        + 1;
    roster.lockboxes.push(Lockbox {
        device,
        epoch: next,
        sealed: B64(
            keys::seal_to(&agreement, &lockbox_context("north", next, device), key).unwrap(),
        ),
    });
    serde_json::to_vec(&roster).unwrap()
}

async fn relay(
    State(middle): State<Arc<Middle>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mode = middle.mode.lock().unwrap().clone();
    let wipe = |revocation: Option<Signed>| {
        let body = ErrorBody {
            code: "revoked".to_owned(),
            message: "this device has been revoked and must wipe its data".to_owned(),
            wipe: true,
            revocation,
        };
        (StatusCode::GONE, axum::Json(body)).into_response()
    };
    match mode {
        Mode::WipeWithoutProof => return wipe(None),
        Mode::WipeWithForgedProof(proof) => return wipe(Some(*proof)),
        Mode::ReplayRoster(roster) if uri.path() == "/v1/roster" => {
            return ([("content-type", "application/json")], roster).into_response();
        }
        _ => {}
    }
    if method == Method::POST && uri.path() == "/v1/units" {
        let upload: UploadRequest = serde_json::from_slice(&plain_body(&headers, &body)).unwrap();
        middle.uploaded.lock().unwrap().extend(upload.units);
    }
    let device = headers
        .get("x-doorstep-device")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if method == Method::POST && uri.path() == "/v1/sync" {
        let exchange: SyncRequest = serde_json::from_slice(&plain_body(&headers, &body)).unwrap();
        middle.uploaded.lock().unwrap().extend(exchange.units);
        return relay_sync(&middle, &mode, &device, &uri, &headers, body).await;
    }
    let inject = match &mode {
        Mode::InjectLockbox(key) if uri.path() == "/v1/roster" => Some(*key),
        _ => None,
    };
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut request = middle
        .client
        .request(method, format!("{}{path}", middle.upstream))
        .body(body);
    for (name, value) in &headers {
        // For a roster it rewrites, the middle asks for plain JSON.
        let skip_encoding = inject.is_some() && name == "accept-encoding";
        if name != "host" && name != "content-length" && !skip_encoding {
            request = request.header(name, value);
        }
    }
    if let Some(key) = inject {
        let response = request.send().await.unwrap();
        let bytes = response.bytes().await.unwrap();
        let forged = with_injected_lockbox(&bytes, &device, &key);
        return ([("content-type", "application/json")], forged).into_response();
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let mut copied = HeaderMap::new();
    for (name, value) in response.headers() {
        if name != "content-length" && name != "transfer-encoding" {
            copied.insert(name.clone(), value.clone());
        }
    }
    let bytes = response.bytes().await.unwrap();
    (status, copied, bytes).into_response()
}

/// A sync exchange through the middle: forwarded, then the roster in the answer replaced as the
/// mode says (a replayed one, or the last one seen with a lockbox added), as a hostile server
/// would answer whatever tag the device sent.
async fn relay_sync(
    middle: &Middle,
    mode: &Mode,
    device: &str,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut request = middle
        .client
        .request(Method::POST, format!("{}{path}", middle.upstream))
        .body(body);
    for (name, value) in headers {
        if name != "host" && name != "content-length" && name != "accept-encoding" {
            request = request.header(name, value);
        }
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let bytes = response.bytes().await.unwrap();
    if !status.is_success() {
        return (status, [("content-type", "application/json")], bytes).into_response();
    }
    let mut answer: SyncResponse = serde_json::from_slice(&bytes).unwrap();
    if let Some(roster) = &answer.roster {
        middle
            .rosters
            .lock()
            .unwrap()
            .insert(device.to_owned(), serde_json::to_vec(roster).unwrap());
    }
    let seen = middle.rosters.lock().unwrap().get(device).cloned();
    let replaced = match mode {
        Mode::ReplayRoster(roster) => Some(roster.to_vec()),
        Mode::InjectLockbox(key) => seen.map(|roster| with_injected_lockbox(&roster, device, key)),
        _ => None,
    };
    if let Some(roster) = replaced {
        answer.roster = Some(serde_json::from_slice(&roster).unwrap());
        answer.roster_tag = "rewritten by the middle".to_owned();
    }
    axum::Json(answer).into_response()
}

/// The real server, and a man in the middle in front of it that devices talk to.
struct Setup {
    runtime: tokio::runtime::Runtime,
    _server: RunningServer,
    server_url: String,
    middle: Arc<Middle>,
    middle_url: String,
    root: tempfile::TempDir,
}

impl Setup {
    fn start() -> Self {
        doorstep_transport::install_crypto_provider();
        let root = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let database = format!("sqlite:{}", root.path().join("server.db").display());
        let server = runtime.block_on(async {
            let app = App::connect(&database).await.unwrap();
            start(app, "127.0.0.1:0".parse().unwrap()).await.unwrap()
        });
        let server_url = server.url();
        let middle = Arc::new(Middle {
            upstream: server_url.clone(),
            mode: Mutex::new(Mode::Forward),
            client: reqwest::Client::builder().no_gzip().build().unwrap(),
            uploaded: Mutex::new(Vec::new()),
            rosters: Mutex::default(),
        });
        let middle_url = runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr: SocketAddr = listener.local_addr().unwrap();
            let router = axum::Router::new()
                .fallback(relay)
                .with_state(Arc::clone(&middle));
            tokio::spawn(async move {
                axum::serve(listener, router).await.unwrap();
            });
            format!("http://{addr}")
        });
        Self {
            runtime,
            _server: server,
            server_url,
            middle,
            middle_url,
            root,
        }
    }

    fn set(&self, mode: Mode) {
        *self.middle.mode.lock().unwrap() = mode;
    }

    fn admin(&self) -> AdminClient {
        let dir = self.root.path().join("admin");
        let mut admin =
            AdminClient::init(&dir, ADMIN_PASSPHRASE, &self.server_url, "Ambridge").unwrap();
        admin.create_team(&dir, ADMIN_PASSPHRASE, "north").unwrap();
        admin
    }

    /// A device enrolled through the man in the middle.
    fn device(&self, admin: &AdminClient, name: &str) -> Session {
        let code = admin
            .enrolment_code("north", name, doorstep_core::observation::Role::Nurse)
            .unwrap()
            .code;
        doorstep_transport::enrol(&self.root.path().join(name), &self.middle_url, &code, PIN)
            .unwrap()
    }
}

/// Synthetic patient `n` of a small demo caseload (NHS numbers in the 999 range).
fn synthetic(n: usize) -> doorstep_core::store::NewPatient {
    let spec = doorstep_fixtures::CaseloadSpec::new(2, 2026, chrono::Utc::now());
    doorstep_fixtures::caseload(&spec)[n].to_new_patient()
}

fn forged_revocation(device: DeviceId) -> Signed {
    Signed::sign(
        &SigningKey::generate().unwrap(),
        PURPOSE_MEMBERSHIP,
        &Membership {
            org: "Ambridge".to_owned(),
            team: "north".to_owned(),
            version: 99,
            epoch: 9,
            members: vec![],
            revoked: vec![device],
            former: vec![],
            key_commitments: Default::default(),
            protocol: None,
        },
    )
    .unwrap()
}

#[test]
fn attack_1_a_key_the_server_seals_to_a_device_is_refused_and_seals_nothing() {
    let setup = Setup::start();
    let admin = setup.admin();
    let nell = setup.device(&admin, "Nell");
    let bea = setup.device(&admin, "Bea");
    doorstep_transport::sync(&nell, |_| {}).unwrap();
    doorstep_transport::sync(&bea, |_| {}).unwrap();
    let chosen = [7u8; 32];
    setup.set(Mode::InjectLockbox(chosen));
    let patient = nell.add_patient(&synthetic(0)).unwrap();
    let report = doorstep_transport::sync(&nell, |_| {}).unwrap();
    assert_eq!(
        report.keys_refused, 1,
        "the server's key was offered and refused"
    );
    doorstep_transport::sync(&nell, |_| {}).unwrap();
    let uploaded = setup.middle.uploaded.lock().unwrap().clone();
    assert!(!uploaded.is_empty());
    assert!(
        uploaded.iter().all(|unit| unit.header.epoch == 1),
        "nothing is sealed under the epoch of the server's key"
    );
    // Honest devices converge: Bea reads what Nell wrote under the admin's key.
    setup.set(Mode::Forward);
    doorstep_transport::sync(&bea, |_| {}).unwrap();
    assert_eq!(bea.open_record(patient).unwrap().id, patient);
    drop(setup.runtime);
}

#[test]
fn attack_2_a_server_or_proxy_saying_wipe_without_the_admin_s_signature_wipes_nothing() {
    let setup = Setup::start();
    let mut admin = setup.admin();
    let nell = setup.device(&admin, "Nell");
    let patient = nell.add_patient(&synthetic(0)).unwrap();
    let device = nell.sync_status().unwrap().device_id;
    for mode in [
        Mode::WipeWithoutProof,
        Mode::WipeWithForgedProof(Box::new(forged_revocation(device))),
    ] {
        setup.set(mode);
        assert!(matches!(
            doorstep_transport::sync(&nell, |_| {}),
            Err(TransportError::UnprovenRevocation)
        ));
        assert_eq!(
            nell.open_record(patient).unwrap().id,
            patient,
            "nothing wiped"
        );
    }
    // The organisation's real revocation, relayed by the same server, is obeyed.
    setup.set(Mode::Forward);
    doorstep_transport::sync(&nell, |_| {}).unwrap();
    admin
        .revoke(&setup.root.path().join("admin"), ADMIN_PASSPHRASE, device)
        .unwrap();
    assert!(matches!(
        doorstep_transport::sync(&nell, |_| {}),
        Err(TransportError::Revoked)
    ));
    assert!(matches!(
        Device::open(&setup.root.path().join("Nell")),
        Err(StoreError::Wiped)
    ));
    drop(setup.runtime);
}

#[test]
fn attack_3_a_replayed_roster_from_before_a_revocation_is_refused() {
    let setup = Setup::start();
    let mut admin = setup.admin();
    let nell = setup.device(&admin, "Nell");
    let stolen = setup.device(&admin, "Stolen");
    doorstep_transport::sync(&nell, |_| {}).unwrap();
    doorstep_transport::sync(&stolen, |_| {}).unwrap();
    // The middle keeps the roster as it was before the revocation.
    let before = reqwest_roster(&setup, &nell);
    let stolen_id = stolen.sync_status().unwrap().device_id;
    admin
        .revoke(
            &setup.root.path().join("admin"),
            ADMIN_PASSPHRASE,
            stolen_id,
        )
        .unwrap();
    doorstep_transport::sync(&nell, |_| {}).unwrap();
    setup.set(Mode::ReplayRoster(before));
    let refused = doorstep_transport::sync(&nell, |_| {});
    assert!(
        matches!(
            refused,
            Err(TransportError::Store(StoreError::Untrusted(_)))
        ),
        "{refused:?}"
    );
    // Honest traffic again: Nell seals under the new epoch, which the stolen tablet never got.
    setup.set(Mode::Forward);
    let patient = nell.add_patient(&synthetic(1)).unwrap();
    doorstep_transport::sync(&nell, |_| {}).unwrap();
    assert!(nell.open_record(patient).is_ok());
    drop(setup.runtime);
}

/// The roster as the server serves it to `session` now, as raw bytes.
fn reqwest_roster(setup: &Setup, session: &Session) -> Bytes {
    let client = reqwest::blocking::Client::new();
    let mut request = client.get(format!("{}/v1/roster", setup.server_url));
    for (name, value) in session.sign_request("GET", "/v1/roster", &[]).unwrap() {
        request = request.header(name, value);
    }
    let response = request.send().unwrap();
    assert!(response.status().is_success());
    Bytes::from(response.bytes().unwrap().to_vec())
}

#[test]
fn attack_4_the_server_refuses_a_reused_counter_with_different_bytes() {
    let setup = Setup::start();
    let admin = setup.admin();
    let client = reqwest::blocking::Client::new();
    let mut device =
        SimDevice::enrol(&admin, &client, &setup.server_url, "north", "Rewinder").unwrap();
    let doc = doorstep_core::PatientId::random();
    let first = device
        .upload(&client, &setup.server_url, doc, &[b"first".to_vec()])
        .unwrap();
    device.rewind(0);
    let refused = device.upload(&client, &setup.server_url, doc, &[b"second".to_vec()]);
    assert!(
        matches!(refused, Err(SimError::Refused { status: 409, .. })),
        "{refused:?}"
    );
    // What the team sees (a device is not sent its own units back): the first bytes only.
    let mut colleague =
        SimDevice::enrol(&admin, &client, &setup.server_url, "north", "Reader").unwrap();
    let page = colleague.pull(&client, &setup.server_url).unwrap();
    assert_eq!(page.units.len(), 1);
    assert_eq!(page.units[0].seq, first[0]);
    assert!(
        device
            .pull(&client, &setup.server_url)
            .unwrap()
            .units
            .is_empty(),
        "the writer is not sent its own unit back"
    );
    drop(setup.runtime);
}

#[test]
fn plain_http_to_another_host_is_refused_before_anything_is_sent() {
    let refused = doorstep_transport::enrol(
        tempfile::tempdir().unwrap().path(),
        "http://sync.example.nhs.uk",
        "AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AA",
        PIN,
    );
    assert!(
        matches!(refused, Err(TransportError::Insecure(_))),
        "{refused:?}"
    );
}
