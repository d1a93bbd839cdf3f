//! The scale-out backend: PostgreSQL through a connection pool, so that several stateless server
//! instances can share one database.
//!
//! Two things single-process SQLite gets for free need care here:
//! - **Order.** Devices pull "units after my cursor", so within a team a unit with a higher
//!   sequence must never become visible before one with a lower sequence. Units of a team are
//!   therefore appended under a per-team transaction-scoped advisory lock: sequences are drawn and
//!   committed in the same order.
//! - **Push across instances.** A device listens on one instance and its colleague uploads through
//!   another. Appends raise `NOTIFY doorstep_units` inside their transaction (delivered only on
//!   commit), and every instance `LISTEN`s and forwards to its own connected devices.

use std::time::Duration;

use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod};
use futures_util::StreamExt;
use tokio::sync::broadcast;
use tokio_postgres::{AsyncMessage, NoTls};

use super::{
    DeviceKey, DeviceListing, Enrolled, GrantRow, MembershipWrite, NewDevice, NewUnit, Notice,
    Push, RosterRows, Stream, Team, kind_name, notices,
};
use crate::error::{ApiError, ApiResult};

const CHANNEL: &str = "doorstep_units";
/// Key of the advisory lock that lets one instance at a time bring the schema up to date.
const MIGRATION_LOCK: i64 = 0x646f_6f72_7374_6570;
const POOL_SIZE: usize = 16;

