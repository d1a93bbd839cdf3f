//! Incident records: a patient no one has identified yet, recorded at once, identified later and
//! then read as one with the record the device holds, nothing merged away.

use std::collections::BTreeSet;

use automerge::ActorId;
use chrono::{Duration, TimeZone, Utc};
use doorstep_core::incident::{
    AgeBand, AgeGroup, IdentificationSource, IncidentError, NewIncident,
};
use doorstep_core::news2::{NotApplicableReason, ResponseProtocol};
use doorstep_core::observation::{Author, ObservationSet, Scoring};
use doorstep_core::store::{
    AuditAction, DemographicField, PatientRecord, RecordDoc, Recorded, RestrictionReason,
    StoreError, read_as_one,
};
use doorstep_core::{DeviceId, NoteId, ObservationId, PatientId, Spo2Scale, UserId};
use proptest::prelude::*;

use super::*;

fn collapsed_man(band: AgeBand, stated: Option<AgeGroup>) -> NewIncident {
    NewIncident {
        reference: "CAD-20261203-0042".to_owned(),
        place: "Car park, Station Road".to_owned(),
        description: "Found collapsed, no wallet".to_owned(),
        sex: Sex::Male,
        age_band: band,
        estimated_age: None,
        stated_group: stated,
        occurred_at: None,
    }
}

fn observation_ids(record: &PatientRecord) -> Vec<ObservationId> {
    record
        .observations
        .iter()
        .map(|entry| entry.set.id())
        .collect()
}

#[test]
fn an_unknown_adult_is_recorded_scored_and_listed_before_anyone_knows_who_he_is() {
    let dir = tempfile::tempdir().unwrap();
    let nell = new_device(dir.path());
    let registered = nell
        .add_patient(&patient(valid_serial(7400), "Bert", "Bracegirdle"))
        .unwrap();
    let first = nell
        .start_incident(&collapsed_man(AgeBand::From40To64, None))
        .unwrap();
    let mut second = collapsed_man(AgeBand::Unknown, Some(AgeGroup::Child));
    second.reference = "CAD-20261203-0057".to_owned();
    let child = nell.start_incident(&second).unwrap();

    let set = nell
        .record_observation(first, &vitals(COMPLETE), None)
        .unwrap();
    assert_eq!(set.news2().and_then(|result| result.total()), Some(6));
    // The clinician said "child" for an unknown age: NEWS2 is not used.
    let set = nell
        .record_observation(child, &vitals(COMPLETE), None)
        .unwrap();
    assert!(set.news2().is_none());
    assert_eq!(
        set.not_applicable().map(|n| n.reason),
        Some(NotApplicableReason::Under16)
    );

    let incidents = nell.incidents().unwrap();
    assert_eq!(
        incidents
            .iter()
            .map(|summary| summary.id)
            .collect::<Vec<_>>(),
        vec![child, first],
        "newest first, registered patients left out"
    );
    assert_eq!(incidents[1].display_name(), "Unknown male, 40 to 64 years");
    assert!(incidents[1].nhs_number.is_none());
    let record = nell.open_record(first).unwrap();
    assert!(record.nhs_number.is_none() && record.birth_date.is_none());
    assert_eq!(
        record.incident.as_ref().unwrap().reference,
        "CAD-20261203-0042"
    );
    assert_eq!(nell.caseload().unwrap().len(), 3);
    assert!(
        nell.caseload()
            .unwrap()
            .iter()
            .any(|row| row.id == registered)
    );

    let audited: Vec<AuditAction> = nell
        .audit_entries()
        .unwrap()
        .iter()
        .filter(|entry| entry.patient == Some(first))
        .map(|entry| entry.action)
        .collect();
    assert_eq!(audited[0], AuditAction::StartIncident);

    assert!(matches!(
        nell.start_incident(&collapsed_man(AgeBand::Unknown, None)),
        Err(StoreError::Incident(IncidentError::AgeGroupNeeded))
    ));
}

