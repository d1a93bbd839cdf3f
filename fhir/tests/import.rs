//! FHIR import into a real device store: a GP record bundle in, checked whole, applied in one
//! transaction; exported and imported again without a change.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use doorstep_core::observation::Role;
use doorstep_core::patient::{Allergy, AllergySeverity, FlagKind};
use doorstep_core::store::{
    Device, EntryContainer, EntryStatus, NewPatients, PatientRecord, Session, StoreError,
    UnlockPolicy,
};
use doorstep_core::{NhsNumber, PatientId};
use doorstep_fhir::import::Skipped;
use doorstep_fhir::{
    ApplyError, ExportOptions, ImportError, apply, observations_bundle, read_bundle,
};
use serde_json::{Value, json};

const PIN: &str = "246810";
const GP_RECORD: &str = include_str!("fixtures/gp-record.json");

fn device(dir: &std::path::Path, role: Role) -> Session {
    Device::create(dir, "Nell Nightingale", role, PIN, UnlockPolicy::default()).unwrap()
}

fn import(session: &Session, text: &str) -> doorstep_fhir::ImportReport {
    apply(
        session,
        &read_bundle(text).unwrap(),
        None,
        NewPatients::Register,
        |_| {},
    )
    .unwrap()
}

fn find(session: &Session, nhs: &str) -> PatientRecord {
    let number = NhsNumber::parse(nhs).unwrap();
    let id: PatientId = session
        .patients()
        .unwrap()
        .into_iter()
        .find(|summary| summary.nhs_number == Some(number))
        .expect("patient imported")
        .id;
    session.open_record(id).unwrap()
}

/// The GP record bundle, edited: `change` gets the parsed JSON.
fn edited(change: impl FnOnce(&mut Value)) -> String {
    let mut value: Value = serde_json::from_str(GP_RECORD).unwrap();
    change(&mut value);
    value.to_string()
}

fn entry(value: &mut Value, index: usize) -> &mut Value {
    &mut value["entry"][index]["resource"]
}

#[test]
fn a_gp_record_bundle_makes_each_patients_allergies_alerts_medicines_and_problems() {
    let dir = tempfile::tempdir().unwrap();
    let session = device(dir.path(), Role::Nurse);
    let report = import(&session, GP_RECORD);
    assert_eq!(report.outcome.patients_created, 2);
    assert_eq!(
        report.outcome.entries_added, 5,
        "two allergies, three alerts"
    );
    assert_eq!(
        report.skipped,
        vec![Skipped {
            entry: 14,
            resource: "Encounter".to_owned(),
            reason: "a resource Doorstep does not import",
        }]
    );

    let una = find(&session, "9991000100");
    assert_eq!(
        (una.given.as_str(), una.family.as_str()),
        ("Una Mary", "Usher")
    );
    let demographics = una.demographics().unwrap();
    assert_eq!(demographics.gp_practice.ods_code, "Y90001");
    assert_eq!(demographics.gp_practice.name, "Lantern Row Surgery");
    assert_eq!(demographics.address.postcode, "ZZ99 3AB");
    let allergies: Vec<String> = una
        .allergies
        .iter()
        .map(|entry| entry.allergy.describe())
        .collect();
    assert!(allergies.contains(&"Penicillin: Anaphylaxis (severe)".to_owned()));
    // The source gave no reaction or severity: said so, never guessed.
    assert!(
        allergies
            .contains(&"Elastoplast: reaction not recorded (severity not recorded)".to_owned())
    );
    assert!(una.allergies.iter().all(|entry| entry.source.is_some()));
    // An alert of a kind Doorstep has no name for is still shown, in the source's words.
    let other = una
        .flags
        .iter()
        .find(|entry| entry.flag.kind == FlagKind::Other)
        .unwrap();
    assert_eq!(other.flag.detail, "Hearing impaired");
    let dnacpr = una
        .flags
        .iter()
        .find(|entry| entry.flag.kind == FlagKind::Dnacpr)
        .unwrap();
    assert_eq!(
        dnacpr.flag.detail,
        "DNACPR form signed 2026-10-02; copy in the house"
    );
    let medicines = una.medications.as_ref().unwrap();
    assert_eq!(medicines.source, "Lantern Row Surgery");
    assert_eq!(medicines.as_of.to_rfc3339(), "2026-11-28T07:30:00+00:00");
    assert_eq!(
        medicines.items.len(),
        1,
        "the stopped medicine is not on the list"
    );
    assert_eq!(medicines.items[0].name, "Bisoprolol 5mg tablets");
    assert_eq!(medicines.items[0].dose, "5 mg");
    assert_eq!(medicines.items[0].frequency, "once daily in the morning");
    assert_eq!(
        una.problems.as_ref().unwrap().items,
        vec!["Heart failure".to_owned()]
    );

    let victor = find(&session, "9992000201");
    assert_eq!(victor.flags.len(), 1);
    assert_eq!(victor.flags[0].flag.kind, FlagKind::Safeguarding);
    assert!(
        victor.medications.is_none(),
        "no list sent is not an empty list"
    );

    let audit = session.audit_entries().unwrap();
    let created = audit
        .iter()
        .filter(|entry| {
            entry.action == doorstep_core::store::AuditAction::CreateRecord
                && entry.reason.as_deref() == Some("imported from Lantern Row Surgery")
        })
        .count();
    assert_eq!(created, 2, "each new record audited with its source");
}

