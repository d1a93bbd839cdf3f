//! The device store's performance targets, measured at caseload scale and printed as numbers.
//!
//! `cargo bench -p doorstep-tests --bench store` (add `-- --patients N` to change the caseload).
//! Targets (2-core machine): durable observation p99 ≤ 10 ms; unlock to a sorted caseload of
//! 10,000 ≤ 200 ms after key derivation; open a record with 2,000 sets ≤ 50 ms; find by NHS number
//! among 10,000 ≤ 5 ms; ≤ 400 stored bytes per observation set, amortised.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use doorstep_core::crypto::{self, PIN_KDF_ITERATIONS};
use doorstep_core::observation::Role;
use doorstep_core::store::{DATABASE_FILE, Device, UnlockPolicy};
use doorstep_core::vitals::VitalsInput;
use doorstep_core::{NhsNumber, Spo2Scale};
use doorstep_fixtures::{CaseloadSpec, FIXTURE_AUTHOR, Trajectory, caseload, observation_series};
use rand::SeedableRng;

const PIN: &str = "246810";

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[index]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let patients: usize = args
        .iter()
        .position(|a| a == "--patients")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    // In the working directory, not /tmp: a RAM-backed /tmp would make fsync free and the numbers a lie.
    let dir = tempfile::tempdir_in(std::env::current_dir().unwrap()).unwrap();
    let policy = UnlockPolicy {
        idle_lock_seconds: 3_600,
        ..UnlockPolicy::default()
    };
    let session = Device::create(dir.path(), "Bench Nurse", Role::Nurse, PIN, policy).unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap();

    // A caseload of `patients`, 8 sets each.
    let started = Instant::now();
    let generated: Vec<_> = caseload(&CaseloadSpec::new(patients, 1, now))
        .iter()
        .map(|p| p.to_new_patient())
        .collect();
    let ids = session.import_patients(&generated, |_| {}).unwrap();
    println!(
        "import: {} patients × 8 sets in {:.1} s",
        ids.len(),
        started.elapsed().as_secs_f64()
    );

    // Durable observation: score, commit, seal, fsync.
    let input = VitalsInput::from_json(
        r#"{"respiration_rate": 22, "spo2": 95, "on_oxygen": false, "systolic_bp": 105, "pulse": 95, "consciousness": "A", "temperature": 38.4}"#,
    )
    .unwrap()
    .0;
    let mut samples = Vec::new();
    for n in 0..500 {
        let patient = ids[n % ids.len()];
        let started = Instant::now();
        session.record_observation(patient, &input, None).unwrap();
        samples.push(started.elapsed());
    }
    let p50 = percentile(&mut samples, 0.5);
    let p99 = percentile(&mut samples, 0.99);
    println!(
        "record one observation durably: p50 {} p99 {} (500 sets; target p99 ≤ 10 ms)",
        ms(p50),
        ms(p99)
    );

    // Unlock to a sorted caseload.
    drop(session);
    let salt = [7u8; 16];
    let started = Instant::now();
    let _ = crypto::derive_pin_key(PIN, &salt, PIN_KDF_ITERATIONS);
    let derivation = started.elapsed();
    let device = Device::open(dir.path()).unwrap();
    let user = device.find_user(None).unwrap();
    let mut unlocks = Vec::new();
    let mut session = None;
    for _ in 0..5 {
        let started = Instant::now();
        let opened = device.unlock(user.id, PIN).unwrap();
        let list = opened.caseload().unwrap();
        unlocks.push(started.elapsed().saturating_sub(derivation));
        assert_eq!(list.len(), ids.len());
        session = Some(opened);
    }
    let session = session.unwrap();
    println!(
        "unlock to sorted caseload of {}: median {} after key derivation ({} for PBKDF2 × {PIN_KDF_ITERATIONS}; target ≤ 200 ms)",
        ids.len(),
        ms(percentile(&mut unlocks, 0.5)),
        ms(derivation)
    );

    // Find by NHS number.
    let wanted: NhsNumber = generated[generated.len() / 2].demographics.nhs_number;
    let mut finds = Vec::new();
    for _ in 0..200 {
        let started = Instant::now();
        let found = session.find(&wanted.to_string()).unwrap();
        finds.push(started.elapsed());
        assert_eq!(found.len(), 1);
    }
    println!(
        "find by NHS number among {}: median {} p99 {} (target ≤ 5 ms)",
        ids.len(),
        ms(percentile(&mut finds, 0.5)),
        ms(percentile(&mut finds, 0.99))
    );

    // A record with 2,000 sets, recorded one action at a time, then opened.
    let mut heavy =
        doorstep_core::store::NewPatient::with_demographics(generated[0].demographics.clone());
    heavy.demographics.nhs_number = NhsNumber::test_number(999_990)
        .or(NhsNumber::test_number(999_991))
        .unwrap();
    let heavy_id = session.add_patient(&heavy).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
    let series = observation_series(
        &mut rng,
        Trajectory::SlowlyDeteriorating,
        Spo2Scale::Scale1,
        now,
        2_000,
        FIXTURE_AUTHOR,
    );
    let connection = doorstep_core_raw(dir.path());
    let bytes_before = stored_bytes(&connection, heavy_id);
    for set in &series {
        let input = set.vitals().to_input(Spo2Scale::Scale1);
        session
            .record_observation(heavy_id, &input, Some(set.taken_at()))
            .unwrap();
    }
    let bytes_after = stored_bytes(&connection, heavy_id);
    println!(
        "stored bytes per observation set: {:.0} B amortised over 2,000 sets recorded one by one (sealed snapshot + chunks; target ≤ 400 B)",
        (bytes_after - bytes_before) as f64 / 2_000.0
    );
    let mut opens = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        let record = session.open_record(heavy_id).unwrap();
        opens.push(started.elapsed());
        assert_eq!(record.observations.len(), 2_000);
    }
    println!(
        "open a record with 2,000 sets: median {} p99 {} (target ≤ 50 ms)",
        ms(percentile(&mut opens, 0.5)),
        ms(percentile(&mut opens, 0.99))
    );
    let file = std::fs::metadata(dir.path().join(DATABASE_FILE))
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "database file: {:.1} MB for {} patients",
        file as f64 / 1e6,
        ids.len() + 1
    );
}

fn doorstep_core_raw(dir: &std::path::Path) -> rusqlite_shim::Connection {
    rusqlite_shim::Connection::open(dir.join(DATABASE_FILE))
}

fn stored_bytes(connection: &rusqlite_shim::Connection, patient: doorstep_core::PatientId) -> i64 {
    connection.stored_bytes(&patient.to_string())
}

/// The bench reads blob sizes straight from SQLite to count what is really stored.
mod rusqlite_shim {
    pub struct Connection(rusqlite::Connection);

    impl Connection {
        pub fn open(path: std::path::PathBuf) -> Self {
            Self(rusqlite::Connection::open(path).unwrap())
        }

        pub fn stored_bytes(&self, patient: &str) -> i64 {
            let sum = |table: &str| -> i64 {
                self.0
                    .query_row(&format!("SELECT COALESCE(SUM(length(sealed)), 0) FROM {table} WHERE patient_id = ?1"), [patient], |r| r.get(0))
                    .unwrap()
            };
            sum("doc_snapshots") + sum("doc_chunks")
        }
    }
}
