//! Invariant 1: no plaintext patient data at rest.

use std::path::Path;

use super::*;

fn every_file(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(every_file(&path));
        } else {
            out.push((path.display().to_string(), std::fs::read(&path).unwrap()));
        }
    }
    out
}

fn assert_nowhere(dir: &Path, needles: &[String]) {
    let files = every_file(dir);
    assert!(files.iter().any(|(name, _)| name.ends_with("doorstep.db")));
    for (name, bytes) in &files {
        for needle in needles {
            let found = bytes
                .windows(needle.len())
                .any(|window| window == needle.as_bytes());
            assert!(!found, "{needle:?} found in plaintext in {name}");
            let name_lower = name.to_lowercase();
            assert!(
                !name_lower.contains(&needle.to_lowercase()),
                "{needle:?} in a file name"
            );
        }
    }
}

#[test]
fn distinctive_values_never_reach_any_file_under_the_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let session = new_device(dir.path());
    let record = patient(424_242, "Zebediah", "Quillfeatherstone");
    let nhs = record.demographics.nhs_number;
    let id = session.add_patient(&record).unwrap();
    session
        .record_observation(id, &vitals(COMPLETE), None)
        .unwrap();
    session
        .add_note(id, "Xylophonic wheeze noted on the left")
        .unwrap();
    session
        .set_care_plan(id, "Marmalade-coloured dressing changes")
        .unwrap();
    let needles: Vec<String> = [
        "Zebediah".to_owned(),
        "Quillfeatherstone".to_owned(),
        "Quillfeather".to_owned(),
        nhs.as_digits(),
        nhs.to_string(),
        "1937-02-03".to_owned(),
        "Wolfsbane".to_owned(),
        "Unobtainium".to_owned(),
        "Xylophonic".to_owned(),
        "Marmalade".to_owned(),
        "anaphylaxis".to_owned(),
        "\"pulse\"".to_owned(),
        "respiration_rate".to_owned(),
    ]
    .into();

    // While open: the WAL and shared memory files hold the latest writes.
    assert_nowhere(dir.path(), &needles);
    drop(session);
    // After close, with the WAL checkpointed into the database.
    assert_nowhere(dir.path(), &needles);

    // And after compaction rewrote the record as a snapshot.
    let device = Device::open(dir.path()).unwrap();
    let user = device.find_user(None).unwrap();
    let session = device.unlock(user.id, PIN).unwrap();
    for n in 0..70 {
        session
            .add_note(id, &format!("Xylophonic follow-up {n}"))
            .unwrap();
    }
    drop(session);
    drop(device);
    assert_nowhere(dir.path(), &needles);
}
