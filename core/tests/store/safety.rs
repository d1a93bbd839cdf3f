//! The app's safety controls that live in the core: who may do what, conflicts settled as one
//! attributed action, care plans never interleaved, disputed SpO2 scales falling back to Scale 1,
//! values to check before saving, allergy status, out-of-date medicines, drafts kept across the
//! lock and the warning before a wipe.

use automerge::ActorId;
use chrono::{Duration, TimeZone, Utc};
use doorstep_core::news2::ResponseProtocol;
use doorstep_core::observation::Author;
use doorstep_core::permission::Action;
use doorstep_core::store::{
    AllergyStatus, AuditAction, DemographicField, EntryContainer, EntryStatus, RecordDoc, Recorded,
    Resolution, ScaleDecision, ScaleReview, Snapshot, StoreError,
};
use doorstep_core::vitals::Field;
use doorstep_core::{DeviceId, PatientId, Spo2Scale, UserId, view};
use proptest::prelude::*;
use serde_json::json;

use super::adversarial::World;
use super::*;

/// SpO2 39 and a respiration rate of 61: valid, and far more often a slip than a reading.
const UNUSUAL: &str = r#"{"respiration_rate": 61, "spo2": 39, "on_oxygen": false, "systolic_bp": 105, "pulse": 95, "consciousness": "A", "temperature": 37.0}"#;

/// A device set up by its administrator with a nurse and a healthcare assistant; the nurse has
/// registered one patient. Returns the directory, the patient and the three users' ids.
struct Team {
    dir: tempfile::TempDir,
    patient: PatientId,
    nurse: UserId,
    assistant: UserId,
    administrator: UserId,
}

impl Team {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let admin = Device::create(
            dir.path(),
            "Ada Admin",
            Role::Administrator,
            PIN,
            UnlockPolicy::default(),
        )
        .unwrap();
        let administrator = admin.user().id;
        let nurse = admin
            .add_user("Nell Nightingale", Role::Nurse, PIN)
            .unwrap()
            .id;
        let assistant = admin
            .add_user("Hal Helper", Role::HealthcareAssistant, PIN)
            .unwrap()
            .id;
        drop(admin);
        let session = Device::open(dir.path())
            .unwrap()
            .unlock(nurse, PIN)
            .unwrap();
        let patient = session
            .add_patient(&patient(valid_serial(5100), "Rhoda", "Ramsbottom"))
            .unwrap();
        Self {
            dir,
            patient,
            nurse,
            assistant,
            administrator,
        }
    }

    fn as_user(&self, user: UserId) -> Session {
        Device::open(self.dir.path())
            .unwrap()
            .unlock(user, PIN)
            .unwrap()
    }
}

fn refused(result: Result<impl Sized, StoreError>, role: Role, action: Action) {
    match result {
        Err(StoreError::NotPermitted(refusal)) => {
            assert_eq!((refusal.role, refusal.action), (role, action));
        }
        Err(other) => panic!("{role:?} {action:?}: expected a refusal, got {other}"),
        Ok(_) => panic!("{role:?} was allowed to {action:?}"),
    }
}

