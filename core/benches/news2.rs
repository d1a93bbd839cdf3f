//! How long NEWS2 takes to validate and score one set: it runs as each value is typed, so it must
//! be negligible next to a frame (16 ms).

// A benchmark that cannot set up should stop loudly.
#![allow(clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use doorstep_core::news2::{self, ResponseProtocol};
use doorstep_core::vitals::VitalsInput;

fn bench(c: &mut Criterion) {
    let line = r#"{"respiration_rate": 22, "spo2": 93, "spo2_scale": 2, "on_oxygen": true, "systolic_bp": 104, "pulse": 112, "consciousness": "A", "temperature": 38.4}"#;
    let (input, scale) = VitalsInput::from_json(line).expect("benchmark input is valid");
    let vitals = input.validate().expect("benchmark input is valid");
    let protocol = ResponseProtocol::default();

    c.bench_function("news2 score a complete set", |b| {
        b.iter(|| news2::score(std::hint::black_box(&vitals), scale))
    });
    c.bench_function("news2 parse, validate, score and word one JSON line", |b| {
        b.iter(|| {
            let (input, scale) = VitalsInput::from_json(std::hint::black_box(line))?;
            let result = news2::score(&input.validate()?, scale);
            Ok::<_, doorstep_core::VitalsError>(protocol.guidance_for(&result))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
