//! Every byte of a shift's sync, counted at the socket, and its time over an emulated 3G link
//! (issue 14). `cargo build --release -p doorstep-cli && cargo bench -p doorstep-tests --bench
//! wire_bytes` (without the CLI binary, the CLI timing is skipped with a note).
//!
//! The shift: device A registers 20 new patients, records 3 observation sets and a visit note for
//! each, and syncs; device B syncs and receives it. A counting proxy between the devices and the
//! server keeps every byte; [`doorstep_tests::wire`] puts them in categories (HTTP framing,
//! request signing, record units, audit units, the roster and keys, sequence numbers, the JSON
//! around them). A gzip body's bytes are shared among its parts in proportion to their JSON.
//!
//! Then the same shift (new patients) through the 3G link emulator: the library's sync on
//! sessions already unlocked, and the CLI's `doorstep sync`, whose report times the sync itself
//! (net of process start and unlock).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{TimeZone, Utc};
use doorstep_tests::team::ShiftText;
use doorstep_tests::wire::{SHIFT_SETS, local_server, shift_on_the_wire, shift_patients};
use doorstep_tests::{link, team};

const PIN: &str = "246810";

fn main() {
    let work = tempfile::tempdir().unwrap();
    let bytes = shift_on_the_wire(&work.path().join("bytes"), ShiftText::Fixtures);
    println!(
        "shift: 20 new patients, 60 observation sets, 20 notes; A uploaded {} records, B downloaded {}",
        bytes.uploaded, bytes.downloaded
    );
    bytes
        .a
        .print("device A uploads (A's traffic both ways)", SHIFT_SETS);
    bytes
        .b
        .print("device B downloads (B's traffic both ways)", SHIFT_SETS);
    println!(
        "total on the wire for the shift: {} B = {:.0} B per observation set (target ≤ 700)",
        bytes.a.total() + bytes.b.total(),
        bytes.per_set()
    );
    // Fixture text repeats across patients (phrase banks, name lists), which sealing the shift's
    // records together turns into savings; text that never repeats is the honest worst case.
    let random = shift_on_the_wire(&work.path().join("random"), ShiftText::RandomLetters);
    println!(
        "the same shift with every free-text field random letters: {} B = {:.0} B per observation set",
        random.a.total() + random.b.total(),
        random.per_set()
    );
    three_g(&work.path().join("3g"));
}

/// The shift's sync time each way over the emulated 3G link, through the library and the CLI.
fn three_g(work: &Path) {
    let (runtime, server) = local_server(work);
    let (down_bps, up_bps, one_way) = link::THREE_G;
    let proxy = runtime
        .block_on(link::start(server.addr, down_bps, up_bps, one_way))
        .unwrap();
    let url = format!("http://{proxy}");
    let admin = team::organisation(&work.join("admin"), &server.url(), "Bench Trust").unwrap();
    let device = |name: &str| {
        let code = team::nurse_code(&admin, name).unwrap();
        doorstep_transport::enrol(&work.join(name), &url, &code, PIN).unwrap()
    };
    let (c, d) = (device("c"), device("d"));
    for session in [&c, &d, &c] {
        doorstep_transport::sync(session, |_| {}).unwrap();
    }
    let now = Utc.with_ymd_and_hms(2026, 11, 26, 8, 0, 0).unwrap();
    let ids = c
        .import_patients(&shift_patients(9, 0, now, ShiftText::Fixtures), |_| {})
        .unwrap();
    team::record_shift(&c, &ids, now, ShiftText::Fixtures).unwrap();
    let started = Instant::now();
    let up = doorstep_transport::sync(&c, |_| {}).unwrap();
    let up_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let down = doorstep_transport::sync(&d, |_| {}).unwrap();
    let down_seconds = started.elapsed().as_secs_f64();
    println!(
        "\nthe shift over emulated 3G (1.6 Mbit/s down, 0.75 up, 150 ms round trip), sessions unlocked: up {up_seconds:.2} s ({} records), down {down_seconds:.2} s ({} records) (target ≤ 0.6 s each way)",
        up.uploaded, down.downloaded
    );

    let Some(cli) = cli_binary() else {
        println!("CLI timing skipped: build it first with `cargo build --release -p doorstep-cli`");
        runtime.block_on(server.stop());
        return;
    };
    let (e, f) = (device("e"), device("f"));
    for session in [&e, &f, &e] {
        doorstep_transport::sync(session, |_| {}).unwrap();
    }
    let ids = e
        .import_patients(&shift_patients(9, 20, now, ShiftText::Fixtures), |_| {})
        .unwrap();
    team::record_shift(&e, &ids, now, ShiftText::Fixtures).unwrap();
    drop((e, f));
    let cli_sync = |name: &str| -> serde_json::Value {
        let output = std::process::Command::new(&cli)
            .args([
                "--data-dir",
                &work.join(name).display().to_string(),
                "--json",
                "sync",
            ])
            .env("DOORSTEP_PIN", PIN)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        serde_json::from_slice(&output.stdout).unwrap()
    };
    let up = cli_sync("e");
    let down = cli_sync("f");
    println!(
        "the same through `doorstep sync` (its own elapsed_ms: from the first request to the last answer applied): up {:.2} s ({} records), down {:.2} s ({} records)",
        up["elapsed_ms"].as_f64().unwrap() / 1000.0,
        up["uploaded"],
        down["elapsed_ms"].as_f64().unwrap() / 1000.0,
        down["downloaded"]
    );
    runtime.block_on(server.stop());
}

/// The release CLI in this workspace's target directory, if it has been built.
fn cli_binary() -> Option<PathBuf> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    Some(target.join("release/doorstep")).filter(|path| path.exists())
}
