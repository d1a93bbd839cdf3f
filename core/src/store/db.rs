//! The device's SQLite database: one writer connection, WAL with `synchronous=FULL` so a committed
//! transaction survives power loss, and migrations that are only ever appended.
//!
//! Every column that could identify a patient holds a sealed blob; the plaintext columns are random
//! identifiers, counters and staff account data needed before unlock.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::error::Result;

/// Each entry upgrades the schema by one version. Never edit a released entry; append a new one.
const MIGRATIONS: &[&str] = &[
    // 1: the device, its users, sealed patient documents and summaries, the sealed audit chain.
    r#"
    CREATE TABLE device (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        device_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        failed_attempts INTEGER NOT NULL DEFAULT 0,
        locked_until INTEGER NOT NULL DEFAULT 0,
        free_attempts INTEGER NOT NULL,
        base_delay_seconds INTEGER NOT NULL,
        wipe_after INTEGER NOT NULL,
        idle_lock_seconds INTEGER NOT NULL
    );
    CREATE TABLE users (
        user_id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL,
        salt BLOB NOT NULL,
        iterations INTEGER NOT NULL,
        sealer TEXT NOT NULL,
        wrapped_key BLOB NOT NULL,
        created_at INTEGER NOT NULL
    );
    -- Failed unlocks cannot be sealed (no key without the PIN); they wait here, holding no patient
    -- data, and become sealed audit entries at the next successful unlock.
    CREATE TABLE failed_unlocks (
        id INTEGER PRIMARY KEY,
        user_id TEXT NOT NULL,
        at INTEGER NOT NULL
    );
    CREATE TABLE doc_snapshots (
        patient_id TEXT PRIMARY KEY,
        generation INTEGER NOT NULL,
        sealed BLOB NOT NULL
    );
    CREATE TABLE doc_chunks (
        patient_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        sealed BLOB NOT NULL,
        PRIMARY KEY (patient_id, seq)
    );
    CREATE TABLE summaries (
        patient_id TEXT PRIMARY KEY,
        sealed BLOB NOT NULL
    );
    CREATE TABLE observation_index (
        observation_id TEXT PRIMARY KEY,
        patient_id TEXT NOT NULL
    );
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,
        sealed BLOB NOT NULL
    );
    CREATE TABLE audit_head (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        sealed BLOB NOT NULL
    );
    "#,
    // 2: sync. The state (keys, roster, cursor) is one sealed row; per-document upload positions
    // are sealed; dirty_docs lists documents with changes not yet uploaded (random ids only).
    r#"
    CREATE TABLE sync_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        sealed BLOB NOT NULL
    );
    CREATE TABLE doc_sync (
        patient_id TEXT PRIMARY KEY,
        sealed BLOB NOT NULL
    );
    CREATE TABLE dirty_docs (
        patient_id TEXT PRIMARY KEY
    );
    INSERT INTO dirty_docs (patient_id) SELECT patient_id FROM doc_snapshots;
    "#,
];

pub const DATABASE_FILE: &str = "doorstep.db";

pub fn open(dir: &Path, create: bool) -> Result<Connection> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let mut connection = Connection::open_with_flags(dir.join(DATABASE_FILE), flags)?;
    // WAL + FULL: a commit returns only after the WAL is fsynced. Temporary tables and sort
    // spills stay in memory so no unsealed intermediate ever reaches a temp file. Deleted pages
    // are overwritten.
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(None, "synchronous", "FULL")?;
    connection.pragma_update(None, "temp_store", "MEMORY")?;
    connection.pragma_update(None, "secure_delete", "ON")?;
    connection.pragma_update(None, "foreign_keys", "ON")?;
    connection.busy_timeout(std::time::Duration::from_secs(5))?;
    migrate(&mut connection)?;
    Ok(connection)
}

fn migrate(connection: &mut Connection) -> Result<()> {
    let current: usize = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if current >= MIGRATIONS.len() {
        return Ok(());
    }
    let transaction = connection.transaction()?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        transaction.execute_batch(sql)?;
        transaction.pragma_update(None, "user_version", index + 1)?;
    }
    transaction.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_once_and_settings_are_durable() {
        let dir = tempfile::tempdir().unwrap();
        let connection = open(dir.path(), true).unwrap();
        let version: usize = connection
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len());
        let mode: String = connection
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let synchronous: i64 = connection
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap();
        assert_eq!(synchronous, 2, "synchronous must be FULL");
        drop(connection);
        assert!(open(dir.path(), false).is_ok());
    }
}