#[test]
fn identifying_links_both_histories_and_the_date_of_birth_outranks_the_estimate() {
    let dir = tempfile::tempdir().unwrap();
    let nell = new_device(dir.path());
    let serial = valid_serial(7420);
    // Held on the caseload: born 2012, so fourteen today.
    let mut new = patient(serial, "Tam", "Thistlewood");
    new.demographics.birth_date = chrono::NaiveDate::from_ymd_opt(2012, 5, 1).unwrap();
    let registered = nell.add_patient(&new).unwrap();
    nell.add_note(registered, "Known to the team: asthma.")
        .unwrap();
    let held_set = nell
        .record_observation(
            registered,
            &vitals(COMPLETE),
            Some(Utc::now() - Duration::hours(30)),
        )
        .unwrap();

    // The crew judged him an adult.
    let incident = nell
        .start_incident(&collapsed_man(AgeBand::From16To17, None))
        .unwrap();
    let scene_set = nell
        .record_observation(incident, &vitals(COMPLETE), None)
        .unwrap();
    assert!(scene_set.news2().is_some());
    nell.add_note(incident, "Fall from a wall, GCS 14 on arrival.")
        .unwrap();

    let number = NhsNumber::test_number(serial).unwrap();
    let preview = nell.identify_preview(incident, number).unwrap();
    assert_eq!(preview.len(), 1);
    assert_eq!(preview[0].display_name(), "THISTLEWOOD, Tam");
    let identified = nell
        .identify_incident(incident, number, Some(IdentificationSource::Document))
        .unwrap();
    assert_eq!(identified.linked_to, vec![registered]);

    for opened in [registered, incident] {
        let record = nell.open_record(opened).unwrap();
        assert_eq!(record.id, registered, "the registered record leads");
        assert_eq!(record.display_name(), "THISTLEWOOD, Tam");
        assert_eq!(
            record
                .linked
                .iter()
                .map(|linked| linked.id)
                .collect::<Vec<_>>(),
            vec![incident]
        );
        assert_eq!(
            observation_ids(&record),
            vec![held_set.id(), scene_set.id()],
            "both histories, by time"
        );
        assert_eq!(record.notes.len(), 2);
        // Each entry as written: the scene set keeps its author and time.
        let scene = &record.observations[1].set;
        assert_eq!(scene.taken_at(), scene_set.taken_at());
        assert_eq!(scene.author(), scene_set.author());
        // He is fourteen: the crew's set is no longer scored with NEWS2.
        assert!(scene.news2().is_none());
        assert_eq!(
            scene.not_applicable().map(|n| n.reason),
            Some(NotApplicableReason::Under16)
        );
    }

    // One row on the caseload, ranked by the newest set of either record, as the group reads:
    // no NEWS2 for a fourteen-year-old.
    let caseload = nell.caseload().unwrap();
    assert_eq!(caseload.len(), 1);
    assert_eq!(caseload[0].id, registered);
    let latest = caseload[0].latest_news2.unwrap();
    assert_eq!(latest.taken_at, scene_set.taken_at());
    assert_eq!(latest.not_applicable, Some(NotApplicableReason::Under16));
    // A set saved now on the incident's id is scored as it will read: not at all.
    let later = nell
        .record_observation(incident, &vitals(COMPLETE), None)
        .unwrap();
    assert!(later.news2().is_none() && later.response().is_none());
    // Still listed among the incidents, now with his NHS number.
    assert_eq!(nell.incidents().unwrap()[0].nhs_number, Some(number));
    assert!(nell.audit_entries().unwrap().iter().any(|entry| {
        entry.action == AuditAction::IdentifyPatient && entry.patient == Some(incident)
    }));
    // A registered record is renumbered by amending it, never "identified".
    assert!(matches!(
        nell.identify_incident(registered, number, None),
        Err(StoreError::NotAnIncident)
    ));
    // Two registered records still never share a number.
    let other = nell
        .add_patient(&patient(valid_serial(serial + 1), "Ida", "Inchbald"))
        .unwrap();
    assert!(matches!(
        nell.amend_demographic(other, DemographicField::NhsNumber, json(number)),
        Err(StoreError::DuplicateNhsNumber)
    ));
}

fn json(number: NhsNumber) -> serde_json::Value {
    serde_json::json!(number.to_string())
}

