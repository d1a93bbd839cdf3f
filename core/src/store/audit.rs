//! The audit trail: one sealed entry per action, hash-chained so that any edited, removed or
//! reordered entry is found by [`verify`].
//!
//! Each entry holds the hash of the one before it; its own hash covers its content and that link.
//! The sealed head row holds the last sequence number and hash, so removing entries from the end
//! is caught too. Sealing binds each entry to its sequence number, so entries cannot be swapped.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::error::{Result, StoreError};
use crate::crypto::{self, DataKey};
use crate::ids::{DeviceId, PatientId, UserId};
use crate::observation::Role;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuditAction {
    Unlock,
    FailedUnlock,
    Lock,
    AddUser,
    CreateRecord,
    ImportRecord,
    ViewRecord,
    RecordObservation,
    AddNote,
    EditNote,
    UpdateCarePlan,
    Amend,
    EnteredInError,
    Export,
    EmergencyAccess,
    Escalate,
    RecordMaternity,
    ResolveConflict,
    RestrictRecord,
    LiftRestriction,
    StartIncident,
    IdentifyPatient,
}

/// One audited action in its place in the chain: the event (who, which patient, what, when, why),
/// its sequence number, and the hash of the entry before it. Reads as its event (`entry.action`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: u64,
    #[serde(flatten)]
    pub event: AuditEvent,
    /// Hex SHA-256 of the previous entry; all zeroes for the first.
    pub previous_hash: String,
}

impl std::fmt::Debug for AuditEvent {
    // The reason is free text a clinician typed; it stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuditEvent({:?})", self.action)
    }
}

impl std::ops::Deref for AuditEntry {
    type Target = AuditEvent;

    fn deref(&self) -> &AuditEvent {
        &self.event
    }
}

impl std::fmt::Debug for AuditEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuditEntry(#{} {:?})", self.seq, self.action)
    }
}

#[derive(Serialize, Deserialize)]
struct StoredEntry {
    entry: AuditEntry,
    hash: String,
}

#[derive(Serialize, Deserialize)]
struct Head {
    seq: u64,
    hash: String,
}

pub(crate) const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn entry_row(seq: u64) -> String {
    format!("audit/{seq}")
}

const HEAD_ROW: &str = "audit/head";

/// The hash the next entry links to.
pub(crate) fn hash_of(entry: &AuditEntry) -> Result<String> {
    let bytes = serde_json::to_vec(entry).map_err(|_| StoreError::Tampered {
        what: "audit entry",
    })?;
    Ok(crypto::hex(&crypto::sha256(&[
        b"doorstep-audit-v1\0",
        &bytes,
    ])))
}

fn read_head(connection: &Connection, key: &DataKey) -> Result<Head> {
    let sealed: Option<Vec<u8>> = connection
        .query_row("SELECT sealed FROM audit_head WHERE id = 1", [], |row| {
            row.get(0)
        })
        .optional()?;
    match sealed {
        None => Ok(Head {
            seq: 0,
            hash: GENESIS.to_owned(),
        }),
        Some(sealed) => {
            let plain = crypto::open(key, HEAD_ROW, &sealed).map_err(|_| StoreError::Tampered {
                what: "audit trail",
            })?;
            serde_json::from_slice(&plain).map_err(|_| StoreError::Tampered {
                what: "audit trail",
            })
        }
    }
}

/// One audited action: who (user, role, device), which patient, what, when and why.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub at: DateTime<Utc>,
    pub user: UserId,
    pub role: Role,
    pub device: DeviceId,
    pub patient: Option<PatientId>,
    pub action: AuditAction,
    pub reason: Option<String>,
}