#[test]
fn a_healthcare_assistant_records_and_writes_but_does_not_decide() {
    let team = Team::new();
    let hca = team.as_user(team.assistant);
    let patient = team.patient;
    let set = hca
        .record_observation(patient, &vitals(COMPLETE), None)
        .unwrap();
    hca.add_note(patient, "Washed and dressed; ate breakfast.")
        .unwrap();
    assert_eq!(hca.open_record(patient).unwrap().observations.len(), 1);

    let role = Role::HealthcareAssistant;
    refused(
        hca.decide_spo2_scale(patient, Spo2Scale::Scale2, "COPD, target 88-92%"),
        role,
        Action::DecideSpo2Scale,
    );
    refused(
        hca.mark_observation_entered_in_error(set.id(), "wrong patient"),
        role,
        Action::MarkEnteredInError,
    );
    refused(
        hca.set_care_plan(patient, "Daily dressing"),
        role,
        Action::EditCarePlan,
    );
    refused(
        hca.add_user("Second Helper", Role::HealthcareAssistant, PIN),
        role,
        Action::AddUser {
            role: Role::HealthcareAssistant,
        },
    );
    refused(
        hca.emergency_access(patient, "curious"),
        role,
        Action::EmergencyAccess,
    );
    let allergy = hca.open_record(patient).unwrap().allergies[0].id;
    refused(
        hca.set_entry_status(
            patient,
            EntryContainer::Allergies,
            allergy,
            EntryStatus::EnteredInError,
        ),
        role,
        Action::MarkEnteredInError,
    );
    // The message a shell shows names the role, the action and who may.
    let message = hca
        .decide_spo2_scale(patient, Spo2Scale::Scale2, "COPD")
        .unwrap_err()
        .to_string();
    assert!(message.contains("healthcare assistant"), "{message}");
    assert!(message.contains("registered nurse"), "{message}");
}

#[test]
fn an_administrator_manages_users_and_sees_no_clinical_record() {
    let team = Team::new();
    let admin = team.as_user(team.administrator);
    let role = Role::Administrator;
    refused(admin.caseload(), role, Action::ReadRecords);
    refused(admin.patients(), role, Action::ReadRecords);
    refused(admin.find("Ramsbottom"), role, Action::ReadRecords);
    refused(admin.open_record(team.patient), role, Action::ReadRecords);
    refused(admin.summary(team.patient), role, Action::ReadRecords);
    refused(
        admin.record_observation(team.patient, &vitals(COMPLETE), None),
        role,
        Action::RecordObservation,
    );
    refused(
        admin.emergency_access(team.patient, "audit"),
        role,
        Action::EmergencyAccess,
    );
    let deputy = admin
        .add_user("Deputy Admin", Role::Administrator, PIN)
        .unwrap();
    assert_eq!(deputy.role, Role::Administrator);
    // The audit names patients and holds clinicians' reasons: read as records are.
    refused(admin.audit_entries(), role, Action::ReadRecords);
    assert!(admin.verify_audit().unwrap().is_ok());
    drop(admin);
    let audit = team.as_user(team.nurse).audit_entries().unwrap();
    assert!(
        !audit.iter().any(
            |entry| entry.user == team.administrator && entry.action == AuditAction::ViewRecord
        ),
        "a refused read leaves no view in the audit"
    );
}

#[test]
fn a_nurse_adds_colleagues_but_not_an_administrator() {
    let team = Team::new();
    let nurse = team.as_user(team.nurse);
    nurse.add_user("Mo Midwife", Role::Midwife, PIN).unwrap();
    refused(
        nurse.add_user("Sneaky Admin", Role::Administrator, PIN),
        Role::Nurse,
        Action::AddUser {
            role: Role::Administrator,
        },
    );
    let names: Vec<String> = Device::open(team.dir.path())
        .unwrap()
        .users()
        .unwrap()
        .into_iter()
        .map(|user| user.name)
        .collect();
    assert!(!names.iter().any(|name| name == "Sneaky Admin"));
}

fn clinician(n: u128, role: Role) -> Author {
    Author {
        user: UserId::from_u128(n),
        role,
        device: DeviceId::from_u128(n),
    }
}

fn decision(scale: Spo2Scale, by: Author, minute: u32) -> ScaleDecision {
    ScaleDecision {
        scale,
        by,
        at: Utc.with_ymd_and_hms(2026, 11, 30, 9, minute, 0).unwrap(),
        note: "target range agreed with the respiratory team".to_owned(),
    }
}