#[test]
fn a_wrong_identification_is_corrected_and_a_restricted_record_stays_hidden() {
    let dir = tempfile::tempdir().unwrap();
    let nell = new_device(dir.path());
    let nora = nell.add_user("Nora Newt", Role::Nurse, PIN).unwrap();
    let wrong_serial = valid_serial(7440);
    let right_serial = valid_serial(wrong_serial + 1);
    let wrong = nell
        .add_patient(&patient(wrong_serial, "Wynn", "Wrongly"))
        .unwrap();
    let right = nell
        .add_patient(&patient(right_serial, "Rhys", "Rightly"))
        .unwrap();
    let incident = nell
        .start_incident(&collapsed_man(AgeBand::From65To79, None))
        .unwrap();
    nell.record_observation(incident, &vitals(COMPLETE), None)
        .unwrap();
    nell.identify_incident(
        incident,
        NhsNumber::test_number(wrong_serial).unwrap(),
        None,
    )
    .unwrap();
    assert_eq!(nell.open_record(wrong).unwrap().observations.len(), 1);

    nell.identify_incident(
        incident,
        NhsNumber::test_number(right_serial).unwrap(),
        None,
    )
    .unwrap();
    assert!(nell.open_record(wrong).unwrap().observations.is_empty());
    assert!(nell.open_record(wrong).unwrap().linked.is_empty());
    assert_eq!(nell.open_record(right).unwrap().observations.len(), 1);
    assert_eq!(
        nell.open_record(right).unwrap().linked[0]
            .identification
            .as_ref()
            .unwrap()
            .nhs_number,
        Some(NhsNumber::test_number(right_serial).unwrap())
    );

    // Restricted to Nell: Nora opening the incident sees the crew's entries, not the record it
    // is linked to, and is told there is one she may not see.
    nell.restrict_record(right, RestrictionReason::Safeguarding, &[])
        .unwrap();
    let device = Device::open(dir.path()).unwrap();
    let nora = device.unlock(nora.id, PIN).unwrap();
    let shown = nora.open_record(incident).unwrap();
    assert_eq!(shown.id, incident);
    assert!(
        shown.allergies.is_empty(),
        "nothing of the restricted record"
    );
    assert_eq!(shown.linked.len(), 1);
    assert!(shown.linked[0].restricted);
}

fn author(device: u128) -> Author {
    Author {
        user: UserId::from_u128(device),
        role: Role::Paramedic,
        device: DeviceId::from_u128(device),
    }
}

/// One thing a device does before the two sync: an observation or a note, on the registered
/// record or the incident record.
#[derive(Clone, Debug)]
struct Entry {
    on_incident: bool,
    note: bool,
    minute: u32,
}

/// Who identifies the incident before the devices sync.
#[derive(Clone, Copy, Debug)]
enum Identifies {
    A,
    B,
    Both,
}

fn entries() -> impl Strategy<Value = Vec<Entry>> {
    prop::collection::vec(
        (any::<bool>(), any::<bool>(), 0u32..600).prop_map(|(on_incident, note, minute)| Entry {
            on_incident,
            note,
            minute,
        }),
        0..6,
    )
}

fn apply(
    entries: &[Entry],
    device: u128,
    registered: &mut RecordDoc,
    incident: &mut RecordDoc,
    next_id: &mut u128,
) -> BTreeSet<u128> {
    let base = Utc.with_ymd_and_hms(2026, 12, 3, 8, 0, 0).unwrap();
    let mut made = BTreeSet::new();
    for entry in entries {
        *next_id += 1;
        let id = device * 1_000 + *next_id;
        let at = base + Duration::minutes(i64::from(entry.minute));
        let doc = if entry.on_incident {
            &mut *incident
        } else {
            &mut *registered
        };
        if entry.note {
            let recorded = Recorded {
                by: author(device),
                at,
            };
            doc.add_note(NoteId::from_u128(id), "Seen.", recorded)
                .unwrap();
        } else {
            let set = ObservationSet::record(
                ObservationId::from_u128(id),
                at,
                author(device),
                vitals(COMPLETE).validate().unwrap(),
                Spo2Scale::Scale1,
                &Scoring::applies(&ResponseProtocol::default()),
            );
            doc.add_observation(&set).unwrap();
        }
        made.insert(id);
    }
    made
}

