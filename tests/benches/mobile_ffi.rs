//! The cost of an FFI call for the caseload of 1,000 patients, from Python through the generated
//! bindings (target: ≤ 50 ms, conversion included). Needs the optimised bindings:
//!
//!     bash scripts/bindings.sh --release && cargo bench -p doorstep-tests --bench mobile_ffi
//!
//! Builds a device store of 1,000 synthetic patients with the core, then runs
//! `mobile/benches/caseload.py` against it, which prints the numbers.

// A benchmark that cannot set up should stop loudly.
#![allow(clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use doorstep_core::observation::Role;
use doorstep_core::store::{Device, UnlockPolicy};
use doorstep_fixtures::{CaseloadSpec, caseload};

const PIN: &str = "246810";
const PATIENTS: usize = 1_000;

fn main() {
    let repository = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let bindings = repository.join("mobile/bindings/python");
    assert!(
        bindings.join("doorstep_mobile.py").exists(),
        "run `bash scripts/bindings.sh --release` first"
    );
    let dir = tempfile::tempdir().expect("a temporary directory");
    let session = Device::create(
        dir.path(),
        "Nell Nightingale",
        Role::Nurse,
        PIN,
        UnlockPolicy::default(),
    )
    .expect("a device store");
    let spec = CaseloadSpec::new(PATIENTS, 2026, chrono::Utc::now());
    let patients: Vec<_> = caseload(&spec).iter().map(|p| p.to_new_patient()).collect();
    session
        .import_patients(&patients, |_| {})
        .expect("the caseload loads");
    drop(session);
    let status = Command::new("python3")
        .arg(repository.join("mobile/benches/caseload.py"))
        .arg(dir.path())
        .arg(PIN)
        .env("PYTHONPATH", &bindings)
        .status()
        .expect("python3 runs");
    assert!(status.success(), "the Python benchmark failed");
}
