//! Invariant 4 at the record level: concurrent edits in two replicas merge, and conflicting
//! single values are reported, not dropped.

use automerge::ActorId;
use chrono::{TimeZone, Utc};
use doorstep_core::observation::{Author, ObservationSet};
use doorstep_core::store::{DemographicField, RecordDoc, Recorded};
use doorstep_core::{DeviceId, NoteId, ObservationId, PatientId, Spo2Scale, UserId};
use proptest::prelude::*;

use super::*;

fn author(n: u128) -> Author {
    Author {
        user: UserId::from_u128(n),
        role: Role::Nurse,
        device: DeviceId::from_u128(n),
    }
}

fn at(minute: u32) -> Recorded {
    Recorded {
        by: author(1),
        at: Utc.with_ymd_and_hms(2026, 11, 25, 9, minute, 0).unwrap(),
    }
}

fn observation(id: u128, minute: u32, by: Author) -> ObservationSet {
    let input = vitals(COMPLETE);
    ObservationSet::record(
        ObservationId::from_u128(id),
        Utc.with_ymd_and_hms(2026, 11, 25, 10, minute, 0).unwrap(),
        by,
        input.validate().unwrap(),
        Spo2Scale::Scale1,
        &doorstep_core::observation::Scoring::applies(
            &doorstep_core::news2::ResponseProtocol::default(),
        ),
    )
}

fn replicas() -> (RecordDoc, RecordDoc, NoteId) {
    let mut a = RecordDoc::create(
        ActorId::from(&[1u8; 16][..]),
        &patient(70, "Gwen", "Greenhalgh"),
        at(0),
        &doorstep_core::news2::ResponseProtocol::default(),
    )
    .unwrap();
    let note = NoteId::from_u128(7);
    a.add_note(note, "Leg ulcer dressed.", at(1)).unwrap();
    let b = a.fork_with_actor(ActorId::from(&[2u8; 16][..]));
    (a, b, note)
}

#[test]
fn both_devices_observations_notes_and_conflicts_survive_a_merge() {
    let (mut a, mut b, note) = replicas();
    let id = PatientId::from_u128(70);
    a.add_observation(&observation(1, 5, author(1))).unwrap();
    b.add_observation(&observation(2, 6, author(2))).unwrap();
    a.edit_note(note, "Leg ulcer dressed. Pain 2/10.", at(7))
        .unwrap();
    b.edit_note(note, "Left leg ulcer dressed.", at(8)).unwrap();
    a.amend_demographic(
        DemographicField::Given,
        serde_json::json!("Gwendolen"),
        at(9),
    )
    .unwrap();
    b.amend_demographic(DemographicField::Given, serde_json::json!("Gwyneth"), at(9))
        .unwrap();

    let mut a2 = a.fork_with_actor(ActorId::from(&[3u8; 16][..]));
    let mut b2 = b.fork_with_actor(ActorId::from(&[4u8; 16][..]));
    a.merge(&mut b2).unwrap();
    b.merge(&mut a2).unwrap();
    let from_a = a.read(id).unwrap();
    let from_b = b.read(id).unwrap();
    assert_eq!(
        from_a, from_b,
        "replicas with the same changes read the same record"
    );
    assert_eq!(from_a.observations.len(), 2);
    assert_eq!(from_a.notes[0].text, "Left leg ulcer dressed. Pain 2/10.");
    let conflict = from_a
        .conflicts
        .iter()
        .find(|c| c.field == "given")
        .expect("a conflict on given");
    let values: Vec<&str> = conflict
        .values
        .iter()
        .map(|v| v["value"].as_str().unwrap())
        .collect();
    assert!(
        values.contains(&"Gwendolen") && values.contains(&"Gwyneth"),
        "{values:?}"
    );
    assert!(
        conflict.values.iter().all(|v| v["by"]["user"].is_string()),
        "who set each value is kept"
    );
}

#[derive(Debug, Clone)]
enum Edit {
    Observation(u8),
    Note(u8),
    CarePlan(String),
    Given(String),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        any::<u8>().prop_map(Edit::Observation),
        any::<u8>().prop_map(Edit::Note),
        "[a-z ]{0,12}".prop_map(Edit::CarePlan),
        "[A-Z][a-z]{1,6}".prop_map(Edit::Given),
    ]
}

fn apply(doc: &mut RecordDoc, edits: &[Edit], device: u128) {
    for (n, edit) in edits.iter().enumerate() {
        let minute = (n % 60) as u32;
        match edit {
            Edit::Observation(k) => {
                doc.add_observation(&observation(
                    device * 1_000 + n as u128,
                    u32::from(*k) % 60,
                    author(device),
                ))
                .unwrap();
            }
            Edit::Note(k) => doc
                .add_note(
                    NoteId::from_u128(device * 1_000 + u128::from(*k)),
                    "note",
                    at(minute),
                )
                .unwrap_or(()),
            Edit::CarePlan(text) => doc.set_care_plan(text, at(minute)).unwrap(),
            Edit::Given(name) => doc
                .amend_demographic(DemographicField::Given, serde_json::json!(name), at(minute))
                .unwrap(),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever each device did offline, merging in either order gives identical records, and
    /// every observation either device made is kept.
    #[test]
    fn merge_order_does_not_matter(left in prop::collection::vec(edit(), 0..8), right in prop::collection::vec(edit(), 0..8)) {
        let (mut a, mut b, _) = replicas();
        apply(&mut a, &left, 1);
        apply(&mut b, &right, 2);
        let mut a_copy = a.fork_with_actor(ActorId::from(&[5u8; 16][..]));
        let mut b_copy = b.fork_with_actor(ActorId::from(&[6u8; 16][..]));
        a.merge(&mut b_copy).unwrap();
        b.merge(&mut a_copy).unwrap();
        // Merging again changes nothing.
        let mut b_again = b.fork_with_actor(ActorId::from(&[7u8; 16][..]));
        a.merge(&mut b_again).unwrap();
        let id = PatientId::from_u128(70);
        let (ra, rb) = (a.read(id).unwrap(), b.read(id).unwrap());
        prop_assert_eq!(&ra, &rb);
        let made = left.iter().chain(&right).filter(|e| matches!(e, Edit::Observation(_))).count();
        prop_assert_eq!(ra.observations.len(), made);
    }
}