fn two_replicas() -> (RecordDoc, RecordDoc) {
    let mut a = RecordDoc::create(
        ActorId::from(&[1u8; 16][..]),
        &patient(valid_serial(5200), "Cyril", "Copeland"),
        Recorded {
            by: clinician(1, Role::Nurse),
            at: Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0).unwrap(),
        },
        &ResponseProtocol::default(),
    )
    .unwrap();
    let b = a.fork_with_actor(ActorId::from(&[2u8; 16][..]));
    (a, b)
}

fn merged(mut a: RecordDoc, mut b: RecordDoc) -> RecordDoc {
    let mut b_copy = b.fork_with_actor(ActorId::from(&[3u8; 16][..]));
    a.merge(&mut b_copy).unwrap();
    a
}

const ID: u128 = 5200;

#[test]
fn concurrent_scale_decisions_that_disagree_leave_scale_1_flagged_until_decided_again() {
    let (mut a, mut b) = two_replicas();
    a.set_spo2_scale_decision(&decision(Spo2Scale::Scale2, clinician(1, Role::Nurse), 1))
        .unwrap();
    b.set_spo2_scale_decision(&decision(Spo2Scale::Scale1, clinician(2, Role::Nurse), 2))
        .unwrap();
    let mut doc = merged(a, b);
    let record = doc.read(PatientId::from_u128(ID)).unwrap();
    assert_eq!(record.spo2_scale(), Spo2Scale::Scale1);
    assert_eq!(doc.spo2_scale().unwrap(), Spo2Scale::Scale1);
    assert_eq!(record.spo2_scale_review, Some(ScaleReview::Disputed));
    assert!(
        record
            .conflicts
            .iter()
            .any(|conflict| conflict.field == "spo2_scale_decision")
    );
    let shown = view::record_json(&record, &ResponseProtocol::default()).unwrap();
    assert_eq!(shown["spo2_scale"], 1);
    assert_eq!(shown["spo2_scale_review"]["reason"], "disputed");

    // A clinician decides again (keeping the Scale 2 decision): the flag and the conflict go.
    let kept = record
        .conflicts
        .iter()
        .find(|conflict| conflict.field == "spo2_scale_decision")
        .unwrap()
        .values
        .iter()
        .find(|value| value["scale"] == json!(2))
        .unwrap()
        .clone();
    let resolver = clinician(9, Role::Paramedic);
    doc.resolve_conflict(
        "spo2_scale_decision",
        &Resolution::Keep(kept),
        Recorded {
            by: resolver,
            at: Utc.with_ymd_and_hms(2026, 11, 30, 10, 0, 0).unwrap(),
        },
        &ResponseProtocol::default(),
    )
    .unwrap();
    let record = doc.read(PatientId::from_u128(ID)).unwrap();
    assert_eq!(record.spo2_scale(), Spo2Scale::Scale2);
    assert_eq!(record.spo2_scale_review, None);
    assert!(record.conflicts.is_empty());
    assert_eq!(record.spo2_scale_decision.unwrap().by, resolver);
}

#[test]
fn a_scale_2_decision_carrying_a_non_clinical_role_is_not_honoured() {
    let (mut a, _) = two_replicas();
    a.set_spo2_scale_decision(&decision(
        Spo2Scale::Scale2,
        clinician(4, Role::HealthcareAssistant),
        1,
    ))
    .unwrap();
    let record = a.read(PatientId::from_u128(ID)).unwrap();
    assert_eq!(record.spo2_scale(), Spo2Scale::Scale1);
    assert_eq!(a.spo2_scale().unwrap(), Spo2Scale::Scale1);
    assert_eq!(record.spo2_scale_review, Some(ScaleReview::NotByAClinician));
}

