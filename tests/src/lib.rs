//! # doorstep-tests
//!
//! End-to-end tests and benchmarks across Doorstep's crates: the device store at caseload scale
//! (`benches/store.rs`), sync over loopback and emulated 3G (`benches/sync.rs`), many devices on
//! one or two server instances (`benches/load.rs`).
//!
//! The library holds what several test suites share: a throwaway PostgreSQL cluster
//! ([`postgres::Cluster`]) for the sync server's conformance suite and load benchmark, and a
//! device reduced to what the server sees ([`sim_device::SimDevice`]), and the real desktop app
//! under Xvfb and tauri-driver ([`desktop::Desktop`]), and a test organisation with the shift the
//! sync benchmarks measure ([`team`]), an emulated 3G link ([`link`]), and a byte count of sync traffic by category ([`wire`]).

pub mod desktop;
pub mod link;
pub mod postgres;
pub mod sim_device;
pub mod team;
pub mod wire;
