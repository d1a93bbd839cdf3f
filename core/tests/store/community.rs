//! NEWS2 in the community, through the store's public API: never for children or in pregnancy, the
//! setting's words stored with each set, observations due and overdue, the escalation record, the
//! time a set was taken, and the organisation's protocol arriving through sync.

use chrono::{Duration, NaiveDate, Utc};
use doorstep_core::news2::{NotApplicableReason, ResponseProtocol, Setting};
use doorstep_core::observation::Role;
use doorstep_core::patient::{Flag, FlagKind, MaternityStatus};
use doorstep_core::store::{
    AuditAction, DemographicField, Escalation, EscalationService, NewPatient, RecordDoc, Recorded,
    StoreError,
};
use doorstep_core::view;
use serde_json::json;

use super::adversarial::{TEAM, World};
use super::*;

/// A four-year-old's normal values: an adult score would be 8, HIGH.
const CHILD_NORMAL: &str = r#"{"respiration_rate": 34, "spo2": 97, "on_oxygen": false, "systolic_bp": 95, "pulse": 130, "consciousness": "A", "temperature": 37.0}"#;
const HIGH: &str = r#"{"respiration_rate": 30, "spo2": 90, "on_oxygen": false, "systolic_bp": 88, "pulse": 135, "consciousness": "A", "temperature": 37.0}"#;
const LOW_ZERO: &str = r#"{"respiration_rate": 16, "spo2": 98, "on_oxygen": false, "systolic_bp": 130, "pulse": 70, "consciousness": "A", "temperature": 36.8}"#;
/// Pre-eclampsia range: 165/110 would score 0 on NEWS2.
const PREGNANT_HYPERTENSIVE: &str = r#"{"respiration_rate": 16, "spo2": 98, "on_oxygen": false, "systolic_bp": 165, "pulse": 80, "consciousness": "A", "temperature": 36.8}"#;

fn born(date: &str) -> NaiveDate {
    date.parse().unwrap()
}

fn add(session: &Session, serial: u32, birth_date: NaiveDate) -> doorstep_core::PatientId {
    let mut new = patient(valid_serial(serial), "Test", "Patient");
    new.demographics.birth_date = birth_date;
    session.add_patient(&new).unwrap()
}

#[test]
fn a_child_is_recorded_but_never_scored_anywhere() {
    let dir = tempfile::tempdir().unwrap();
    let session = new_device(dir.path());
    let today = Utc::now().date_naive();
    let child = add(&session, 4000, today - Duration::days(4 * 365 + 30));
    let set = session
        .record_observation(child, &vitals(CHILD_NORMAL), None)
        .unwrap();
    assert!(set.news2().is_none());
    assert!(set.response().is_none());
    assert_eq!(
        set.not_applicable().map(|n| n.reason),
        Some(NotApplicableReason::Under16)
    );
    assert!(set.not_applicable().unwrap().message.contains("paediatric"));
    assert_eq!(set.vitals().respiration_rate, Some(34));
    assert!(!set.calls_for_escalation());

    let shown = view::set_json(&set, &ResponseProtocol::default());
    assert_eq!(shown["news2"], json!(null));
    assert_eq!(shown["response"], json!(null));
    assert_eq!(shown["not_applicable"]["reason"], "under-16");

    let record = session.open_record(child).unwrap();
    let json = view::record_json(&record, &ResponseProtocol::default()).unwrap();
    assert_eq!(json["observations"][0]["news2"], json!(null));
    assert_eq!(json["news2_not_applicable_now"]["reason"], "under-16");

    let (summary, rank) = session
        .ranked_caseload(Utc::now())
        .unwrap()
        .into_iter()
        .find(|(summary, _)| summary.id == child)
        .unwrap();
    let latest = summary.latest_news2.unwrap();
    assert_eq!((latest.total, latest.risk), (None, None));
    assert_eq!(latest.not_applicable, Some(NotApplicableReason::Under16));
    assert_eq!(rank.risk_word(), "unknown");
    assert_eq!(summary.ranking.last_observed, Some(set.taken_at()));
}

#[test]
fn a_birth_date_corrected_to_a_child_takes_the_scores_away() {
    let dir = tempfile::tempdir().unwrap();
    let session = new_device(dir.path());
    let patient = add(&session, 4010, born("1950-01-01"));
    let set = session
        .record_observation(patient, &vitals(HIGH), None)
        .unwrap();
    assert!(set.news2().unwrap().total().is_some());
    let child = (Utc::now() - Duration::days(3 * 365)).date_naive();
    session
        .amend_demographic(patient, DemographicField::BirthDate, json!(child))
        .unwrap();
    let record = session.open_record(patient).unwrap();
    assert!(record.observations[0].set.news2().is_none());
    assert!(record.observations[0].set.response().is_none());
    let summary = session.caseload().unwrap().pop().unwrap();
    assert_eq!(summary.latest_news2.unwrap().total, None);
}