#[test]
fn care_plans_saved_on_two_devices_offline_are_both_kept_whole_and_settled_by_one_choice() {
    let mut world = World::new();
    let nell = world.honest("Nell");
    let bea = world.honest("Bea");
    world.sync(&nell);
    let patient = nell
        .session
        .add_patient(&patient(valid_serial(5300), "Percy", "Pemberton"))
        .unwrap();
    nell.session
        .set_care_plan(patient, "Dressing daily. Review Friday.")
        .unwrap();
    world.sync(&nell);
    world.sync(&bea);

    let nells = "Dressing every other day; apply barrier cream. Review Friday.";
    let beas =
        "Dressing daily; stop barrier cream (skin broken). Review Monday with tissue viability.";
    nell.session.set_care_plan(patient, nells).unwrap();
    bea.session.set_care_plan(patient, beas).unwrap();
    world.sync(&nell);
    world.sync(&bea);
    world.sync(&nell);

    for device in [&nell, &bea] {
        let record = device.session.open_record(patient).unwrap();
        assert!(
            record.care_plan == nells || record.care_plan == beas,
            "never an interleaving: {}",
            record.care_plan
        );
        let conflict = record
            .conflicts
            .iter()
            .find(|conflict| conflict.field == "care_plan")
            .expect("the concurrent care plans are reported");
        let mut texts: Vec<&str> = conflict
            .values
            .iter()
            .map(|value| value["value"].as_str().unwrap())
            .collect();
        texts.sort_unstable();
        let mut expected = vec![nells, beas];
        expected.sort_unstable();
        assert_eq!(texts, expected, "both versions, whole, side by side");
        assert!(
            conflict
                .values
                .iter()
                .all(|value| value["by"]["user"].is_string())
        );
    }

    // Bea keeps her version, as one attributed, audited action; Nell's device agrees after sync.
    let record = bea.session.open_record(patient).unwrap();
    let kept = record
        .conflicts
        .iter()
        .find(|conflict| conflict.field == "care_plan")
        .unwrap()
        .values
        .iter()
        .find(|value| value["value"] == json!(beas))
        .unwrap()
        .clone();
    bea.session
        .resolve_conflict(patient, "care_plan", &Resolution::Keep(kept.clone()))
        .unwrap();
    let resolved = bea.session.open_record(patient).unwrap();
    assert_eq!(resolved.care_plan, beas);
    assert!(resolved.conflicts.is_empty());
    assert_eq!(
        resolved.care_plan_edited.unwrap().by.user,
        bea.session.user().id
    );
    let audit = bea.session.audit_entries().unwrap();
    let last = audit
        .iter()
        .rfind(|entry| entry.action == AuditAction::ResolveConflict)
        .unwrap();
    assert_eq!(last.reason.as_deref(), Some("care_plan"));
    assert_eq!(last.patient, Some(patient));
    world.sync(&bea);
    world.sync(&nell);
    let on_nells = nell.session.open_record(patient).unwrap();
    assert_eq!(on_nells.care_plan, beas);
    assert!(on_nells.conflicts.is_empty());

    // Settling again finds nothing to settle.
    assert!(matches!(
        bea.session
            .resolve_conflict(patient, "care_plan", &Resolution::Keep(kept)),
        Err(StoreError::NoConflict)
    ));
}

#[test]
fn a_conflicting_demographic_is_settled_with_a_new_value_checked_for_its_shape() {
    let mut world = World::new();
    let nell = world.honest("Nell");
    let bea = world.honest("Bea");
    world.sync(&nell);
    let patient = nell
        .session
        .add_patient(&patient(valid_serial(5400), "Gwen", "Greenhalgh"))
        .unwrap();
    world.sync(&nell);
    world.sync(&bea);
    nell.session
        .amend_demographic(patient, DemographicField::Given, json!("Gwendolen"))
        .unwrap();
    bea.session
        .amend_demographic(patient, DemographicField::Given, json!("Gwyneth"))
        .unwrap();
    world.sync(&nell);
    world.sync(&bea);
    let record = bea.session.open_record(patient).unwrap();
    assert!(record.conflicts.iter().any(|c| c.field == "given"));

    assert!(matches!(
        bea.session
            .resolve_conflict(patient, "given", &Resolution::Enter(json!(42))),
        Err(StoreError::InvalidValue { field: "given", .. })
    ));
    assert!(matches!(
        bea.session
            .resolve_conflict(patient, "given", &Resolution::Enter(json!("  "))),
        Err(StoreError::InvalidValue { field: "given", .. })
    ));
    // A value nobody recorded cannot be "kept".
    assert!(matches!(
        bea.session.resolve_conflict(
            patient,
            "given",
            &Resolution::Keep(json!({"value": "Mallory"}))
        ),
        Err(StoreError::NoConflict)
    ));
    bea.session
        .resolve_conflict(patient, "given", &Resolution::Enter(json!("Gwenllian")))
        .unwrap();
    let record = bea.session.open_record(patient).unwrap();
    assert_eq!(record.given, "Gwenllian");
    assert!(record.conflicts.is_empty());
}

