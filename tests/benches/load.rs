//! One sync server under many devices: `cargo bench -p doorstep-tests --bench load -- --devices 2000`.
//!
//! Devices are enrolled through the real enrolment path (grant, code, endorsement) in teams of 20,
//! as caseload groups are. Each then makes delta syncs concurrently from 32 client threads: upload
//! one sealed unit (an observation's worth), then pull its team's units after its cursor. Prints
//! p50/p99 latency per sync and throughput. Target: p99 ≤ 200 ms.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::sync::Mutex;
use std::time::{Duration, Instant};

use doorstep_core::crypto::DataKey;
use doorstep_core::observation::Role;
use doorstep_core::sync::enrolment::EnrolmentCode;
use doorstep_core::sync::keys::{AgreementKey, SigningKey};
use doorstep_core::sync::unit::seal_unit;
use doorstep_core::sync::wire::{
    B64, Endorsement, EnrolResponse, HEADER_DEVICE, HEADER_NONCE, HEADER_SIGNATURE,
    HEADER_TIMESTAMP, Member, PURPOSE_ENDORSEMENT, PullResponse, Signed, UnitHeader, UnitKind,
    UploadRequest, UploadResponse, request_signing_input,
};
use doorstep_core::{DeviceId, PatientId};
use doorstep_sync_server::{App, start};
use doorstep_transport::AdminClient;

const PIN: &str = "2468";
const TEAM_SIZE: usize = 20;
const THREADS: usize = 32;

struct SimDevice {
    id: DeviceId,
    team: String,
    key: SigningKey,
    team_key: DataKey,
    counter: u64,
    cursor: u64,
}

fn signed(
    client: &reqwest::blocking::Client,
    url: &str,
    device: &SimDevice,
    method: &str,
    path: &str,
    body: Vec<u8>,
) -> reqwest::blocking::Response {
    let timestamp = chrono::Utc::now().timestamp();
    let nonce = doorstep_core::crypto::hex(&doorstep_core::crypto::random_bytes::<16>().unwrap());
    let signature = device.key.sign(&request_signing_input(
        method, path, timestamp, &nonce, &body,
    ));
    let builder = match method {
        "POST" => client.post(format!("{url}{path}")),
        _ => client.get(format!("{url}{path}")),
    };
    builder
        .header(HEADER_DEVICE, device.id.to_string())
        .header(HEADER_TIMESTAMP, timestamp.to_string())
        .header(HEADER_NONCE, nonce)
        .header(HEADER_SIGNATURE, data_encoding::BASE64.encode(&signature))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str, default: usize| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let devices_wanted = arg("--devices", 2_000);
    let rounds = arg("--rounds", 3);
    let work = tempfile::tempdir_in(std::env::current_dir().unwrap()).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = App::open(&work.path().join("server.db")).unwrap();
    let server = runtime
        .block_on(start(app, "127.0.0.1:0".parse().unwrap()))
        .unwrap();
    let url = server.url();
    doorstep_transport::install_crypto_provider();
    let client = reqwest::blocking::Client::new();

    let admin_dir = work.path().join("admin");
    let mut admin = AdminClient::init(&admin_dir, PIN, &url, "Load Trust").unwrap();
    let started = Instant::now();
    let mut devices = Vec::with_capacity(devices_wanted);
    for n in 0..devices_wanted {
        let team = format!("team-{}", n / TEAM_SIZE);
        if n % TEAM_SIZE == 0 {
            admin.create_team(&admin_dir, PIN, &team).unwrap();
        }
        let issued = admin
            .enrolment_code(&team, &format!("Nurse {n}"), Role::Nurse)
            .unwrap();
        let code = EnrolmentCode::parse(&issued.code).unwrap();
        let response: EnrolResponse = client
            .post(format!("{url}/v1/enrol/{}", code.token()))
            .send()
            .unwrap()
            .json()
            .unwrap();
        let accepted = code.accept(&response).unwrap();
        let key = SigningKey::generate().unwrap();
        let id = DeviceId::random();
        let endorsement = Signed::sign(
            &code.endorse_key().unwrap(),
            PURPOSE_ENDORSEMENT,
            &Endorsement {
                team: team.clone(),
                member: Member {
                    device: id,
                    user: format!("Nurse {n}"),
                    role: Role::Nurse,
                    signing_key: B64(key.public_key().to_vec()),
                    agreement_key: B64(AgreementKey::generate().unwrap().public_key().to_vec()),
                },
            },
        )
        .unwrap();
        let status = client
            .post(format!("{url}/v1/enrol/{}/complete", code.token()))
            .json(&endorsement)
            .send()
            .unwrap()
            .status();
        assert!(status.is_success());
        devices.push(Mutex::new(SimDevice {
            id,
            team,
            key,
            team_key: accepted.team_key,
            counter: 0,
            cursor: 0,
        }));
    }
    println!(
        "enrolled {} devices in {} teams of {TEAM_SIZE} in {:.1} s",
        devices.len(),
        devices.len().div_ceil(TEAM_SIZE),
        started.elapsed().as_secs_f64()
    );

    let latencies = Mutex::new(Vec::new());
    let payload = vec![0x5au8; 900];
    let started = Instant::now();
    for round in 0..rounds {
        std::thread::scope(|scope| {
            for worker in 0..THREADS {
                let (devices, latencies, client, url, payload) =
                    (&devices, &latencies, &client, &url, &payload);
                scope.spawn(move || {
                    for index in (worker..devices.len()).step_by(THREADS) {
                        let mut device = devices[index].lock().unwrap();
                        let begun = Instant::now();
                        device.counter += 1;
                        let header = UnitHeader {
                            team: device.team.clone(),
                            epoch: 1,
                            doc: PatientId::from_u128(index as u128 + 1),
                            author: device.id,
                            counter: device.counter,
                            kind: UnitKind::Changes,
                            covers: None,
                        };
                        let unit =
                            seal_unit(&device.team_key, &device.key, header, payload).unwrap();
                        let body =
                            serde_json::to_vec(&UploadRequest { units: vec![unit] }).unwrap();
                        let response = signed(client, url, &device, "POST", "/v1/units", body);
                        assert!(
                            response.status().is_success(),
                            "round {round}: upload {}",
                            response.status()
                        );
                        let _: UploadResponse = response.json().unwrap();
                        let path = format!("/v1/units?after={}&limit=500", device.cursor);
                        let response = signed(client, url, &device, "GET", &path, Vec::new());
                        assert!(
                            response.status().is_success(),
                            "round {round}: pull {}",
                            response.status()
                        );
                        let page: PullResponse = response.json().unwrap();
                        device.cursor = page.cursor;
                        latencies.lock().unwrap().push(begun.elapsed());
                    }
                });
            }
        });
    }
    let elapsed = started.elapsed();
    let mut latencies = latencies.into_inner().unwrap();
    latencies.sort();
    let at = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{} delta syncs ({} devices × {rounds} rounds, {THREADS} client threads; upload one unit + pull the team's new units): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {:.0} syncs/s (target p99 ≤ 200 ms)",
        latencies.len(),
        devices.len(),
        ms(at(0.5)),
        ms(at(0.99)),
        ms(*latencies.last().unwrap()),
        latencies.len() as f64 / elapsed.as_secs_f64()
    );
    runtime.block_on(server.stop());
}