#[test]
fn import_then_export_then_import_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let session = device(dir.path(), Role::Nurse);
    import(&session, GP_RECORD);
    let una = find(&session, "9991000100");
    // A clinician's own allergy goes out and comes back under Doorstep's identifier.
    session
        .add_allergy(
            una.id,
            &Allergy {
                substance: "Latex".to_owned(),
                reaction: "rash".to_owned(),
                severity: AllergySeverity::Moderate,
            },
        )
        .unwrap();
    let before = session.open_record(una.id).unwrap();
    let exported = observations_bundle(&before, &ExportOptions::default());
    assert_eq!(common::schema_errors(&exported), None);
    let text = serde_json::to_string(&exported).unwrap();

    let report = import(&session, &text);
    assert_eq!(report.outcome.patients_unchanged, 1);
    assert_eq!(report.outcome.patients_updated, 0);
    assert_eq!(report.outcome.entries_added, 0);
    assert_eq!(report.outcome.entries_updated, 0);
    assert_eq!(report.outcome.snapshots_applied, 0);
    assert_eq!(report.outcome.snapshots_stale, 0);
    assert!(report.demographics_differ_entries.is_empty());
    assert_eq!(session.open_record(una.id).unwrap(), before);

    // Into an empty device, the exported record is the same record.
    let other_dir = tempfile::tempdir().unwrap();
    let other = device(other_dir.path(), Role::Nurse);
    import(&other, &text);
    let copy = find(&other, "9991000100");
    assert_eq!(copy.demographics(), before.demographics());
    let entries = |record: &PatientRecord| {
        let mut allergies: Vec<_> = record
            .allergies
            .iter()
            .map(|entry| {
                (
                    entry.id,
                    entry.allergy.clone(),
                    entry.status,
                    entry.source.clone(),
                )
            })
            .collect();
        allergies.sort_by_key(|entry| entry.0);
        allergies
    };
    assert_eq!(entries(&copy), entries(&before));
    assert_eq!(copy.medications, before.medications);
    assert_eq!(copy.problems, before.problems);
    assert_eq!(copy.flags.len(), before.flags.len());
}

#[test]
fn the_same_file_twice_adds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let session = device(dir.path(), Role::Nurse);
    import(&session, GP_RECORD);
    let una = find(&session, "9991000100");
    let report = import(&session, GP_RECORD);
    assert_eq!(report.outcome.patients_unchanged, 2);
    assert_eq!(report.outcome.entries_added, 0);
    assert_eq!(find(&session, "9991000100"), una);
}

