//! How `records-v1.zdict` was made. Run once and committed: the dictionary must never change
//! (units compressed against it stay readable only with it), so this is an ignored test, run by
//! hand as `DOORSTEP_WRITE_DICTIONARY=1 cargo test -p doorstep-core --lib
//! train_the_dictionary -- --ignored`.
//!
//! The samples are what sync units carry, made through the real store: synthetic patients
//! registered, observed (vitals drawn across every NEWS2 band and the SpO2 scales), noted,
//! escalated and amended by a device, saved as a whole document, as runs of changes, and as
//! audit payloads. Every free-text field (names, addresses, medicines, notes, plans) is random
//! letters, so the dictionary learns the record's structure and Doorstep's own words, never a
//! patient's or a fixture's text: what compresses in a benchmark compresses the same in use.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::NhsNumber;
use crate::observation::Role;
use crate::patient::{
    Address, Allergy, AllergySeverity, Contact, Demographics, Flag, FlagKind, GpPractice,
    Medication, MedicationStatus, Sex,
};
use crate::store::{
    Device, Escalation, EscalationService, NewPatient, Session, Snapshot, UnlockPolicy,
};
use crate::vitals::{Spo2Scale, VitalsInput};

const PATIENTS: usize = 120;
const DICTIONARY_BYTES: usize = 32 * 1024;

