//! The crew's handover at the door, in ATMIST(ER) order: every heading from the record where the
//! record holds it, the crew's words where it does not, and short enough to read aloud in under a
//! minute.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{at, author, set, set_with_additional};
use doorstep_core::incident::{AgeBand, AgeGroup, NewIncident};
use doorstep_core::patient::Sex;
use doorstep_core::store::{Escalation, EscalationService, PatientRecord, RecordDoc, Recorded};
use doorstep_core::{NoteId, PatientId};
use doorstep_fhir::{AtmistOptions, atmist};

fn stranger() -> PatientRecord {
    stranger_doc(Sex::Male)
        .read(PatientId::from_u128(5))
        .unwrap()
}

/// Someone unknown found collapsed at 09:00: two sets, the NEWS2 rising, a note and a 999 call.
fn stranger_doc(sex: Sex) -> RecordDoc {
    let incident = NewIncident {
        reference: "CAD-1130-0042".to_owned(),
        place: "Station Road car park".to_owned(),
        description: "Found collapsed beside his car, no wallet".to_owned(),
        sex,
        age_band: AgeBand::Unknown,
        estimated_age: Some(60),
        stated_group: Some(AgeGroup::Adult),
        occurred_at: Some(at(-10)),
    }
    .checked(at(0), author())
    .unwrap();
    let recorded = Recorded {
        by: author(),
        at: at(0),
    };
    let mut doc = RecordDoc::create_incident(
        automerge::ActorId::from(&[9u8; 16][..]),
        &incident,
        sex,
        recorded,
    )
    .unwrap();
    doc.add_observation(&set(
        1,
        r#"{"respiration_rate": 20, "spo2": 96, "on_oxygen": false, "systolic_bp": 118, "pulse": 96, "consciousness": "A", "temperature": 36.8}"#,
        5,
    ))
    .unwrap();
    doc.add_observation(&set_with_additional(2, 20)).unwrap();
    doc.add_note(
        NoteId::from_u128(3),
        "Responds to voice, confused. Graze to the left temple, no other injuries found.",
        Recorded {
            by: author(),
            at: at(15),
        },
    )
    .unwrap();
    doc.add_escalation(
        &Escalation {
            service: EscalationService::Emergency999,
            at: at(8),
            outcome: "Second crew requested".to_owned(),
            reference: None,
            sbar: None,
            observation: None,
        },
        Recorded {
            by: author(),
            at: at(8),
        },
    )
    .unwrap();
    doc
}

#[test]
fn an_unknown_man_is_handed_over_in_atmist_order_in_under_a_minute() {
    let record = stranger();
    let handover = atmist(
        &record,
        &AtmistOptions {
            at: at(35),
            injuries: None,
            treatment: Some("IV access, glucose 10% 100 mL".to_owned()),
            eta: Some("10 minutes".to_owned()),
            requirements: Some("resus bay".to_owned()),
        },
    );
    let lines: Vec<(&str, &str, &str)> = handover
        .lines
        .iter()
        .map(|line| (line.letter, line.heading, line.text.as_str()))
        .collect();
    let letters: String = lines.iter().map(|(letter, _, _)| *letter).collect();
    assert_eq!(letters, "ATMISTER");
    assert_eq!(
        lines[0].2,
        "Male, age not known, about 60 (estimated), treated as an adult; not identified"
    );
    // When it happened, not when the record was started; 08:50 UTC on 30 November is GMT.
    assert_eq!(lines[1].2, "08:50, 45 minutes ago");
    assert_eq!(
        lines[2].2,
        "Found collapsed beside his car, no wallet; at Station Road car park"
    );
    assert_eq!(
        lines[3].2,
        "Responds to voice, confused. Graze to the left temple, no other injuries found."
    );
    let signs = lines[4].2;
    for expected in [
        "at 09:20",
        "resps 24",
        "sats 94% on oxygen",
        "BP 104 over 62",
        "pulse 118",
        "responds to voice",
        "GCS 12 (E3 V4 M5)",
        "blood glucose 2.9 mmol/L",
        "NEWS2 11, high",
        "NEWS2 over time: 1 at 09:05, 11 at 09:20 on oxygen",
    ] {
        assert!(signs.contains(expected), "{expected} missing: {signs}");
    }
    assert!(
        !signs.contains("reservoir"),
        "oxygen is a treatment: {signs}"
    );
    assert_eq!(
        lines[5].2,
        "IV access, glucose 10% 100 mL; oxygen, reservoir (non-rebreather) mask, 15 L/min; 999 called at 09:08"
    );
    assert_eq!(lines[6].2, "10 minutes");
    assert_eq!(lines[7].2, "ALLERGIES NOT RECORDED, ask; resus bay");
    assert!(
        handover.seconds_aloud < 60,
        "{} words take {} s aloud:\n{}",
        handover.words,
        handover.seconds_aloud,
        handover.text()
    );
    assert!(handover.text().starts_with("A  Age and sex: Male"));
    assert!(!format!("{handover:?}").contains("wallet"));
}