#[test]
fn a_bad_file_changes_nothing_and_names_the_entry_and_field_not_the_patient() {
    let cases: Vec<(String, &str, &str)> = vec![
        (
            edited(|value| entry(value, 2)["identifier"][0]["value"] = json!("9991234560")),
            "entry 3 (Patient), Patient.identifier (NHS number)",
            "",
        ),
        (
            edited(|value| {
                entry(value, 7)["medicationCodeableConcept"] = json!({"text": "Bisoprolol"});
            }),
            "entry 8 (MedicationStatement), MedicationStatement.medication[x]: holds 2 values",
            "",
        ),
        (
            edited(|value| entry(value, 4)["patient"] = json!({"reference": "Patient/nobody"})),
            "entry 5 (AllergyIntolerance), AllergyIntolerance.patient: refers to no Patient",
            "",
        ),
        (
            edited(|value| {
                entry(value, 3)["reaction"][0]["manifestation"][0]["coding"] = json!("Anaphylaxis");
            }),
            "entry 4 (AllergyIntolerance), AllergyIntolerance.reaction[0].manifestation[0].coding",
            "Anaphylaxis",
        ),
        (
            edited(|value| {
                entry(value, 4)
                    .as_object_mut()
                    .unwrap()
                    .remove("identifier");
            }),
            "entry 5 (AllergyIntolerance), AllergyIntolerance.identifier: missing",
            "",
        ),
        (
            edited(|value| entry(value, 1)["birthDate"] = json!("1940")),
            "entry 2 (Patient), Patient.birthDate: not a full date",
            "",
        ),
        (
            edited(|value| {
                value.as_object_mut().unwrap().remove("timestamp");
                entry(value, 7)
                    .as_object_mut()
                    .unwrap()
                    .remove("dateAsserted");
            }),
            "entry 2 (Patient), Bundle.timestamp or MedicationStatement.dateAsserted: missing",
            "",
        ),
        (
            edited(|value| {
                let mut copy = value["entry"][1].clone();
                copy["fullUrl"] = json!("urn:uuid:5b9a1c6e-0d6c-4f58-9a67-3f3ad0f1a0ff");
                copy["resource"]["id"] = json!("p1-again");
                value["entry"].as_array_mut().unwrap().push(copy);
            }),
            "entry 15 (Patient), Patient.identifier (NHS number): the same NHS number as entry 2",
            "",
        ),
        (
            edited(|value| {
                let copy = value["entry"][1].clone();
                value["entry"].as_array_mut().unwrap().push(copy);
            }),
            "entry 15 (Patient), fullUrl or id: the same name as entry 2",
            "",
        ),
        (
            // A reference to a Patient on another server is not this bundle's Patient/p1.
            edited(|value| {
                entry(value, 5)["subject"] =
                    json!({"reference": "https://elsewhere.example/fhir/Patient/p1"});
            }),
            "entry 6 (Flag), Flag.subject: refers to no Patient in this bundle",
            "",
        ),
        (
            edited(|value| value["timestamp"] = json!("2099-01-01T00:00:00Z")),
            "entry 2 (Patient), Bundle.timestamp or MedicationStatement.dateAsserted: in the future",
            "",
        ),
        (
            edited(|value| {
                entry(value, 10)["abatementDateTime"] = json!("2020-01-01");
                entry(value, 10)["abatementString"] = json!("resolved");
            }),
            "entry 11 (Condition), Condition.abatement[x]: holds 2 values",
            "",
        ),
    ];
    for (text, expected, quoted) in cases {
        let error = read_bundle(&text)
            .err()
            .unwrap_or_else(|| panic!("accepted; expected {expected}"))
            .to_string();
        assert!(error.contains(expected), "{error}\nexpected: {expected}");
        for secret in ["Usher", "Una", "1940-01-02", "999"] {
            assert!(!error.contains(secret), "{error} names the patient");
        }
        if !quoted.is_empty() {
            assert!(!error.contains(quoted), "{error} quotes the file");
        }
    }
    assert!(matches!(
        read_bundle("{\"resourceType\": \"Bundle\", \"type\": \"history\"}"),
        Err(ImportError::NotABundle(_))
    ));
    assert!(matches!(
        read_bundle("not json"),
        Err(ImportError::NotJson { .. })
    ));
}

