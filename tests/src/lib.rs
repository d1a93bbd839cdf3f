//! # doorstep-tests
//!
//! Benchmarks of the device store at caseload scale live in `benches/store.rs`. This crate will also
//! hold Doorstep's end-to-end tests: several devices syncing
//! through a real sync server started in-process on port 0, and the real desktop window driven
//! through tauri-driver under Xvfb (`cargo test -p doorstep-tests --test desktop_e2e`).
//!
//! The foundation's own end-to-end test, the `doorstep` CLI contract, lives beside the binary in
//! `cli/tests/`. Until the later capabilities land, this crate exports nothing.
