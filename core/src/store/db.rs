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
    // 3: memory-hard PIN keys (the key-derivation parameters stored beside each wrapped key; the
    // existing PBKDF2 keys are re-wrapped at their next unlock), and quarantined sync units: units
    // that cannot be applied yet (author not yet in the roster, key not yet received, changes
    // they depend on not yet arrived), kept sealed and retried at every pull.
    r#"
    ALTER TABLE users ADD COLUMN kdf TEXT NOT NULL DEFAULT '';
    UPDATE users SET kdf = 'pbkdf2-sha256:i=' || iterations;
    ALTER TABLE device ADD COLUMN pin_kdf TEXT NOT NULL DEFAULT 'argon2id:m=65536,t=3,p=1';
    -- Which key sealer wraps the users' keys: the software one (key file beside the database)
    -- or a platform key store's.
    ALTER TABLE device ADD COLUMN sealer TEXT NOT NULL DEFAULT 'software-v1';
    CREATE TABLE quarantine (
        seq INTEGER PRIMARY KEY,
        sealed BLOB NOT NULL
    );
    "#,
    // 4: a half-entered form per user, sealed, kept across the idle lock.
    r#"
    CREATE TABLE drafts (
        user_id TEXT PRIMARY KEY,
        sealed BLOB NOT NULL
    );
    "#,
    // 5: a document's changes since it was marked dirty are counted, so an upload confirmed
    // after the clinician changed the record again (during the sync) leaves it marked.
    r#"
    ALTER TABLE dirty_docs ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
    "#,
];

pub const DATABASE_FILE: &str = "doorstep.db";

pub fn open(dir: &Path, create: bool) -> Result<Connection> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    if create {
        create_private(&dir.join(DATABASE_FILE))?;
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
    restrict_to_owner(dir)?;
    Ok(connection)
}

/// Creates the database file readable by its owner only, before SQLite opens it: SQLite gives its
/// WAL and shared-memory files the database file's permissions.
fn create_private(path: &Path) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)?;
    Ok(())
}

/// Owner-only permissions on the data directory and every database file in it, including stores
/// created before this rule.
fn restrict_to_owner(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        for name in [
            DATABASE_FILE.to_owned(),
            format!("{DATABASE_FILE}-wal"),
            format!("{DATABASE_FILE}-shm"),
        ] {
            match std::fs::set_permissions(dir.join(name), std::fs::Permissions::from_mode(0o600)) {
                Ok(()) => {}
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => return Err(error.into()),
            }
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
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

    #[cfg(unix)]
    #[test]
    fn the_database_its_wal_and_the_directory_are_private_to_the_owner() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let connection = open(dir.path(), true).unwrap();
        connection
            .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
        let mode = |name: &str| {
            std::fs::metadata(dir.path().join(name))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode(DATABASE_FILE), 0o600);
        assert_eq!(mode(&format!("{DATABASE_FILE}-wal")), 0o600);
        assert_eq!(mode(""), 0o700);
    }
}