const MIGRATIONS: &[&str] = &[r#"
    CREATE TABLE orgs (
        org TEXT PRIMARY KEY,
        admin_key BYTEA NOT NULL
    );
    CREATE TABLE teams (
        team TEXT PRIMARY KEY,
        org TEXT NOT NULL REFERENCES orgs (org),
        version BIGINT NOT NULL,
        membership TEXT NOT NULL
    );
    CREATE TABLE lockboxes (
        team TEXT NOT NULL,
        device TEXT NOT NULL,
        epoch BIGINT NOT NULL,
        sealed BYTEA NOT NULL,
        PRIMARY KEY (team, device, epoch)
    );
    CREATE TABLE grants (
        token_hash TEXT PRIMARY KEY,
        team TEXT NOT NULL REFERENCES teams (team),
        signed_grant TEXT NOT NULL,
        code_lockbox BYTEA NOT NULL,
        endorsement TEXT,
        device TEXT
    );
    CREATE TABLE devices (
        device TEXT PRIMARY KEY,
        team TEXT NOT NULL REFERENCES teams (team),
        user_name TEXT NOT NULL,
        role TEXT NOT NULL,
        signing_key BYTEA NOT NULL,
        revoked BOOLEAN NOT NULL DEFAULT false,
        enrolled_at BIGINT NOT NULL
    );
    CREATE TABLE units (
        seq BIGSERIAL PRIMARY KEY,
        team TEXT NOT NULL,
        author TEXT NOT NULL,
        counter BIGINT NOT NULL,
        doc TEXT NOT NULL,
        kind TEXT NOT NULL,
        unit TEXT NOT NULL,
        UNIQUE (author, counter)
    );
    CREATE INDEX units_by_team ON units (team, seq);
    CREATE INDEX units_by_team_kind ON units (team, kind, seq);
    CREATE TABLE nonces (
        nonce TEXT PRIMARY KEY,
        at BIGINT NOT NULL
    );
    CREATE INDEX nonces_by_time ON nonces (at);
"#];

#[derive(Debug)]
pub struct Postgres {
    pool: Pool,
    listener: tokio::task::JoinHandle<()>,
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

fn to_i64(value: u64) -> ApiResult<i64> {
    i64::try_from(value).map_err(|_| ApiError::bad_request("a number in the request is too large"))
}

fn to_u64(value: i64) -> ApiResult<u64> {
    u64::try_from(value).map_err(ApiError::internal)
}

impl Postgres {
    pub async fn connect(url: &str, push: broadcast::Sender<Push>) -> anyhow::Result<Self> {
        let config: tokio_postgres::Config = url.parse()?;
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager).max_size(POOL_SIZE).build()?;
        migrate(&pool).await?;
        let listener = tokio::spawn(listen(config, push));
        Ok(Self { pool, listener })
    }

    async fn client(&self) -> ApiResult<deadpool_postgres::Object> {
        Ok(self.pool.get().await?)
    }

    pub async fn org_key(&self, org: String) -> ApiResult<Option<Vec<u8>>> {
        let client = self.client().await?;
        let row = client
            .query_opt("SELECT admin_key FROM orgs WHERE org = $1", &[&org])
            .await?;
        Ok(row.map(|row| row.try_get(0)).transpose()?)
    }

    pub async fn register_org(&self, org: String, key: Vec<u8>) -> ApiResult<Vec<u8>> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await?;
        transaction
            .execute(
                "INSERT INTO orgs (org, admin_key) VALUES ($1, $2) ON CONFLICT (org) DO NOTHING",
                &[&org, &key],
            )
            .await?;
        let stored = transaction
            .query_one("SELECT admin_key FROM orgs WHERE org = $1", &[&org])
            .await?
            .try_get(0)?;
        transaction.commit().await?;
        Ok(stored)
    }

    pub async fn spend_nonce(
        &self,
        nonce: String,
        at: i64,
        forget_before: Option<i64>,
    ) -> ApiResult<bool> {
        let client = self.client().await?;
        if let Some(before) = forget_before {
            client
                .execute("DELETE FROM nonces WHERE at < $1", &[&before])
                .await?;
        }
        let statement = client
            .prepare_cached(
                "INSERT INTO nonces (nonce, at) VALUES ($1, $2) ON CONFLICT (nonce) DO NOTHING",
            )
            .await?;
        Ok(client.execute(&statement, &[&nonce, &at]).await? == 1)
    }

    pub async fn device(&self, device: String) -> ApiResult<Option<DeviceKey>> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached("SELECT team, signing_key, revoked FROM devices WHERE device = $1")
            .await?;
        let Some(row) = client.query_opt(&statement, &[&device]).await? else {
            return Ok(None);
        };
        Ok(Some(DeviceKey {
            team: row.try_get(0)?,
            signing_key: row.try_get(1)?,
            revoked: row.try_get(2)?,
        }))
    }

    pub async fn team(&self, team: String) -> ApiResult<Option<Team>> {
        let client = self.client().await?;
        read_team(&client, &team, false).await
    }

    pub async fn publish_membership(&self, write: MembershipWrite) -> ApiResult<()> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await?;
        super::check_newer(read_team(&transaction, &write.team, true).await?, &write)?;
        transaction
            .execute(
                "INSERT INTO teams (team, org, version, membership) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (team) DO UPDATE SET version = excluded.version, membership = excluded.membership",
                &[&write.team, &write.org, &to_i64(write.version)?, &write.signed],
            )
            .await?;
        let now = chrono::Utc::now().timestamp();
        for member in &write.members {
            transaction
                .execute(
                    "INSERT INTO devices (device, team, user_name, role, signing_key, revoked, enrolled_at)
                     VALUES ($1, $2, $3, $4, $5, false, $6) ON CONFLICT (device) DO NOTHING",
                    &[&member.device, &write.team, &member.user_name, &member.role, &member.signing_key, &now],
                )
                .await?;
        }
        for device in &write.revoked {
            transaction
                .execute(
                    "UPDATE devices SET revoked = true WHERE device = $1 AND team = $2",
                    &[device, &write.team],
                )
                .await?;
        }
        for lockbox in &write.lockboxes {
            transaction
                .execute(
                    "INSERT INTO lockboxes (team, device, epoch, sealed) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (team, device, epoch) DO UPDATE SET sealed = excluded.sealed",
                    &[
                        &write.team,
                        &lockbox.device,
                        &i64::from(lockbox.epoch),
                        &lockbox.sealed,
                    ],
                )
                .await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    pub async fn insert_grant(
        &self,
        token_hash: String,
        team: String,
        signed_grant: String,
        code_lockbox: Vec<u8>,
    ) -> ApiResult<()> {
        let client = self.client().await?;
        let inserted = client
            .execute(
                "INSERT INTO grants (token_hash, team, signed_grant, code_lockbox) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (token_hash) DO NOTHING",
                &[&token_hash, &team, &signed_grant, &code_lockbox],
            )
            .await?;
        if inserted == 0 {
            return Err(super::grant_exists());
        }
        Ok(())
    }

    pub async fn grant(&self, token_hash: String) -> ApiResult<Option<GrantRow>> {
        let client = self.client().await?;
        let Some(row) = client
            .query_opt(
                "SELECT g.team, t.org, o.admin_key, g.signed_grant, g.code_lockbox
                 FROM grants g JOIN teams t ON t.team = g.team JOIN orgs o ON o.org = t.org
                 WHERE g.token_hash = $1",
                &[&token_hash],
            )
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(GrantRow {
            team: row.try_get(0)?,
            org: row.try_get(1)?,
            admin_key: row.try_get(2)?,
            signed_grant: row.try_get(3)?,
            code_lockbox: row.try_get(4)?,
        }))
    }

    pub async fn complete_enrolment(
        &self,
        token_hash: String,
        team: String,
        device: NewDevice,
        endorsement: String,
    ) -> ApiResult<Enrolled> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await?;
        let row = transaction
            .query_opt(
                "SELECT device FROM grants WHERE token_hash = $1 FOR UPDATE",
                &[&token_hash],
            )
            .await?
            .ok_or_else(super::unknown_code)?;
        let used_by: Option<String> = row.try_get(0)?;
        if let Some(outcome) = super::code_reuse(used_by.as_deref(), &device.device)? {
            return Ok(outcome);
        }
        let inserted = transaction
            .execute(
                "INSERT INTO devices (device, team, user_name, role, signing_key, revoked, enrolled_at)
                 VALUES ($1, $2, $3, $4, $5, false, $6) ON CONFLICT (device) DO NOTHING",
                &[&device.device, &team, &device.user_name, &device.role, &device.signing_key, &chrono::Utc::now().timestamp()],
            )
            .await?;
        if inserted == 0 {
            return Err(super::device_exists());
        }
        transaction
            .execute(
                "UPDATE grants SET endorsement = $1, device = $2 WHERE token_hash = $3",
                &[&endorsement, &device.device, &token_hash],
            )
            .await?;
        transaction.commit().await?;
        Ok(Enrolled::Now)
    }

    pub async fn roster(&self, team: String, device: Option<String>) -> ApiResult<RosterRows> {
        let mut client = self.client().await?;
        // One consistent view: a membership and the lockboxes published with it.
        let transaction = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let membership = read_team(&transaction, &team, false)
            .await?
            .map(|team| team.membership);
        let enrolments = transaction
            .query(
                "SELECT signed_grant, endorsement FROM grants
                 WHERE team = $1 AND endorsement IS NOT NULL ORDER BY token_hash",
                &[&team],
            )
            .await?
            .iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect::<Result<_, tokio_postgres::Error>>()?;
        let mut lockboxes = Vec::new();
        if let Some(device) = device {
            for row in transaction
                .query(
                    "SELECT epoch, sealed FROM lockboxes WHERE team = $1 AND device = $2 ORDER BY epoch",
                    &[&team, &device],
                )
                .await?
            {
                let epoch: i64 = row.try_get(0)?;
                lockboxes.push((
                    u32::try_from(epoch).map_err(ApiError::internal)?,
                    row.try_get(1)?,
                ));
            }
        }
        transaction.commit().await?;
        Ok(RosterRows {
            membership,
            enrolments,
            lockboxes,
        })
    }

    pub async fn append(
        &self,
        team: String,
        author: String,
        units: Vec<NewUnit>,
    ) -> ApiResult<Vec<u64>> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await?;
        // Held to commit: this team's sequences become visible in the order they were drawn.
        transaction
            .execute(
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                &[&team],
            )
            .await?;
        let insert = transaction
            .prepare_cached(
                "INSERT INTO units (team, author, counter, doc, kind, unit) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (author, counter) DO NOTHING RETURNING seq",
            )
            .await?;
        let existing = transaction
            .prepare_cached("SELECT seq, unit FROM units WHERE author = $1 AND counter = $2")
            .await?;
        let mut stored = Vec::with_capacity(units.len());
        for unit in &units {
            let counter = to_i64(unit.counter)?;
            let row = match transaction
                .query_opt(
                    &insert,
                    &[
                        &team,
                        &author,
                        &counter,
                        &unit.doc,
                        &kind_name(unit.kind),
                        &unit.json,
                    ],
                )
                .await?
            {
                Some(row) => row,
                None => {
                    let row = transaction
                        .query_one(&existing, &[&author, &counter])
                        .await?;
                    let first: String = row.try_get(1)?;
                    if first != unit.json {
                        return Err(super::counter_reused());
                    }
                    row
                }
            };
            let seq = to_u64(row.try_get(0)?)?;
            if let Some(covers) = super::snapshot_covers(unit, seq)? {
                transaction
                    .execute(
                        "DELETE FROM units WHERE team = $1 AND doc = $2 AND kind IN ('changes', 'snapshot') AND seq <= $3",
                        &[&team, &unit.doc, &to_i64(covers)?],
                    )
                    .await?;
            }
            stored.push((unit.doc.clone(), unit.kind, seq));
        }
        for notice in notices(&team, &stored) {
            let payload = serde_json::to_string(&notice).map_err(ApiError::internal)?;
            transaction
                .execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &payload])
                .await?;
        }
        transaction.commit().await?;
        Ok(stored.into_iter().map(|(_, _, seq)| seq).collect())
    }

    pub async fn page(
        &self,
        team: String,
        stream: Stream,
        after: u64,
        limit: usize,
    ) -> ApiResult<Vec<(u64, String)>> {
        let client = self.client().await?;
        let sql = match stream {
            Stream::Records => {
                "SELECT seq, unit FROM units WHERE team = $1 AND kind IN ('changes', 'snapshot', 'bundle')
                 AND seq > $2 ORDER BY seq LIMIT $3"
            }
            Stream::Audit => {
                "SELECT seq, unit FROM units WHERE team = $1 AND kind = 'audit'
                 AND seq > $2 ORDER BY seq LIMIT $3"
            }
        };
        let statement = client.prepare_cached(sql).await?;
        let limit = i64::try_from(limit).map_err(ApiError::internal)?;
        client
            .query(&statement, &[&team, &to_i64(after)?, &limit])
            .await?
            .iter()
            .map(|row| Ok((to_u64(row.try_get(0)?)?, row.try_get(1)?)))
            .collect()
    }

    pub async fn org_devices(&self, org: String) -> ApiResult<Vec<DeviceListing>> {
        let client = self.client().await?;
        client
            .query(
                "SELECT d.device, d.team, d.user_name, d.role, d.signing_key, d.revoked, d.enrolled_at
                 FROM devices d JOIN teams t ON t.team = d.team WHERE t.org = $1
                 ORDER BY d.enrolled_at, d.device",
                &[&org],
            )
            .await?
            .iter()
            .map(|row| {
                Ok(DeviceListing {
                    device: row.try_get(0)?,
                    team: row.try_get(1)?,
                    user_name: row.try_get(2)?,
                    role: row.try_get(3)?,
                    signing_key: row.try_get(4)?,
                    revoked: row.try_get(5)?,
                    enrolled_at: row.try_get(6)?,
                })
            })
            .collect()
    }
}

