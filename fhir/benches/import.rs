//! Import of a GP feed for a whole caseload: 1,000 patients, each with two allergies, an alert,
//! four medicines and three problems, as one searchset Bundle. Prints the time to read and check
//! the file, to apply it to a fresh device store (1,000 new records in one transaction) and to
//! apply it again (nothing changes), each the median of three runs.

// A benchmark that cannot set up should stop loudly.
#![allow(clippy::expect_used)]

use std::time::{Duration, Instant};

use doorstep_core::NhsNumber;
use doorstep_core::crypto::PinKdf;
use doorstep_core::observation::Role;
use doorstep_core::store::{Device, NewPatients, Session, UnlockPolicy};
use doorstep_fhir::{apply, read_bundle};
use serde_json::{Value, json};

const PATIENTS: u32 = 1_000;
const RUNS: usize = 3;

fn patient_entries(serial: u32) -> Vec<Value> {
    let nhs = NhsNumber::test_number(serial)
        .expect("a test number")
        .as_digits();
    let url = format!("urn:uuid:00000000-0000-4000-8000-{serial:012}");
    let subject = json!({ "reference": url });
    let mut entries = vec![json!({
        "fullUrl": url,
        "resource": {
            "resourceType": "Patient",
            "identifier": [{ "system": "https://fhir.nhs.uk/Id/nhs-number", "value": nhs }],
            "name": [{ "use": "official", "family": format!("Family{serial}"), "given": ["Given"] }],
            "gender": if serial.is_multiple_of(2) { "female" } else { "male" },
            "birthDate": format!("19{:02}-0{}-1{}", 30 + serial % 60, 1 + serial % 9, serial % 10),
            "address": [{ "use": "home", "line": [format!("{serial} Lantern Row")], "city": "Ambridge", "postalCode": "ZZ99 3AB" }],
            "generalPractitioner": [{ "identifier": { "system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "Y90001" }, "display": "Lantern Row Surgery" }]
        }
    })];
    for (index, (substance, reaction, severity)) in [
        ("Penicillin", "Anaphylaxis", "severe"),
        ("Codeine", "Vomiting", "moderate"),
    ]
    .iter()
    .enumerate()
    {
        entries.push(json!({ "resource": {
            "resourceType": "AllergyIntolerance",
            "identifier": [{ "system": "https://gp.example/Id/allergy", "value": format!("{serial}-{index}") }],
            "clinicalStatus": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active" }] },
            "code": { "text": substance },
            "patient": subject,
            "reaction": [{ "manifestation": [{ "text": reaction }], "severity": severity }]
        }}));
    }
    entries.push(json!({ "resource": {
        "resourceType": "Flag",
        "identifier": [{ "system": "https://gp.example/Id/alert", "value": format!("{serial}-dnacpr") }],
        "status": "active",
        "code": { "coding": [{ "system": "http://snomed.info/sct", "code": "304253006", "display": "Not for resuscitation" }], "text": "DNACPR in place" },
        "subject": subject
    }}));
    for (name, dose, frequency) in [
        ("Bisoprolol 5mg tablets", "5 mg", "once daily"),
        ("Furosemide 40mg tablets", "40 mg", "each morning"),
        ("Ramipril 2.5mg capsules", "2.5 mg", "once daily"),
        ("Paracetamol 500mg tablets", "1 g", "up to four times a day"),
    ] {
        entries.push(json!({ "resource": {
            "resourceType": "MedicationStatement",
            "status": "active",
            "medicationCodeableConcept": { "text": name },
            "subject": subject,
            "dosage": [{ "text": dose, "timing": { "code": { "text": frequency } } }]
        }}));
    }
    for problem in [
        "Heart failure",
        "Type 2 diabetes",
        "Chronic kidney disease stage 3",
    ] {
        entries.push(json!({ "resource": {
            "resourceType": "Condition",
            "clinicalStatus": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active" }] },
            "code": { "text": problem },
            "subject": subject
        }}));
    }
    entries
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn device(dir: &std::path::Path) -> Session {
    let policy = UnlockPolicy {
        pin_kdf: PinKdf::FAST_FOR_TESTS,
        ..UnlockPolicy::default()
    };
    Device::create(dir, "Ivy Integration", Role::Integration, "246810", policy)
        .expect("a device store")
}

fn main() {
    // About one prefix in eleven has no check digit: take the first 1,000 that do.
    let entries: Vec<Value> = (1..)
        .filter(|serial| NhsNumber::test_number(*serial).is_some())
        .take(PATIENTS as usize)
        .flat_map(patient_entries)
        .collect();
    let resources = entries.len();
    let text = json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": "2026-12-01T06:00:00Z",
        "entry": entries
    })
    .to_string();
    let mut reads = Vec::new();
    let mut firsts = Vec::new();
    let mut agains = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let plan = read_bundle(&text).expect("the bundle is valid");
        reads.push(started.elapsed());

        let dir = tempfile::tempdir().expect("a temporary directory");
        let session = device(dir.path());
        let started = Instant::now();
        let report = apply(&session, &plan, None, NewPatients::Register, |_| {}).expect("imports");
        firsts.push(started.elapsed());
        assert_eq!(report.outcome.patients_created, PATIENTS as usize);

        let started = Instant::now();
        let report =
            apply(&session, &plan, None, NewPatients::Register, |_| {}).expect("imports again");
        agains.push(started.elapsed());
        assert_eq!(report.outcome.patients_unchanged, PATIENTS as usize);
    }
    println!(
        "import: {PATIENTS} patients, {resources} resources, {} bytes of JSON",
        text.len()
    );
    println!(
        "read and check the file: {:.0} ms",
        median(reads).as_secs_f64() * 1e3
    );
    println!(
        "apply to a new device (one transaction): {:.0} ms",
        median(firsts).as_secs_f64() * 1e3
    );
    println!(
        "apply the same file again (nothing changes): {:.0} ms",
        median(agains).as_secs_f64() * 1e3
    );
}
