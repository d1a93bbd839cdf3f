//! Where a year's bytes go, per patient (issue 14): one fixture record with 52 weekly observation
//! sets and 12 visit notes, saved as a sync unit carries it (Automerge's save without its own
//! compression, then zstd against the payload dictionary), with parts of it left out in turn.
//! `cargo bench -p doorstep-tests --bench year_bytes`.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use chrono::{TimeZone, Utc};
use doorstep_core::observation::{Author, Role};
use doorstep_core::store::{NewPatient, RecordDoc, Recorded};
use doorstep_core::sync::payload;
use doorstep_fixtures::{CaseloadSpec, caseload};

const PATIENTS: usize = 40;

fn main() {
    let now = Utc.with_ymd_and_hms(2026, 11, 25, 8, 0, 0).unwrap();
    let year = caseload(&CaseloadSpec {
        observations_per_patient: 52,
        notes_per_patient: 12,
        ..CaseloadSpec::new(PATIENTS, 10, now)
    });
    let protocol = doorstep_core::news2::ResponseProtocol::default();
    let author = Author {
        user: doorstep_core::UserId::random(),
        role: Role::Nurse,
        device: doorstep_core::DeviceId::random(),
    };
    let actor = automerge::ActorId::from(author.device.as_uuid().as_bytes().as_slice());
    let recorded = Recorded {
        by: author,
        at: now,
    };
    let raw = |new: &NewPatient| {
        RecordDoc::create(actor.clone(), new, recorded, &protocol)
            .unwrap()
            .save_uncompressed()
    };
    let sealed = |bytes: &[u8]| payload::compress(bytes).unwrap().len();
    let mut sums = [0usize; 7];
    for patient in &year {
        let whole = patient.to_new_patient();
        let whole_raw = raw(&whole);
        let mut without_notes = whole.clone();
        let texts: Vec<String> = without_notes.notes.drain(..).map(|n| n.text).collect();
        let without_notes_raw = raw(&without_notes);
        let mut without_sets = whole.clone();
        without_sets.observations.clear();
        let mut registration = without_notes.clone();
        registration.observations.clear();
        // Notes as plain strings beside the record: what they would cost as values, not text
        // objects (one Automerge operation per character).
        let mut with_plain_notes = without_notes_raw.clone();
        for text in &texts {
            with_plain_notes.extend_from_slice(text.as_bytes());
        }
        let sizes = [
            whole_raw.len(),
            sealed(&whole_raw),
            sealed(&without_notes_raw),
            sealed(&raw(&without_sets)),
            sealed(&raw(&registration)),
            sealed(&with_plain_notes),
            texts.iter().map(String::len).sum(),
        ];
        for (sum, size) in sums.iter_mut().zip(sizes) {
            *sum += size;
        }
    }
    let [
        raw_doc,
        whole,
        no_notes,
        no_sets,
        registration,
        plain_notes,
        text,
    ] = sums.map(|sum| sum as f64 / PATIENTS as f64);
    println!(
        "one patient's year ({PATIENTS} fixture patients, 52 sets and 12 notes each), per patient:"
    );
    println!("| part | bytes sealed |\n|---|---|");
    println!("| the whole record ({raw_doc:.0} B before compression) | {whole:.0} |");
    println!(
        "| the registration (demographics, medicines, contacts, allergies) | {registration:.0} |"
    );
    println!(
        "| 52 observation sets | {:.0} ({:.1} per set) |",
        whole - no_sets,
        (whole - no_sets) / 52.0
    );
    println!(
        "| 12 visit notes as text objects ({text:.0} characters) | {:.0} |",
        whole - no_notes
    );
    println!(
        "| the same notes as plain strings | {:.0} |",
        plain_notes - no_notes
    );
}
