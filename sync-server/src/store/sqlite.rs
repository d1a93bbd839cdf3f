//! The embedded backend: one SQLite file, one writer behind a lock (SQLite has one writer anyway),
//! each operation in one transaction on a blocking thread.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::broadcast;

use super::{
    DeviceKey, DeviceListing, Enrolled, GrantRow, MembershipWrite, NewDevice, NewUnit, Push,
    RosterRows, Stream, Team, kind_name, notices,
};
use crate::error::{ApiError, ApiResult};

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

#[derive(Debug)]
pub struct Sqlite {
    connection: Arc<Mutex<Connection>>,
    push: broadcast::Sender<Push>,
}

impl Sqlite {
    pub fn open(path: &Path, push: broadcast::Sender<Push>) -> anyhow::Result<Self> {
        let mut connection = Connection::open(path)?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "FULL")?;
        connection.pragma_update(None, "foreign_keys", "ON")?;
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
        let current: usize =
            connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
        let transaction = connection.transaction()?;
        for (index, sql) in MIGRATIONS.iter().enumerate().skip(current) {
            transaction.execute_batch(sql)?;
            transaction.pragma_update(None, "user_version", index + 1)?;
        }
        transaction.commit()?;
        Ok(Self {
            connection: Arc::new(Mutex::new(connection)),
            push,
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> ApiResult<T> + Send + 'static,
    ) -> ApiResult<T> {
        let connection = Arc::clone(&self.connection);
        tokio::task::spawn_blocking(move || {
            let mut connection = connection
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            work(&mut connection)
        })
        .await
        .map_err(ApiError::internal)?
    }

    pub async fn org_key(&self, org: String) -> ApiResult<Option<Vec<u8>>> {
        self.run(move |c| {
            Ok(c.query_row(
                "SELECT admin_key FROM orgs WHERE org = ?1",
                params![org],
                |r| r.get(0),
            )
            .optional()?)
        })
        .await
    }

    pub async fn register_org(&self, org: String, key: Vec<u8>) -> ApiResult<Vec<u8>> {
        self.run(move |c| {
            let transaction = c.transaction()?;
            transaction.execute(
                "INSERT INTO orgs (org, admin_key) VALUES (?1, ?2) ON CONFLICT (org) DO NOTHING",
                params![org, key],
            )?;
            let stored = transaction.query_row(
                "SELECT admin_key FROM orgs WHERE org = ?1",
                params![org],
                |r| r.get(0),
            )?;
            transaction.commit()?;
            Ok(stored)
        })
        .await
    }

    pub async fn spend_nonce(
        &self,
        nonce: String,
        at: i64,
        forget_before: Option<i64>,
    ) -> ApiResult<bool> {
        self.run(move |c| {
            if let Some(before) = forget_before {
                c.execute("DELETE FROM nonces WHERE at < ?1", params![before])?;
            }
            let inserted = c.execute(
                "INSERT INTO nonces (nonce, at) VALUES (?1, ?2) ON CONFLICT (nonce) DO NOTHING",
                params![nonce, at],
            )?;
            Ok(inserted == 1)
        })
        .await
    }

    pub async fn device(&self, device: String) -> ApiResult<Option<DeviceKey>> {
        self.run(move |c| {
            Ok(c.prepare_cached(
                "SELECT team, signing_key, revoked FROM devices WHERE device = ?1",
            )?
            .query_row(params![device], |r| {
                Ok(DeviceKey {
                    team: r.get(0)?,
                    signing_key: r.get(1)?,
                    revoked: r.get(2)?,
                })
            })
            .optional()?)
        })
        .await
    }

    pub async fn team(&self, team: String) -> ApiResult<Option<Team>> {
        self.run(move |c| read_team(c, &team)).await
    }

    pub async fn publish_membership(&self, write: MembershipWrite) -> ApiResult<()> {
        self.run(move |c| {
            let transaction = c.transaction()?;
            super::check_newer(read_team(&transaction, &write.team)?, &write)?;
            transaction.execute(
                "INSERT INTO teams (team, org, version, membership) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (team) DO UPDATE SET version = excluded.version, membership = excluded.membership",
                params![write.team, write.org, write.version, write.signed],
            )?;
            let now = chrono::Utc::now().timestamp();
            for member in &write.members {
                transaction.execute(
                    "INSERT INTO devices (device, team, user_name, role, signing_key, revoked, enrolled_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6) ON CONFLICT (device) DO NOTHING",
                    params![member.device, write.team, member.user_name, member.role, member.signing_key, now],
                )?;
            }
            for device in &write.revoked {
                transaction.execute(
                    "UPDATE devices SET revoked = 1 WHERE device = ?1 AND team = ?2",
                    params![device, write.team],
                )?;
            }
            for lockbox in &write.lockboxes {
                transaction.execute(
                    "INSERT INTO lockboxes (team, device, epoch, sealed) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (team, device, epoch) DO UPDATE SET sealed = excluded.sealed",
                    params![write.team, lockbox.device, lockbox.epoch, lockbox.sealed],
                )?;
            }
            transaction.commit()?;
            Ok(())
        })
        .await
    }

    pub async fn insert_grant(
        &self,
        token_hash: String,
        team: String,
        signed_grant: String,
        code_lockbox: Vec<u8>,
    ) -> ApiResult<()> {
        self.run(move |c| {
            let inserted = c.execute(
                "INSERT INTO grants (token_hash, team, signed_grant, code_lockbox) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (token_hash) DO NOTHING",
                params![token_hash, team, signed_grant, code_lockbox],
            )?;
            if inserted == 0 {
                return Err(super::grant_exists());
            }
            Ok(())
        })
        .await
    }

    pub async fn grant(&self, token_hash: String) -> ApiResult<Option<GrantRow>> {
        self.run(move |c| {
            Ok(c.query_row(
                "SELECT g.team, t.org, o.admin_key, g.signed_grant, g.code_lockbox
                 FROM grants g JOIN teams t ON t.team = g.team JOIN orgs o ON o.org = t.org
                 WHERE g.token_hash = ?1",
                params![token_hash],
                |r| {
                    Ok(GrantRow {
                        team: r.get(0)?,
                        org: r.get(1)?,
                        admin_key: r.get(2)?,
                        signed_grant: r.get(3)?,
                        code_lockbox: r.get(4)?,
                    })
                },
            )
            .optional()?)
        })
        .await
    }

    pub async fn complete_enrolment(
        &self,
        token_hash: String,
        team: String,
        device: NewDevice,
        endorsement: String,
    ) -> ApiResult<Enrolled> {
        self.run(move |c| {
            let transaction = c.transaction()?;
            let used_by: Option<Option<String>> = transaction
                .query_row(
                    "SELECT device FROM grants WHERE token_hash = ?1",
                    params![token_hash],
                    |r| r.get(0),
                )
                .optional()?;
            let used_by = used_by.ok_or_else(super::unknown_code)?;
            if let Some(outcome) = super::code_reuse(used_by.as_deref(), &device.device)? {
                return Ok(outcome);
            }
            let inserted = transaction.execute(
                "INSERT INTO devices (device, team, user_name, role, signing_key, revoked, enrolled_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6) ON CONFLICT (device) DO NOTHING",
                params![device.device, team, device.user_name, device.role, device.signing_key, chrono::Utc::now().timestamp()],
            )?;
            if inserted == 0 {
                return Err(super::device_exists());
            }
            transaction.execute(
                "UPDATE grants SET endorsement = ?1, device = ?2 WHERE token_hash = ?3",
                params![endorsement, device.device, token_hash],
            )?;
            transaction.commit()?;
            Ok(Enrolled::Now)
        })
        .await
    }

    pub async fn roster(&self, team: String, device: Option<String>) -> ApiResult<RosterRows> {
        self.run(move |c| {
            let transaction = c.transaction()?;
            let membership = read_team(&transaction, &team)?.map(|team| team.membership);
            let enrolments = transaction
                .prepare_cached(
                    "SELECT signed_grant, endorsement FROM grants
                     WHERE team = ?1 AND endorsement IS NOT NULL ORDER BY token_hash",
                )?
                .query_map(params![team], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            let lockboxes = match device {
                Some(device) => transaction
                    .prepare_cached(
                        "SELECT epoch, sealed FROM lockboxes WHERE team = ?1 AND device = ?2 ORDER BY epoch",
                    )?
                    .query_map(params![team, device], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<_, _>>()?,
                None => Vec::new(),
            };
            Ok(RosterRows {
                membership,
                enrolments,
                lockboxes,
            })
        })
        .await
    }

    pub async fn append(
        &self,
        team: String,
        author: String,
        units: Vec<NewUnit>,
    ) -> ApiResult<Vec<u64>> {
        let push = self.push.clone();
        self.run(move |c| {
            let transaction = c.transaction()?;
            let mut stored = Vec::with_capacity(units.len());
            for unit in &units {
                let inserted = transaction
                    .prepare_cached(
                        "INSERT INTO units (team, author, counter, doc, unit, kind) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                         ON CONFLICT (author, counter) DO NOTHING",
                    )?
                    .execute(params![team, author, unit.counter, unit.doc, unit.json, kind_name(unit.kind)])?;
                let (seq, first): (u64, String) = transaction
                    .prepare_cached("SELECT seq, unit FROM units WHERE author = ?1 AND counter = ?2")?
                    .query_row(params![author, unit.counter], |r| Ok((r.get(0)?, r.get(1)?)))?;
                if inserted == 0 && first != unit.json {
                    return Err(super::counter_reused());
                }
                if let Some(covers) = super::snapshot_covers(unit, seq)? {
                    transaction.execute(
                        "DELETE FROM units WHERE team = ?1 AND doc = ?2 AND kind IN ('changes', 'snapshot') AND seq <= ?3",
                        params![team, unit.doc, covers],
                    )?;
                }
                stored.push((unit.doc.clone(), unit.kind, seq));
            }
            transaction.commit()?;
            for notice in notices(&team, &stored) {
                // No subscriber is not an error: nobody is listening right now.
                let _ = push.send(Push::Changed(notice));
            }
            Ok(stored.into_iter().map(|(_, _, seq)| seq).collect())
        })
        .await
    }

    pub async fn page(
        &self,
        team: String,
        stream: Stream,
        after: u64,
        limit: usize,
    ) -> ApiResult<Vec<(u64, String)>> {
        self.run(move |c| {
            let sql = match stream {
                Stream::Records => {
                    "SELECT seq, unit FROM units WHERE team = ?1 AND kind IN ('changes', 'snapshot', 'bundle')
                     AND seq > ?2 ORDER BY seq LIMIT ?3"
                }
                Stream::Audit => {
                    "SELECT seq, unit FROM units WHERE team = ?1 AND kind = 'audit'
                     AND seq > ?2 ORDER BY seq LIMIT ?3"
                }
            };
            Ok(c.prepare_cached(sql)?
                .query_map(params![team, after, limit], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?)
        })
        .await
    }

    pub async fn org_devices(&self, org: String) -> ApiResult<Vec<DeviceListing>> {
        self.run(move |c| {
            Ok(c.prepare(
                "SELECT d.device, d.team, d.user_name, d.role, d.signing_key, d.revoked, d.enrolled_at
                 FROM devices d JOIN teams t ON t.team = d.team WHERE t.org = ?1
                 ORDER BY d.enrolled_at, d.device",
            )?
            .query_map(params![org], |r| {
                Ok(DeviceListing {
                    device: r.get(0)?,
                    team: r.get(1)?,
                    user_name: r.get(2)?,
                    role: r.get(3)?,
                    signing_key: r.get(4)?,
                    revoked: r.get(5)?,
                    enrolled_at: r.get(6)?,
                })
            })?
            .collect::<Result<_, _>>()?)
        })
        .await
    }
}

fn read_team(connection: &Connection, team: &str) -> ApiResult<Option<Team>> {
    Ok(connection
        .prepare_cached("SELECT org, version, membership FROM teams WHERE team = ?1")?
        .query_row(params![team], |r| {
            Ok(Team {
                org: r.get(0)?,
                version: r.get(1)?,
                membership: r.get(2)?,
            })
        })
        .optional()?)
}