#[test]
fn an_nhs_number_held_for_another_patient_refuses_that_patient_and_the_rest_applies() {
    let dir = tempfile::tempdir().unwrap();
    let session = device(dir.path(), Role::Nurse);
    // Held: someone else under Una's NHS number (another date of birth), and Victor's twin under
    // his (the same date of birth, another first name).
    let held = edited(|value| {
        entry(value, 1)["birthDate"] = json!("1977-01-02");
        entry(value, 2)["name"][0]["given"] = json!(["Vernon"]);
        let entries = value["entry"].as_array_mut().unwrap();
        entries.truncate(3);
    });
    import(&session, &held);
    let audit = session.audit_entries().unwrap().len();
    let report = import(&session, GP_RECORD);
    assert_eq!(report.refused_entries, vec![2, 3]);
    assert_eq!(report.outcome.patients_updated, 0);
    assert!(find(&session, "9991000100").allergies.is_empty());
    assert!(find(&session, "9992000201").flags.is_empty());
    // Each refusal is audited, saying only that the details do not match.
    let audited: Vec<_> = session.audit_entries().unwrap()[audit..]
        .iter()
        .filter_map(|entry| entry.reason.clone())
        .collect();
    assert_eq!(audited.len(), 2, "{audited:?}");
    assert!(
        audited
            .iter()
            .all(|reason| reason.contains("refused, the details do not match"))
    );
    assert!(
        audited
            .iter()
            .all(|reason| !reason.contains("1977") && !reason.contains("Vernon"))
    );
}

#[test]
fn an_import_for_patients_held_leaves_others_out() {
    let dir = tempfile::tempdir().unwrap();
    let session = device(dir.path(), Role::Nurse);
    let una_only = edited(|value| value["entry"].as_array_mut().unwrap().truncate(2));
    import(&session, &una_only);
    let report = apply(
        &session,
        &read_bundle(GP_RECORD).unwrap(),
        None,
        NewPatients::LeaveOut,
        |_| {},
    )
    .unwrap();
    assert_eq!(report.not_held_entries, vec![3]);
    assert_eq!(report.outcome.patients_created, 0);
    assert_eq!(session.patients().unwrap().len(), 1);
    assert_eq!(find(&session, "9991000100").allergies.len(), 2);
}

#[test]
fn a_newer_list_replaces_an_older_one_never_the_reverse_and_other_names_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let session = device(dir.path(), Role::Nurse);
    import(&session, GP_RECORD);
    let older = edited(|value| {
        value["timestamp"] = json!("2026-10-01T09:00:00Z");
        entry(value, 7)["dosage"][0]["text"] = json!("10 mg");
    });
    let report = import(&session, &older);
    assert_eq!(
        report.outcome.snapshots_stale, 2,
        "medicines and problems, older"
    );
    assert_eq!(report.outcome.snapshots_applied, 0);
    assert_eq!(
        find(&session, "9991000100").medications.unwrap().items[0].dose,
        "5 mg"
    );

    let newer = edited(|value| {
        value["timestamp"] = json!("2026-12-01T09:00:00Z");
        entry(value, 7)["dosage"][0]["text"] = json!("2.5 mg");
        entry(value, 1)["name"][0]["family"] = json!("Usher-Vale");
    });
    let report = import(&session, &newer);
    assert_eq!(
        report.outcome.snapshots_applied, 2,
        "medicines and problems, newer"
    );
    assert_eq!(report.demographics_differ_entries, vec![2]);
    let una = find(&session, "9991000100");
    assert_eq!(una.medications.unwrap().items[0].dose, "2.5 mg");
    assert_eq!(
        una.family, "Usher",
        "a different name is reported, not written"
    );
}