#[test]
fn settling_a_conflict_runs_the_checks_the_ordinary_edit_runs() {
    let mut world = World::new();
    let nell = world.honest("Nell");
    let bea = world.honest("Bea");
    world.sync(&nell);
    let neighbour = nell
        .session
        .add_patient(&patient(valid_serial(5460), "Ned", "Nuttall"))
        .unwrap();
    let patient = nell
        .session
        .add_patient(&patient(valid_serial(5450), "Ivy", "Ibbotson"))
        .unwrap();
    let neighbours_number = nell.session.summary(neighbour).unwrap().nhs_number;
    world.sync(&nell);
    world.sync(&bea);
    let today = chrono::Utc::now().date_naive();
    nell.session
        .set_maternity(
            patient,
            doorstep_core::patient::MaternityStatus::Pregnant {
                expected_delivery: today + Duration::days(100),
            },
        )
        .unwrap();
    bea.session
        .set_maternity(patient, doorstep_core::patient::MaternityStatus::None)
        .unwrap();
    world.sync(&nell);
    world.sync(&bea);
    // A new status with a slipped year is refused, as it would be when recorded directly.
    let next_year_but_one = today + Duration::days(700);
    assert!(matches!(
        bea.session.resolve_conflict(
            patient,
            "maternity",
            &Resolution::Enter(
                json!({"status": "pregnant", "expected_delivery": next_year_but_one})
            ),
        ),
        Err(StoreError::ExpectedDeliveryOutOfRange(_))
    ));
    // Another patient's NHS number is refused however it arrives.
    assert!(matches!(
        bea.session.resolve_conflict(
            patient,
            "nhs_number",
            &Resolution::Enter(json!(neighbours_number.unwrap().to_string())),
        ),
        Err(StoreError::NoConflict)
    ));
    nell.session
        .amend_demographic(
            patient,
            DemographicField::NhsNumber,
            json!(
                NhsNumber::test_number(valid_serial(5470))
                    .unwrap()
                    .to_string()
            ),
        )
        .unwrap();
    bea.session
        .amend_demographic(
            patient,
            DemographicField::NhsNumber,
            json!(
                NhsNumber::test_number(valid_serial(5480))
                    .unwrap()
                    .to_string()
            ),
        )
        .unwrap();
    world.sync(&nell);
    world.sync(&bea);
    assert!(matches!(
        bea.session.resolve_conflict(
            patient,
            "nhs_number",
            &Resolution::Enter(json!(neighbours_number.unwrap().to_string())),
        ),
        Err(StoreError::DuplicateNhsNumber)
    ));
    assert!(
        bea.session
            .open_record(patient)
            .unwrap()
            .conflicts
            .iter()
            .any(|conflict| conflict.field == "nhs_number"),
        "a refused resolution changes nothing"
    );
}

