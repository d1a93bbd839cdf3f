//! The server's SQLite database: organisations' public keys, signed memberships and grants, device
//! public keys, and the ordered log of sealed units. Nothing here can open a unit.

use std::path::Path;

use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    r#"
    CREATE TABLE orgs (
        org TEXT PRIMARY KEY,
        admin_key BLOB NOT NULL
    );
    CREATE TABLE teams (
        team TEXT PRIMARY KEY,
        org TEXT NOT NULL REFERENCES orgs (org),
        version INTEGER NOT NULL,
        membership TEXT NOT NULL
    );
    CREATE TABLE lockboxes (
        team TEXT NOT NULL,
        device TEXT NOT NULL,
        epoch INTEGER NOT NULL,
        sealed BLOB NOT NULL,
        PRIMARY KEY (team, device, epoch)
    );
    CREATE TABLE grants (
        token_hash TEXT PRIMARY KEY,
        team TEXT NOT NULL REFERENCES teams (team),
        signed_grant TEXT NOT NULL,
        code_lockbox BLOB NOT NULL,
        endorsement TEXT,
        device TEXT
    );
    CREATE TABLE devices (
        device TEXT PRIMARY KEY,
        team TEXT NOT NULL REFERENCES teams (team),
        user_name TEXT NOT NULL,
        role TEXT NOT NULL,
        signing_key BLOB NOT NULL,
        revoked INTEGER NOT NULL DEFAULT 0,
        enrolled_at INTEGER NOT NULL
    );
    CREATE TABLE units (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        team TEXT NOT NULL,
        author TEXT NOT NULL,
        counter INTEGER NOT NULL,
        doc TEXT NOT NULL,
        unit TEXT NOT NULL,
        UNIQUE (author, counter)
    );
    CREATE INDEX units_by_team ON units (team, seq);
    CREATE TABLE nonces (
        nonce TEXT PRIMARY KEY,
        at INTEGER NOT NULL
    );
"#,
    // 2: audit units travel with record units but only the organisation reads them.
    r#"
    ALTER TABLE units ADD COLUMN kind TEXT NOT NULL DEFAULT 'changes';
    CREATE INDEX units_by_team_kind ON units (team, kind, seq);
"#,
];

pub fn open(path: &Path) -> anyhow::Result<Connection> {
    let mut connection = Connection::open(path)?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(None, "synchronous", "FULL")?;
    connection.pragma_update(None, "foreign_keys", "ON")?;
    connection.busy_timeout(std::time::Duration::from_secs(5))?;
    let current: usize = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let transaction = connection.transaction()?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        transaction.execute_batch(sql)?;
        transaction.pragma_update(None, "user_version", index + 1)?;
    }
    transaction.commit()?;
    Ok(connection)
}
