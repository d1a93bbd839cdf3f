//! Records restricted to named clinicians: the rest of the team sees the banner only, on every
//! device, until emergency access with a reason, which ends with its time limit or the lock.

use doorstep_core::permission::Action;
use doorstep_core::store::{
    Access, AuditAction, NamedClinician, RestrictionReason, StoreError, UNDER_EMERGENCY_ACCESS,
};

use super::adversarial::World;
use super::*;

const VITALS: &str = r#"{"respiration_rate": 18, "spo2": 96, "on_oxygen": false, "systolic_bp": 128, "pulse": 80, "consciousness": "A", "temperature": 37.0}"#;

fn vitals() -> VitalsInput {
    serde_json::from_str(VITALS).unwrap()
}

#[test]
fn a_restricted_record_shows_others_on_the_team_only_its_banner_until_emergency_access() {
    let mut world = World::new();
    let nell = world.honest("Nell Nightingale");
    let bea = world.honest("Bea Birchall");
    let patient = nell
        .session
        .add_patient(&patient(valid_serial(7100), "Tamsin", "Thorne"))
        .unwrap();
    nell.session
        .record_observation(patient, &vitals(), None)
        .unwrap();
    world.sync(&nell);
    world.sync(&bea);
    assert_eq!(bea.session.access(patient).unwrap(), Access::Open);

    // Nell's candidates come from the team's signed roster: Bea is there, on her own device.
    let candidates = nell.session.restriction_candidates().unwrap();
    assert!(candidates[0].you);
    let bea_named = candidates
        .iter()
        .find(|c| c.clinician.name == "Bea Birchall")
        .expect("the roster names Bea")
        .clinician
        .clone();
    let restriction = nell
        .session
        .restrict_record(patient, RestrictionReason::Safeguarding, &[])
        .unwrap();
    assert_eq!(
        restriction.clinicians.len(),
        1,
        "the decider is always named"
    );
    assert_eq!(nell.session.access(patient).unwrap(), Access::Named);
    world.sync(&nell);
    world.sync(&bea);

    assert_eq!(
        bea.session.access(patient).unwrap(),
        Access::BannerOnly { may_decide: false }
    );
    assert!(matches!(
        bea.session.open_record(patient),
        Err(StoreError::Restricted)
    ));
    assert!(matches!(
        bea.session.record_observation(patient, &vitals(), None),
        Err(StoreError::Restricted)
    ));
    assert!(matches!(
        bea.session.add_note(patient, "visited"),
        Err(StoreError::Restricted)
    ));
    let banner = bea.session.banner(patient).unwrap();
    assert_eq!(banner.family, "Thorne");
    assert!(!banner.allergies.is_empty(), "allergies are on the banner");
    assert!(banner.observations.is_empty() && banner.notes.is_empty());
    assert!(
        banner.restriction.is_none(),
        "not even why it is restricted"
    );
    // Audited; and while the record is restricted to others, no reason in the audit list says
    // what it hides.
    assert!(bea.session.audit_entries().unwrap().iter().any(|entry| {
        entry.action == AuditAction::ViewRecord
            && entry.patient == Some(patient)
            && entry.reason.is_none()
    }));
    // The caseload's row: name, NHS number, allergies; not the score.
    let banner = bea.session.summary(patient).unwrap();
    assert_eq!(banner.family, "Thorne");
    assert!(!banner.allergies.is_empty());
    assert!(banner.latest_news2.is_none());
    let row = bea
        .session
        .ranked_caseload(chrono::Utc::now())
        .unwrap()
        .into_iter()
        .find(|(summary, _)| summary.id == patient)
        .unwrap();
    assert!(row.1.risk.is_none() && row.1.next_due.is_none());
    assert!(
        nell.session
            .summary(patient)
            .unwrap()
            .latest_news2
            .is_some(),
        "a named clinician still sees the score"
    );

    // Emergency access opens it, for a limited time, audited with the reason.
    assert!(matches!(
        bea.session.emergency_access(patient, "  "),
        Err(StoreError::ReasonRequired)
    ));
    let record = bea
        .session
        .emergency_access(patient, "patient collapsed at home")
        .unwrap();
    assert_eq!(record.observations.len(), 1);
    let Access::Emergency { until, .. } = bea.session.access(patient).unwrap() else {
        panic!("emergency access in force");
    };
    let minutes = (until - chrono::Utc::now()).num_minutes();
    assert!((29..=30).contains(&minutes), "{minutes}");
    bea.session.open_record(patient).unwrap();
    bea.session
        .record_observation(patient, &vitals(), None)
        .unwrap();
    assert!(
        bea.session.audit_entries().unwrap().iter().any(|entry| {
            entry.action == AuditAction::RecordObservation
                && entry.patient == Some(patient)
                && entry.reason.as_deref() == Some(UNDER_EMERGENCY_ACCESS)
        }),
        "what is done under emergency access is marked so in the audit"
    );
    assert!(
        matches!(
            bea.session.lift_restriction(patient),
            Err(StoreError::Restricted)
        ),
        "emergency access reads the record; it does not unrestrict it"
    );
    assert!(bea.session.audit_entries().unwrap().iter().any(|entry| {
        entry.action == AuditAction::EmergencyAccess
            && entry.patient == Some(patient)
            && entry.reason.as_deref() == Some("patient collapsed at home")
    }));

    // Named again, with Bea: she reads it as a named clinician.
    nell.session
        .restrict_record(patient, RestrictionReason::Safeguarding, &[bea_named])
        .unwrap();
    world.sync(&nell);
    world.sync(&bea);
    bea.session.lock().unwrap();
    let bea_again = Device::open(bea.dir())
        .unwrap()
        .unlock(bea.session.user().id, PIN)
        .unwrap();
    assert_eq!(bea_again.access(patient).unwrap(), Access::Named);
}