#[test]
fn pregnancy_and_the_postnatal_period_have_no_score_and_the_status_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let session = new_device(dir.path());
    let woman = add(&session, 4020, born("1994-05-01"));
    let today = Utc::now().date_naive();
    session
        .set_maternity(
            woman,
            MaternityStatus::Pregnant {
                expected_delivery: today + Duration::days(60),
            },
        )
        .unwrap();
    let set = session
        .record_observation(woman, &vitals(PREGNANT_HYPERTENSIVE), None)
        .unwrap();
    assert!(set.news2().is_none());
    assert_eq!(
        set.not_applicable().unwrap().reason,
        NotApplicableReason::Pregnant
    );
    assert!(set.not_applicable().unwrap().message.contains("maternity"));

    session
        .set_maternity(
            woman,
            MaternityStatus::Postnatal {
                delivered: today - Duration::days(3),
            },
        )
        .unwrap();
    let set = session
        .record_observation(woman, &vitals(LOW_ZERO), None)
        .unwrap();
    assert_eq!(
        set.not_applicable().unwrap().reason,
        NotApplicableReason::Postnatal
    );
    // A set taken before the birth, written up now, is a pregnancy set.
    let earlier = session
        .record_observation(
            woman,
            &vitals(LOW_ZERO),
            Some(Utc::now() - Duration::days(10)),
        )
        .unwrap();
    assert_eq!(
        earlier.not_applicable().unwrap().reason,
        NotApplicableReason::Pregnant
    );
    let record = session.open_record(woman).unwrap();
    assert!(matches!(
        record.maternity.as_ref().unwrap().status,
        MaternityStatus::Postnatal { .. }
    ));
    assert!(
        session
            .audit_entries()
            .unwrap()
            .iter()
            .any(|entry| entry.event.action == AuditAction::RecordMaternity)
    );

    // A birth in the future is a pregnancy, not a delivery.
    assert!(matches!(
        session.set_maternity(
            woman,
            MaternityStatus::Postnatal {
                delivered: today + Duration::days(2)
            }
        ),
        Err(StoreError::DeliveryInFuture)
    ));
    // "None" brings NEWS2 back for new sets once the periods it replaces no longer apply.
    session.set_maternity(woman, MaternityStatus::None).unwrap();
    let set = session
        .record_observation(woman, &vitals(LOW_ZERO), None)
        .unwrap();
    assert_eq!(set.news2().unwrap().total(), Some(0));
}

#[test]
fn devices_disagreeing_about_pregnancy_keep_news2_ruled_out() {
    let protocol = ResponseProtocol::default();
    let author = doorstep_core::observation::Author {
        user: doorstep_core::UserId::from_u128(1),
        role: Role::Midwife,
        device: doorstep_core::DeviceId::from_u128(2),
    };
    let recorded = Recorded {
        by: author,
        at: Utc::now(),
    };
    let mut new = patient(valid_serial(4030), "Ada", "Bramble");
    new.demographics.birth_date = born("1995-01-01");
    let mut a = RecordDoc::create(
        automerge::ActorId::from(&[1u8; 16][..]),
        &new,
        recorded,
        &protocol,
    )
    .unwrap();
    let mut b = a.fork_with_actor(automerge::ActorId::from(&[2u8; 16][..]));
    let today = Utc::now().date_naive();
    a.set_maternity(
        &MaternityStatus::Pregnant {
            expected_delivery: today + Duration::days(30),
        },
        &protocol,
        recorded,
    )
    .unwrap();
    b.set_maternity(&MaternityStatus::None, &protocol, recorded)
        .unwrap();
    a.merge(&mut b).unwrap();
    let record = a.read(doorstep_core::PatientId::random()).unwrap();
    assert_eq!(
        record.news2_not_applicable(Utc::now()).map(|n| n.reason),
        Some(NotApplicableReason::Pregnant)
    );
    assert!(record.conflicts.iter().any(|c| c.field == "maternity"));
}

