//! Export of a long record: 2,000 observation sets (a patient observed four times a day for
//! well over a year) to a UK Core Bundle, built and serialised.

// A benchmark that cannot set up should stop loudly.
#![allow(clippy::expect_used)]

use chrono::{Duration, NaiveDate, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use doorstep_core::news2::ResponseProtocol;
use doorstep_core::observation::{Author, ObservationSet, Role, Scoring};
use doorstep_core::patient::{Address, Demographics, GpPractice, Sex};
use doorstep_core::store::{NewPatient, RecordDoc, Recorded};
use doorstep_core::{
    DeviceId, NhsNumber, ObservationId, PatientId, Spo2Scale, UserId, VitalsInput,
};
use doorstep_fhir::{ExportOptions, observations_bundle};

const SETS: u128 = 2_000;

fn bench(c: &mut Criterion) {
    let author = Author {
        user: UserId::from_u128(7),
        role: Role::Nurse,
        device: DeviceId::from_u128(9),
    };
    let start = Utc::now() - Duration::days(600);
    let new = NewPatient::with_demographics(Demographics {
        nhs_number: NhsNumber::parse("999 100 0100").expect("a valid test number"),
        given: "Una".to_owned(),
        family: "Usher".to_owned(),
        birth_date: NaiveDate::from_ymd_opt(1940, 1, 2).expect("a real date"),
        sex: Sex::Female,
        address: Address {
            lines: vec!["1 Lantern Row".to_owned()],
            town: "Ambridge".to_owned(),
            postcode: "ZZ99 3AB".to_owned(),
        },
        gp_practice: GpPractice {
            ods_code: "Y90001".to_owned(),
            name: "Lantern Row Surgery".to_owned(),
        },
        contacts: Vec::new(),
    });
    let protocol = ResponseProtocol::default();
    let mut doc = RecordDoc::create(
        automerge::ActorId::from(&[9u8; 16][..]),
        &new,
        Recorded {
            by: author,
            at: start,
        },
        &protocol,
    )
    .expect("a record");
    let input: VitalsInput = serde_json::from_str(
        r#"{"respiration_rate": 22, "spo2": 93, "on_oxygen": false, "systolic_bp": 104, "pulse": 112, "consciousness": "A", "temperature": 38.4}"#,
    )
    .expect("benchmark vitals parse");
    let vitals = input.validate().expect("benchmark vitals are valid");
    for n in 0..SETS {
        let taken = start + Duration::hours(6 * i64::try_from(n).expect("small"));
        let set = ObservationSet::record(
            ObservationId::from_u128(n + 1),
            taken,
            author,
            vitals,
            Spo2Scale::Scale1,
            &Scoring::applies(&protocol),
        );
        doc.add_observation(&set).expect("set added");
    }
    let record = doc.read(PatientId::from_u128(1)).expect("record reads");
    let options = ExportOptions::default();
    let bytes = serde_json::to_vec(&observations_bundle(&record, &options)).expect("serialises");
    println!(
        "export: {SETS} sets -> {} resources, {} bytes of JSON",
        observations_bundle(&record, &options).entry.len(),
        bytes.len()
    );
    c.bench_function(
        "fhir export of a 2,000-set record (build + serialise)",
        |b| {
            b.iter(|| {
                let bundle = observations_bundle(std::hint::black_box(&record), &options);
                serde_json::to_vec(&bundle).expect("serialises")
            })
        },
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
