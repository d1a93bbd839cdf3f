//! # doorstep-sync-server
//!
//! **Not built yet.** This crate will hold Doorstep's sync server (the "End-to-end encrypted sync"
//! capability): a tokio + axum service that enrols devices, stores each team's sealed Automerge
//! change chunks and snapshots, assigns them a monotonically increasing sequence, serves paged pulls
//! after a cursor and pushes "document X changed at sequence N" notices. Its backends will be an
//! embedded SQLite file by default and PostgreSQL (tokio-postgres) to scale out.
//!
//! Architecture invariant: the server never holds a key that opens patient data. It routes, orders
//! and stores ciphertext only.
//!
//! Until then the crate exports nothing, so nothing can depend on a server that does not exist.