#[test]
fn the_lock_ends_emergency_access_and_only_named_registered_clinicians_restrict() {
    let dir = tempfile::tempdir().unwrap();
    let nell = new_device(dir.path());
    let nora = nell.add_user("Nora Newt", Role::Nurse, PIN).unwrap();
    let hal = nell
        .add_user("Hal Helper", Role::HealthcareAssistant, PIN)
        .unwrap();
    let patient = nell
        .add_patient(&patient(valid_serial(7200), "Umberto", "Underhill"))
        .unwrap();
    let device = Device::open(dir.path()).unwrap();

    let assistant = device.unlock(hal.id, PIN).unwrap();
    assert!(matches!(
        assistant.restrict_record(patient, RestrictionReason::StaffAsPatient, &[]),
        Err(StoreError::NotPermitted(refusal)) if refusal.action == Action::RestrictRecord
    ));
    assert!(
        !nell
            .restriction_candidates()
            .unwrap()
            .iter()
            .any(|c| c.clinician.name == "Hal Helper"),
        "a healthcare assistant is not offered as a named clinician"
    );
    let stranger = NamedClinician {
        device: device.id(),
        name: "Someone Else".to_owned(),
    };
    assert!(matches!(
        nell.restrict_record(patient, RestrictionReason::StaffAsPatient, &[stranger]),
        Err(StoreError::NotOnTheTeam)
    ));
    nell.restrict_record(patient, RestrictionReason::StaffAsPatient, &[])
        .unwrap();
    assert!(nell.audit_entries().unwrap().iter().any(|entry| {
        entry.action == AuditAction::RestrictRecord && entry.patient == Some(patient)
    }));
    assert!(
        matches!(assistant.open_record(patient), Err(StoreError::Restricted)),
        "a session unlocked before the restriction is refused too"
    );

    // A user added beside Nell under her name in other letter case is someone else.
    let lookalike = nell.add_user("nell nightingale", Role::Nurse, PIN).unwrap();
    let lookalike = device.unlock(lookalike.id, PIN).unwrap();
    assert_eq!(
        lookalike.access(patient).unwrap(),
        Access::BannerOnly { may_decide: false }
    );
    assert!(matches!(
        lookalike.lift_restriction(patient),
        Err(StoreError::Restricted)
    ));

    let colleague = device.unlock(nora.id, PIN).unwrap();
    assert!(matches!(
        colleague.restrict_record(patient, RestrictionReason::Safeguarding, &[]),
        Err(StoreError::Restricted)
    ));
    colleague
        .emergency_access(patient, "covering Nell's visits")
        .unwrap();
    colleague.open_record(patient).unwrap();
    colleague.lock().unwrap();
    let colleague = device.unlock(nora.id, PIN).unwrap();
    assert!(
        matches!(colleague.open_record(patient), Err(StoreError::Restricted)),
        "the lock ends emergency access"
    );

    nell.lift_restriction(patient).unwrap();
    colleague.lock().unwrap();
    let colleague = device.unlock(nora.id, PIN).unwrap();
    assert_eq!(colleague.access(patient).unwrap(), Access::Open);
    colleague.open_record(patient).unwrap();
}
