//! Sync on loopback: reconnecting after an offline shift, and a new device's first download of a
//! whole caseload. Prints numbers; `cargo bench -p doorstep-tests --bench sync`.
//! Targets: reconnect after an 8-hour shift (20 patients, 3 sets each plus notes) ≤ 1 s on
//! loopback with ≤ 1 KB uploaded per observation set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::Instant;

use chrono::{Duration, TimeZone, Utc};
use doorstep_core::observation::Role;
use doorstep_core::vitals::VitalsInput;
use doorstep_fixtures::{CaseloadSpec, caseload};
use doorstep_sync_server::{App, start};
use doorstep_transport::AdminClient;

const PIN: &str = "2468";

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

    let admin_dir = work.path().join("admin");
    let mut admin = AdminClient::init(&admin_dir, PIN, &url, "Bench Trust").unwrap();
    admin.create_team(&admin_dir, PIN, "north").unwrap();
    let code = |user: &str| {
        admin
            .enrolment_code("north", user, Role::Nurse)
            .unwrap()
            .code
    };
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
    let input = VitalsInput::from_json(
        r#"{"respiration_rate": 20, "spo2": 95, "on_oxygen": false, "systolic_bp": 118, "pulse": 92, "consciousness": "A", "temperature": 37.8}"#,
    )
    .unwrap()
    .0;
    for (n, id) in ids.iter().enumerate() {
        for visit in 0..3 {
            let at = now + Duration::minutes((n * 20 + visit * 160) as i64);
            a.record_observation(*id, &input, Some(at)).unwrap();
        }
        a.add_note(
            *id,
            "Visited; dressing renewed, observations stable, family updated on plan.",
        )
        .unwrap();
    }
    let upload_bytes = serde_json::to_vec(&a.prepare_upload().unwrap().request)
        .unwrap()
        .len();
    let started = Instant::now();
    let report = doorstep_transport::sync(&a, |_| {}).unwrap();
    let reconnect = started.elapsed();
    println!(
        "reconnect after a shift (20 patients, 60 sets, 20 notes): {:.1} ms, {} units, {} bytes uploaded = {:.0} B per observation set (notes included; targets ≤ 1 s, ≤ 1 KB)",
        reconnect.as_secs_f64() * 1000.0,
        report.uploaded,
        upload_bytes,
        upload_bytes as f64 / 60.0
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
    runtime.block_on(server.stop());
}