#[test]
fn only_a_notes_author_changes_it() {
    let team = Team::new();
    let nurse = team.as_user(team.nurse);
    let note = nurse
        .add_note(team.patient, "Leg ulcer dressed; pain 2/10.")
        .unwrap();
    drop(nurse);
    let assistant = team.as_user(team.assistant);
    assert!(matches!(
        assistant.edit_note(team.patient, note, "Leg ulcer dressed."),
        Err(StoreError::NotYourNote)
    ));
    drop(assistant);
    let nurse = team.as_user(team.nurse);
    nurse
        .edit_note(team.patient, note, "Leg ulcer dressed; pain 3/10.")
        .unwrap();
}

#[test]
fn unusual_values_are_refused_until_confirmed_and_the_confirmation_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let session = new_device(dir.path());
    let patient = session
        .add_patient(&patient(valid_serial(5500), "Una", "Usher"))
        .unwrap();
    let error = session
        .record_observation(patient, &vitals(UNUSUAL), None)
        .unwrap_err();
    match &error {
        StoreError::UnusualValues { fields } => {
            assert_eq!(fields, &[Field::Spo2, Field::RespirationRate]);
        }
        other => panic!("expected a check, got {other}"),
    }
    assert_eq!(
        error.to_string(),
        "SpO2 and respiration rate are unusual: check them and confirm to save"
    );
    // Confirming one is not confirming both.
    assert!(matches!(
        session.record_observation_confirming(patient, &vitals(UNUSUAL), None, &[Field::Spo2]),
        Err(StoreError::UnusualValues { fields }) if fields == [Field::RespirationRate]
    ));
    assert!(
        session
            .open_record(patient)
            .unwrap()
            .observations
            .is_empty()
    );

    let set = session
        .record_observation_confirming(
            patient,
            &vitals(UNUSUAL),
            None,
            &[Field::RespirationRate, Field::Spo2],
        )
        .unwrap();
    assert_eq!(
        set.confirmed_unusual(),
        [Field::Spo2, Field::RespirationRate]
    );
    let record = session.open_record(patient).unwrap();
    assert_eq!(
        record.observations[0].set.confirmed_unusual(),
        [Field::Spo2, Field::RespirationRate]
    );
    let shown = view::record_json(&record, &ResponseProtocol::default()).unwrap();
    assert_eq!(
        shown["observations"][0]["confirmed_unusual"],
        json!(["spo2", "respiration_rate"])
    );
    // An ordinary set needs no confirmation and carries none.
    let ordinary = session
        .record_observation(patient, &vitals(COMPLETE), None)
        .unwrap();
    assert!(ordinary.confirmed_unusual().is_empty());
}

#[test]
fn no_known_allergies_is_confirmed_by_someone_and_lapses_when_an_allergy_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let session = new_device(dir.path());
    let patient = session
        .add_patient(&NewPatient::with_demographics(demographics(
            valid_serial(5600),
            "Nora",
            "Nutley",
        )))
        .unwrap();
    let record = session.open_record(patient).unwrap();
    assert_eq!(record.allergy_status, AllergyStatus::NotRecorded);

    session.confirm_no_known_allergies(patient).unwrap();
    let record = session.open_record(patient).unwrap();
    match record.allergy_status {
        AllergyStatus::NoKnownAllergies { by, .. } => assert_eq!(by.user, session.user().id),
        other => panic!("expected no known allergies, got {other:?}"),
    }
    let shown = view::record_json(&record, &ResponseProtocol::default()).unwrap();
    assert_eq!(shown["allergy_status"]["status"], "no-known-allergies");

    session
        .add_allergy(
            patient,
            &doorstep_core::patient::Allergy {
                substance: "Penicillin".to_owned(),
                reaction: "rash".to_owned(),
                severity: doorstep_core::patient::AllergySeverity::Mild,
            },
        )
        .unwrap();
    let record = session.open_record(patient).unwrap();
    assert_eq!(record.allergy_status, AllergyStatus::Recorded);
    assert!(matches!(
        session.confirm_no_known_allergies(patient),
        Err(StoreError::AllergiesOnRecord)
    ));
    // The allergy turns out to be a mistake: the status is "not recorded" until asked again.
    let allergy = record.allergies[0].id;
    session
        .set_entry_status(
            patient,
            EntryContainer::Allergies,
            allergy,
            EntryStatus::EnteredInError,
        )
        .unwrap();
    let record = session.open_record(patient).unwrap();
    assert_eq!(record.allergy_status, AllergyStatus::NotRecorded);
}

