//! # doorstep-transport
//!
//! Moves the sync protocol's messages between a device (or an administrator) and the sync server
//! over HTTP(S), with reqwest and rustls on ring's provider. The protocol itself lives in
//! `doorstep-core`, which does no network I/O; this crate only carries its messages, signs
//! requests with the keys the core holds, retries with backoff, and reports progress.

mod admin;
mod client;
mod sync;

pub use admin::{AdminClient, EnrolmentIssued};
pub use client::{HttpClient, TransportError, install_crypto_provider};
pub use sync::{
    ChangeNotice, SNAPSHOT_AFTER_UNITS, SyncProgress, SyncReport, enrol, enrol_in, listen,
    listen_while, sync,
};