#[test]
fn what_a_clinician_entered_or_decided_is_never_undone_by_an_import() {
    let dir = tempfile::tempdir().unwrap();
    let session = device(dir.path(), Role::Nurse);
    import(&session, GP_RECORD);
    let una = find(&session, "9991000100");
    let latex = session
        .add_allergy(
            una.id,
            &Allergy {
                substance: "Latex".to_owned(),
                reaction: "rash".to_owned(),
                severity: AllergySeverity::Moderate,
            },
        )
        .unwrap();
    let elastoplast = una
        .allergies
        .iter()
        .find(|entry| entry.allergy.substance == "Elastoplast")
        .unwrap()
        .id;
    session
        .set_entry_status(
            una.id,
            EntryContainer::Allergies,
            elastoplast,
            EntryStatus::EnteredInError,
        )
        .unwrap();

    // The source then resolves penicillin and still lists Elastoplast as active.
    let later = edited(|value| {
        entry(value, 3)["clinicalStatus"]["coding"][0]["code"] = json!("resolved");
    });
    let report = import(&session, &later);
    assert_eq!(report.outcome.entries_updated, 1, "penicillin resolved");
    assert_eq!(report.outcome.entries_kept, 1, "Elastoplast stays in error");
    let una = find(&session, "9991000100");
    let status = |substance: &str| {
        una.allergies
            .iter()
            .find(|entry| entry.allergy.substance == substance)
            .unwrap()
            .status
    };
    assert_eq!(status("Penicillin"), EntryStatus::Resolved);
    assert_eq!(status("Elastoplast"), EntryStatus::EnteredInError);
    assert!(una.allergies.iter().any(|entry| entry.id == latex));

    // Latex was recorded here: a file naming it by Doorstep's identifier (an EPR echoing an
    // export back, or a forged file) may not close it.
    let before = find(&session, "9991000100");
    let mut echoed: Value =
        serde_json::to_value(observations_bundle(&before, &ExportOptions::default())).unwrap();
    for entry in echoed["entry"].as_array_mut().unwrap() {
        let resource = &mut entry["resource"];
        if resource["code"]["text"] == "Latex" {
            resource["verificationStatus"]["coding"][0]["code"] = json!("entered-in-error");
            resource.as_object_mut().unwrap().remove("clinicalStatus");
        }
    }
    let report = import(&session, &echoed.to_string());
    assert_eq!(report.outcome.entries_updated, 0);
    let latex_now = find(&session, "9991000100")
        .allergies
        .into_iter()
        .find(|entry| entry.id == latex)
        .unwrap();
    assert_eq!(latex_now.status, EntryStatus::Active);
}

#[test]
fn what_the_source_says_of_medicines_allergies_and_no_known_allergies_is_shown_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let session = device(dir.path(), Role::Nurse);
    let text = edited(|value| {
        // Bisoprolol on hold; a second, worse reaction to penicillin; Victor has no known
        // allergy, coded as UK Core codes it.
        entry(value, 7)["status"] = json!("on-hold");
        entry(value, 3)["reaction"].as_array_mut().unwrap().insert(
            0,
            json!({ "manifestation": [{ "text": "Rash" }], "severity": "mild" }),
        );
        value["entry"].as_array_mut().unwrap().push(json!({ "resource": {
            "resourceType": "AllergyIntolerance",
            "clinicalStatus": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active" }] },
            "code": { "coding": [{ "system": "http://snomed.info/sct", "code": "716186003", "display": "No known allergy" }] },
            "patient": { "reference": "urn:uuid:5b9a1c6e-0d6c-4f58-9a67-3f3ad0f1a002" }
        }}));
    });
    let report = import(&session, &text);
    assert_eq!(report.outcome.no_known_allergies_recorded, 1);
    let una = find(&session, "9991000100");
    assert_eq!(
        una.medications.unwrap().items[0].describe(),
        "Bisoprolol 5mg tablets, 5 mg, once daily in the morning (ON HOLD: not taken now)"
    );
    let penicillin = una
        .allergies
        .iter()
        .find(|entry| entry.allergy.substance == "Penicillin")
        .unwrap();
    assert_eq!(
        penicillin.allergy.describe(),
        "Penicillin: Rash, Anaphylaxis (severe)"
    );
    let victor = find(&session, "9992000201");
    assert!(
        victor.allergies.is_empty(),
        "no known allergy is not an allergy"
    );
    assert!(matches!(
        victor.allergy_status,
        doorstep_core::store::AllergyStatus::NoKnownAllergies { .. }
    ));
}