#[test]
fn what_the_crew_has_not_said_is_said_to_be_missing() {
    let record = stranger();
    let handover = atmist(
        &record,
        &AtmistOptions {
            at: at(35),
            ..AtmistOptions::default()
        },
    );
    assert_eq!(handover.lines[6].text, "not given");
    assert_eq!(
        handover.lines[7].text,
        "ALLERGIES NOT RECORDED, ask; nothing else asked"
    );
    assert_eq!(
        handover.lines[5].text,
        "oxygen, reservoir (non-rebreather) mask, 15 L/min; 999 called at 09:08"
    );
}

#[test]
fn once_identified_the_handover_names_the_patient_and_keeps_the_incident() {
    let registered = common::record(common::adult(), &[], &[]);
    let mut incident = stranger_doc(Sex::Female);
    incident
        .amend_demographic(
            doorstep_core::store::DemographicField::NhsNumber,
            serde_json::json!("9991000100"),
            Recorded {
                by: author(),
                at: at(30),
            },
        )
        .unwrap();
    let incident = incident.read(PatientId::from_u128(5)).unwrap();
    let record =
        doorstep_core::store::read_as_one(PatientId::from_u128(5), vec![registered, incident])
            .unwrap();
    let handover = atmist(
        &record,
        &AtmistOptions {
            at: at(35),
            ..AtmistOptions::default()
        },
    );
    assert_eq!(
        handover.lines[0].text,
        "Female, 86 years; USHER, Una, NHS 999 100 0100"
    );
    assert_eq!(handover.lines[1].text, "08:50, 45 minutes ago");
    assert!(handover.lines[2].text.starts_with("Found collapsed"));
    assert!(handover.lines[4].text.contains("NEWS2 over time"));
    // A day later the linked incident is history, not the one handed over.
    let next_day = atmist(
        &record,
        &AtmistOptions {
            at: at(35 + 25 * 60),
            ..AtmistOptions::default()
        },
    );
    assert_eq!(next_day.lines[1].text, "not recorded");
}

#[test]
fn oxygen_is_said_however_it_was_recorded() {
    let mut doc = stranger_doc(Sex::Male);
    // On oxygen with no device recorded, then on air.
    doc.add_observation(&set(
        7,
        r#"{"respiration_rate": 20, "spo2": 95, "on_oxygen": true, "systolic_bp": 118, "pulse": 96, "consciousness": "A", "temperature": 36.8}"#,
        25,
    ))
    .unwrap();
    let record = doc.read(PatientId::from_u128(5)).unwrap();
    let options = AtmistOptions {
        at: at(35),
        ..AtmistOptions::default()
    };
    assert!(
        atmist(&record, &options).lines[5]
            .text
            .starts_with("oxygen, device not recorded")
    );
    doc.add_observation(&set(
        8,
        r#"{"respiration_rate": 18, "spo2": 96, "on_oxygen": false, "systolic_bp": 120, "pulse": 90, "consciousness": "A", "temperature": 36.8}"#,
        30,
    ))
    .unwrap();
    let record = doc.read(PatientId::from_u128(5)).unwrap();
    assert!(
        atmist(&record, &options).lines[5]
            .text
            .starts_with("oxygen given earlier, on air at 09:30")
    );
}

#[test]
fn a_glucose_taken_on_its_own_after_the_last_set_is_said_with_the_signs() {
    let mut doc = stranger_doc(Sex::Male);
    let input = doorstep_core::VitalsInput::from_json(r#"{"blood_glucose": 4.8}"#)
        .unwrap()
        .0;
    let additional = input
        .validate_additional(&input.validate().unwrap(), false)
        .unwrap();
    doc.add_observation(&doorstep_core::observation::ObservationSet::beside_only(
        doorstep_core::ObservationId::from_u128(9),
        at(30),
        author(),
        doorstep_core::Spo2Scale::Scale1,
        additional,
    ))
    .unwrap();
    let record = doc.read(PatientId::from_u128(5)).unwrap();
    let handover = atmist(
        &record,
        &AtmistOptions {
            at: at(35),
            ..AtmistOptions::default()
        },
    );
    let signs = &handover.lines[4].text;
    // The vital signs are the 09:20 set's; the glucose at 09:30 follows them.
    assert!(signs.starts_with("at 09:20, NEWS2 11, high"), "{signs}");
    assert!(signs.contains("blood glucose 4.8 mmol/L"), "{signs}");
    assert!(
        handover.lines[5].text.starts_with("oxygen, reservoir"),
        "{}",
        handover.lines[5].text
    );
}
