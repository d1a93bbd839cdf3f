//! The device side of sync: the sealed sync state, turning local changes into units, and applying
//! pulled units. No network I/O: the transport calls these with messages it moved.
//!
//! Order of a sync: [`Session::prepare_upload`] → transport uploads → [`Session::confirm_upload`];
//! then fetch the roster → [`Session::apply_roster`]; then pull pages → [`Session::apply_pull`]
//! until `more` is false. Uploading before pulling means that, when pulled changes are applied, the
//! document holds nothing the server has not seen, so its heads become the upload position and
//! nothing pulled is ever sent back (no sync loops).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::audit;
use super::error::{Result, StoreError};
use super::persist::{self, LoadedDoc};
use super::record::RecordDoc;
use super::session::{Session, index_observation};
use super::summary::PatientSummary;
use crate::crypto::{self, DataKey};
use crate::ids::{DeviceId, PatientId};
use crate::sync::enrolment::{AcceptedGrant, EnrolmentCode};
use crate::sync::keys::{self, AgreementKey, SigningKey};
use crate::sync::roster::VerifiedRoster;
use crate::sync::unit;
use crate::sync::wire::{
    B64, Endorsement, Enrolment, HEADER_DEVICE, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP,
    Member, PURPOSE_ENDORSEMENT, PullResponse, Roster, Signed, UnitHeader, UnitKind, UploadRequest,
    UploadResponse, request_signing_input,
};

const STATE_ROW: &str = "sync-state";

fn doc_sync_row(patient: PatientId) -> String {
    format!("doc-sync/{patient}")
}

#[derive(Serialize, Deserialize)]
struct SyncState {
    server: String,
    org: String,
    team: String,
    admin_key: B64,
    signing_key: B64,
    agreement_key: B64,
    team_keys: BTreeMap<u32, B64>,
    roster: Roster,
    cursor: u64,
    counter: u64,
    last_sync: Option<DateTime<Utc>>,
    /// The last audit entry the server holds.
    #[serde(default)]
    audit_uploaded: u64,
    /// Per record, units sent or applied since its last snapshot.
    #[serde(default)]
    since_snapshot: BTreeMap<PatientId, u32>,
}

impl SyncState {
    fn admin_key(&self) -> Result<[u8; 32]> {
        self.admin_key
            .key32()
            .ok_or(StoreError::Tampered { what: "sync state" })
    }

    fn signing_key(&self) -> Result<SigningKey> {
        SigningKey::from_pkcs8(&self.signing_key.0)
            .map_err(|_| StoreError::Tampered { what: "sync state" })
    }

    fn roster(&self) -> Result<VerifiedRoster> {
        Ok(VerifiedRoster::verify(
            &self.team,
            &self.admin_key()?,
            &self.roster,
        ))
    }

    fn current_epoch(&self) -> Option<(u32, DataKey)> {
        let (epoch, key) = self.team_keys.iter().next_back()?;
        Some((*epoch, DataKey::from_bytes(&key.0).ok()?))
    }
}

fn read_state(connection: &Connection, key: &DataKey) -> Result<Option<SyncState>> {
    let sealed: Option<Vec<u8>> = connection
        .query_row("SELECT sealed FROM sync_state WHERE id = 1", [], |row| {
            row.get(0)
        })
        .optional()?;
    let Some(sealed) = sealed else {
        return Ok(None);
    };
    let tampered = || StoreError::Tampered { what: "sync state" };
    let plain = crypto::open(key, STATE_ROW, &sealed).map_err(|_| tampered())?;
    serde_json::from_slice(&plain)
        .map(Some)
        .map_err(|_| tampered())
}

fn write_state(connection: &Connection, key: &DataKey, state: &SyncState) -> Result<()> {
    let plain = zeroize::Zeroizing::new(
        serde_json::to_vec(state).map_err(|_| StoreError::Tampered { what: "sync state" })?,
    );
    connection.execute(
        "INSERT INTO sync_state (id, sealed) VALUES (1, ?1) ON CONFLICT (id) DO UPDATE SET sealed = excluded.sealed",
        params![crypto::seal(key, STATE_ROW, &plain)?],
    )?;
    Ok(())
}

