//! doorstep-mobile through its generated Python bindings (`scripts/bindings.sh`), as a native
//! shell would use it: a real sync server on loopback, devices enrolled through the bindings, a
//! shift recorded on one and received on the other, wrong-PIN backoff, a Python key store, a
//! revoked device wiped, and `mobile/examples/shift.py` run as written.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use doorstep_sync_server::{App, start};
use doorstep_tests::team::{self, ADMIN_PASSPHRASE};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs a Python script with the bindings on its path; its output, or the test fails with it.
fn python(args: &[&str], env: &[(&str, &str)]) -> String {
    let bindings = repository().join("mobile/bindings/python");
    assert!(
        bindings.join("doorstep_mobile.py").exists(),
        "run scripts/bindings.sh first: {} has no bindings",
        bindings.display()
    );
    let output = Command::new("python3")
        .args(args)
        .current_dir(repository())
        .env("PYTHONPATH", &bindings)
        .env("PYTHONUNBUFFERED", "1")
        .envs(env.iter().copied())
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{args:?} failed:\n{stdout}\n{stderr}"
    );
    eprint!("{stdout}");
    stdout
}

#[tokio::test(flavor = "multi_thread")]
async fn the_mobile_api_works_through_its_python_bindings() {
    let root = tempfile::tempdir().unwrap();
    let server = start(
        App::open(&root.path().join("server.db")).unwrap(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let url = server.url();
    let dir = |name: &str| root.path().join(name).display().to_string();
    let admin_dir = root.path().join("admin");
    let result = tokio::task::spawn_blocking({
        let url = url.clone();
        let (nell, bea, example) = (dir("nell"), dir("bea"), dir("example"));
        let keys = dir("platform-keys.json");
        let (cal, cal_keys) = (dir("cal"), dir("cal-keys.json"));
        move || {
            let mut admin = team::organisation(&admin_dir, &url, "Ambridge Community").unwrap();
            let code = |user: &str| team::nurse_code(&admin, user).unwrap();
            let (nell_code, bea_code, cal_code, example_code) = (
                code("Nell Nightingale"),
                code("Bea Birchall"),
                code("Cal Carter"),
                code("Esme Example"),
            );
            let env = [
                ("DOORSTEP_SERVER", url.as_str()),
                ("NELL_DIR", nell.as_str()),
                ("NELL_CODE", nell_code.as_str()),
                ("BEA_DIR", bea.as_str()),
                ("BEA_CODE", bea_code.as_str()),
                ("KEYS_FILE", keys.as_str()),
                ("CAL_DIR", cal.as_str()),
                ("CAL_CODE", cal_code.as_str()),
                ("CAL_KEYS", cal_keys.as_str()),
            ];
            let shift = python(&["mobile/tests/test_mobile.py", "shift"], &env);
            assert!(shift.contains("checks passed"), "{shift}");
            let nell_device = shift
                .lines()
                .find_map(|line| {
                    let value: serde_json::Value = serde_json::from_str(line).ok()?;
                    value["nell_device"].as_str().map(str::to_owned)
                })
                .expect("the shift phase names Nell's device");
            admin
                .revoke(&admin_dir, ADMIN_PASSPHRASE, nell_device.parse().unwrap())
                .unwrap();
            let revoked = python(&["mobile/tests/test_mobile.py", "revoked"], &env);
            assert!(revoked.contains("checks passed"), "{revoked}");
            let walk = python(
                &["mobile/examples/shift.py", &example, &url, &example_code],
                &[],
            );
            assert!(walk.contains("NEWS2 "), "{walk}");
            assert!(walk.contains("synced: "), "{walk}");
        }
    })
    .await;
    server.stop().await;
    result.unwrap();
}
