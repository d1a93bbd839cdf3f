//! Sync: reconnecting after an offline shift (on loopback), and a year's caseload — 52
//! observation sets and 12 visit notes per patient — uploaded over an emulated 3G link by the
//! device holding it, then a new device's first download of all of it, on loopback and over 3G.
//! Prints numbers and the server database's size per patient;
//! `cargo bench -p doorstep-tests --bench sync [-- --patients N]`.
//! Targets: the reconnect ≤ 1 s on loopback with ≤ 1 KB uploaded per observation set; the year
//! over 3G ≤ 30 s up and ≤ 15 s down (issue 14).

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
    team::record_shift(&a, &ids, now, team::ShiftText::Fixtures).unwrap();
    let prepared = a.prepare_upload().unwrap();
    let (records, audit): (Vec<_>, Vec<_>) = prepared
        .request
        .units
        .iter()
        .cloned()
        .partition(|unit| unit.header.kind != doorstep_core::sync::wire::UnitKind::Audit);
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

    // A year's caseload (52 sets and 12 visit notes per patient) uploaded over emulated 3G by the
    // device that holds it, then a new device's first download, on loopback and over 3G.
    let (down_bps, up_bps, one_way) = doorstep_tests::link::THREE_G;
    let proxy = runtime
        .block_on(doorstep_tests::link::start(
            server.addr,
            down_bps,
            up_bps,
            one_way,
        ))
        .unwrap();
    let three_g = format!("http://{proxy}");
    let year: Vec<_> = caseload(&CaseloadSpec {
        observations_per_patient: 52,
        notes_per_patient: 12,
        ..CaseloadSpec::new(patients, 10, now)
    })
    .iter()
    .skip(20)
    .map(|p| p.to_new_patient())
    .collect();
    let holder =
        doorstep_transport::enrol(&work.path().join("holder"), &three_g, &code("Nurse H"), PIN)
            .unwrap();
    doorstep_transport::sync(&holder, |_| {}).unwrap();
    holder.import_patients(&year, |_| {}).unwrap();
    let started = Instant::now();
    let report = doorstep_transport::sync(&holder, |_| {}).unwrap();
    println!(
        "upload of {} patients with 52 sets and 12 visit notes each over emulated 3G (1.6 Mbit/s down, 0.75 up, 150 ms RTT): {:.1} s, {} records (target ≤ 30 s)",
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
    let total = year.len() + ids.len();
    println!(
        "server database: {:.1} MB for {total} patients = {:.1} kB per patient (audit units included)",
        server_bytes as f64 / 1e6,
        server_bytes as f64 / 1e3 / total as f64
    );
    let b = doorstep_transport::enrol(&work.path().join("b"), &url, &code_b, PIN).unwrap();
    let started = Instant::now();
    let report = doorstep_transport::sync(&b, |_| {}).unwrap();
    let download = started.elapsed();
    assert_eq!(b.patients().unwrap().len(), total);
    println!(
        "first download of {total} patients ({} records): {:.2} s on loopback",
        report.downloaded,
        download.as_secs_f64()
    );
    let c =
        doorstep_transport::enrol(&work.path().join("c"), &three_g, &code("Nurse C"), PIN).unwrap();
    let started = Instant::now();
    let report = doorstep_transport::sync(&c, |_| {}).unwrap();
    println!(
        "first download of {} patients ({} records) over emulated 3G: {:.1} s (target ≤ 15 s)",
        c.patients().unwrap().len(),
        report.downloaded,
        started.elapsed().as_secs_f64()
    );
    runtime.block_on(server.stop());
}