async fn read_team(
    client: &impl GenericClient,
    team: &str,
    for_update: bool,
) -> ApiResult<Option<Team>> {
    let sql = if for_update {
        "SELECT org, version, membership FROM teams WHERE team = $1 FOR UPDATE"
    } else {
        "SELECT org, version, membership FROM teams WHERE team = $1"
    };
    let Some(row) = client.query_opt(sql, &[&team]).await? else {
        return Ok(None);
    };
    Ok(Some(Team {
        org: row.try_get(0)?,
        version: to_u64(row.try_get(1)?)?,
        membership: row.try_get(2)?,
    }))
}

/// Brings the schema up to date, one instance at a time.
async fn migrate(pool: &Pool) -> anyhow::Result<()> {
    let mut client = pool.get().await?;
    let transaction = client.transaction().await?;
    transaction
        .execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    transaction
        .batch_execute("CREATE TABLE IF NOT EXISTS doorstep_schema (version INTEGER NOT NULL)")
        .await?;
    let current: i32 = transaction
        .query_one("SELECT COALESCE(MAX(version), 0) FROM doorstep_schema", &[])
        .await?
        .try_get(0)?;
    let current = usize::try_from(current)?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        transaction.batch_execute(sql).await?;
        let version = i32::try_from(index + 1)?;
        transaction
            .execute(
                "INSERT INTO doorstep_schema (version) VALUES ($1)",
                &[&version],
            )
            .await?;
    }
    transaction.commit().await?;
    Ok(())
}