fn uploaded_heads(
    connection: &Connection,
    key: &DataKey,
    patient: PatientId,
) -> Result<Vec<String>> {
    let sealed: Option<Vec<u8>> = connection
        .query_row(
            "SELECT sealed FROM doc_sync WHERE patient_id = ?1",
            params![patient.to_string()],
            |row| row.get(0),
        )
        .optional()?;
    let Some(sealed) = sealed else {
        return Ok(Vec::new());
    };
    let tampered = || StoreError::Tampered { what: "sync state" };
    let plain = crypto::open(key, &doc_sync_row(patient), &sealed).map_err(|_| tampered())?;
    serde_json::from_slice(&plain).map_err(|_| tampered())
}

fn set_uploaded_heads(
    connection: &Connection,
    key: &DataKey,
    patient: PatientId,
    heads: &[String],
) -> Result<()> {
    let plain =
        serde_json::to_vec(heads).map_err(|_| StoreError::Tampered { what: "sync state" })?;
    connection
        .prepare_cached(
            "INSERT INTO doc_sync (patient_id, sealed) VALUES (?1, ?2)
             ON CONFLICT (patient_id) DO UPDATE SET sealed = excluded.sealed",
        )?
        .execute(params![
            patient.to_string(),
            crypto::seal(key, &doc_sync_row(patient), &plain)?
        ])?;
    Ok(())
}

/// What `doorstep status` shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SyncStatus {
    pub device_id: DeviceId,
    pub user: String,
    pub team: Option<String>,
    pub server: Option<String>,
    pub last_sync: Option<DateTime<Utc>>,
    /// Records with changes the server has not yet received.
    pub pending: u64,
    pub cursor: u64,
}

/// Units ready to send, and what to record once the server has them.
#[derive(Debug)]
pub struct PreparedUpload {
    pub request: UploadRequest,
    heads: Vec<(PatientId, Vec<String>)>,
    audit_upto: Option<u64>,
    snapshots: Vec<PatientId>,
}

impl PreparedUpload {
    /// Units carrying record changes (the rest carry audit).
    pub fn record_units(&self) -> usize {
        self.request
            .units
            .iter()
            .filter(|unit| unit.header.kind == UnitKind::Changes)
            .count()
    }
}

/// What applying a page of pulled units did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PullOutcome {
    pub applied: u64,
    /// Units refused: unknown author, bad signature, altered, or for another team.
    pub rejected: u64,
    /// Records that now hold values set concurrently on two devices.
    pub conflicts: u64,
    pub cursor: u64,
}

/// Held for the length of one sync run: a second run on the same device (another process, or a
/// push arriving mid-sync) waits its turn rather than interleaving uploads and confirmations.
#[derive(Debug)]
pub struct SyncGuard {
    _file: std::fs::File,
}