fn entry_ids(record: &PatientRecord) -> Vec<u128> {
    let mut ids: Vec<u128> = record
        .observations
        .iter()
        .map(|entry| entry.set.id().as_uuid().as_u128())
        .chain(record.notes.iter().map(|note| note.id.as_uuid().as_u128()))
        .collect();
    ids.sort_unstable();
    ids
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Linking never loses or duplicates an entry, and reads the same on both devices whichever
    /// identified the patient, before or after their own entries, once they have synced.
    #[test]
    fn linking_keeps_every_entry_once_whichever_device_links_first(
        on_a in entries(),
        on_b in entries(),
        who in prop_oneof![Just(Identifies::A), Just(Identifies::B), Just(Identifies::Both)],
        identify_first in any::<bool>(),
    ) {
        let serial = valid_serial(7460);
        let number = NhsNumber::test_number(serial).unwrap();
        let started = Recorded { by: author(1), at: Utc.with_ymd_and_hms(2026, 12, 3, 7, 0, 0).unwrap() };
        let protocol = ResponseProtocol::default();
        let mut registered_a = RecordDoc::create(
            ActorId::from(&[1u8; 16][..]),
            &patient(serial, "Lorna", "Linkwater"),
            started,
            &protocol,
        ).unwrap();
        let incident = collapsed_man(AgeBand::From40To64, None)
            .checked(started.at, author(1))
            .unwrap();
        let mut incident_a =
            RecordDoc::create_incident(ActorId::from(&[1u8; 16][..]), &incident, Sex::Female, started)
                .unwrap();
        let mut registered_b = registered_a.fork_with_actor(ActorId::from(&[2u8; 16][..]));
        let mut incident_b = incident_a.fork_with_actor(ActorId::from(&[2u8; 16][..]));
        let (registered_id, incident_id) = (PatientId::from_u128(1), PatientId::from_u128(2));

        let identify = |doc: &mut RecordDoc, device: u128| {
            let recorded = Recorded { by: author(device), at: started.at + Duration::hours(device as i64) };
            doc.amend_demographic(DemographicField::NhsNumber, json(number), recorded).unwrap();
        };
        let mut next_id = 0;
        let mut made = BTreeSet::new();
        if identify_first && matches!(who, Identifies::A | Identifies::Both) {
            identify(&mut incident_a, 1);
        }
        made.extend(apply(&on_a, 1, &mut registered_a, &mut incident_a, &mut next_id));
        if !identify_first && matches!(who, Identifies::A | Identifies::Both) {
            identify(&mut incident_a, 1);
        }
        if identify_first && matches!(who, Identifies::B | Identifies::Both) {
            identify(&mut incident_b, 2);
        }
        made.extend(apply(&on_b, 2, &mut registered_b, &mut incident_b, &mut next_id));
        if !identify_first && matches!(who, Identifies::B | Identifies::Both) {
            identify(&mut incident_b, 2);
        }

        registered_a.merge(&mut registered_b).unwrap();
        registered_b.merge(&mut registered_a).unwrap();
        incident_a.merge(&mut incident_b).unwrap();
        incident_b.merge(&mut incident_a).unwrap();

        let read = |registered: &RecordDoc, incident: &RecordDoc, opened: PatientId| {
            let records = vec![
                registered.read(registered_id).unwrap(),
                incident.read(incident_id).unwrap(),
            ];
            read_as_one(opened, records).unwrap()
        };
        let on_device_a = read(&registered_a, &incident_a, incident_id);
        let on_device_b = read(&registered_b, &incident_b, registered_id);
        let ids = entry_ids(&on_device_a);
        prop_assert_eq!(&ids, &made.iter().copied().collect::<Vec<_>>(), "every entry, once");
        prop_assert_eq!(on_device_a.id, registered_id);
        prop_assert_eq!(on_device_a.linked.len(), 1);
        prop_assert_eq!(
            serde_json::to_value(&on_device_a).unwrap(),
            serde_json::to_value(&on_device_b).unwrap()
        );
    }
}

