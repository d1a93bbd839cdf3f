//! # doorstep-mobile
//!
//! **Not built yet.** This crate will be the one place that knows uniffi: small wrappers that expose
//! `doorstep-core`'s facade to Kotlin (Android) and Swift (iOS) shells, plus the Tauri mobile
//! configuration. No other crate depends on uniffi.
//!
//! Until then the crate exports nothing.