fn letters(rng: &mut ChaCha8Rng, words: std::ops::Range<usize>) -> String {
    let count = rng.random_range(words);
    (0..count)
        .map(|_| {
            let length = rng.random_range(2..10);
            (0..length)
                .map(|_| char::from(b'a' + rng.random_range(0..26u8)))
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn capitalised(rng: &mut ChaCha8Rng) -> String {
    let word = letters(rng, 1..2);
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

fn new_patient(rng: &mut ChaCha8Rng, serial: &mut u32) -> NewPatient {
    let nhs_number = loop {
        *serial += 1;
        if let Some(number) = NhsNumber::test_number(*serial) {
            break number;
        }
    };
    let mut patient = NewPatient::with_demographics(Demographics {
        nhs_number,
        given: capitalised(rng),
        family: capitalised(rng),
        birth_date: NaiveDate::from_ymd_opt(rng.random_range(1925..2008), 1, 1)
            .unwrap()
            .checked_add_days(chrono::Days::new(rng.random_range(0..365)))
            .unwrap(),
        sex: [Sex::Female, Sex::Male, Sex::Other, Sex::Unknown][rng.random_range(0..4)],
        address: Address {
            lines: vec![format!(
                "{} {}",
                rng.random_range(1..200),
                letters(rng, 1..3)
            )],
            town: capitalised(rng),
            postcode: format!("ZZ{} {}ZZ", rng.random_range(1..99), rng.random_range(1..9)),
        },
        gp_practice: GpPractice {
            ods_code: format!("Y9{:04}", rng.random_range(0..10_000)),
            name: letters(rng, 2..4),
        },
        contacts: (0..rng.random_range(0..3))
            .map(|_| Contact {
                name: letters(rng, 2..3),
                relationship: letters(rng, 1..2),
                phone: format!("07700 9{:05}", rng.random_range(0..100_000)),
            })
            .collect(),
    });
    for _ in 0..rng.random_range(0..3) {
        patient.allergies.push(Allergy {
            substance: letters(rng, 1..3),
            reaction: letters(rng, 1..4),
            severity: [
                AllergySeverity::Mild,
                AllergySeverity::Moderate,
                AllergySeverity::Severe,
                AllergySeverity::NotRecorded,
            ][rng.random_range(0..4)],
        });
    }
    if rng.random_bool(0.3) {
        patient.flags.push(Flag {
            kind: [
                FlagKind::Dnacpr,
                FlagKind::Respect,
                FlagKind::EndOfLifeWishes,
                FlagKind::Safeguarding,
            ][rng.random_range(0..4)],
            detail: letters(rng, 3..12),
        });
    }
    let as_of = Utc.with_ymd_and_hms(2026, 1, 1, 9, 0, 0).unwrap()
        + Duration::minutes(rng.random_range(0..300_000));
    let source = format!("GP record, {}", letters(rng, 2..3));
    patient.medications = Some(Snapshot {
        source: source.clone(),
        as_of,
        items: (0..rng.random_range(0..6))
            .map(|_| Medication {
                name: letters(rng, 2..5),
                dose: format!("{} mg", rng.random_range(1..500)),
                frequency: letters(rng, 1..4),
                status: if rng.random_bool(0.1) {
                    MedicationStatus::OnHold
                } else {
                    MedicationStatus::Active
                },
            })
            .collect(),
    });
    patient.problems = Some(Snapshot {
        source,
        as_of,
        items: (0..rng.random_range(0..4))
            .map(|_| letters(rng, 1..4))
            .collect(),
    });
    patient
}

/// Vitals across every band: mostly ordinary, sometimes very unwell, sometimes incomplete.
fn vitals(rng: &mut ChaCha8Rng) -> VitalsInput {
    let consciousness = ["A", "A", "A", "A", "C", "V", "P", "U"][rng.random_range(0..8)];
    let mut json = serde_json::json!({
        "respiration_rate": rng.random_range(8..31),
        "spo2": rng.random_range(85..101),
        "on_oxygen": rng.random_bool(0.15),
        "systolic_bp": rng.random_range(85..221),
        "pulse": rng.random_range(40..141),
        "consciousness": consciousness,
        "temperature": f64::from(rng.random_range(350..400)) / 10.0,
    });
    if rng.random_bool(0.1)
        && let Some(fields) = json.as_object_mut()
    {
        let keys: Vec<String> = fields.keys().cloned().collect();
        fields.remove(&keys[rng.random_range(0..keys.len())]);
    }
    VitalsInput::from_json(&json.to_string()).unwrap().0
}

/// One patient's care on a device after registration.
fn care_for(session: &Session, rng: &mut ChaCha8Rng, patient: crate::PatientId) {
    let start = Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap()
        + Duration::minutes(rng.random_range(0..100_000));
    if rng.random_bool(0.1) {
        session
            .decide_spo2_scale(patient, Spo2Scale::Scale2, &letters(rng, 3..8))
            .unwrap();
    }
    let visits = rng.random_range(1..12);
    for visit in 0..visits {
        let at = start + Duration::hours(visit * rng.random_range(4..170));
        let set = session
            .record_observation(patient, &vitals(rng), Some(at))
            .unwrap();
        if rng.random_bool(0.6) {
            session.add_note(patient, &letters(rng, 5..60)).unwrap();
        }
        if rng.random_bool(0.05) {
            session
                .mark_observation_entered_in_error(set.id(), &letters(rng, 2..6))
                .unwrap();
        }
        if rng.random_bool(0.05) {
            session
                .escalate(
                    patient,
                    &Escalation {
                        service: [
                            EscalationService::Gp,
                            EscalationService::Nhs111,
                            EscalationService::Emergency999,
                            EscalationService::UrgentCommunityResponse,
                        ][rng.random_range(0..4)],
                        at,
                        outcome: letters(rng, 2..8),
                        reference: rng
                            .random_bool(0.5)
                            .then(|| format!("{}", rng.random_range(100_000..999_999))),
                        sbar: rng.random_bool(0.5).then(|| letters(rng, 10..40)),
                        observation: Some(set.id()),
                    },
                )
                .unwrap();
        }
    }
    if rng.random_bool(0.3) {
        session
            .set_care_plan(patient, &letters(rng, 10..80))
            .unwrap();
    }
}

#[test]
#[ignore = "writes the committed dictionary; see the module docs"]
fn train_the_dictionary() {
    let mut rng = ChaCha8Rng::seed_from_u64(20_261_203);
    let mut samples: Vec<Vec<u8>> = Vec::new();
    let mut serial = 500_000;
    for role in [Role::Nurse, Role::Paramedic, Role::Midwife] {
        let dir = tempfile::tempdir().unwrap();
        let worker = Device::create(
            dir.path(),
            &letters(&mut rng, 2..3),
            role,
            "246810",
            UnlockPolicy::default(),
        )
        .unwrap();
        for _ in 0..PATIENTS / 3 {
            let new = new_patient(&mut rng, &mut serial);
            let patient = worker.add_patient(&new).unwrap();
            let (registered, _, heads) = worker.training_sample(patient, &[]).unwrap();
            samples.push(registered);
            care_for(&worker, &mut rng, patient);
            let (whole, changes, _) = worker.training_sample(patient, &heads).unwrap();
            samples.push(whole);
            samples.push(changes);
        }
        let entries = worker.audit_entries().unwrap();
        for chunk in entries.chunks(60) {
            let json = super::audit::encode_json(chunk).unwrap();
            samples.push(json);
        }
    }
    let dictionary = zstd::dict::from_samples(&samples, DICTIONARY_BYTES).unwrap();
    let raw: usize = samples.iter().map(Vec::len).sum();
    println!(
        "{} samples, {raw} bytes; dictionary {} bytes",
        samples.len(),
        dictionary.len()
    );
    if std::env::var_os("DOORSTEP_WRITE_DICTIONARY").is_some() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/sync/payload/records-v1.zdict"
        );
        std::fs::write(path, &dictionary).unwrap();
        println!("wrote {path}");
    }
}

/// What sealing a shift's new patients together saves when nothing in their free text repeats:
/// the gain a benchmark's fixtures (whose phrase banks do repeat) must not overstate.
#[test]
fn bundling_saves_bytes_even_where_no_text_repeats() {
    let mut rng = ChaCha8Rng::seed_from_u64(14);
    let dir = tempfile::tempdir().unwrap();
    let worker = Device::create(
        dir.path(),
        "Nurse",
        Role::Nurse,
        "246810",
        UnlockPolicy::default(),
    )
    .unwrap();
    let mut serial = 700_000;
    let mut docs = Vec::new();
    for _ in 0..20 {
        let patient = worker
            .add_patient(&new_patient(&mut rng, &mut serial))
            .unwrap();
        for _ in 0..3 {
            worker
                .record_observation(patient, &vitals(&mut rng), None)
                .unwrap();
        }
        worker
            .add_note(patient, &letters(&mut rng, 40..80))
            .unwrap();
        docs.push((patient, worker.training_sample(patient, &[]).unwrap().0));
    }
    let alone: usize = docs
        .iter()
        .map(|(_, doc)| super::compress(doc).unwrap().len())
        .sum();
    let parts: Vec<(crate::PatientId, &[u8])> = docs
        .iter()
        .map(|(patient, doc)| (*patient, doc.as_slice()))
        .collect();
    let together = super::compress(&super::bundle::encode(&parts).unwrap())
        .unwrap()
        .len();
    println!(
        "20 new patients, random-letter text: {alone} B compressed one by one, {together} B as one bundle ({:.0}%)",
        100.0 * together as f64 / alone as f64
    );
    assert!(together < alone);
}