#[test]
fn each_set_keeps_the_protocol_words_it_showed_and_the_ceiling_of_care() {
    let dir = tempfile::tempdir().unwrap();
    let session = new_device(dir.path());
    let patient = add(&session, 4040, born("1940-01-01"));
    session
        .add_flag(
            patient,
            &Flag {
                kind: FlagKind::Dnacpr,
                detail: "DNACPR in place; not for hospital admission".to_owned(),
            },
        )
        .unwrap();
    let set = session
        .record_observation(patient, &vitals(HIGH), None)
        .unwrap();
    let response = set.response().unwrap();
    assert_eq!(response.protocol, "doorstep-community");
    assert_eq!(response.version, 1);
    assert_eq!(response.setting, Setting::Community);
    assert!(response.text.contains("call 999"), "{}", response.text);
    assert!(response.text.contains("NEWS2 score"), "{}", response.text);
    assert!(!response.text.contains("registrar"));
    assert_eq!(
        response.ceiling_of_care,
        ["DNACPR: DNACPR in place; not for hospital admission"]
    );
    assert!(set.calls_for_escalation());
    // Continuous monitoring: the next set is due at once.
    assert_eq!(set.next_due(), Some(set.taken_at()));

    let record = session.open_record(patient).unwrap();
    let json =
        view::record_json(&record, &ResponseProtocol::royal_college_of_physicians()).unwrap();
    let stored = &json["observations"][0];
    // Shown from what was stored, not recomputed with whatever protocol is current.
    assert_eq!(stored["response"]["protocol"], "doorstep-community");
    assert!(
        stored["news2"]["response"]
            .as_str()
            .unwrap()
            .contains("call 999")
    );
    assert_eq!(
        json["ceiling_of_care"],
        json!(["DNACPR: DNACPR in place; not for hospital admission"])
    );
}

#[test]
fn a_time_in_the_future_is_refused_and_a_late_write_up_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let session = new_device(dir.path());
    let patient = add(&session, 4050, born("1940-01-01"));
    let refused = session.record_observation(
        patient,
        &vitals(LOW_ZERO),
        Some(Utc::now() + Duration::minutes(20)),
    );
    assert!(matches!(refused, Err(StoreError::TakenInFuture { .. })));
    assert!(refused.unwrap_err().to_string().contains("future"));
    // Within the clock-skew tolerance.
    session
        .record_observation(
            patient,
            &vitals(LOW_ZERO),
            Some(Utc::now() + Duration::minutes(3)),
        )
        .unwrap();
    let taken = Utc::now() - Duration::hours(30);
    let set = session
        .record_observation(patient, &vitals(LOW_ZERO), Some(taken))
        .unwrap();
    assert_eq!(set.taken_at(), taken);
}

#[test]
fn escalations_are_recorded_with_who_when_and_what_was_said() {
    let dir = tempfile::tempdir().unwrap();
    let session = new_device(dir.path());
    let patient = add(&session, 4060, born("1940-01-01"));
    let set = session
        .record_observation(patient, &vitals(HIGH), None)
        .unwrap();
    let at = Utc::now() - Duration::minutes(2);
    let escalation = Escalation {
        service: EscalationService::Emergency999,
        at,
        outcome: "  Ambulance dispatched, category 2  ".to_owned(),
        reference: Some("CAD-1234".to_owned()),
        sbar: Some("S: NEWS2 11. B: COPD. A: septic? R: convey".to_owned()),
        observation: Some(set.id()),
    };
    let id = session.escalate(patient, &escalation).unwrap();
    let record = session.open_record(patient).unwrap();
    assert_eq!(record.escalations.len(), 1);
    let stored = &record.escalations[0];
    assert_eq!(stored.id, id);
    assert_eq!(
        stored.escalation.outcome,
        "Ambulance dispatched, category 2"
    );
    assert_eq!(stored.escalation.at, at);
    assert_eq!(stored.escalation.observation, Some(set.id()));
    assert_eq!(stored.recorded.by.role, Role::Nurse);
    let json = view::record_json(&record, &ResponseProtocol::default()).unwrap();
    assert_eq!(json["escalations"][0]["service"], "999");
    assert_eq!(json["escalations"][0]["reference"], "CAD-1234");
    assert!(
        session
            .audit_entries()
            .unwrap()
            .iter()
            .any(|entry| entry.event.action == AuditAction::Escalate)
    );

    let mut empty = escalation.clone();
    empty.outcome = "  ".to_owned();
    assert!(matches!(
        session.escalate(patient, &empty),
        Err(StoreError::OutcomeRequired)
    ));
    let mut future = escalation;
    future.at = Utc::now() + Duration::hours(1);
    assert!(matches!(
        session.escalate(patient, &future),
        Err(StoreError::TakenInFuture { .. })
    ));
}

