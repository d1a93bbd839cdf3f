//! Many devices on the sync server:
//! `cargo bench -p doorstep-tests --bench load -- --devices 2000 [--postgres]`.
//!
//! Devices are enrolled through the real enrolment path (grant, code, endorsement) in teams of 20,
//! as caseload groups are. Each then makes delta syncs concurrently from 32 client threads: upload
//! one sealed unit (an observation's worth), then pull its team's units after its cursor. Prints
//! p50/p99 latency per sync and throughput. Target: p99 ≤ 200 ms.
//!
//! By default one instance on embedded SQLite. With `--postgres`, two instances share one
//! PostgreSQL database (a throwaway cluster with PostgreSQL's durable defaults), and devices are
//! spread across them as a load balancer would.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::sync::Mutex;
use std::time::{Duration, Instant};

use doorstep_core::PatientId;
use doorstep_sync_server::{App, start};
use doorstep_tests::postgres::{Cluster, Durability};
use doorstep_tests::sim_device::SimDevice;
use doorstep_transport::AdminClient;

const ADMIN_PASSPHRASE: &str = "ambridge admin passphrase";
const TEAM_SIZE: usize = 20;
const THREADS: usize = 32;

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
    let postgres = args.iter().any(|a| a == "--postgres");
    let work = tempfile::tempdir_in(std::env::current_dir().unwrap()).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (database, _cluster, instances) = if postgres {
        let cluster = Cluster::start(Durability::Durable).unwrap();
        (cluster.url(), Some(cluster), 2)
    } else {
        let path = work.path().join("server.db");
        (format!("sqlite:{}", path.display()), None, 1)
    };
    let servers: Vec<_> = (0..instances)
        .map(|_| {
            runtime.block_on(async {
                let app = App::connect(&database).await.unwrap();
                start(app, "127.0.0.1:0".parse().unwrap()).await.unwrap()
            })
        })
        .collect();
    let urls: Vec<String> = servers.iter().map(|server| server.url()).collect();
    doorstep_transport::install_crypto_provider();
    let client = reqwest::blocking::Client::new();

    let admin_dir = work.path().join("admin");
    let mut admin =
        AdminClient::init(&admin_dir, ADMIN_PASSPHRASE, &urls[0], "Load Trust").unwrap();
    let started = Instant::now();
    let mut devices = Vec::with_capacity(devices_wanted);
    for n in 0..devices_wanted {
        let team = format!("team-{}", n / TEAM_SIZE);
        if n % TEAM_SIZE == 0 {
            admin
                .create_team(&admin_dir, ADMIN_PASSPHRASE, &team)
                .unwrap();
        }
        let url = &urls[n % urls.len()];
        let device = SimDevice::enrol(&admin, &client, url, &team, &format!("Nurse {n}")).unwrap();
        devices.push(Mutex::new(device));
    }
    println!(
        "enrolled {} devices in {} teams of {TEAM_SIZE} through {} instance(s) in {:.1} s",
        devices.len(),
        devices.len().div_ceil(TEAM_SIZE),
        urls.len(),
        started.elapsed().as_secs_f64()
    );

    let latencies = Mutex::new(Vec::new());
    let payload = vec![vec![0x5au8; 900]];
    let started = Instant::now();
    for round in 0..rounds {
        std::thread::scope(|scope| {
            for worker in 0..THREADS {
                let (devices, latencies, client, urls, payload) =
                    (&devices, &latencies, &client, &urls, &payload);
                scope.spawn(move || {
                    for index in (worker..devices.len()).step_by(THREADS) {
                        let url = &urls[index % urls.len()];
                        let mut device = devices[index].lock().unwrap();
                        let begun = Instant::now();
                        let doc = PatientId::from_u128(index as u128 + 1);
                        device
                            .upload(client, url, doc, payload)
                            .unwrap_or_else(|e| panic!("round {round}: upload: {e}"));
                        device
                            .pull(client, url)
                            .unwrap_or_else(|e| panic!("round {round}: pull: {e}"));
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
    let backend = if postgres {
        "two instances on one PostgreSQL"
    } else {
        "one instance on SQLite"
    };
    println!(
        "{backend}: {} delta syncs ({} devices × {rounds} rounds, {THREADS} client threads; upload one unit + pull the team's new units): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {:.0} syncs/s (target p99 ≤ 200 ms)",
        latencies.len(),
        devices.len(),
        ms(at(0.5)),
        ms(at(0.99)),
        ms(*latencies.last().unwrap()),
        latencies.len() as f64 / elapsed.as_secs_f64()
    );
    for server in servers {
        runtime.block_on(server.stop());
    }
}
