//! Sync on loopback: reconnecting after an offline shift, and a new device's first download of a
//! whole caseload. Prints numbers; `cargo bench -p doorstep-tests --bench sync`.
//! Targets: reconnect after an 8-hour shift (20 patients, 3 sets each plus notes) ≤ 1 s on
//! loopback with ≤ 1 KB uploaded per observation set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::Instant;

use chrono::{TimeZone, Utc};
use doorstep_fixtures::{CaseloadSpec, caseload};
use doorstep_sync_server::{App, start};
use doorstep_tests::team;

const PIN: &str = "246810";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let patients: usize = args
        .iter()
        .position(|a| a == "--patients")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000);
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

    let admin = team::organisation(&work.path().join("admin"), &url, "Bench Trust").unwrap();
    let code = |user: &str| team::nurse_code(&admin, user).unwrap();
    let (code_a, code_b) = (code("Nurse A"), code("Nurse B"));
    let a = doorstep_transport::enrol(&work.path().join("a"), &url, &code_a, PIN).unwrap();

    // Reconnect after an offline shift: 20 patients already synced, then 3 sets and a note each.
    let now = Utc.with_ymd_and_hms(2026, 11, 25, 8, 0, 0).unwrap();
    let shift: Vec<_> = caseload(&CaseloadSpec {
        observations_per_patient: 1,
        ..CaseloadSpec::new(20, 9, now)
    })
    .iter()
    .map(|p| p.to_new_patient())
    .collect();
    let ids = a.import_patients(&shift, |_| {}).unwrap();
    doorstep_transport::sync(&a, |_| {}).unwrap();
    team::record_shift(&a, &ids, now).unwrap();
    let prepared = a.prepare_upload().unwrap();
    let (records, audit): (Vec<_>, Vec<_>) = prepared
        .request
        .units
        .iter()
        .cloned()
        .partition(|unit| unit.header.kind == doorstep_core::sync::wire::UnitKind::Changes);
    // As sent: JSON, gzip-compressed on the wire.
    let size = |units| {
        use std::io::Write as _;
        let json = serde_json::to_vec(&doorstep_core::sync::wire::UploadRequest { units }).unwrap();
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&json).unwrap();
        encoder.finish().unwrap().len()
    };
    let (upload_bytes, audit_bytes) = (size(records), size(audit));
    let started = Instant::now();
    let report = doorstep_transport::sync(&a, |_| {}).unwrap();
    let reconnect = started.elapsed();
    println!(
        "reconnect after a shift (20 patients, 60 sets, 20 notes): {:.1} ms, {} record units, {} bytes of record units on the wire = {:.0} B per observation set (notes included), plus {} bytes of audit (targets ≤ 1 s, ≤ 1 KB)",
        reconnect.as_secs_f64() * 1000.0,
        report.uploaded,
        upload_bytes,
        upload_bytes as f64 / 60.0,
        audit_bytes
    );

    // A caseload with history, then a new device's first download of all of it.
    let year: Vec<_> = caseload(&CaseloadSpec {
        observations_per_patient: 52,
        ..CaseloadSpec::new(patients, 10, now)
    })
    .iter()
    .skip(20)
    .map(|p| p.to_new_patient())
    .collect();
    a.import_patients(&year, |_| {}).unwrap();
    let started = Instant::now();
    let report = doorstep_transport::sync(&a, |_| {}).unwrap();
    println!(
        "upload of {} imported patients with 52 weekly sets each: {:.2} s, {} units",
        year.len(),
        started.elapsed().as_secs_f64(),
        report.uploaded
    );
    let server_bytes: u64 = std::fs::read_dir(work.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("server.db"))
        .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
        .sum();
    let b = doorstep_transport::enrol(&work.path().join("b"), &url, &code_b, PIN).unwrap();
    let started = Instant::now();
    let report = doorstep_transport::sync(&b, |_| {}).unwrap();
    let download = started.elapsed();
    assert_eq!(b.patients().unwrap().len(), year.len() + ids.len());
    println!(
        "first download of {} patients ({} units, server database {:.1} MB): {:.2} s on loopback",
        year.len() + ids.len(),
        report.downloaded,
        server_bytes as f64 / 1e6,
        download.as_secs_f64()
    );

    // The same first download through an emulated 3G link.
    let code_c = code("Nurse C");
    let proxy = runtime
        .block_on(doorstep_tests::link::start(
            server.addr,
            1_600_000,
            750_000,
            std::time::Duration::from_millis(75),
        ))
        .unwrap();
    let c = doorstep_transport::enrol(
        &work.path().join("c"),
        &format!("http://{proxy}"),
        &code_c,
        PIN,
    )
    .unwrap();
    let started = Instant::now();
    let report = doorstep_transport::sync(&c, |_| {}).unwrap();
    println!(
        "first download of {} patients ({} units) over emulated 3G (1.6 Mbit/s down, 0.75 up, 150 ms RTT): {:.1} s (target ≤ 30 s)",
        c.patients().unwrap().len(),
        report.downloaded,
        started.elapsed().as_secs_f64()
    );
    runtime.block_on(server.stop());
}
