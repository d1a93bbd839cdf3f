//! Chooses the Argon2id parameters for PIN keys: how long one derivation takes on this machine at
//! several memory and pass counts. The product's choice (`PinKdf::DEFAULT`) is the strongest whose
//! time leaves unlock within its 1 s budget on a slower tablet. Prints a table; asserts nothing.
//!
//! `cargo bench -p doorstep-core --bench pin_kdf`

use std::time::{Duration, Instant};

use doorstep_core::crypto::PinKdf;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let salt = [7u8; 16];
    println!("| memory | passes | median of 5 | per guess on one core (attacker) |");
    println!("|---|---|---|---|");
    for memory_mib in [19u32, 46, 64, 128] {
        for iterations in [1u32, 2, 3, 4] {
            let kdf = PinKdf::Argon2id {
                memory_kib: memory_mib * 1024,
                iterations,
                lanes: 1,
            };
            let samples: Vec<Duration> = (0..5)
                .map(|_| {
                    let start = Instant::now();
                    let key = kdf.derive("246810", &salt);
                    let elapsed = start.elapsed();
                    std::hint::black_box(key.is_ok());
                    elapsed
                })
                .collect();
            let time = median(samples);
            let marker = if kdf == PinKdf::DEFAULT {
                " (DEFAULT)"
            } else {
                ""
            };
            println!(
                "| {memory_mib} MiB | {iterations} | {:.0} ms{marker} | 10^6 PINs ≈ {:.1} core-hours |",
                time.as_secs_f64() * 1000.0,
                time.as_secs_f64() * 1e6 / 3600.0
            );
        }
    }
    let pbkdf2 = PinKdf::Pbkdf2Sha256 {
        iterations: 600_000,
    };
    let start = Instant::now();
    let _ = pbkdf2.derive("246810", &salt);
    println!(
        "| PBKDF2-SHA256 600,000 (before) | – | {:.0} ms | no memory cost: GPUs run thousands in parallel |",
        start.elapsed().as_secs_f64() * 1000.0
    );
}
