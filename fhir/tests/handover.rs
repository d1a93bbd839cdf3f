//! The handover: every heading a receiving clinician needs, in words and as a FHIR document that
//! the official schema accepts; a trend that never shows an incomplete set as a score.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;

use chrono::NaiveDate;
use common::{COMPLETE, PARTIAL, adult, at, author, record, schema_errors, set};
use doorstep_core::EntryId;
use doorstep_core::patient::{Allergy, AllergySeverity, Flag, FlagKind};
use doorstep_core::store::{AllergyEntry, EntryStatus, FlagEntry, PatientRecord, Recorded};
use doorstep_fhir::types::Resource;
use doorstep_fhir::{HandoverOptions, handover_document, handover_text};

fn options() -> HandoverOptions {
    HandoverOptions {
        by: "Nell Nightingale (nurse)".to_owned(),
        to: Some("ED majors, Borsetshire General".to_owned()),
        at: at(90),
        names: HashMap::new(),
        medicines_review_days: 28,
    }
}

/// An adult with an allergy, a DNACPR decision, a care plan, a complete set, then a partial one
/// and a set entered in error.
fn patient() -> PatientRecord {
    let mut record = record(
        adult(),
        &[
            set(100, COMPLETE, 0),
            set(200, PARTIAL, 30),
            set(300, COMPLETE, 60),
        ],
        &[300],
    );
    let recorded = Recorded {
        by: author(),
        at: at(-60),
    };
    record.allergies.push(AllergyEntry {
        id: EntryId::from_u128(0xa11e_0001_0000_0000),
        allergy: Allergy {
            substance: "Penicillin".to_owned(),
            reaction: "anaphylaxis".to_owned(),
            severity: AllergySeverity::Severe,
        },
        recorded,
        status: EntryStatus::Active,
        source: None,
    });
    record.flags.push(FlagEntry {
        id: EntryId::from_u128(0xf1a9_0002_0000_0000),
        flag: Flag {
            kind: FlagKind::Dnacpr,
            detail: "not for CPR; wishes to stay at home".to_owned(),
        },
        recorded,
        status: EntryStatus::Active,
        source: None,
    });
    record.care_plan = "Daily visits; repeat NEWS2 at each visit".to_owned();
    record
}