#[test]
fn an_incident_and_its_identification_reach_the_team_through_sync() {
    let mut world = super::adversarial::World::new();
    let crew = world.honest_as("Pat Medic", Role::Paramedic);
    let nurse = world.honest("Nell Nightingale");
    let serial = valid_serial(7480);
    let registered = nurse
        .session
        .add_patient(&patient(serial, "Olwen", "Oakshott"))
        .unwrap();
    let incident = crew
        .session
        .start_incident(&collapsed_man(AgeBand::From80, None))
        .unwrap();
    let scene = crew
        .session
        .record_observation(incident, &vitals(COMPLETE), None)
        .unwrap();
    world.sync(&crew);
    world.sync(&nurse);
    world.sync(&crew);
    let listed = nurse.session.incidents().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, incident);
    assert_eq!(nurse.session.caseload().unwrap().len(), 2);

    // The crew identifies her; the nurse's device reads the two records as one once synced.
    crew.session
        .identify_incident(incident, NhsNumber::test_number(serial).unwrap(), None)
        .unwrap();
    world.sync(&crew);
    world.sync(&nurse);
    let record = nurse.session.open_record(registered).unwrap();
    assert_eq!(observation_ids(&record), vec![scene.id()]);
    assert_eq!(record.observations[0].set.author(), scene.author());
    assert_eq!(record.linked.len(), 1);
    assert_eq!(nurse.session.caseload().unwrap().len(), 1);
    let on_crew = crew.session.open_record(incident).unwrap();
    assert_eq!(
        on_crew.id, registered,
        "the crew's device holds both records now"
    );
}

#[test]
fn a_child_as_the_crew_said_who_is_an_adult_is_ranked_by_the_scene_sets_once_identified() {
    let dir = tempfile::tempdir().unwrap();
    let nell = new_device(dir.path());
    let serial = valid_serial(7500);
    let registered = nell
        .add_patient(&patient(serial, "Cai", "Calloway"))
        .unwrap();
    let incident = nell
        .start_incident(&collapsed_man(AgeBand::Unknown, Some(AgeGroup::Child)))
        .unwrap();
    let scene = nell
        .record_observation(incident, &vitals(COMPLETE), None)
        .unwrap();
    assert!(scene.news2().is_none(), "a stated child: no NEWS2 on scene");
    nell.identify_incident(incident, NhsNumber::test_number(serial).unwrap(), None)
        .unwrap();
    // Born 1937: the scene set is scored on reading, and ranks her.
    let (row, rank) = nell
        .ranked_caseload(Utc::now())
        .unwrap()
        .into_iter()
        .find(|(row, _)| row.id == registered)
        .unwrap();
    assert_eq!(row.latest_news2.unwrap().total, Some(6));
    assert_eq!(rank.risk_word(), "medium");
    let record = nell.open_record(registered).unwrap();
    assert!(record.observations[0].set.scored_on_reading());
}

#[test]
fn an_identification_withdrawn_reads_the_records_apart_again() {
    let dir = tempfile::tempdir().unwrap();
    let nell = new_device(dir.path());
    let serial = valid_serial(7520);
    let registered = nell
        .add_patient(&patient(serial, "Dilys", "Dunmore"))
        .unwrap();
    let incident = nell
        .start_incident(&collapsed_man(AgeBand::From65To79, None))
        .unwrap();
    nell.record_observation(incident, &vitals(COMPLETE), None)
        .unwrap();
    nell.identify_incident(
        incident,
        NhsNumber::test_number(serial).unwrap(),
        Some(IdentificationSource::RelativeOrCarer),
    )
    .unwrap();
    let linked = nell.open_record(registered).unwrap();
    let identification = linked.linked[0].identification.as_ref().unwrap();
    assert_eq!(
        identification.source,
        Some(IdentificationSource::RelativeOrCarer)
    );
    assert_eq!(nell.caseload().unwrap().len(), 1);

    // The card was someone else's: no one knows who he is.
    nell.withdraw_identification(incident).unwrap();
    let apart = nell.open_record(registered).unwrap();
    assert!(apart.linked.is_empty() && apart.observations.is_empty());
    let scene = nell.open_record(incident).unwrap();
    assert_eq!(scene.id, incident);
    assert!(scene.nhs_number.is_none());
    assert_eq!(scene.observations.len(), 1);
    assert_eq!(nell.caseload().unwrap().len(), 2);
    assert!(nell.incidents().unwrap()[0].nhs_number.is_none());
    assert!(matches!(
        nell.withdraw_identification(registered),
        Err(StoreError::NotAnIncident)
    ));
    // An incident's number is never amended around the identification.
    assert!(matches!(
        nell.amend_demographic(
            incident,
            DemographicField::NhsNumber,
            json(NhsNumber::test_number(serial).unwrap())
        ),
        Err(StoreError::IdentifyIncident)
    ));
}

