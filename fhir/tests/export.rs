//! Observations and NEWS2 out as UK Core: every fixed value the profiles ask for, a total only
//! for a complete set where NEWS2 applies, entered-in-error carried through.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chrono::NaiveDate;
use common::{COMPLETE, PARTIAL, adult, at, record, schema_errors, set, set_with_additional};
use doorstep_fhir::codes;
use doorstep_fhir::types::{Observation, Resource};
use doorstep_fhir::{Bundle, ExportOptions, observations_bundle};

fn observations(bundle: &Bundle) -> Vec<&Observation> {
    bundle.observations().collect()
}

fn find<'a>(bundle: &'a Bundle, system: &str, code: &str) -> &'a Observation {
    bundle
        .observations()
        .find(|o| o.code.has(system, code))
        .unwrap_or_else(|| panic!("no observation coded {code}"))
}

#[test]
fn each_vital_sign_carries_its_profiles_fixed_codes_and_unit() {
    let bundle = observations_bundle(
        &record(adult(), &[set(100, COMPLETE, 0)], &[]),
        &ExportOptions::default(),
    );
    // (LOINC, SNOMED, UCUM unit, value)
    let table = [
        ("9279-1", "86290005", "/min", 26.0),
        ("2708-6", "103228002", "%", 93.0),
        ("8867-4", "364075005", "/min", 120.0),
        ("8310-5", "386725007", "Cel", 38.6),
    ];
    for (loinc, snomed, unit, value) in table {
        let observation = find(&bundle, codes::LOINC, loinc);
        assert!(observation.code.has(codes::SNOMED, snomed), "{loinc}");
        assert_eq!(observation.status, "final");
        assert!(observation.category[0].has(codes::OBSERVATION_CATEGORY, "vital-signs"));
        let quantity = observation.value_quantity.as_ref().unwrap();
        assert_eq!(
            (quantity.code.as_str(), quantity.value.as_f64().unwrap()),
            (unit, value),
            "{loinc}"
        );
        assert_eq!(quantity.system, codes::UCUM);
        assert_eq!(
            observation.effective_date_time.as_deref(),
            Some("2026-11-30T09:00:00Z")
        );
        assert_eq!(
            observation.meta.as_ref().unwrap().profile,
            vec!["https://fhir.hl7.org.uk/StructureDefinition/UKCore-Observation-VitalSigns"]
        );
    }
    assert!(
        find(&bundle, codes::LOINC, "2708-6")
            .code
            .has(codes::LOINC, "59408-5")
    );
    // Systolic as a component of the blood pressure panel.
    let panel = find(&bundle, codes::LOINC, "85354-9");
    assert!(panel.value_quantity.is_none());
    let systolic = &panel.component[0];
    assert!(systolic.code.has(codes::LOINC, "8480-6"));
    let value = systolic.value_quantity.as_ref().unwrap();
    assert_eq!(
        (value.code.as_str(), value.value.as_f64().unwrap()),
        ("mm[Hg]", 95.0)
    );
    // The profile's other part, absent with its reason: NEWS2 takes no diastolic.
    assert!(panel.component[1].code.has(codes::LOINC, "8462-4"));
    assert!(panel.component[1].value_quantity.is_none());
    assert!(panel.component[1].extra.contains_key("dataAbsentReason"));
    // ACVPU and inspired oxygen as their own observations.
    let acvpu = find(&bundle, codes::SNOMED, "1104441000000107");
    assert!(
        acvpu
            .value_codeable_concept
            .as_ref()
            .unwrap()
            .has(codes::SNOMED, "248234008")
    );
    find(&bundle, codes::SNOMED, "722742002");
    // Every observation is about the patient in the bundle.
    let patient_url = bundle.entry[0].full_url.clone();
    assert!(
        observations(&bundle)
            .iter()
            .all(|o| o.subject.as_ref().unwrap().reference == patient_url)
    );
}