impl Session {
    /// Takes this device's sync lock, or says that a sync is already running.
    pub fn begin_sync(&self) -> Result<SyncGuard> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.shared.dir.join("sync.lock"))?;
        match file.try_lock() {
            Ok(()) => Ok(SyncGuard { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::SyncRefused(
                "a sync is already running on this device; it will include these changes"
                    .to_owned(),
            )),
            Err(std::fs::TryLockError::Error(error)) => Err(error.into()),
        }
    }

    fn with_state<T>(
        &self,
        run: impl FnOnce(&Connection, &DataKey, &mut SyncState) -> Result<T>,
    ) -> Result<T> {
        let mut context = self.context()?;
        let (connection, unlocked) = context.parts()?;
        let key = &unlocked.key;
        let transaction = connection.transaction()?;
        let mut state = read_state(&transaction, key)?.ok_or(StoreError::NotEnrolled)?;
        let out = run(&transaction, key, &mut state)?;
        write_state(&transaction, key, &state)?;
        transaction.commit()?;
        Ok(out)
    }

    /// Joins the team of an accepted enrolment grant: makes this device's signing and agreement
    /// keys and returns the endorsement, signed with the code's key, that the server relays.
    pub fn join_team(
        &self,
        server: &str,
        code: &EnrolmentCode,
        accepted: &AcceptedGrant,
    ) -> Result<Signed> {
        let signing = SigningKey::generate()?;
        let agreement = AgreementKey::generate()?;
        let member = Member {
            device: self.shared.device_id,
            user: self.user().name.clone(),
            role: self.user().role,
            signing_key: B64(signing.public_key().to_vec()),
            agreement_key: B64(agreement.public_key().to_vec()),
        };
        let endorse_key = code.endorse_key()?;
        let endorsement = Signed::sign(
            &endorse_key,
            PURPOSE_ENDORSEMENT,
            &Endorsement {
                team: accepted.grant.team.clone(),
                member,
            },
        )
        .map_err(|_| StoreError::Tampered { what: "sync state" })?;
        let state = SyncState {
            server: server.trim_end_matches('/').to_owned(),
            org: accepted.grant.org.clone(),
            team: accepted.grant.team.clone(),
            admin_key: B64(accepted.admin_key.to_vec()),
            signing_key: B64(signing.secret_bytes().to_vec()),
            agreement_key: B64(agreement.secret_bytes().to_vec()),
            team_keys: BTreeMap::from([(
                accepted.grant.epoch,
                B64(accepted.team_key.as_bytes().to_vec()),
            )]),
            roster: Roster {
                membership: None,
                enrolments: vec![Enrolment {
                    grant: accepted.signed_grant.clone(),
                    endorsement: endorsement.clone(),
                }],
                lockboxes: Vec::new(),
            },
            cursor: 0,
            counter: 0,
            last_sync: None,
            audit_uploaded: 0,
            since_snapshot: BTreeMap::new(),
        };
        let context = self.context()?;
        write_state(&context.connection, context.key()?, &state)?;
        Ok(endorsement)
    }

    pub fn sync_status(&self) -> Result<SyncStatus> {
        let context = self.context()?;
        let state = read_state(&context.connection, context.key()?)?;
        let pending: u64 =
            context
                .connection
                .query_row("SELECT COUNT(*) FROM dirty_docs", [], |row| row.get(0))?;
        Ok(SyncStatus {
            device_id: self.shared.device_id,
            user: self.user().name.clone(),
            team: state.as_ref().map(|s| s.team.clone()),
            server: state.as_ref().map(|s| s.server.clone()),
            last_sync: state.as_ref().and_then(|s| s.last_sync),
            pending,
            cursor: state.as_ref().map_or(0, |s| s.cursor),
        })
    }

    /// The team's members as the organisation's admin key vouches for them, by device: who wrote
    /// an entry that arrived from another device. Empty before enrolment.
    pub fn team_members(&self) -> Result<Vec<Member>> {
        let context = self.context()?;
        let Some(state) = read_state(&context.connection, context.key()?)? else {
            return Ok(Vec::new());
        };
        Ok(state.roster()?.members().cloned().collect())
    }

    /// Whether `patient`'s record holds changes the server has not yet received.
    pub fn has_unsynced_changes(&self, patient: PatientId) -> Result<bool> {
        let context = self.context()?;
        super::persist::is_dirty(&context.connection, patient)
    }

    /// The sync server this device is enrolled with.
    pub fn sync_server(&self) -> Result<String> {
        let context = self.context()?;
        Ok(read_state(&context.connection, context.key()?)?
            .ok_or(StoreError::NotEnrolled)?
            .server)
    }

    /// Authentication headers for one request: device id, time, a fresh nonce, and a signature.
    pub fn sign_request(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> Result<Vec<(&'static str, String)>> {
        let context = self.context()?;
        let state =
            read_state(&context.connection, context.key()?)?.ok_or(StoreError::NotEnrolled)?;
        let timestamp = Utc::now().timestamp();
        let nonce = crypto::hex(&crypto::random_bytes::<16>()?);
        let signature = state.signing_key()?.sign(&request_signing_input(
            method, path, timestamp, &nonce, body,
        ));
        Ok(vec![
            (HEADER_DEVICE, self.shared.device_id.to_string()),
            (HEADER_TIMESTAMP, timestamp.to_string()),
            (HEADER_NONCE, nonce),
            (HEADER_SIGNATURE, data_encoding::BASE64.encode(&signature)),
        ])
    }

    /// Seals every record's changes that the server has not seen into signed units.
    pub fn prepare_upload(&self) -> Result<PreparedUpload> {
        let dirty: Vec<PatientId> = {
            let context = self.context()?;
            let mut statement = context
                .connection
                .prepare("SELECT patient_id FROM dirty_docs ORDER BY patient_id")?;
            let rows = statement.query_map([], |row| row.get::<_, String>(0))?;
            rows.filter_map(|row| row.ok().and_then(|id| id.parse().ok()))
                .collect()
        };
        let mut units = Vec::new();
        let mut heads = Vec::new();
        let mut audit_upto = None;
        let author = self.shared.device_id;
        self.with_state(|connection, key, state| {
            let (epoch, team_key) = state.current_epoch().ok_or(StoreError::NotEnrolled)?;
            let signing = state.signing_key()?;
            for patient in dirty {
                let mut loaded = persist::load_doc(connection, key, patient, self.actor())?;
                let known = uploaded_heads(connection, key, patient)?;
                // A record the server has never seen goes as one compressed document (Automerge's
                // save format, DEFLATE on its columns): several times smaller than its changes.
                let changes = if known.is_empty() {
                    loaded.doc.save()
                } else {
                    loaded.doc.changes_after(&known)
                };
                let now_heads = loaded.doc.heads();
                if changes.is_empty() {
                    heads.push((patient, now_heads));
                    continue;
                }
                state.counter += 1;
                let header = UnitHeader {
                    team: state.team.clone(),
                    epoch,
                    doc: patient,
                    author,
                    counter: state.counter,
                    kind: UnitKind::Changes,
                    covers: None,
                };
                units.push(unit::seal_unit(&team_key, &signing, header, &changes)?);
                *state.since_snapshot.entry(patient).or_default() += 1;
                heads.push((patient, now_heads));
            }
            let pending: Vec<_> = audit::entries(connection, key)?
                .into_iter()
                .filter(|entry| entry.seq > state.audit_uploaded)
                .collect();
            if let Some(last) = pending.last() {
                audit_upto = Some(last.seq);
                state.counter += 1;
                let header = UnitHeader {
                    team: state.team.clone(),
                    epoch,
                    doc: PatientId::from_u128(author.as_uuid().as_u128()),
                    author,
                    counter: state.counter,
                    kind: UnitKind::Audit,
                    covers: None,
                };
                let plain = serde_json::to_vec(&pending).map_err(|_| StoreError::Tampered {
                    what: "audit entry",
                })?;
                units.push(unit::seal_unit(&team_key, &signing, header, &plain)?);
            }
            Ok(())
        })?;
        Ok(PreparedUpload {
            request: UploadRequest { units },
            heads,
            audit_upto,
            snapshots: Vec::new(),
        })
    }

    /// After a complete pull: whole-document snapshots of the records that have had at least
    /// `after_units` units since their last one, each covering everything up to the cursor, so the
    /// server can drop those units. Records with unsent changes wait for the next run.
    pub fn prepare_snapshots(&self, after_units: u32) -> Result<PreparedUpload> {
        let author = self.shared.device_id;
        let mut units = Vec::new();
        let mut snapshots = Vec::new();
        self.with_state(|connection, key, state| {
            let (epoch, team_key) = state.current_epoch().ok_or(StoreError::NotEnrolled)?;
            let signing = state.signing_key()?;
            let due: Vec<PatientId> = state
                .since_snapshot
                .iter()
                .filter(|(_, count)| **count >= after_units.max(1))
                .map(|(patient, _)| *patient)
                .collect();
            for patient in due {
                let dirty = persist::is_dirty(connection, patient)?;
                if dirty {
                    continue;
                }
                let mut loaded = persist::load_doc(connection, key, patient, self.actor())?;
                state.counter += 1;
                let header = UnitHeader {
                    team: state.team.clone(),
                    epoch,
                    doc: patient,
                    author,
                    counter: state.counter,
                    kind: UnitKind::Snapshot,
                    covers: Some(state.cursor),
                };
                units.push(unit::seal_unit(
                    &team_key,
                    &signing,
                    header,
                    &loaded.doc.save(),
                )?);
                snapshots.push(patient);
            }
            Ok(())
        })?;
        Ok(PreparedUpload {
            request: UploadRequest { units },
            heads: Vec::new(),
            audit_upto: None,
            snapshots,
        })
    }

    /// Records that the server holds what [`Session::prepare_upload`] sealed.
    pub fn confirm_upload(
        &self,
        prepared: &PreparedUpload,
        response: &UploadResponse,
    ) -> Result<u64> {
        if response.seqs.len() != prepared.request.units.len() {
            return Err(StoreError::SyncRefused(
                "the server acknowledged a different number of units".to_owned(),
            ));
        }
        let mut context = self.context()?;
        let (connection, unlocked) = context.parts()?;
        let transaction = connection.transaction()?;
        for (patient, heads) in &prepared.heads {
            set_uploaded_heads(&transaction, &unlocked.key, *patient, heads)?;
            transaction.execute(
                "DELETE FROM dirty_docs WHERE patient_id = ?1",
                params![patient.to_string()],
            )?;
        }
        if prepared.audit_upto.is_some() || !prepared.snapshots.is_empty() {
            let mut state =
                read_state(&transaction, &unlocked.key)?.ok_or(StoreError::NotEnrolled)?;
            if let Some(upto) = prepared.audit_upto {
                state.audit_uploaded = state.audit_uploaded.max(upto);
            }
            for patient in &prepared.snapshots {
                state.since_snapshot.remove(patient);
            }
            write_state(&transaction, &unlocked.key, &state)?;
        }
        transaction.commit()?;
        Ok(prepared.record_units() as u64)
    }

    /// Takes in the roster the server relayed, keeping only what the admin key vouches for, and
    /// opens any team keys sealed to this device.
    pub fn apply_roster(&self, roster: Roster) -> Result<bool> {
        let device = self.shared.device_id;
        self.with_state(|_, _, state| {
            let admin_key = state.admin_key()?;
            let mut agreement_bytes = [0u8; 32];
            agreement_bytes.copy_from_slice(state.agreement_key.0.get(..32).unwrap_or(&[0u8; 32]));
            let agreement = AgreementKey::from_bytes(agreement_bytes);
            for lockbox in roster.lockboxes.iter().filter(|l| l.device == device) {
                let context = format!(
                    "team/{}/epoch/{}/device/{device}",
                    state.team, lockbox.epoch
                );
                if let Ok(key) = keys::open_sealed(&agreement, &context, &lockbox.sealed.0) {
                    state.team_keys.insert(lockbox.epoch, B64(key.to_vec()));
                }
            }
            // Keep this device's own enrolment: the server may not relay it back yet.
            let mut merged = roster;
            for own in &state.roster.enrolments {
                if !merged
                    .enrolments
                    .iter()
                    .any(|e| e.endorsement == own.endorsement)
                {
                    merged.enrolments.push(own.clone());
                }
            }
            let verified = VerifiedRoster::verify(&state.team, &admin_key, &merged);
            state.roster = merged;
            Ok(verified.is_revoked(device))
        })
    }

    /// Applies one page of pulled units. Units that fail verification are counted and skipped; the
    /// cursor still moves past them so one bad unit cannot stall sync.
    pub fn apply_pull(&self, pull: &PullResponse) -> Result<PullOutcome> {
        let mut context = self.context()?;
        let me = self.shared.device_id;
        let actor = self.actor();
        let (connection, unlocked) = context.parts()?;
        let key = &unlocked.key;
        let transaction = connection.transaction()?;
        let mut state = read_state(&transaction, key)?.ok_or(StoreError::NotEnrolled)?;
        let roster = state.roster()?;
        let team_keys = state.team_keys.clone();
        let team_key = |epoch: u32| {
            team_keys
                .get(&epoch)
                .and_then(|k| DataKey::from_bytes(&k.0).ok())
        };
        let mut outcome = PullOutcome::default();
        let mut touched: BTreeMap<PatientId, LoadedDoc> = BTreeMap::new();
        for stored in &pull.units {
            if stored.unit.header.author == me || stored.unit.header.kind == UnitKind::Audit {
                continue;
            }
            // Every `UnitError` means the same here: not from a member, or not intact.
            let Ok(plain) = unit::open_unit(&stored.unit, &roster, team_key) else {
                outcome.rejected += 1;
                continue;
            };
            let patient = stored.unit.header.doc;
            let loaded = match touched.entry(patient) {
                std::collections::btree_map::Entry::Occupied(entry) => entry.into_mut(),
                std::collections::btree_map::Entry::Vacant(entry) => {
                    let loaded = match persist::load_doc(&transaction, key, patient, actor.clone())
                    {
                        Ok(loaded) => loaded,
                        Err(StoreError::PatientNotFound) => {
                            let mut doc = RecordDoc::load(actor.clone(), None, [plain.as_slice()])?;
                            persist::insert_doc(&transaction, key, patient, &mut doc)?;
                            persist::load_doc(&transaction, key, patient, actor.clone())?
                        }
                        Err(error) => return Err(error),
                    };
                    entry.insert(loaded)
                }
            };
            if loaded.doc.apply_changes(&plain).is_err() {
                outcome.rejected += 1;
                continue;
            }
            outcome.applied += 1;
            if stored.unit.header.kind == UnitKind::Snapshot {
                state.since_snapshot.remove(&patient);
            } else {
                *state.since_snapshot.entry(patient).or_default() += 1;
            }
        }
        // Changes whose dependencies have not arrived would be held only in memory; refuse the page
        // (nothing is committed, the cursor stays) rather than lose them. The server's order
        // follows causality, so this only happens if the server misbehaves.
        if touched
            .values_mut()
            .any(|loaded| loaded.doc.is_missing_changes())
        {
            return Err(StoreError::SyncRefused(
                "the server sent changes out of order; sync again later".to_owned(),
            ));
        }
        for (patient, mut loaded) in touched {
            persist::append_changes(&transaction, key, patient, &mut loaded)?;
            let record = loaded.doc.read(patient)?;
            for entry in &record.observations {
                index_observation(&transaction, entry.set.id(), patient)?;
            }
            if !record.conflicts.is_empty() {
                outcome.conflicts += 1;
            }
            let summary = PatientSummary::of(&record);
            persist::write_summary(&transaction, key, &summary)?;
            let dirty = persist::is_dirty(&transaction, patient)?;
            if !dirty {
                set_uploaded_heads(&transaction, key, patient, &loaded.doc.heads())?;
            }
            unlocked.summaries.insert(patient, summary);
        }
        state.cursor = state.cursor.max(pull.cursor);
        if !pull.more {
            state.last_sync = Some(Utc::now());
        }
        outcome.cursor = state.cursor;
        write_state(&transaction, key, &state)?;
        transaction.commit()?;
        Ok(outcome)
    }

    /// Where the next pull starts.
    pub fn sync_cursor(&self) -> Result<u64> {
        let context = self.context()?;
        Ok(read_state(&context.connection, context.key()?)?
            .ok_or(StoreError::NotEnrolled)?
            .cursor)
    }

    /// Wipes this device's data, as a revoked device must.
    pub fn wipe_device(&self) -> Result<()> {
        {
            let mut unlocked = self.context()?.unlocked;
            *unlocked = None;
        }
        self.shared.wipe()
    }
}