#[test]
fn most_urgent_first_is_never_lowered_by_a_newer_incomplete_set_and_shows_the_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let session = new_device(dir.path());
    let now = Utc::now();
    let high = add(&session, 4070, born("1940-01-01"));
    let low = add(&session, 4080, born("1940-01-01"));
    let never = add(&session, 4090, born("1940-01-01"));
    let stale = add(&session, 4100, born("1940-01-01"));
    session
        .record_observation(high, &vitals(HIGH), Some(now - Duration::minutes(10)))
        .unwrap();
    // One temperature five minutes later: partial, forcing nothing.
    session
        .record_observation(high, &vitals(r#"{"temperature": 37.0}"#), None)
        .unwrap();
    session
        .record_observation(low, &vitals(LOW_ZERO), None)
        .unwrap();
    session
        .record_observation(stale, &vitals(HIGH), Some(now - Duration::hours(30)))
        .unwrap();

    let ranked = session.ranked_caseload(Utc::now()).unwrap();
    let order: Vec<_> = ranked.iter().map(|(summary, _)| summary.id).collect();
    let rank_of = |id| {
        ranked
            .iter()
            .find(|(summary, _)| summary.id == id)
            .unwrap()
            .1
    };
    assert_eq!(order[0], high);
    assert_eq!(rank_of(high).risk_word(), "high");
    // The HIGH set is out of the 24-hour window: unknown, and overdue (continuous monitoring).
    assert_eq!(rank_of(stale).risk_word(), "unknown");
    assert!(rank_of(stale).overdue);
    assert_eq!(rank_of(never).risk_word(), "unknown");
    assert!(!rank_of(never).overdue);
    assert_eq!(rank_of(low).risk_word(), "low");
    // Unknown ranks above low; overdue first among the unknown.
    assert_eq!(order, vec![high, stale, never, low]);
    // Score 0 in the community: the next set is at the planned visit, so nothing is due.
    assert_eq!(rank_of(low).next_due, None);
}

#[test]
fn the_admin_protocol_reaches_the_device_through_sync_and_is_stored_with_each_set() {
    let mut world = World::new();
    let nurse = world.honest("Nell");
    world.sync(&nurse);
    assert_eq!(nurse.session.protocol().unwrap().id, "doorstep-community");

    let mut ambulance = ResponseProtocol::ambulance();
    ambulance.id = "wessex-ambulance".to_owned();
    ambulance.version = 3;
    ambulance.high.response = "pre-alert the emergency department and convey now".to_owned();
    let publish = world
        .admin
        .set_protocol(TEAM, ambulance.clone(), &world.roster)
        .unwrap();
    world.roster.membership = Some(publish.membership);
    world.sync(&nurse);
    let protocol = nurse.session.protocol().unwrap();
    assert_eq!(protocol, ambulance);
    let status = nurse.session.sync_status().unwrap();
    assert_eq!(
        (status.protocol.id.as_str(), status.protocol.version),
        ("wessex-ambulance", 3)
    );

    let patient = nurse
        .session
        .add_patient(&NewPatient::with_demographics(demographics(
            valid_serial(4200),
            "Tom",
            "Forrest",
        )))
        .unwrap();
    let set = nurse
        .session
        .record_observation(patient, &vitals(HIGH), None)
        .unwrap();
    let response = set.response().unwrap();
    assert_eq!(
        (response.protocol.as_str(), response.version),
        ("wessex-ambulance", 3)
    );
    assert_eq!(
        response.text,
        "pre-alert the emergency department and convey now"
    );

    // Same version with other words is refused: stored sets must name the words they showed.
    let mut reworded = ambulance.clone();
    reworded.high.response = "something else".to_owned();
    assert!(
        world
            .admin
            .set_protocol(TEAM, reworded, &world.roster)
            .is_err()
    );
    // A protocol that lengthens the RCP's intervals is refused before it is signed.
    let mut slack = ambulance;
    slack.version = 4;
    slack.medium.next_set_minutes = Some(240);
    assert!(
        world
            .admin
            .set_protocol(TEAM, slack, &world.roster)
            .is_err()
    );
}

#[test]
fn two_devices_recording_the_first_escalations_apart_keep_both() {
    let protocol = ResponseProtocol::default();
    let author = doorstep_core::observation::Author {
        user: doorstep_core::UserId::from_u128(1),
        role: Role::Nurse,
        device: doorstep_core::DeviceId::from_u128(2),
    };
    let recorded = Recorded {
        by: author,
        at: Utc::now(),
    };
    let mut a = RecordDoc::create(
        automerge::ActorId::from(&[1u8; 16][..]),
        &patient(valid_serial(4300), "Ivy", "Thorn"),
        recorded,
        &protocol,
    )
    .unwrap();
    let mut b = a.fork_with_actor(automerge::ActorId::from(&[2u8; 16][..]));
    let escalation = |reference: &str| Escalation {
        service: EscalationService::Gp,
        at: Utc::now(),
        outcome: "GP to visit today".to_owned(),
        reference: Some(reference.to_owned()),
        sbar: None,
        observation: None,
    };
    a.add_escalation(&escalation("A-1"), recorded).unwrap();
    b.add_escalation(&escalation("B-1"), recorded).unwrap();
    a.merge(&mut b).unwrap();
    let record = a.read(doorstep_core::PatientId::random()).unwrap();
    let mut references: Vec<_> = record
        .escalations
        .iter()
        .filter_map(|e| e.escalation.reference.clone())
        .collect();
    references.sort();
    assert_eq!(references, ["A-1", "B-1"]);
}

#[test]
fn a_birth_date_corrected_to_an_adult_brings_the_score_back_marked_as_scored_on_reading() {
    let dir = tempfile::tempdir().unwrap();
    let session = new_device(dir.path());
    let typo = (Utc::now() - Duration::days(2 * 365)).date_naive();
    let patient = add(&session, 4310, typo);
    let set = session
        .record_observation(patient, &vitals(HIGH), None)
        .unwrap();
    assert!(set.news2().is_none());
    session
        .amend_demographic(patient, DemographicField::BirthDate, json!("1952-03-04"))
        .unwrap();
    let record = session.open_record(patient).unwrap();
    let set = &record.observations[0].set;
    assert_eq!(set.news2().unwrap().total(), Some(12));
    assert!(set.scored_on_reading());
    let json = view::record_json(&record, &ResponseProtocol::default()).unwrap();
    assert_eq!(json["observations"][0]["scored_on_reading"], true);
    assert_eq!(json["observations"][0]["response"]["stored"], false);
    let (_, rank) = session
        .ranked_caseload(Utc::now())
        .unwrap()
        .into_iter()
        .find(|(summary, _)| summary.id == patient)
        .unwrap();
    assert_eq!(rank.risk_word(), "high");
}

#[test]
fn an_expected_date_of_delivery_out_of_range_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let session = new_device(dir.path());
    let woman = add(&session, 4320, born("1994-05-01"));
    let today = Utc::now().date_naive();
    for (days, accepted) in [(300, false), (270, true), (-10, true), (-20, false)] {
        let result = session.set_maternity(
            woman,
            MaternityStatus::Pregnant {
                expected_delivery: today + Duration::days(days),
            },
        );
        assert_eq!(result.is_ok(), accepted, "{days} days: {result:?}");
        if !accepted {
            assert!(matches!(
                result,
                Err(StoreError::ExpectedDeliveryOutOfRange(_))
            ));
        }
    }
}

