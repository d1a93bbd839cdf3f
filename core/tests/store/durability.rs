//! Invariant 3: an acknowledged entry survives a crash. A child process records observations and
//! prints each id once `record_observation` has returned; the parent kills it with SIGKILL at a
//! random moment, reopens the store, and checks every acknowledged id is there.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use doorstep_core::ObservationId;
use rand::{Rng, SeedableRng};

use super::*;

const CHILD_ENV: &str = "DOORSTEP_DURABILITY_CHILD";

fn cycles() -> usize {
    std::env::var("DOORSTEP_DURABILITY_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

/// The child's side: runs only when the parent starts this binary with `CHILD_ENV` set.
#[test]
fn child_process_records_until_killed() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let device = Device::open(Path::new(&dir)).unwrap();
    let user = device.find_user(None).unwrap();
    let session = device.unlock(user.id, PIN).unwrap();
    let patient = session.caseload().unwrap()[0].id;
    println!("READY");
    loop {
        let set = session
            .record_observation(patient, &vitals(COMPLETE), None)
            .unwrap();
        println!("ACK {}", set.id());
    }
}

#[test]
fn acknowledged_observations_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    // Each child unlocks before it writes: a cheap key derivation keeps the kill window on the
    // writes this test is about, not on Argon2id (benchmarked on its own).
    let policy = doorstep_core::store::UnlockPolicy {
        pin_kdf: doorstep_core::crypto::PinKdf::FAST_FOR_TESTS,
        ..doorstep_core::store::UnlockPolicy::default()
    };
    let session = Device::create(
        dir.path(),
        "Nell Nightingale",
        doorstep_core::observation::Role::Nurse,
        PIN,
        policy,
    )
    .unwrap();
    let patient = session.add_patient(&patient(80, "Kit", "Killjoy")).unwrap();
    drop(session);

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(80);
    let mut acknowledged: Vec<ObservationId> = Vec::new();
    for cycle in 0..cycles() {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "durability::child_process_records_until_killed",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut acks = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(id) = line.strip_prefix("ACK ") {
                    acks.push(id.parse::<ObservationId>().unwrap());
                }
            }
            acks
        });
        // Kill somewhere between before the first write and well into a run of writes.
        std::thread::sleep(Duration::from_millis(
            rng.random_range(0..60) + if cycle % 2 == 0 { 250 } else { 0 },
        ));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        acknowledged.extend(reader.join().unwrap());
    }

    let connection =
        rusqlite::Connection::open(dir.path().join(doorstep_core::store::DATABASE_FILE)).unwrap();
    let integrity: String = connection
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    drop(connection);

    let device = Device::open(dir.path()).unwrap();
    let user = device.find_user(None).unwrap();
    let session = device.unlock(user.id, PIN).unwrap();
    let record = session.open_record(patient).unwrap();
    let stored: std::collections::HashSet<ObservationId> =
        record.observations.iter().map(|o| o.set.id()).collect();
    assert!(
        acknowledged.len() > cycles(),
        "the children acknowledged only {} sets",
        acknowledged.len()
    );
    let lost: Vec<_> = acknowledged
        .iter()
        .filter(|id| !stored.contains(id))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged observations lost",
        lost.len(),
        acknowledged.len()
    );
    assert_eq!(session.verify_audit().unwrap().map(|_| ()), Ok(()));
    eprintln!(
        "durability: {} cycles, {} acknowledged, {} stored",
        cycles(),
        acknowledged.len(),
        stored.len()
    );
}