#[test]
fn a_list_is_as_new_as_its_latest_entry_stopped_ones_included_and_never_from_a_part() {
    let dir = tempfile::tempdir().unwrap();
    let session = device(dir.path(), Role::Nurse);
    import(&session, GP_RECORD);
    // Without a timestamp, the list's time is its latest statement's, the stopped one too:
    // stopping bisoprolol on 1 December makes this list newer than the one held.
    let stopped = edited(|value| {
        value.as_object_mut().unwrap().remove("timestamp");
        entry(value, 7)["status"] = json!("stopped");
        entry(value, 7)["dateAsserted"] = json!("2026-12-01T10:00:00Z");
        entry(value, 10)["extension"] = json!([{ "url": "http://hl7.org/fhir/StructureDefinition/condition-assertedDate", "valueDateTime": "2026-12-01T10:00:00Z" }]);
    });
    let report = import(&session, &stopped);
    assert_eq!(report.outcome.snapshots_stale, 0);
    let una = find(&session, "9991000100");
    let medicines = una.medications.unwrap();
    assert!(medicines.items.is_empty(), "the only medicine was stopped");
    assert_eq!(medicines.as_of.to_rfc3339(), "2026-12-01T10:00:00+00:00");

    // A transaction (or one page of a search) is not a whole list: the lists held stay.
    let part = edited(|value| {
        value["type"] = json!("transaction");
        value["timestamp"] = json!("2026-12-02T10:00:00Z");
    });
    let report = import(&session, &part);
    assert_eq!(
        report
            .skipped
            .iter()
            .filter(|skipped| skipped.reason.starts_with("a transaction, or one page"))
            .count(),
        4
    );
    assert!(
        find(&session, "9991000100")
            .medications
            .unwrap()
            .items
            .is_empty()
    );
}

#[test]
fn an_integration_device_imports_but_cannot_read_records() {
    let dir = tempfile::tempdir().unwrap();
    let session = device(dir.path(), Role::Integration);
    let report = import(&session, GP_RECORD);
    assert_eq!(report.outcome.patients_created, 2);
    for refused in [
        session.patients().map(|_| ()).unwrap_err(),
        session.caseload().map(|_| ()).unwrap_err(),
        session
            .open_record(PatientId::random())
            .map(|_| ())
            .unwrap_err(),
    ] {
        assert!(matches!(refused, StoreError::NotPermitted(_)), "{refused}");
    }
}

#[test]
fn a_healthcare_assistant_may_not_import() {
    let dir = tempfile::tempdir().unwrap();
    let nurse = device(dir.path(), Role::Nurse);
    nurse
        .add_user("Hal Helper", Role::HealthcareAssistant, PIN)
        .unwrap();
    drop(nurse);
    let device = Device::open(dir.path()).unwrap();
    let hal = device.find_user(Some("Hal Helper")).unwrap();
    let session = device.unlock(hal.id, PIN).unwrap();
    let error = apply(
        &session,
        &read_bundle(GP_RECORD).unwrap(),
        None,
        NewPatients::Register,
        |_| {},
    )
    .unwrap_err();
    assert!(matches!(
        error,
        ApplyError::Store(StoreError::NotPermitted(_))
    ));
}

mod merge {
    //! Property: whatever a source sends, in whatever order, an import never removes or reopens
    //! what is on the record, a list held is never replaced by an older one, and the same file
    //! twice changes nothing the second time.