/// Appends one entry. Call inside the transaction of the action it records, so the action and its
/// audit are durable together or not at all.
pub fn append(connection: &Connection, key: &DataKey, event: AuditEvent) -> Result<u64> {
    let head = read_head(connection, key)?;
    let entry = AuditEntry {
        seq: head.seq + 1,
        event,
        previous_hash: head.hash,
    };
    let hash = hash_of(&entry)?;
    let seq = entry.seq;
    let stored = serde_json::to_vec(&StoredEntry {
        entry,
        hash: hash.clone(),
    })
    .map_err(|_| StoreError::Tampered {
        what: "audit entry",
    })?;
    connection.execute(
        "INSERT INTO audit (seq, sealed) VALUES (?1, ?2)",
        params![seq, crypto::seal(key, &entry_row(seq), &stored)?],
    )?;
    let head = serde_json::to_vec(&Head { seq, hash }).map_err(|_| StoreError::Tampered {
        what: "audit trail",
    })?;
    connection.execute(
        "INSERT INTO audit_head (id, sealed) VALUES (1, ?1)
         ON CONFLICT (id) DO UPDATE SET sealed = excluded.sealed",
        params![crypto::seal(key, HEAD_ROW, &head)?],
    )?;
    Ok(seq)
}

/// All entries, oldest first, each opened and checked against its row.
pub fn entries(connection: &Connection, key: &DataKey) -> Result<Vec<AuditEntry>> {
    Ok(stored_entries(connection, key)?
        .into_iter()
        .map(|stored| stored.entry)
        .collect())
}

fn stored_entries(connection: &Connection, key: &DataKey) -> Result<Vec<StoredEntry>> {
    let mut statement = connection.prepare("SELECT seq, sealed FROM audit ORDER BY seq")?;
    let rows = statement.query_map([], |row| {
        Ok((row.get::<_, u64>(0)?, row.get::<_, Vec<u8>>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, sealed) = row?;
        let plain =
            crypto::open(key, &entry_row(seq), &sealed).map_err(|_| StoreError::Tampered {
                what: "audit entry",
            })?;
        let stored: StoredEntry =
            serde_json::from_slice(&plain).map_err(|_| StoreError::Tampered {
                what: "audit entry",
            })?;
        if stored.entry.seq != seq {
            return Err(StoreError::Tampered {
                what: "audit entry",
            });
        }
        out.push(stored);
    }
    Ok(out)
}

/// Why the trail failed verification, and where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuditBreak {
    #[error("audit entry {seq} cannot be opened: it was altered or moved")]
    Unreadable { seq: u64 },
    #[error("audit entry {seq} is missing")]
    Missing { seq: u64 },
    #[error("audit entry {seq} was altered")]
    Altered { seq: u64 },
    #[error(
        "audit entry {seq} does not follow entry {previous}: entries were removed or reordered"
    )]
    BrokenLink { seq: u64, previous: u64 },
    #[error(
        "the audit trail ends at entry {found} but its head says {expected}: entries were removed"
    )]
    Truncated { found: u64, expected: u64 },
}

/// Checks the whole chain; `Ok(n)` with the number of entries when intact.
pub fn verify(connection: &Connection, key: &DataKey) -> Result<Result<u64, AuditBreak>> {
    let mut statement = connection.prepare("SELECT seq, sealed FROM audit ORDER BY seq")?;
    let rows = statement.query_map([], |row| {
        Ok((row.get::<_, u64>(0)?, row.get::<_, Vec<u8>>(1)?))
    })?;
    let mut expected_seq = 1u64;
    let mut previous_hash = GENESIS.to_owned();
    for row in rows {
        let (seq, sealed) = row?;
        if seq != expected_seq {
            return Ok(Err(AuditBreak::Missing { seq: expected_seq }));
        }
        let Ok(plain) = crypto::open(key, &entry_row(seq), &sealed) else {
            return Ok(Err(AuditBreak::Unreadable { seq }));
        };
        let Ok(stored) = serde_json::from_slice::<StoredEntry>(&plain) else {
            return Ok(Err(AuditBreak::Unreadable { seq }));
        };
        if stored.entry.seq != seq || hash_of(&stored.entry)? != stored.hash {
            return Ok(Err(AuditBreak::Altered { seq }));
        }
        if stored.entry.previous_hash != previous_hash {
            return Ok(Err(AuditBreak::BrokenLink {
                seq,
                previous: seq - 1,
            }));
        }
        previous_hash = stored.hash;
        expected_seq += 1;
    }
    let found = expected_seq - 1;
    let Ok(head) = read_head(connection, key) else {
        return Ok(Err(AuditBreak::Unreadable { seq: found }));
    };
    if head.seq != found || head.hash != previous_hash {
        return Ok(Err(AuditBreak::Truncated {
            found,
            expected: head.seq,
        }));
    }
    Ok(Ok(found))
}