#[test]
fn a_medicines_list_older_than_the_organisations_limit_is_marked_out_of_date() {
    let dir = tempfile::tempdir().unwrap();
    let session = new_device(dir.path());
    let mut new = patient(valid_serial(5700), "Mabel", "Medway");
    let protocol = ResponseProtocol::default();
    assert_eq!(protocol.medicines_review_days, 28);
    new.medications = Some(Snapshot {
        source: "GP record".to_owned(),
        as_of: Utc::now() - Duration::days(29),
        items: vec![],
    });
    let old = session.add_patient(&new).unwrap();
    let mut recent = patient(valid_serial(5800), "Milo", "Medway");
    recent.medications = Some(Snapshot {
        source: "GP record".to_owned(),
        as_of: Utc::now() - Duration::days(27),
        items: vec![],
    });
    let recent = session.add_patient(&recent).unwrap();

    let old = session.open_record(old).unwrap();
    assert!(old.medications_out_of_date(Utc::now(), 28));
    assert!(!old.medications_out_of_date(Utc::now(), 30));
    let shown = view::record_json(&old, &protocol).unwrap();
    assert_eq!(shown["medications_out_of_date"], true);
    assert_eq!(shown["medicines_review_days"], 28);
    let recent = session.open_record(recent).unwrap();
    let shown = view::record_json(&recent, &protocol).unwrap();
    assert_eq!(shown["medications_out_of_date"], false);
}

#[test]
fn a_draft_survives_the_lock_for_its_user_only_and_goes_when_the_set_is_saved() {
    let team = Team::new();
    let nurse = team.as_user(team.nurse);
    let form = json!({"respiration_rate": "22", "spo2": "9", "takenAt": "2026-11-30T09:15"});
    nurse.save_draft(team.patient, &form).unwrap();
    nurse.lock().unwrap();
    assert!(matches!(nurse.draft(), Err(StoreError::Locked)));

    let assistant = team.as_user(team.assistant);
    assert_eq!(
        assistant.draft().unwrap(),
        None,
        "not offered to another user"
    );

    let nurse = team.as_user(team.nurse);
    let draft = nurse.draft().unwrap().expect("offered back after unlock");
    assert_eq!(draft.patient, team.patient);
    assert_eq!(draft.form, form);
    // The draft is sealed: its values are not in the database file in the clear.
    let database =
        std::fs::read(team.dir.path().join(doorstep_core::store::DATABASE_FILE)).unwrap();
    assert!(!database.windows(9).any(|window| window == b"\"takenAt\""));

    nurse
        .record_observation(team.patient, &vitals(COMPLETE), None)
        .unwrap();
    assert_eq!(nurse.draft().unwrap(), None, "saving the set clears it");

    nurse.save_draft(team.patient, &form).unwrap();
    nurse.discard_draft().unwrap();
    assert_eq!(nurse.draft().unwrap(), None);
}

#[test]
fn a_wrong_pin_warns_how_many_records_hold_changes_not_yet_synced() {
    let dir = tempfile::tempdir().unwrap();
    let session = new_device(dir.path());
    for serial in [5900, 5910] {
        session
            .add_patient(&patient(valid_serial(serial), "Unsent", "Record"))
            .unwrap();
    }
    let user = session.user().id;
    drop(session);
    let device = Device::open(dir.path()).unwrap();
    let error = device.unlock(user, "000000").unwrap_err();
    assert!(matches!(
        error,
        StoreError::WrongPin {
            unsynced_records: 2,
            ..
        }
    ));
    assert!(
        error
            .to_string()
            .contains("changes to 2 patient records not yet synced would be lost"),
        "{error}"
    );
}