#[test]
fn the_words_carry_identity_alerts_the_trend_and_the_plan() {
    let text = handover_text(&patient(), &options());
    for expected in [
        "USHER, Una",
        "NHS number 999 100 0100",
        "Penicillin: anaphylaxis (severe)",
        "DNACPR",
        "INCOMPLETE SET: no NEWS2 total, already at least",
        "not recorded: air or oxygen, systolic blood pressure",
        "NEWS2 10 (HIGH)",
        "Daily visits",
        "ED majors, Borsetshire General",
        "Nell Nightingale (nurse)",
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
    // The set entered in error is not in the trend: two sets, not three.
    assert_eq!(text.matches("RR ").count(), 2, "{text}");
    // Newest first: the partial set before the complete one.
    assert!(text.find("INCOMPLETE").unwrap() < text.find("NEWS2 10").unwrap());
}

#[test]
fn a_child_s_handover_says_news2_was_not_used() {
    let child = record(
        NaiveDate::from_ymd_opt(2019, 5, 5).unwrap(),
        &[set(100, COMPLETE, 0)],
        &[],
    );
    let text = handover_text(&child, &options());
    assert!(text.contains("NEWS2 not used"), "{text}");
    assert!(text.contains("ALLERGIES NOT RECORDED"), "{text}");
}

#[test]
fn the_document_is_a_composition_under_uk_core_headings_and_valid_fhir() {
    let bundle = handover_document(&patient(), &options());
    assert_eq!(bundle.bundle_type, "document");
    assert!(bundle.identifier.is_some() && bundle.timestamp.is_some());
    assert!(
        matches!(bundle.entry[0].resource, Resource::Composition(_)),
        "the Composition comes first"
    );
    let composition = serde_json::to_value(&bundle.entry[0].resource).unwrap();
    assert_eq!(composition["resourceType"], "Composition");
    assert_eq!(composition["status"], "final");
    let codes: Vec<&str> = composition["section"]
        .as_array()
        .unwrap()
        .iter()
        .map(|section| section["code"]["coding"][0]["code"].as_str().unwrap())
        .collect();
    for heading in [
        "patient-demographics",
        "person-receiving-handover",
        "allergies-and-adverse-reaction",
        "safety-alerts",
        "medications-and-medical-devices",
        "problems-and-issues",
        "observations",
        "past-actions",
        "plan-and-requested-actions",
        "person-completing-record",
    ] {
        assert!(codes.contains(&heading), "{heading} in {codes:?}");
    }
    for section in composition["section"].as_array().unwrap() {
        let div = section["text"]["div"].as_str().unwrap();
        assert!(div.starts_with("<div xmlns=\"http://www.w3.org/1999/xhtml\">"));
    }
    // The observations section points at resources in the bundle: the trend's sets only.
    let urls: Vec<String> = bundle
        .entry
        .iter()
        .filter_map(|e| e.full_url.clone())
        .collect();
    let observations = composition["section"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["code"]["coding"][0]["code"] == "observations")
        .unwrap();
    let entries = observations["entry"].as_array().unwrap();
    // The complete set's seven observations and total, and the partial set's three.
    assert_eq!(entries.len(), 11);
    assert!(
        entries
            .iter()
            .all(|e| urls.contains(&e["reference"].as_str().unwrap().to_owned()))
    );
    // Allergies and alerts are their sections' entries; the author is a Practitioner.
    let resource_at = |section: &str| -> Vec<String> {
        let section = composition["section"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["code"]["coding"][0]["code"] == section)
            .unwrap();
        section["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|reference| {
                let url = reference["reference"].as_str().unwrap();
                let entry = bundle
                    .entry
                    .iter()
                    .find(|e| e.full_url.as_deref() == Some(url))
                    .unwrap();
                serde_json::to_value(&entry.resource).unwrap()["resourceType"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    assert_eq!(
        resource_at("allergies-and-adverse-reaction"),
        ["AllergyIntolerance"]
    );
    assert_eq!(resource_at("safety-alerts"), ["Flag"]);
    assert_eq!(resource_at("person-completing-record"), ["Practitioner"]);
    // Who wrote it and when, against the Composition.
    let provenance = bundle
        .entry
        .iter()
        .find_map(|e| match &e.resource {
            Resource::Provenance(provenance) => Some(provenance),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        provenance.target[0].reference, bundle.entry[0].full_url,
        "the Provenance is of the Composition"
    );
    if let Some(errors) = schema_errors(&bundle) {
        panic!("invalid FHIR R4: {errors}");
    }
}

#[test]
fn narrative_text_is_escaped() {
    let mut record = patient();
    record.care_plan = "Check <b>wound</b> & dressing".to_owned();
    let bundle = handover_document(&record, &options());
    let json = serde_json::to_string(&bundle).unwrap();
    assert!(json.contains("Check &lt;b&gt;wound&lt;/b&gt; &amp; dressing"));
    assert!(schema_errors(&bundle).is_none());
}

#[test]
fn an_old_medicines_list_is_handed_over_as_out_of_date() {
    let mut record = patient();
    record.medications = Some(doorstep_core::store::Snapshot {
        source: "GP record".to_owned(),
        as_of: at(-60 * 24 * 40),
        items: vec![doorstep_core::patient::Medication {
            name: "Apixaban 5 mg tablets".to_owned(),
            dose: "5 mg".to_owned(),
            frequency: "twice daily".to_owned(),
            status: Default::default(),
        }],
    });
    let text = handover_text(&record, &options());
    assert!(text.contains("Apixaban 5 mg tablets"), "{text}");
    assert!(text.contains("OUT OF DATE"), "{text}");
}

#[test]
fn conflicting_values_are_handed_over_as_an_alert() {
    let mut record = patient();
    record.conflicts.push(doorstep_core::store::Conflict {
        field: "birth_date".to_owned(),
        values: Vec::new(),
    });
    let text = handover_text(&record, &options());
    assert!(
        text.contains("CONFLICTING VALUES on the record (birth date)"),
        "{text}"
    );
}