#[test]
fn an_escalation_names_only_a_set_in_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let session = new_device(dir.path());
    let patient = add(&session, 4330, born("1940-01-01"));
    let escalation = Escalation {
        service: EscalationService::Nhs111,
        at: Utc::now(),
        outcome: "call back in an hour".to_owned(),
        reference: None,
        sbar: None,
        observation: Some(doorstep_core::ObservationId::random()),
    };
    assert!(matches!(
        session.escalate(patient, &escalation),
        Err(StoreError::ObservationNotFound)
    ));
}

#[test]
fn a_server_altering_the_signed_protocol_is_refused_and_the_device_keeps_its_own() {
    let mut world = World::new();
    let nurse = world.honest("Nell");
    let mut protocol = ResponseProtocol::community();
    protocol.id = "borsetshire-community".to_owned();
    let publish = world
        .admin
        .set_protocol(TEAM, protocol.clone(), &world.roster)
        .unwrap();
    world.roster.membership = Some(publish.membership);
    world.sync(&nurse);
    assert_eq!(nurse.session.protocol().unwrap(), protocol);

    // The server rewrites the words in the membership it relays (and bumps nothing else).
    let mut forged = world.roster.clone();
    if let Some(membership) = &mut forged.membership {
        membership.body = membership
            .body
            .replace("call 999", "wait for the next visit");
    }
    assert!(matches!(
        nurse.session.apply_roster(forged),
        Err(StoreError::Untrusted(_))
    ));
    assert_eq!(nurse.session.protocol().unwrap(), protocol);

    // Switching protocols and back cannot reuse an id and version for other words.
    let other = world
        .admin
        .set_protocol(TEAM, ResponseProtocol::ambulance(), &world.roster)
        .unwrap();
    world.roster.membership = Some(other.membership);
    let mut reworded = protocol;
    reworded.high.response = "other words".to_owned();
    assert!(
        world
            .admin
            .set_protocol(TEAM, reworded, &world.roster)
            .is_err()
    );
}