    use super::*;
    use doorstep_core::crypto::PinKdf;
    use proptest::prelude::*;

    const STATUSES: [&str; 3] = ["active", "resolved", "entered-in-error"];

    /// One file from the source: per allergy identifier, whether it is sent and with what
    /// status and reaction; the hour its medicines list was true.
    #[derive(Clone, Debug)]
    struct SourceFile {
        allergies: Vec<Option<(usize, usize)>>,
        hour: u32,
    }

    fn file() -> impl Strategy<Value = SourceFile> {
        (
            prop::collection::vec(prop::option::of((0..3usize, 0..2usize)), 3),
            0..24u32,
        )
            .prop_map(|(allergies, hour)| SourceFile { allergies, hour })
    }

    fn bundle(file: &SourceFile) -> String {
        let mut value: Value = serde_json::from_str(GP_RECORD).unwrap();
        value["timestamp"] = json!(format!("2026-11-28T{:02}:00:00Z", file.hour));
        let entries = value["entry"].as_array_mut().unwrap();
        entries.retain(|entry| entry["resource"]["resourceType"] != "AllergyIntolerance");
        for (index, sent) in file.allergies.iter().enumerate() {
            let Some((status, reaction)) = sent else {
                continue;
            };
            let verification = if *status == 2 {
                "entered-in-error"
            } else {
                "confirmed"
            };
            let manifestation = ["rash", "wheeze"][*reaction];
            let mut resource = json!({
                "resourceType": "AllergyIntolerance",
                "identifier": [{ "system": "https://gp.example/Id/allergy", "value": format!("P-{index}") }],
                "verificationStatus": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "code": verification }] },
                "code": { "text": format!("Substance {index}") },
                "patient": { "reference": "Patient/p1" },
                "reaction": [{ "manifestation": [{ "text": manifestation }] }]
            });
            if *status < 2 {
                resource["clinicalStatus"] = json!({ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": STATUSES[*status] }] });
            }
            entries.push(json!({ "resource": resource }));
        }
        value.to_string()
    }

    fn stage(status: EntryStatus) -> u8 {
        match status {
            EntryStatus::Active => 0,
            EntryStatus::Resolved => 1,
            EntryStatus::EnteredInError => 2,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn imports_never_remove_reopen_or_go_back_in_time(files in prop::collection::vec(file(), 1..5)) {
            let dir = tempfile::tempdir().unwrap();
            let policy = UnlockPolicy { pin_kdf: PinKdf::FAST_FOR_TESTS, ..UnlockPolicy::default() };
            let session = Device::create(dir.path(), "Nell Nightingale", Role::Nurse, PIN, policy).unwrap();
            import(&session, &bundle(&files[0]));
            let una = find(&session, "9991000100");
            let own = session.add_allergy(una.id, &Allergy {
                substance: "Latex".to_owned(),
                reaction: "rash".to_owned(),
                severity: AllergySeverity::Mild,
            }).unwrap();
            let mut latest_hour = files[0].hour;
            for file in &files[1..] {
                let before = find(&session, "9991000100");
                let text = bundle(file);
                import(&session, &text);
                let after = find(&session, "9991000100");
                for entry in &before.allergies {
                    let now = after.allergies.iter().find(|e| e.id == entry.id);
                    prop_assert!(now.is_some(), "an entry was removed");
                    prop_assert!(stage(now.unwrap().status) >= stage(entry.status), "a status went back");
                }
                prop_assert!(after.allergies.iter().any(|e| e.id == own && e.allergy.substance == "Latex"));
                latest_hour = latest_hour.max(file.hour);
                let held = after.medications.as_ref().unwrap().as_of;
                prop_assert_eq!(held.format("%H").to_string(), format!("{latest_hour:02}"));
                let again = import(&session, &text);
                prop_assert_eq!(again.outcome.patients_updated, 0);
                prop_assert_eq!(find(&session, "9991000100"), after);
            }
        }
    }
}