/// Forwards other instances' (and this one's) committed appends to this instance's devices, and
/// reconnects when the link drops. After any reconnect, devices are told to pull: notices sent
/// while the link was down are lost.
async fn listen(config: tokio_postgres::Config, push: broadcast::Sender<Push>) {
    let mut delay = Duration::from_millis(100);
    loop {
        match config.connect(NoTls).await {
            Ok((client, mut connection)) => {
                let forward = push.clone();
                let mut messages =
                    futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                let driver = tokio::spawn(async move {
                    while let Some(message) = messages.next().await {
                        match message {
                            Ok(AsyncMessage::Notification(notification)) => {
                                match serde_json::from_str::<Notice>(notification.payload()) {
                                    Ok(notice) => {
                                        let _ = forward.send(Push::Changed(notice));
                                    }
                                    Err(error) => {
                                        tracing::warn!(%error, "unreadable notice ignored");
                                    }
                                }
                            }
                            Ok(_) => {}
                            Err(error) => {
                                tracing::warn!(%error, "lost the notice link to PostgreSQL");
                                break;
                            }
                        }
                    }
                });
                match client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
                    Ok(()) => {
                        delay = Duration::from_millis(100);
                        let _ = push.send(Push::Resync);
                    }
                    Err(error) => {
                        tracing::warn!(%error, "could not listen for notices");
                        driver.abort();
                    }
                }
                let _ = driver.await;
                drop(client);
            }
            Err(error) => tracing::warn!(%error, "could not reach PostgreSQL for notices"),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}