#[test]
fn a_complete_set_exports_the_news2_total_with_seven_sub_scores_derived_from_its_vitals() {
    let bundle = observations_bundle(
        &record(adult(), &[set(100, COMPLETE, 0)], &[]),
        &ExportOptions::default(),
    );
    let total = find(&bundle, codes::SNOMED, "1104051000000101");
    assert!(total.category[0].has(codes::OBSERVATION_CATEGORY, "survey"));
    let value = total.value_quantity.as_ref().unwrap();
    // RR 26 (3), SpO2 93 (2), air (0), BP 95 (2), pulse 120 (2), alert (0), 38.6 (1) = 10.
    assert_eq!(
        (value.value.as_f64().unwrap(), value.code.as_str()),
        (10.0, "{ScoreOf}")
    );
    let sub: Vec<(&str, f64)> = total
        .component
        .iter()
        .map(|c| {
            (
                c.code.coding[0].code.as_str(),
                c.value_quantity.as_ref().unwrap().value.as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(sub.len(), 7);
    for expected in [
        ("1104301000000104", 3.0),
        ("1104311000000102", 2.0),
        ("1104331000000105", 0.0),
        ("1104341000000101", 2.0),
        ("1104351000000103", 2.0),
        ("1104361000000100", 0.0),
        ("1104371000000107", 1.0),
    ] {
        assert!(sub.contains(&expected), "{expected:?} in {sub:?}");
    }
    assert_eq!(total.derived_from.len(), 7);
    let urls: Vec<Option<String>> = bundle.entry.iter().map(|e| e.full_url.clone()).collect();
    assert!(
        total
            .derived_from
            .iter()
            .all(|r| urls.contains(&r.reference))
    );
    assert_eq!(
        total.meta.as_ref().unwrap().profile,
        vec![
            "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Observation-EarlyWarningTotalScore"
        ]
    );
}

#[test]
fn a_total_the_core_worked_out_later_says_so_and_names_no_performer() {
    // Recorded as a child's (no score), then the date of birth corrected to an adult's: the core
    // scores it when the record is read. Nobody saw that score at the bedside.
    let input: doorstep_core::VitalsInput = serde_json::from_str(COMPLETE).unwrap();
    let protocol = doorstep_core::news2::ResponseProtocol::default();
    let unscored = doorstep_core::observation::ObservationSet::record(
        doorstep_core::ObservationId::from_u128(100),
        at(0),
        common::author(),
        input.validate().unwrap(),
        doorstep_core::Spo2Scale::Scale1,
        &doorstep_core::observation::Scoring {
            not_applicable: Some(doorstep_core::news2::NotApplicable::because(
                doorstep_core::news2::NotApplicableReason::Under16,
            )),
            ..doorstep_core::observation::Scoring::applies(&protocol)
        },
    );
    let bundle = observations_bundle(
        &record(adult(), &[unscored], &[]),
        &ExportOptions::default(),
    );
    let total = find(&bundle, codes::SNOMED, "1104051000000101");
    assert!(total.performer.is_empty());
    let note = total.extra["note"][0]["text"].as_str().unwrap();
    assert_eq!(note, doorstep_fhir::export::SCORED_ON_READING);
    // The vitals keep who took them.
    assert!(!find(&bundle, codes::LOINC, "9279-1").performer.is_empty());
}

#[test]
fn a_partial_set_exports_its_vitals_and_never_a_total() {
    let bundle = observations_bundle(
        &record(adult(), &[set(100, PARTIAL, 0)], &[]),
        &ExportOptions::default(),
    );
    assert_eq!(observations(&bundle).len(), 3);
    assert!(
        !observations(&bundle)
            .iter()
            .any(|o| o.code.has(codes::SNOMED, "1104051000000101"))
    );
}

#[test]
fn no_total_where_news2_does_not_apply() {
    let child = NaiveDate::from_ymd_opt(2019, 5, 5).unwrap();
    let bundle = observations_bundle(
        &record(child, &[set(100, COMPLETE, 0)], &[]),
        &ExportOptions::default(),
    );
    assert_eq!(observations(&bundle).len(), 7, "the vitals still go");
    assert!(
        !observations(&bundle)
            .iter()
            .any(|o| o.code.has(codes::SNOMED, "1104051000000101"))
    );
}

#[test]
fn a_set_entered_in_error_exports_with_that_status_and_since_filters_by_time_taken() {
    let record = record(
        adult(),
        &[set(100, COMPLETE, 0), set(200, COMPLETE, 30)],
        &[100],
    );
    let bundle = observations_bundle(&record, &ExportOptions::default());
    let statuses: Vec<&str> = observations(&bundle)
        .iter()
        .map(|o| o.status.as_str())
        .collect();
    assert_eq!(statuses.len(), 16);
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == "entered-in-error")
            .count(),
        8,
        "every part of the set, the total included"
    );
    // Withdrawn parts claim no UK Core profile (they require status final).
    assert!(
        observations(&bundle)
            .iter()
            .filter(|o| o.status == "entered-in-error")
            .all(|o| o.meta.is_none())
    );
    // Since 09:15: the later set, and the earlier one again because it was marked in error
    // since, so that the receiving record does not keep it as final.
    let since = |minutes| ExportOptions {
        since: Some(at(minutes)),
        ..ExportOptions::default()
    };
    let later = observations_bundle(&record, &since(15));
    assert_eq!(observations(&later).len(), 16);
    assert_eq!(
        observations(&later)
            .iter()
            .filter(|o| o.status == "entered-in-error")
            .count(),
        8
    );
    // After the mark, nothing new.
    assert!(observations(&observations_bundle(&record, &since(150))).is_empty());
}

#[test]
fn every_kind_of_export_is_valid_against_the_fhir_r4_schema() {
    let child = NaiveDate::from_ymd_opt(2019, 5, 5).unwrap();
    let records = [
        record(
            adult(),
            &[set(100, COMPLETE, 0), set(200, PARTIAL, 30)],
            &[100],
        ),
        record(child, &[set(300, COMPLETE, 0)], &[]),
        record(adult(), &[], &[]),
    ];
    for record in &records {
        let bundle = observations_bundle(record, &ExportOptions::default());
        if let Some(errors) = schema_errors(&bundle) {
            panic!("invalid FHIR R4: {errors}");
        }
    }
    // And the check can fail: a status FHIR does not have.
    let mut broken = observations_bundle(&records[0], &ExportOptions::default());
    if let Resource::Observation(observation) = &mut broken.entry[1].resource {
        observation.status = "done".to_owned();
    }
    assert!(schema_errors(&broken).is_some(), "the schema refuses it");
}

#[test]
fn the_patient_is_identified_by_nhs_number_and_the_bundle_is_the_same_every_time() {
    let record = record(adult(), &[set(100, COMPLETE, 0)], &[]);
    let bundle = observations_bundle(&record, &ExportOptions::default());
    let Resource::Patient(patient) = &bundle.entry[0].resource else {
        panic!("the patient comes first");
    };
    assert_eq!(
        patient.identifier[0].system,
        "https://fhir.nhs.uk/Id/nhs-number"
    );
    assert_eq!(patient.identifier[0].value, "9991000100");
    assert_eq!(patient.birth_date.as_deref(), Some("1940-01-02"));
    assert_eq!(patient.gender.as_deref(), Some("female"));
    let json = serde_json::to_string(&bundle).unwrap();
    assert_eq!(
        json,
        serde_json::to_string(&observations_bundle(&record, &ExportOptions::default())).unwrap()
    );
    assert!(json.contains(r#""resourceType":"Bundle""#));
    assert!(json.contains(r#""type":"collection""#));
    // Counts are whole numbers and temperature keeps its one decimal: the digits are the
    // precision a FHIR decimal carries.
    assert!(json.contains(r#""value":26,"#), "{json}");
    assert!(json.contains(r#""value":38.6,"#));
}

#[test]
fn observations_beside_news2_export_with_their_loinc_codes_and_are_never_part_of_the_total() {
    let record = record(adult(), &[set_with_additional(400, 0)], &[]);
    let bundle = observations_bundle(&record, &ExportOptions::default());
    if let Some(errors) = schema_errors(&bundle) {
        panic!("invalid FHIR R4: {errors}");
    }
    let value = |observation: &Observation| {
        let quantity = observation.value_quantity.as_ref().unwrap();
        (quantity.value.as_f64().unwrap(), quantity.code.clone())
    };
    // Diastolic in the blood pressure panel, in place of "not performed".
    let panel = find(&bundle, codes::LOINC, "85354-9");
    let diastolic = panel
        .component
        .iter()
        .find(|c| c.code.has(codes::LOINC, "8462-4"))
        .unwrap();
    assert_eq!(
        diastolic.value_quantity.as_ref().unwrap().value.as_f64(),
        Some(62.0)
    );
    assert!(!diastolic.extra.contains_key("dataAbsentReason"));
    // The oxygen given, as UK Core's oxygen therapy example carries it.
    let oxygen = find(&bundle, codes::SNOMED, "371825009");
    assert_eq!(value(oxygen), (15.0, "L/min".to_owned()));
    assert_eq!(
        oxygen.extra["method"]["text"],
        "reservoir (non-rebreather) mask"
    );
    assert_eq!(
        value(find(&bundle, codes::LOINC, "14743-9")),
        (2.9, "mmol/L".to_owned())
    );
    assert_eq!(
        value(find(&bundle, codes::LOINC, "72514-3")),
        (6.0, "{score}".to_owned())
    );
    let gcs = find(&bundle, codes::LOINC, "9269-2");
    assert_eq!(value(gcs), (12.0, "{score}".to_owned()));
    let parts: Vec<(&str, f64)> = gcs
        .component
        .iter()
        .map(|c| {
            (
                c.code.coding[0].code.as_str(),
                c.value_quantity.as_ref().unwrap().value.as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(parts, [("9267-6", 3.0), ("9270-0", 4.0), ("9268-4", 5.0)]);
    // The NEWS2 total is derived from the seven vital-sign observations only.
    let total = find(&bundle, codes::SNOMED, "1104051000000101");
    assert_eq!(total.derived_from.len(), 7);
    let gcs_url = bundle
        .entry
        .iter()
        .find(|e| matches!(&e.resource, Resource::Observation(o) if o.code.has(codes::LOINC, "9269-2")))
        .and_then(|e| e.full_url.clone());
    assert!(total.derived_from.iter().all(|r| r.reference != gcs_url));
}

#[test]
fn a_pregnancy_s_fetal_heart_and_urine_protein_a_meter_s_lo_and_an_untested_gcs_export_as_recorded()
{
    let record = record(adult(), &[common::set_in_pregnancy(500, 0)], &[]);
    let bundle = observations_bundle(&record, &ExportOptions::default());
    if let Some(errors) = schema_errors(&bundle) {
        panic!("invalid FHIR R4: {errors}");
    }
    let heart = find(&bundle, codes::LOINC, "55283-6");
    let quantity = heart.value_quantity.as_ref().unwrap();
    assert_eq!(
        (quantity.value.as_f64(), quantity.code.as_str()),
        (Some(142.0), "/min")
    );
    let protein = find(&bundle, codes::LOINC, "20454-5");
    assert_eq!(
        protein
            .value_codeable_concept
            .as_ref()
            .unwrap()
            .text
            .as_deref(),
        Some("++")
    );
    let glucose = find(&bundle, codes::LOINC, "14743-9");
    assert!(glucose.value_quantity.is_none(), "no number was measured");
    assert_eq!(glucose.extra["valueString"], "LO (below the meter's range)");
    let gcs = find(&bundle, codes::LOINC, "9269-2");
    assert!(
        gcs.value_quantity.is_none(),
        "no total with a response untested"
    );
    assert_eq!(
        gcs.extra["dataAbsentReason"]["coding"][0]["code"],
        "not-applicable"
    );
    let verbal = gcs
        .component
        .iter()
        .find(|c| c.code.has(codes::LOINC, "9270-0"))
        .unwrap();
    assert!(verbal.value_quantity.is_none());
    assert_eq!(
        verbal.extra["dataAbsentReason"]["coding"][0]["code"],
        "not-performed"
    );
}