#[test]
fn two_crews_incidents_of_one_unregistered_patient_read_as_one_and_as_a_child_if_either_said_so() {
    let dir = tempfile::tempdir().unwrap();
    let nell = new_device(dir.path());
    let number = NhsNumber::test_number(valid_serial(7540)).unwrap();
    let adult = nell
        .start_incident(&collapsed_man(AgeBand::Unknown, Some(AgeGroup::Adult)))
        .unwrap();
    let mut second = collapsed_man(AgeBand::Unknown, Some(AgeGroup::Child));
    second.reference = "CAD-20261203-0099".to_owned();
    let child = nell.start_incident(&second).unwrap();
    nell.record_observation(adult, &vitals(COMPLETE), None)
        .unwrap();
    nell.identify_incident(adult, number, None).unwrap();
    nell.identify_incident(child, number, None).unwrap();
    let caseload = nell.caseload().unwrap();
    assert_eq!(caseload.len(), 1, "one patient, one row");
    assert_eq!(
        caseload[0].news2_not_applicable(Utc::now()),
        Some(NotApplicableReason::Under16),
        "the row says what the record shows"
    );
    let record = nell.open_record(child).unwrap();
    assert_eq!(record.id, adult, "the incident started first leads");
    assert!(record.observations[0].set.news2().is_none());
}

#[test]
fn a_glucose_on_its_own_is_kept_never_scored_and_never_counts_as_observed() {
    let dir = tempfile::tempdir().unwrap();
    let nell = new_device(dir.path());
    let patient_id = nell
        .add_patient(&patient(valid_serial(7560), "Gethin", "Gould"))
        .unwrap();
    let glucose = VitalsInput::from_json(r#"{"blood_glucose": 2.4}"#)
        .unwrap()
        .0;
    let entry = nell.record_observation(patient_id, &glucose, None).unwrap();
    assert!(entry.is_beside_only());
    assert!(entry.news2().is_none() && entry.not_applicable().is_none());
    assert!(entry.response().is_none() && entry.next_due().is_none());
    // The caseload still says never observed: a glucose is not a NEWS2 set.
    let (row, rank) = nell
        .ranked_caseload(Utc::now())
        .unwrap()
        .into_iter()
        .find(|(row, _)| row.id == patient_id)
        .unwrap();
    assert!(row.latest_news2.is_none() && rank.last_observed.is_none());
    // Read back as recorded, and still unscored on reading.
    let record = nell.open_record(patient_id).unwrap();
    let stored = &record.observations[0].set;
    assert!(stored.is_beside_only() && stored.news2().is_none());
    assert_eq!(stored.additional().shown()[0].text, "2.4 mmol/L");
    // Marked entered in error like any set.
    nell.mark_observation_entered_in_error(entry.id(), "wrong patient")
        .unwrap();
    // A diastolic pressure needs its systolic even alone; nothing entered at all is refused.
    let diastolic = VitalsInput::from_json(r#"{"diastolic_bp": 80}"#).unwrap().0;
    assert!(
        nell.record_observation(patient_id, &diastolic, None)
            .is_err()
    );
    let nothing = VitalsInput::from_json("{}").unwrap().0;
    assert!(matches!(
        nell.record_observation(patient_id, &nothing, None),
        Err(StoreError::EmptySet)
    ));
}