fn any_scale() -> impl Strategy<Value = Spo2Scale> {
    prop_oneof![Just(Spo2Scale::Scale1), Just(Spo2Scale::Scale2)]
}

fn any_role() -> impl Strategy<Value = Role> {
    prop::sample::select(Role::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever two devices decide concurrently, and whoever claims to have decided it, Scale 2
    /// is in force only when every concurrent decision is Scale 2 by a registered clinician; both
    /// merge orders agree.
    #[test]
    fn scale_2_stands_only_when_every_concurrent_decision_is_a_clinicians_scale_2(
        left in prop::option::of((any_scale(), any_role())),
        right in prop::option::of((any_scale(), any_role())),
    ) {
        let (mut a, mut b) = two_replicas();
        if let Some((scale, role)) = left {
            a.set_spo2_scale_decision(&decision(scale, clinician(1, role), 1)).unwrap();
        }
        if let Some((scale, role)) = right {
            b.set_spo2_scale_decision(&decision(scale, clinician(2, role), 2)).unwrap();
        }
        let mut b_copy = b.fork_with_actor(ActorId::from(&[3u8; 16][..]));
        let mut a_copy = a.fork_with_actor(ActorId::from(&[4u8; 16][..]));
        a.merge(&mut b_copy).unwrap();
        b.merge(&mut a_copy).unwrap();
        let id = PatientId::from_u128(ID);
        let (ra, rb) = (a.read(id).unwrap(), b.read(id).unwrap());
        prop_assert_eq!(ra.spo2_scale(), rb.spo2_scale());
        prop_assert_eq!(a.spo2_scale().unwrap(), ra.spo2_scale());
        let decisions: Vec<(Spo2Scale, Role)> = left.into_iter().chain(right).collect();
        let scale_2 = !decisions.is_empty()
            && decisions
                .iter()
                .all(|(scale, role)| *scale == Spo2Scale::Scale2 && role.is_registered_clinician());
        prop_assert_eq!(ra.spo2_scale() == Spo2Scale::Scale2, scale_2);
    }

    /// Two care plans saved concurrently: the plan read is one of them, whole, and the other is
    /// in the conflict, never an interleaving of both.
    #[test]
    fn concurrent_care_plans_are_never_interleaved(
        left in "[A-Za-z ;.]{1,40}",
        right in "[A-Za-z ;.]{1,40}",
    ) {
        let (mut a, mut b) = two_replicas();
        let at = |minute| Recorded {
            by: clinician(1, Role::Nurse),
            at: Utc.with_ymd_and_hms(2026, 11, 30, 9, minute, 0).unwrap(),
        };
        a.set_care_plan(&left, at(1)).unwrap();
        b.set_care_plan(&right, at(2)).unwrap();
        let doc = merged(a, b);
        let record = doc.read(PatientId::from_u128(ID)).unwrap();
        prop_assert!(record.care_plan == left || record.care_plan == right);
        if left != right {
            let conflict = record.conflicts.iter().find(|c| c.field == "care_plan");
            prop_assert!(conflict.is_some());
        }
    }
}

#[test]
fn a_set_with_no_vital_signs_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let session = new_device(dir.path());
    let patient = session
        .add_patient(&patient(valid_serial(5900), "Ezra", "Empty"))
        .unwrap();
    let empty: doorstep_core::vitals::VitalsInput = serde_json::from_str("{}").unwrap();
    let refusal = session
        .record_observation(patient, &empty, None)
        .unwrap_err();
    assert!(matches!(refusal, StoreError::EmptySet));
    assert!(
        session
            .open_record(patient)
            .unwrap()
            .observations
            .is_empty()
    );
}
