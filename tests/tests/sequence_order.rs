//! Within a team, a unit with a higher sequence must never become visible before one with a lower
//! sequence: a device that pulled "after 41" would never see 40. With one SQLite writer this is
//! given; with several instances on PostgreSQL it rests on the per-team advisory lock. Writers
//! upload batches through two instances (long transactions widen any window) while a reader pulls
//! continuously through both; every unit must reach the reader.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use doorstep_core::PatientId;
use doorstep_sync_server::{App, start};
use doorstep_tests::postgres::{Cluster, Durability};
use doorstep_tests::sim_device::SimDevice;
use doorstep_transport::AdminClient;

const WRITERS: usize = 4;
const BATCHES: usize = 25;
const BATCH: usize = 40;

#[test]
fn a_reader_pulling_through_two_postgres_instances_misses_no_concurrent_upload() {
    let cluster = Cluster::start(Durability::Throwaway).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let servers: Vec<_> = (0..2)
        .map(|_| {
            runtime.block_on(async {
                let app = App::connect(&cluster.url()).await.unwrap();
                start(app, "127.0.0.1:0".parse().unwrap()).await.unwrap()
            })
        })
        .collect();
    let urls: Vec<String> = servers.iter().map(|s| s.url()).collect();
    doorstep_transport::install_crypto_provider();
    let client = reqwest::blocking::Client::new();
    let work = tempfile::tempdir().unwrap();
    let admin_dir = work.path().join("admin");
    let mut admin = AdminClient::init(
        &admin_dir,
        "order trust admin passphrase",
        &urls[0],
        "Order Trust",
    )
    .unwrap();
    admin
        .create_team(&admin_dir, "order trust admin passphrase", "north")
        .unwrap();
    let mut writers: Vec<SimDevice> = (0..WRITERS)
        .map(|n| {
            SimDevice::enrol(&admin, &client, &urls[n % 2], "north", &format!("W{n}")).unwrap()
        })
        .collect();
    let mut reader = SimDevice::enrol(&admin, &client, &urls[1], "north", "Reader").unwrap();

    let uploaded = std::sync::Mutex::new(BTreeSet::new());
    let writing = AtomicUsize::new(WRITERS);
    let mut seen = BTreeSet::new();
    std::thread::scope(|scope| {
        for (n, writer) in writers.iter_mut().enumerate() {
            let (client, urls, uploaded, writing) = (&client, &urls, &uploaded, &writing);
            scope.spawn(move || {
                let payloads = vec![vec![n as u8; 600]; BATCH];
                for batch in 0..BATCHES {
                    let url = &urls[(n + batch) % 2];
                    let doc = PatientId::from_u128((n * BATCHES + batch) as u128 + 1);
                    let seqs = writer.upload(client, url, doc, &payloads).unwrap();
                    uploaded.lock().unwrap().extend(seqs);
                }
                writing.fetch_sub(1, Ordering::SeqCst);
            });
        }
        let mut turn = 0;
        loop {
            let done = writing.load(Ordering::SeqCst) == 0;
            let page = reader.pull(&client, &urls[turn % 2]).unwrap();
            turn += 1;
            seen.extend(page.units.iter().map(|unit| unit.seq));
            if done && !page.more {
                break;
            }
        }
    });
    let uploaded = uploaded.into_inner().unwrap();
    assert_eq!(uploaded.len(), WRITERS * BATCHES * BATCH);
    let missed: Vec<_> = uploaded.difference(&seen).collect();
    assert!(
        missed.is_empty(),
        "{} of {} units were passed by the reader's cursor: {:?}",
        missed.len(),
        uploaded.len(),
        &missed[..missed.len().min(10)]
    );
    for server in servers {
        runtime.block_on(server.stop());
    }
}
