//! Records: observations, entered-in-error, notes, search, Scale 2, tamper and swap.

use doorstep_core::news2::ClinicalRisk;
use doorstep_core::store::{AuditAction, StoreError};
use doorstep_core::{ObservationId, Spo2Scale};

use super::*;

#[test]
fn an_observation_is_scored_by_the_core_and_shown_in_the_caseload() {
    let dir = tempfile::tempdir().unwrap();
    let session = new_device(dir.path());
    let well = session.add_patient(&patient(10, "Wendy", "Well")).unwrap();
    let unwell = session
        .add_patient(&patient(11, "Ulric", "Unwell"))
        .unwrap();
    session.record_observation(well, &vitals(r#"{"respiration_rate": 16, "spo2": 98, "on_oxygen": false, "systolic_bp": 124, "pulse": 70, "consciousness": "A", "temperature": 36.9}"#), None).unwrap();
    let set = session
        .record_observation(unwell, &vitals(COMPLETE), None)
        .unwrap();
    // RR 2, SpO2 1, air 0, SBP 1, pulse 1, alert 0, temperature 1.
    assert_eq!(set.news2().unwrap().total(), Some(6));
    let caseload = session.caseload().unwrap();
    assert_eq!(caseload[0].id, unwell);
    assert_eq!(
        caseload[0].latest_news2.unwrap().risk,
        Some(ClinicalRisk::Medium)
    );
    let record = session.open_record(unwell).unwrap();
    assert_eq!(record.observations.len(), 1);
    assert_eq!(
        record.observations[0]
            .set
            .news2()
            .unwrap()
            .algorithm_version,
        doorstep_core::news2::ALGORITHM_VERSION
    );
}

#[test]
fn entered_in_error_keeps_the_original_and_says_who_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let session = new_device(dir.path());
    let id = session.add_patient(&patient(12, "Eve", "Errata")).unwrap();
    let first = session
        .record_observation(id, &vitals(COMPLETE), None)
        .unwrap();
    let wrong = session
        .record_observation(id, &vitals(r#"{"respiration_rate": 30, "spo2": 85, "on_oxygen": true, "systolic_bp": 80, "pulse": 140, "consciousness": "U", "temperature": 34.0}"#), None)
        .unwrap();
    assert_eq!(
        session.caseload().unwrap()[0].latest_news2.unwrap().total,
        Some(20)
    );
    assert!(matches!(
        session.mark_observation_entered_in_error(wrong.id(), "  "),
        Err(StoreError::ReasonRequired)
    ));
    session
        .mark_observation_entered_in_error(wrong.id(), "recorded on the wrong patient")
        .unwrap();
    let record = session.open_record(id).unwrap();
    assert_eq!(record.observations.len(), 2, "nothing clinical is deleted");
    let marked = record
        .observations
        .iter()
        .find(|o| o.set.id() == wrong.id())
        .unwrap();
    assert_eq!(marked.set, wrong);
    let mark = marked.entered_in_error.as_ref().unwrap();
    assert_eq!(mark.reason, "recorded on the wrong patient");
    assert_eq!(mark.by.user, session.user().id);
    assert_eq!(record.latest_observation().unwrap().id(), first.id());
    assert_eq!(
        session.caseload().unwrap()[0].latest_news2.unwrap().total,
        Some(6)
    );
    assert!(matches!(
        session.mark_observation_entered_in_error(wrong.id(), "again"),
        Err(StoreError::AlreadyEnteredInError)
    ));
    assert!(matches!(
        session.mark_observation_entered_in_error(ObservationId::random(), "unknown"),
        Err(StoreError::ObservationNotFound)
    ));
    let audit = session.audit_entries().unwrap();
    let eie = audit
        .iter()
        .find(|e| e.action == AuditAction::EnteredInError)
        .unwrap();
    assert_eq!(eie.reason.as_deref(), Some("recorded on the wrong patient"));
    assert_eq!(eie.patient, Some(id));
}

#[test]
fn scale_2_needs_a_recorded_decision() {
    let dir = tempfile::tempdir().unwrap();
    let session = new_device(dir.path());
    let id = session.add_patient(&patient(13, "Cedric", "Copd")).unwrap();
    let on_scale_2 = r#"{"respiration_rate": 18, "spo2": 89, "spo2_scale": 2, "on_oxygen": true, "systolic_bp": 130, "pulse": 80, "consciousness": "A", "temperature": 37.0}"#;
    assert!(matches!(
        session.record_observation(id, &vitals(on_scale_2), None),
        Err(StoreError::Scale2WithoutDecision)
    ));
    // Without the decision the same saturation scores on Scale 1: 3 for SpO2, 2 for oxygen.
    let scale_1 = on_scale_2.replace(r#""spo2_scale": 2, "#, "");
    assert_eq!(
        session
            .record_observation(id, &vitals(&scale_1), None)
            .unwrap()
            .news2()
            .unwrap()
            .total(),
        Some(5)
    );
    session
        .decide_spo2_scale(
            id,
            Spo2Scale::Scale2,
            "Hypercapnic respiratory failure, target 88-92% (respiratory team)",
        )
        .unwrap();
    let set = session
        .record_observation(id, &vitals(&scale_1), None)
        .unwrap();
    assert_eq!(set.scale(), Spo2Scale::Scale2);
    assert_eq!(set.news2().unwrap().total(), Some(2));
    let record = session.open_record(id).unwrap();
    assert_eq!(
        record.spo2_scale_decision.unwrap().by.user,
        session.user().id
    );
}

#[test]
fn find_by_nhs_number_in_any_spacing_or_by_name_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let session = new_device(dir.path());
    let ada = session.add_patient(&patient(20, "Ada", "Ashdown")).unwrap();
    session
        .add_patient(&patient(21, "Albert", "Ashworth"))
        .unwrap();
    session
        .add_patient(&patient(22, "Cora", "Cotterill"))
        .unwrap();
    let number = NhsNumber::test_number(20).unwrap();
    for query in [
        number.as_digits(),
        number.to_string(),
        number.to_string().replace(' ', "-"),
    ] {
        let found = session.find(&query).unwrap();
        assert_eq!(found.len(), 1, "{query}");
        assert_eq!(found[0].id, ada);
    }
    assert_eq!(session.find("ash").unwrap().len(), 2);
    assert_eq!(session.find("Ashdown, A").unwrap().len(), 1);
    assert_eq!(session.find("cora").unwrap().len(), 1);
    assert!(session.find("zz").unwrap().is_empty());
    assert!(matches!(
        session.add_patient(&patient(20, "Ada", "Again")),
        Err(StoreError::DuplicateNhsNumber)
    ));
}

#[test]
fn notes_and_care_plan_are_kept_with_their_author() {
    let dir = tempfile::tempdir().unwrap();
    let session = new_device(dir.path());
    let id = session.add_patient(&patient(30, "Nora", "Notes")).unwrap();
    let note = session
        .add_note(id, "Dressing changed; wound clean")
        .unwrap();
    session
        .edit_note(id, note, "Dressing changed; wound clean and dry")
        .unwrap();
    session
        .set_care_plan(id, "Daily dressing; review Friday")
        .unwrap();
    let record = session.open_record(id).unwrap();
    assert_eq!(record.notes.len(), 1);
    assert_eq!(
        record.notes[0].text,
        "Dressing changed; wound clean and dry"
    );
    assert_eq!(record.notes[0].recorded.by.user, session.user().id);
    assert_eq!(record.care_plan, "Daily dressing; review Friday");
}

fn raw(dir: &std::path::Path) -> rusqlite::Connection {
    rusqlite::Connection::open(dir.join(doorstep_core::store::DATABASE_FILE)).unwrap()
}

fn reopen(dir: &std::path::Path) -> Result<Session, StoreError> {
    let device = Device::open(dir)?;
    let user = device.find_user(None)?;
    device.unlock(user.id, PIN)
}

#[test]
fn a_flipped_bit_in_any_sealed_row_is_an_error_not_a_panic() {
    let tables = [
        ("doc_snapshots", "patient_id"),
        ("doc_chunks", "patient_id"),
        ("summaries", "patient_id"),
    ];
    for (table, _) in tables {
        for bit in [0usize, 9, 100, 200] {
            let dir = tempfile::tempdir().unwrap();
            let session = new_device(dir.path());
            let id = session.add_patient(&patient(40, "Tess", "Tamper")).unwrap();
            session
                .record_observation(id, &vitals(COMPLETE), None)
                .unwrap();
            drop(session);
            let connection = raw(dir.path());
            let mut blob: Vec<u8> = connection
                .query_row(&format!("SELECT sealed FROM {table} LIMIT 1"), [], |r| {
                    r.get(0)
                })
                .unwrap();
            let bit = bit % (blob.len() * 8);
            blob[bit / 8] ^= 1 << (bit % 8);
            connection
                .execute(&format!("UPDATE {table} SET sealed = ?1"), [blob])
                .unwrap();
            drop(connection);
            let outcome =
                reopen(dir.path()).and_then(|session| session.open_record(id).map(|_| ()));
            assert!(
                matches!(outcome, Err(StoreError::Tampered { .. })),
                "{table} bit {bit}: {outcome:?}"
            );
        }
    }
}

#[test]
fn blobs_swapped_between_patients_are_detected() {
    for table in ["doc_snapshots", "summaries"] {
        let dir = tempfile::tempdir().unwrap();
        let session = new_device(dir.path());
        let a = session.add_patient(&patient(50, "Amy", "Alpha")).unwrap();
        let b = session.add_patient(&patient(51, "Bob", "Beta")).unwrap();
        drop(session);
        let connection = raw(dir.path());
        let get = |id: doorstep_core::PatientId| -> Vec<u8> {
            connection
                .query_row(
                    &format!("SELECT sealed FROM {table} WHERE patient_id = ?1"),
                    [id.to_string()],
                    |r| r.get(0),
                )
                .unwrap()
        };
        let (blob_a, blob_b) = (get(a), get(b));
        let put = |id: doorstep_core::PatientId, blob: &[u8]| {
            connection
                .execute(
                    &format!("UPDATE {table} SET sealed = ?1 WHERE patient_id = ?2"),
                    rusqlite::params![blob, id.to_string()],
                )
                .unwrap();
        };
        put(a, &blob_b);
        put(b, &blob_a);
        drop(connection);
        let outcome = reopen(dir.path()).and_then(|session| session.open_record(a).map(|_| ()));
        assert!(
            matches!(outcome, Err(StoreError::Tampered { .. })),
            "{table}: {outcome:?}"
        );
    }
}

#[test]
fn one_sync_at_a_time_per_device() {
    let dir = tempfile::tempdir().unwrap();
    let session = new_device(dir.path());
    let guard = session.begin_sync().unwrap();
    assert!(matches!(
        session.begin_sync(),
        Err(StoreError::SyncRefused(_))
    ));
    drop(guard);
    assert!(session.begin_sync().is_ok());
}

#[test]
fn notes_brought_in_with_a_record_keep_their_times_in_the_importer_s_name() {
    let dir = tempfile::tempdir().unwrap();
    let session = new_device(dir.path());
    let mut new = patient(valid_serial(601), "Nora", "Nettle");
    let written = |days: i64, text: &str| doorstep_core::store::NewNote {
        id: doorstep_core::NoteId::random(),
        at: chrono::Utc::now() - chrono::Duration::days(days),
        text: text.to_owned(),
    };
    new.notes = vec![
        written(30, "Visited for planned wound review."),
        written(2, "Dressing renewed; plan unchanged."),
    ];
    let ids = session.import_patients(&[new.clone()], |_| {}).unwrap();
    let record = session.open_record(ids[0]).unwrap();
    let mut notes: Vec<_> = record
        .notes
        .iter()
        .map(|note| {
            (
                note.id,
                note.text.as_str(),
                note.recorded.at,
                note.recorded.by.user,
            )
        })
        .collect();
    notes.sort_by_key(|note| note.2);
    let user = session.user().id;
    assert_eq!(
        notes,
        new.notes
            .iter()
            .map(|note| (note.id, note.text.as_str(), note.at, user))
            .collect::<Vec<_>>()
    );
}
