//! End-to-end encrypted sync, without network I/O: keys, the signed roster of who may write, the
//! sealed units that carry Automerge changes, and the wire messages. The store turns local changes
//! into units and applies pulled units (`store::sync`); a transport at the edge (the CLI's reqwest
//! client, or a platform's) moves the messages.

pub mod admin;
pub mod enrolment;
pub mod keys;
pub mod payload;
pub mod roster;
pub mod unit;
pub mod wire;
