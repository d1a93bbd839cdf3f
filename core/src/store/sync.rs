//! The device side of sync: the sealed sync state, turning local changes into units, and applying
//! pulled units. No network I/O: the transport calls these with messages it moved.
//!
//! Order of a sync: [`Session::prepare_upload`] → the transport sends the units (in one exchange
//! with the first pull) → [`Session::confirm_upload`]; the roster, when the server sent one →
//! [`Session::apply_roster`]; each page → [`Session::apply_pull`] until `more` is false. Uploading before pulling means that, when pulled changes are applied, the
//! document holds nothing the server has not seen, so its heads become the upload position and
//! nothing pulled is ever sent back (no sync loops).

use std::collections::{BTreeMap, BTreeSet};

use automerge::ActorId;
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
use crate::news2::ResponseProtocol;
use crate::observation::Role;
use crate::permission::Action;
use crate::sync::enrolment::{AcceptedGrant, EnrolmentCode};
use crate::sync::keys::{self, AgreementKey, SigningKey};
use crate::sync::payload;
use crate::sync::roster::VerifiedRoster;
use crate::sync::unit::{self, UnitError};
use crate::sync::wire::{
    B64, Endorsement, Enrolment, HEADER_DEVICE, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP,
    Member, Membership, PURPOSE_ENDORSEMENT, PURPOSE_MEMBERSHIP, PullResponse, Roster, Signed,
    StoredUnit, UnitHeader, UnitKind, UploadRequest, UploadResponse, request_signing_input,
};

const STATE_ROW: &str = "sync-state";

/// Most units a device keeps waiting for what they need (an enrolment, a key, a change).
const MAX_WAITING_UNITS: usize = 5_000;
/// Most waiting units from one author.
const MAX_WAITING_PER_AUTHOR: usize = 500;
/// Most bytes of a page's bundles expanded while it is applied (a bundle's parts are held expanded
/// until their records are applied), and as much again for bundles retried from the quarantine.
/// The page is taken in up to the bundle that would pass it, and the cursor stops before that
/// bundle, so the server sends it again in the next page; the first bundle of a page is always
/// opened, so every page moves on.
const MAX_BUNDLE_BYTES_PER_PULL: usize = 64 * 1024 * 1024;

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
    /// The newest membership version this device has verified: anything older, or none at all
    /// once one was seen, is a rollback and is refused.
    #[serde(default)]
    pinned_version: u64,
    /// Per record, the sequence number of the newest unit this device applied or had accepted:
    /// a snapshot that covers it must hold everything this device holds of the record.
    #[serde(default)]
    last_unit_seq: BTreeMap<PatientId, u64>,
    /// This device's clock minus the server's at the last sync, in seconds.
    #[serde(default)]
    clock_skew_seconds: Option<i64>,
    /// The server's tag for the roster last taken in: sent with each sync so that an unchanged
    /// roster is not sent again.
    #[serde(default)]
    roster_tag: String,
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

    /// The epoch and key new units are sealed under: the newest epoch the admin has announced. If
    /// its key has not reached this device yet, nothing is sealed, rather than seal under an older
    /// key that a revoked device may hold.
    fn sealing_epoch(&self) -> Result<(u32, DataKey)> {
        let announced = self.roster()?.epoch;
        let (epoch, key) = match self.team_keys.get(&announced) {
            Some(key) => (announced, key),
            None if announced == 0 => self
                .team_keys
                .iter()
                .next_back()
                .map(|(epoch, key)| (*epoch, key))
                .ok_or(StoreError::NotEnrolled)?,
            None => {
                return Err(StoreError::SyncRefused(
                    "the team's key was changed and this device has not received the new key yet; changes stay on this device until it arrives".to_owned(),
                ));
            }
        };
        let key =
            DataKey::from_bytes(&key.0).map_err(|_| StoreError::Tampered { what: "sync state" })?;
        Ok((epoch, key))
    }
}

fn quarantine_row(seq: u64) -> String {
    format!("quarantine/{seq}")
}

/// Units held back to retry, oldest first.
fn quarantined(connection: &Connection, key: &DataKey) -> Result<Vec<StoredUnit>> {
    let mut statement = connection.prepare("SELECT seq, sealed FROM quarantine ORDER BY seq")?;
    let rows = statement.query_map([], |row| {
        Ok((row.get::<_, u64>(0)?, row.get::<_, Vec<u8>>(1)?))
    })?;
    let mut units = Vec::new();
    for row in rows {
        let (seq, sealed) = row?;
        let tampered = || StoreError::Tampered { what: "sync state" };
        let plain = crypto::open(key, &quarantine_row(seq), &sealed).map_err(|_| tampered())?;
        units.push(serde_json::from_slice(&plain).map_err(|_| tampered())?);
    }
    Ok(units)
}

fn replace_quarantine(connection: &Connection, key: &DataKey, units: &[StoredUnit]) -> Result<()> {
    connection.execute("DELETE FROM quarantine", [])?;
    for stored in units {
        let plain =
            serde_json::to_vec(stored).map_err(|_| StoreError::Tampered { what: "sync state" })?;
        connection
            .prepare_cached("INSERT INTO quarantine (seq, sealed) VALUES (?1, ?2)")?
            .execute(params![
                stored.seq,
                crypto::seal(key, &quarantine_row(stored.seq), &plain)?
            ])?;
    }
    Ok(())
}

/// A payload this device could not compress (a record beyond the size any colleague accepts):
/// nothing is lost, the changes stay on the device, and the sync says why.
fn unsendable() -> StoreError {
    StoreError::SyncRefused(
        "a record is too large to send in one piece; its changes stay on this device. Report this to your administrator"
            .to_owned(),
    )
}

fn device_actor(device: DeviceId) -> ActorId {
    ActorId::from(device.as_uuid().as_bytes().as_slice())
}

/// A pulled unit that verified and opened, or one record's part of a bundle. A unit's payload
/// stays compressed until the moment it is applied, one unit at a time: a page of units that
/// each expand to the limit must never be expanded all at once.
struct Opened {
    seq: u64,
    /// What it is applied as: a bundle's part is a unit of its record's changes.
    header: UnitHeader,
    /// The unit as received, to wait for a later pull; `None` for a bundle's part, which is a
    /// whole document and so never waits for a change it builds on.
    received: Option<StoredUnit>,
    payload: OpenedPayload,
}

enum OpenedPayload {
    Compressed(zeroize::Zeroizing<Vec<u8>>),
    Expanded(zeroize::Zeroizing<Vec<u8>>),
}

/// Automerge bytes of an opened unit, wiped when dropped.
enum Raw<'a> {
    Borrowed(&'a [u8]),
    Owned(zeroize::Zeroizing<Vec<u8>>),
}

impl std::ops::Deref for Raw<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Raw::Borrowed(bytes) => bytes,
            Raw::Owned(bytes) => bytes,
        }
    }
}

impl Opened {
    fn received(stored: StoredUnit, sealed: zeroize::Zeroizing<Vec<u8>>) -> Self {
        Opened {
            seq: stored.seq,
            header: stored.unit.header.clone(),
            received: Some(stored),
            payload: OpenedPayload::Compressed(sealed),
        }
    }

    /// The Automerge bytes the unit carries, or `None` for a payload that does not decompress.
    fn raw(&self) -> Option<Raw<'_>> {
        match &self.payload {
            OpenedPayload::Expanded(raw) => Some(Raw::Borrowed(raw)),
            OpenedPayload::Compressed(sealed) => payload::decompress(sealed)
                .ok()
                .map(|raw| Raw::Owned(zeroize::Zeroizing::new(raw.into_owned()))),
        }
    }
}

/// A bundle's parts, each as a unit of its record's changes by the bundle's author; `None` for
/// a bundle that does not expand or divide into parts.
fn bundle_parts(stored: &StoredUnit, sealed: &[u8]) -> Option<Vec<(PatientId, Opened)>> {
    let raw = zeroize::Zeroizing::new(payload::decompress(sealed).ok()?.into_owned());
    let parts = payload::bundle::decode(&raw).ok()?;
    Some(
        parts
            .into_iter()
            .map(|(patient, doc)| {
                let header = UnitHeader {
                    doc: patient,
                    kind: UnitKind::Changes,
                    covers: None,
                    ..stored.unit.header.clone()
                };
                let opened = Opened {
                    seq: stored.seq,
                    header,
                    received: None,
                    payload: OpenedPayload::Expanded(zeroize::Zeroizing::new(doc.to_vec())),
                };
                (patient, opened)
            })
            .collect(),
    )
}

/// Why a unit that opened was still refused.
enum Refusal {
    /// Not a valid change to a record.
    Malformed,
    /// It writes in someone else's name: an Automerge change by another device, or an entry
    /// whose author is not the signing device with its endorsed role.
    Forged,
}

/// What applying one record's units did.
struct RecordApplied {
    doc: RecordDoc,
    /// Where the record stands in storage; `None` when it was not on this device before.
    stored: Option<persist::DocState>,
    kinds: Vec<UnitKind>,
    rejected: u64,
    forged: u64,
    /// A snapshot of this record was refused, or cut the record short on the server.
    refused_snapshot: bool,
    /// The newest unit applied.
    last_seq: Option<u64>,
    waiting: Vec<StoredUnit>,
}

/// Checks that every value `unit` added to `doc` (whose values were `before`) claims an author
/// the roster allows: for changes, the signing device with its endorsed role; for a snapshot,
/// which carries everyone's history, any device the admin enrolled, with its role.
fn check_authorship(
    doc: &RecordDoc,
    before: &BTreeSet<super::record::ValueDigest>,
    restricted_before: Option<&super::restriction::Restriction>,
    header: &UnitHeader,
    roster: &VerifiedRoster,
) -> Result<Option<Refusal>> {
    // A unit that makes the record registers the patient: its demographics are the registration.
    let creates_record = before.is_empty();
    // What a value records, checked against its author's role as the author's own session would
    // have; a registration's demographics come from a role that may register patients.
    let role_may = |path: &str, role: Role, registering: bool| {
        super::record::action_at(path).is_none_or(|action| {
            role.may(action)
                || (registering
                    && action == Action::AmendRecord
                    && path.starts_with("/demographics/")
                    && role.may(Action::RegisterPatient))
        })
    };
    // An integration device writes only the source's own allergies and alerts: never an entry
    // a clinician made, whose id no source identifier gives.
    let integration_may = |path: &str, role: Role| {
        role != Role::Integration
            || match path
                .trim_start_matches('/')
                .split('/')
                .collect::<Vec<_>>()
                .as_slice()
            {
                [container @ ("allergies" | "flags"), id, _] => {
                    doc.is_imported_entry(container, id)
                }
                _ => true,
            }
    };
    for (path, claimed) in doc.new_value_authors(before)? {
        let Some(claimed) = claimed else {
            continue;
        };
        let allowed = match header.kind {
            // A change is also checked against what its author's role may do, as the author's
            // own session would have: a modified device enrolled as a healthcare assistant
            // cannot mark a set entered in error on its colleagues' devices.
            UnitKind::Changes => {
                claimed.device == header.author
                    && roster
                        .author_at(header.author, header.epoch)
                        .is_some_and(|member| member.role == claimed.role)
                    && role_may(&path, claimed.role, creates_record)
                    && integration_may(&path, claimed.role)
                    && incident_only_at_creation(&path, creates_record)
                    // A restricted record's restriction is changed only by someone it lets decide,
                    // as the roster names the author's device.
                    && (path != "/restriction"
                        || restricted_before.is_none_or(|restriction| {
                            roster
                                .author_at(header.author, header.epoch)
                                .is_some_and(|member| {
                                    restriction.may_decide(member.device, &member.user)
                                })
                        }))
            }
            // A snapshot carries the record's whole history, so it may not say which value
            // registered the patient: demographics pass from a role that may register.
            UnitKind::Snapshot => {
                (match roster.known(claimed.device) {
                    Some(member) => member.role == claimed.role,
                    // Revoked before the admin kept former members' details.
                    None => roster.is_revoked(claimed.device),
                }) && role_may(&path, claimed.role, true)
                    && integration_may(&path, claimed.role)
                    && incident_only_at_creation(&path, creates_record)
            }
            // Bundles are applied part by part, each as a unit of changes.
            UnitKind::Audit | UnitKind::Bundle => false,
        };
        if !allowed {
            return Ok(Some(Refusal::Forged));
        }
    }
    Ok(None)
}

/// An incident's temporary identity is written once, with the record: added later to a registered
/// patient's record it would take the record out of the duplicate-NHS-number checks and decide
/// NEWS2's use by a statement instead of a date of birth.
fn incident_only_at_creation(path: &str, creates_record: bool) -> bool {
    path != "/incident" || creates_record
}

/// Applies one unit to `doc` and checks it; on a refusal `doc` may hold part of it, and the
/// caller starts the record again without the unit.
fn apply_checked(
    doc: &mut RecordDoc,
    values: &mut BTreeSet<super::record::ValueDigest>,
    unit: &Opened,
    patient: PatientId,
    roster: &VerifiedRoster,
) -> Result<Option<Refusal>> {
    let header = &unit.header;
    let heads = doc.raw_heads();
    let restricted_before = doc.restriction().ok().flatten();
    let Some(raw) = unit.raw() else {
        return Ok(Some(Refusal::Malformed));
    };
    // A snapshot must be a whole document, not bytes that happen to load as nothing.
    if header.kind == UnitKind::Snapshot && automerge::AutoCommit::load(&raw).is_err() {
        return Ok(Some(Refusal::Malformed));
    }
    if doc.apply_changes(&raw).is_err() {
        return Ok(Some(Refusal::Malformed));
    }
    drop(raw);
    if header.kind == UnitKind::Changes {
        let signer = device_actor(header.author);
        if doc
            .actors_since(&heads)
            .iter()
            .any(|actor| *actor != signer)
        {
            return Ok(Some(Refusal::Forged));
        }
    }
    // The record must still read: a unit that breaks it is refused, not stored.
    if doc.read(patient).is_err() {
        return Ok(Some(Refusal::Malformed));
    }
    if let Some(refusal) =
        check_authorship(doc, values, restricted_before.as_ref(), header, roster)?
    {
        return Ok(Some(refusal));
    }
    let after = doc.value_digests()?;
    // Nothing clinical is deleted (invariant 6): the store never removes a value's place, so a
    // unit after which one has gone removed a colleague's entry.
    let places = |set: &BTreeSet<super::record::ValueDigest>| {
        set.iter()
            .map(|value| value.path().to_owned())
            .collect::<BTreeSet<String>>()
    };
    if !places(values).is_subset(&places(&after)) {
        return Ok(Some(Refusal::Forged));
    }
    *values = after;
    Ok(None)
}

/// What this device knows the server held of one record before a pull: the newest unit it
/// applied or sent, and the record's heads as the server has them.
struct HeldByServer {
    last_seq: u64,
    heads: Vec<String>,
}

impl HeldByServer {
    /// Whether `unit` is a snapshot that claims to cover everything this device knows of the
    /// record yet lacks some of it: the server dropped the covered units, so the record is cut
    /// short for devices that did not have them, and this device must send a whole snapshot.
    fn cut_short_by(&self, unit: &Opened) -> bool {
        let header = &unit.header;
        if header.kind != UnitKind::Snapshot
            || self.heads.is_empty()
            || header.covers.unwrap_or(0) < self.last_seq
        {
            return false;
        }
        let Some(Ok(mut snapshot)) = unit.raw().map(|raw| automerge::AutoCommit::load(&raw)) else {
            return true;
        };
        self.heads.iter().any(|head| {
            head.parse::<automerge::ChangeHash>()
                .map_or(true, |hash| snapshot.get_change_by_hash(&hash).is_none())
        })
    }
}

/// Applies the opened units of one record in sequence order, each once every change it depends on
/// is present (a unit may arrive before one it builds on). A refused unit is left out and the
/// record rebuilt from storage without it; units still waiting for others are returned.
fn apply_to_record(
    connection: &Connection,
    key: &DataKey,
    patient: PatientId,
    actor: &ActorId,
    roster: &VerifiedRoster,
    held: &HeldByServer,
    units: Vec<Opened>,
) -> Result<RecordApplied> {
    let mut refused: BTreeSet<u64> = BTreeSet::new();
    let mut refused_authors: BTreeSet<DeviceId> = BTreeSet::new();
    let mut refused_snapshot = false;
    let mut rejected = 0;
    let mut forged = 0;
    'attempt: loop {
        let (mut doc, stored) = match persist::load_doc(connection, key, patient, actor.clone()) {
            Ok(loaded) => (loaded.doc, Some(loaded.state)),
            Err(StoreError::PatientNotFound) => (
                RecordDoc::load(actor.clone(), None, std::iter::empty())?,
                None,
            ),
            Err(error) => return Err(error),
        };
        let mut values = doc.value_digests()?;
        let mut kinds = Vec::new();
        let mut last_seq: Option<u64> = None;
        let mut pending: Vec<&Opened> = units
            .iter()
            .filter(|unit| {
                let refused_author = refused_authors.contains(&unit.header.author);
                if refused_author && !refused.contains(&unit.seq) {
                    // Later units of an author refused in this record build on what was refused:
                    // refusing them too bounds the work a hostile member can cause to one
                    // rebuild per author, not one per unit.
                    refused.insert(unit.seq);
                    rejected += 1;
                }
                !refused_author
            })
            .collect();
        loop {
            let mut progressed = false;
            let mut still = Vec::new();
            for unit in pending {
                // A payload that does not decompress goes on to be refused as malformed; a
                // bundle's part that is not a whole document is refused rather than kept.
                let waits = unit.raw().is_some_and(|raw| !doc.can_apply(&raw));
                let outcome = if waits && unit.received.is_some() {
                    still.push(unit);
                    continue;
                } else if waits {
                    Some(Refusal::Malformed)
                } else {
                    apply_checked(&mut doc, &mut values, unit, patient, roster)?
                };
                match outcome {
                    None => {
                        kinds.push(unit.header.kind);
                        last_seq = last_seq.max(Some(unit.seq));
                        progressed = true;
                        if held.cut_short_by(unit) {
                            refused_snapshot = true;
                        }
                    }
                    Some(refusal) => {
                        match refusal {
                            Refusal::Malformed => rejected += 1,
                            Refusal::Forged => forged += 1,
                        }
                        refused.insert(unit.seq);
                        refused_authors.insert(unit.header.author);
                        refused_snapshot |= unit.header.kind == UnitKind::Snapshot;
                        continue 'attempt;
                    }
                }
            }
            pending = still;
            if !progressed || pending.is_empty() {
                break;
            }
        }
        return Ok(RecordApplied {
            doc,
            stored,
            kinds,
            rejected,
            forged,
            refused_snapshot,
            last_seq,
            waiting: pending
                .into_iter()
                .filter_map(|unit| unit.received.clone())
                .collect(),
        });
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

/// The protocol in the admin-signed membership this device holds (verified again here: the
/// sealed state could only have been written by this device, but the check is cheap).
fn protocol_of(state: &SyncState) -> Result<ResponseProtocol> {
    let Some(signed) = &state.roster.membership else {
        return Ok(ResponseProtocol::default());
    };
    let membership = signed
        .open::<Membership>(&state.admin_key()?, PURPOSE_MEMBERSHIP)
        .map_err(|_| StoreError::Tampered { what: "sync state" })?;
    // The admin checks a protocol before signing it; one that fails here came from a build with
    // other rules, and the shipped default is safer than words that fail them.
    Ok(membership
        .protocol
        .filter(|protocol| protocol.validate().is_ok())
        .unwrap_or_default())
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
    /// Units from colleagues held back until what they need arrives (a new member's enrolment, a
    /// new team key, a change they build on).
    pub waiting: u64,
    /// What seals this device's keys: `os-keyring-v1` (the operating system's key store) or
    /// `software-v1` (a key file beside the database: the fallback where no store was available).
    pub key_sealer: String,
    /// The NEWS2 response protocol in use: id, version and name.
    pub protocol: ProtocolInUse,
    /// This device's clock minus the sync server's at the last sync, in seconds.
    pub clock_skew_seconds: Option<i64>,
}

/// Which protocol a device scores under, as the status shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProtocolInUse {
    pub id: String,
    pub version: u32,
    pub name: String,
    pub setting: crate::news2::Setting,
}

/// A clock more than this far from the server's is shown as wrong: observation and escalation
/// times come from it.
pub const CLOCK_SKEW_WARNING_SECONDS: i64 = 300;

/// Units ready to send, and what to record once the server has them.
#[derive(Debug)]
pub struct PreparedUpload {
    pub request: UploadRequest,
    /// Per record: the heads sent, and which of its dirty marks they cover.
    heads: Vec<(PatientId, Vec<String>, i64)>,
    /// Per unit, in order: the records it carries (several for a bundle, none for audit).
    records: Vec<Vec<PatientId>>,
    audit_upto: Option<u64>,
    snapshots: Vec<PatientId>,
}

impl PreparedUpload {
    /// Records whose changes go up (a bundle carries several; snapshots and audit do not count).
    pub fn records_sent(&self) -> usize {
        self.request
            .units
            .iter()
            .zip(&self.records)
            .filter(|(unit, _)| matches!(unit.header.kind, UnitKind::Changes | UnitKind::Bundle))
            .map(|(_, records)| records.len())
            .sum()
    }
}

/// What applying a page of pulled units did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PullOutcome {
    pub applied: u64,
    /// Units refused for good: bad signature, altered, for another team, or not a valid change.
    pub rejected: u64,
    /// Units refused because they write in another member's name.
    pub forged: u64,
    /// Units kept to retry at the next pull (see [`SyncStatus::waiting`]).
    pub waiting: u64,
    /// The page was taken in only up to `cursor` (its bundles would have held too much at once):
    /// pull again from there, even if the server said there was no more.
    pub more: bool,
    /// Records that now hold values set concurrently on two devices.
    pub conflicts: u64,
    pub cursor: u64,
}

/// What taking in a roster did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RosterOutcome {
    /// The admin-signed membership revokes this device: it must wipe itself.
    pub revoked: bool,
    /// Team keys received and accepted (the admin committed to them).
    pub keys_accepted: u64,
    /// Lockboxes refused: they opened to a key the admin never committed to (a key the server
    /// chose), or claimed an epoch whose key this device already holds.
    pub keys_refused: u64,
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
        let mut context = self.background_context()?;
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
        // The admin granted this person and role; an existing store's user must hold that role,
        // or the team would refuse everything written on this device.
        if self.user().role != accepted.grant.role {
            return Err(StoreError::RoleDiffersFromEnrolment {
                enrolled: accepted.grant.role.key(),
            });
        }
        let signing = SigningKey::generate()?;
        let agreement = AgreementKey::generate()?;
        let member = Member {
            device: self.shared.device_id,
            user: accepted.grant.user.clone(),
            role: accepted.grant.role,
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
            // The grant says which membership was current when it was made: a server showing this
            // new device an older one (from before a revocation) is refused from the first sync.
            pinned_version: accepted.grant.membership_version,
            last_unit_seq: BTreeMap::new(),
            clock_skew_seconds: None,
            roster_tag: String::new(),
        };
        let context = self.background_context()?;
        write_state(&context.connection, context.key()?, &state)?;
        Ok(endorsement)
    }

    /// Forgets a team this device was joining when the server refused the enrolment: the device
    /// is left as it was before, not believing itself enrolled.
    pub fn abandon_join(&self) -> Result<()> {
        let context = self.background_context()?;
        context.connection.execute("DELETE FROM sync_state", [])?;
        Ok(())
    }

    pub fn sync_status(&self) -> Result<SyncStatus> {
        let context = self.background_context()?;
        let state = read_state(&context.connection, context.key()?)?;
        let pending: u64 =
            context
                .connection
                .query_row("SELECT COUNT(*) FROM dirty_docs", [], |row| row.get(0))?;
        let waiting: u64 =
            context
                .connection
                .query_row("SELECT COUNT(*) FROM quarantine", [], |row| row.get(0))?;
        let protocol = match &state {
            Some(state) => protocol_of(state)?,
            None => ResponseProtocol::default(),
        };
        Ok(SyncStatus {
            protocol: ProtocolInUse {
                id: protocol.id,
                version: protocol.version,
                name: protocol.name,
                setting: protocol.setting,
            },
            clock_skew_seconds: state.as_ref().and_then(|s| s.clock_skew_seconds),
            waiting,
            key_sealer: self.shared.sealer.name().to_owned(),
            device_id: self.shared.device_id,
            user: self.user().name.clone(),
            team: state.as_ref().map(|s| s.team.clone()),
            server: state.as_ref().map(|s| s.server.clone()),
            last_sync: state.as_ref().and_then(|s| s.last_sync),
            pending,
            cursor: state.as_ref().map_or(0, |s| s.cursor),
        })
    }

    /// The NEWS2 response protocol this device scores under: the one the organisation's admin
    /// signed into the team's membership, or Doorstep's community protocol on a stand-alone
    /// device and until the admin sets one.
    pub fn protocol(&self) -> Result<ResponseProtocol> {
        let context = self.background_context()?;
        match read_state(&context.connection, context.key()?)? {
            Some(state) => protocol_of(&state),
            None => Ok(ResponseProtocol::default()),
        }
    }

    /// Records how far this device's clock is from the sync server's, measured at a sync.
    pub fn record_clock_skew(&self, seconds: i64) -> Result<()> {
        self.with_state(|_, _, state| {
            state.clock_skew_seconds = Some(seconds);
            Ok(())
        })
    }

    /// The team's members as the organisation's admin key vouches for them, by device: who wrote
    /// an entry that arrived from another device. Empty before enrolment.
    pub fn team_members(&self) -> Result<Vec<Member>> {
        let context = self.background_context()?;
        let Some(state) = read_state(&context.connection, context.key()?)? else {
            return Ok(Vec::new());
        };
        Ok(state.roster()?.members().cloned().collect())
    }

    /// The role this device was enrolled for (its admin-signed grant), if it is enrolled: the
    /// team accepts entries from it only in that role.
    pub(super) fn enrolled_role(&self) -> Result<Option<crate::observation::Role>> {
        let context = self.background_context()?;
        let Some(state) = read_state(&context.connection, context.key()?)? else {
            return Ok(None);
        };
        let me = self.shared.device_id;
        Ok(state.roster()?.member(me).map(|member| member.role))
    }

    /// Whether `patient`'s record holds changes the server has not yet received.
    pub fn has_unsynced_changes(&self, patient: PatientId) -> Result<bool> {
        let context = self.background_context()?;
        super::persist::is_dirty(&context.connection, patient)
    }

    /// The sync server this device is enrolled with.
    pub fn sync_server(&self) -> Result<String> {
        let context = self.background_context()?;
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
        let context = self.background_context()?;
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

    /// A record as sync units would carry it, for training the payload dictionary: the whole
    /// document, the changes after `heads`, and its heads now.
    #[cfg(test)]
    pub(crate) fn training_sample(
        &self,
        patient: PatientId,
        heads: &[String],
    ) -> Result<(Vec<u8>, Vec<u8>, Vec<String>)> {
        let mut context = self.background_context()?;
        let (connection, unlocked) = context.parts()?;
        let mut loaded = persist::load_doc(connection, &unlocked.key, patient, self.actor())?;
        Ok((
            loaded.doc.save_uncompressed(),
            loaded.doc.changes_after(heads),
            loaded.doc.heads(),
        ))
    }

    /// Seals every record's changes that the server has not seen into signed units.
    pub fn prepare_upload(&self) -> Result<PreparedUpload> {
        let dirty: Vec<(PatientId, i64)> = {
            let context = self.background_context()?;
            let mut statement = context
                .connection
                .prepare("SELECT patient_id, generation FROM dirty_docs ORDER BY patient_id")?;
            let rows = statement.query_map([], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
            })?;
            rows.filter_map(|row| {
                row.ok()
                    .and_then(|(id, generation)| Some((id.parse().ok()?, generation)))
            })
            .collect()
        };
        let mut units = Vec::new();
        let mut records = Vec::new();
        let mut heads = Vec::new();
        let mut audit_upto = None;
        let author = self.shared.device_id;
        self.with_state(|connection, key, state| {
            let (epoch, team_key) = state.sealing_epoch()?;
            let signing = state.signing_key()?;
            let seal = |state: &mut SyncState, doc: PatientId, kind: UnitKind, raw: &[u8]| {
                state.counter += 1;
                let header = UnitHeader {
                    team: state.team.clone(),
                    epoch,
                    doc,
                    author,
                    counter: state.counter,
                    kind,
                    covers: None,
                };
                let payload = payload::compress(raw).map_err(|_| unsendable())?;
                Ok::<_, StoreError>(unit::seal_unit(&team_key, &signing, header, &payload)?)
            };
            // Records the server has never seen go as whole documents (smaller than their
            // changes), sealed together in bundles.
            let mut first_uploads: Vec<(PatientId, Vec<u8>)> = Vec::new();
            for (patient, generation) in dirty {
                let mut loaded = persist::load_doc(connection, key, patient, self.actor())?;
                let known = uploaded_heads(connection, key, patient)?;
                heads.push((patient, loaded.doc.heads(), generation));
                if known.is_empty() {
                    first_uploads.push((patient, loaded.doc.save_uncompressed()));
                    continue;
                }
                let changes = loaded.doc.changes_after(&known);
                if changes.is_empty() {
                    continue;
                }
                units.push(seal(state, patient, UnitKind::Changes, &changes)?);
                records.push(vec![patient]);
                *state.since_snapshot.entry(patient).or_default() += 1;
            }
            let sizes: Vec<usize> = first_uploads.iter().map(|(_, doc)| doc.len()).collect();
            for group in payload::bundle::plan(&sizes) {
                let parts: Vec<(PatientId, &[u8])> = first_uploads[group]
                    .iter()
                    .map(|(patient, doc)| (*patient, doc.as_slice()))
                    .collect();
                let unit = match parts.as_slice() {
                    [(patient, doc)] => seal(state, *patient, UnitKind::Changes, doc)?,
                    _ => {
                        let raw = payload::bundle::encode(&parts).map_err(|_| unsendable())?;
                        seal(state, PatientId::random(), UnitKind::Bundle, &raw)?
                    }
                };
                units.push(unit);
                records.push(parts.iter().map(|(patient, _)| *patient).collect());
                for (patient, _) in &parts {
                    *state.since_snapshot.entry(*patient).or_default() += 1;
                }
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
                let plain = payload::audit::encode(&pending).map_err(|_| unsendable())?;
                units.push(unit::seal_unit(&team_key, &signing, header, &plain)?);
                records.push(Vec::new());
            }
            Ok(())
        })?;
        Ok(PreparedUpload {
            request: UploadRequest { units },
            heads,
            records,
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
            let (epoch, team_key) = state.sealing_epoch()?;
            let signing = state.signing_key()?;
            // A snapshot stands for every unit it covers, and the server drops those: it must not
            // cover a unit this device has not applied yet. A waiting bundle's records cannot be
            // told from its header, and need not be: the server never drops a bundle.
            let mut first_waiting: BTreeMap<PatientId, u64> = BTreeMap::new();
            for stored in quarantined(connection, key)? {
                first_waiting
                    .entry(stored.unit.header.doc)
                    .or_insert(stored.seq);
            }
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
                    covers: Some(match first_waiting.get(&patient) {
                        Some(seq) => state.cursor.min(seq.saturating_sub(1)),
                        None => state.cursor,
                    }),
                };
                let payload =
                    payload::compress(&loaded.doc.save_uncompressed()).map_err(|_| unsendable())?;
                units.push(unit::seal_unit(&team_key, &signing, header, &payload)?);
                snapshots.push(patient);
            }
            Ok(())
        })?;
        Ok(PreparedUpload {
            request: UploadRequest { units },
            heads: Vec::new(),
            records: snapshots.iter().map(|patient| vec![*patient]).collect(),
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
        let mut context = self.background_context()?;
        let (connection, unlocked) = context.parts()?;
        let transaction = connection.transaction()?;
        for (patient, heads, generation) in &prepared.heads {
            set_uploaded_heads(&transaction, &unlocked.key, *patient, heads)?;
            // A change made while the upload was under way is still to be sent.
            transaction.execute(
                "DELETE FROM dirty_docs WHERE patient_id = ?1 AND generation = ?2",
                params![patient.to_string(), generation],
            )?;
        }
        {
            let mut state =
                read_state(&transaction, &unlocked.key)?.ok_or(StoreError::NotEnrolled)?;
            for (records, seq) in prepared.records.iter().zip(&response.seqs) {
                for patient in records {
                    let last = state.last_unit_seq.entry(*patient).or_default();
                    *last = (*last).max(*seq);
                }
            }
            if let Some(upto) = prepared.audit_upto {
                state.audit_uploaded = state.audit_uploaded.max(upto);
            }
            for patient in &prepared.snapshots {
                state.since_snapshot.remove(patient);
            }
            write_state(&transaction, &unlocked.key, &state)?;
        }
        transaction.commit()?;
        Ok(prepared.records_sent() as u64)
    }

    /// Takes in the roster the server relayed, keeping only what the admin key vouches for, and
    /// opens the team keys sealed to this device that the admin committed to. Refuses (changing
    /// nothing) a membership the admin did not sign, older than one already seen, missing once one
    /// was seen, or different from the one already seen under the same version.
    pub fn apply_roster(&self, roster: Roster) -> Result<RosterOutcome> {
        let device = self.shared.device_id;
        self.with_state(|_, _, state| {
            let admin_key = state.admin_key()?;
            let incoming = match &roster.membership {
                Some(signed) => match signed.open::<Membership>(&admin_key, PURPOSE_MEMBERSHIP) {
                    Ok(membership) if membership.team == state.team => Some(membership),
                    _ => return Err(StoreError::Untrusted("a membership the admin did not sign")),
                },
                None => None,
            };
            let membership = match incoming {
                None if state.pinned_version > 0 => {
                    return Err(StoreError::Untrusted("the team membership was withheld"));
                }
                None => state.roster.membership.clone(),
                Some(membership) if membership.version < state.pinned_version => {
                    return Err(StoreError::Untrusted("an older team membership"));
                }
                Some(membership)
                    if membership.version == state.pinned_version
                        && state.roster.membership.is_some()
                        && state.roster.membership.as_ref().map(|m| &m.body)
                            != roster.membership.as_ref().map(|m| &m.body) =>
                {
                    return Err(StoreError::Untrusted(
                        "two different memberships with one version",
                    ));
                }
                Some(_) => roster.membership.clone(),
            };
            // Keep this device's own enrolment: the server may not relay it back yet.
            let mut enrolments = roster.enrolments;
            for own in &state.roster.enrolments {
                if !enrolments.iter().any(|e| e.endorsement == own.endorsement) {
                    enrolments.push(own.clone());
                }
            }
            let merged = Roster {
                membership,
                enrolments,
                lockboxes: Vec::new(),
            };
            let verified = VerifiedRoster::verify(&state.team, &admin_key, &merged);
            let mut outcome = RosterOutcome {
                revoked: verified.is_revoked(device),
                ..RosterOutcome::default()
            };
            let mut agreement_bytes = [0u8; 32];
            agreement_bytes.copy_from_slice(state.agreement_key.0.get(..32).unwrap_or(&[0u8; 32]));
            let agreement = AgreementKey::from_bytes(agreement_bytes);
            for lockbox in roster.lockboxes.iter().filter(|l| l.device == device) {
                // A key once held is never replaced: units already sealed under it stay readable
                // and a server cannot swap it.
                if state.team_keys.contains_key(&lockbox.epoch) {
                    continue;
                }
                let context =
                    crate::sync::admin::lockbox_context(&state.team, lockbox.epoch, device);
                let Ok(key) = keys::open_sealed(&agreement, &context, &lockbox.sealed.0) else {
                    outcome.keys_refused += 1;
                    continue;
                };
                let committed = DataKey::from_bytes(&key)
                    .map(|key| keys::epoch_key_commitment(&state.team, lockbox.epoch, &key))
                    .ok();
                if committed.is_some() && committed == verified.key_commitment(lockbox.epoch) {
                    state.team_keys.insert(lockbox.epoch, B64(key.to_vec()));
                    outcome.keys_accepted += 1;
                } else {
                    outcome.keys_refused += 1;
                }
            }
            state.pinned_version = state.pinned_version.max(verified.version);
            state.roster = merged;
            Ok(outcome)
        })
    }

    /// Whether `proof`, relayed by a server that says this device is revoked, really is the
    /// organisation's word: a membership signed by the admin key, for this team, no older than the
    /// newest this device has seen, that lists this device as revoked. Only then may it wipe.
    pub fn verify_revocation(&self, proof: &Signed) -> Result<bool> {
        let context = self.background_context()?;
        let state =
            read_state(&context.connection, context.key()?)?.ok_or(StoreError::NotEnrolled)?;
        let Ok(membership) = proof.open::<Membership>(&state.admin_key()?, PURPOSE_MEMBERSHIP)
        else {
            return Ok(false);
        };
        Ok(membership.team == state.team
            && membership.version >= state.pinned_version
            && membership.revoked.contains(&self.shared.device_id))
    }

    /// Applies one page of pulled units, with the units held back from earlier pulls. A unit that
    /// cannot be applied yet (its author's enrolment, its epoch's key or a change it builds on has
    /// not arrived) is kept and retried; one that fails verification or writes in another member's
    /// name is refused and counted. Either way the cursor moves on and other authors' units and
    /// other records are applied.
    pub fn apply_pull(&self, pull: &PullResponse) -> Result<PullOutcome> {
        let mut context = self.background_context()?;
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
        let mut candidates = quarantined(&transaction, key)?;
        let retried: BTreeSet<u64> = candidates.iter().map(|unit| unit.seq).collect();
        candidates.extend(
            pull.units
                .iter()
                .filter(|unit| !retried.contains(&unit.seq))
                .cloned(),
        );
        candidates.sort_by_key(|unit| unit.seq);
        let mut waiting = Vec::new();
        // Records whose server copy a refused snapshot may have cut short: the server drops the
        // units a snapshot covers, whoever sent it, so a device holding the record sends an honest
        // snapshot of it at the end of this sync, and the server keeps the record whole.
        let mut refused_snapshots: BTreeSet<PatientId> = BTreeSet::new();
        let mut by_record: BTreeMap<PatientId, Vec<Opened>> = BTreeMap::new();
        // Bundles expanded for this pull: retried ones beyond the limit wait on; the page stops at
        // its first bundle beyond it (never at its first bundle, so every page moves on).
        let mut retried_bundle_bytes = 0usize;
        let mut page_bundle_bytes = 0usize;
        // The first unit of the page left for the next pull, when its bundles would hold too much.
        let mut held_from: Option<u64> = None;
        for stored in candidates {
            if stored.unit.header.author == me || stored.unit.header.kind == UnitKind::Audit {
                continue;
            }
            if held_from.is_some() {
                // Units of the page come again with the next one; those already waiting stay.
                if retried.contains(&stored.seq) {
                    waiting.push(stored);
                }
                continue;
            }
            match unit::open_unit(&stored.unit, &roster, team_key) {
                // Authentic but declaring more than any record holds: refused unexpanded.
                Ok(sealed) if !payload::within_limit(&sealed) => {
                    outcome.rejected += 1;
                    if stored.unit.header.kind == UnitKind::Snapshot {
                        refused_snapshots.insert(stored.unit.header.doc);
                    }
                }
                Ok(sealed) if stored.unit.header.kind == UnitKind::Bundle => {
                    let size = payload::expanded_size(&sealed);
                    if size > payload::bundle::MAX_BUNDLE_EXPANDED {
                        outcome.rejected += 1;
                        continue;
                    }
                    // Units retried from the quarantine come first (they are older than the page).
                    let retrying = retried.contains(&stored.seq);
                    let spent = if retrying {
                        &mut retried_bundle_bytes
                    } else {
                        &mut page_bundle_bytes
                    };
                    if *spent > 0 && *spent + size > MAX_BUNDLE_BYTES_PER_PULL {
                        if retrying {
                            waiting.push(stored);
                        } else {
                            held_from = Some(stored.seq);
                        }
                        continue;
                    }
                    *spent += size;
                    match bundle_parts(&stored, &sealed) {
                        Some(parts) => {
                            for (patient, part) in parts {
                                by_record.entry(patient).or_default().push(part);
                            }
                        }
                        None => outcome.rejected += 1,
                    }
                }
                Ok(sealed) => by_record
                    .entry(stored.unit.header.doc)
                    .or_default()
                    .push(Opened::received(stored, sealed)),
                // Passing reasons: the author's enrolment, or the key of an epoch the admin has
                // announced, has not reached this device yet.
                // A revoked device's unit under an epoch it never held is refused for good.
                Err(UnitError::UnknownAuthor) if roster.is_revoked(stored.unit.header.author) => {
                    outcome.rejected += 1
                }
                Err(UnitError::UnknownAuthor) => waiting.push(stored),
                // An epoch the admin announced, or one newer than this device's roster (a rotation
                // under way while it pulls): its key may still come.
                Err(UnitError::NoKeyForEpoch)
                    if roster.key_commitment(stored.unit.header.epoch).is_some()
                        || stored.unit.header.epoch > roster.epoch =>
                {
                    waiting.push(stored)
                }
                Err(_) => {
                    outcome.rejected += 1;
                    if stored.unit.header.kind == UnitKind::Snapshot {
                        refused_snapshots.insert(stored.unit.header.doc);
                    }
                }
            }
        }
        for (patient, units) in by_record {
            let held = HeldByServer {
                last_seq: state.last_unit_seq.get(&patient).copied().unwrap_or(0),
                heads: uploaded_heads(&transaction, key, patient)?,
            };
            let mut applied =
                apply_to_record(&transaction, key, patient, &actor, &roster, &held, units)?;
            outcome.rejected += applied.rejected;
            outcome.forged += applied.forged;
            if applied.refused_snapshot {
                refused_snapshots.insert(patient);
            }
            waiting.append(&mut applied.waiting);
            if applied.kinds.is_empty() {
                continue;
            }
            outcome.applied += applied.kinds.len() as u64;
            if let Some(last) = applied.last_seq {
                let entry = state.last_unit_seq.entry(patient).or_default();
                *entry = (*entry).max(last);
            }
            for kind in &applied.kinds {
                if *kind == UnitKind::Snapshot {
                    state.since_snapshot.remove(&patient);
                } else {
                    *state.since_snapshot.entry(patient).or_default() += 1;
                }
            }
            let mut loaded = LoadedDoc {
                doc: applied.doc,
                state: applied.stored.unwrap_or_default(),
            };
            match applied.stored {
                Some(_) => persist::append_changes(&transaction, key, patient, &mut loaded)?,
                None => persist::insert_doc(&transaction, key, patient, &mut loaded.doc)?,
            }
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
        for patient in refused_snapshots {
            if persist::load_doc(&transaction, key, patient, actor.clone()).is_ok() {
                state.since_snapshot.insert(patient, u32::MAX);
            }
        }
        waiting.sort_by_key(|unit| unit.seq);
        // Bounded per author and in all: one member flooding units that can never apply loses its
        // own oldest first, and cannot push colleagues' waiting units out.
        let mut per_author: BTreeMap<DeviceId, usize> = BTreeMap::new();
        for unit in &waiting {
            *per_author.entry(unit.unit.header.author).or_default() += 1;
        }
        let mut over: BTreeMap<DeviceId, usize> = per_author
            .into_iter()
            .filter(|(_, count)| *count > MAX_WAITING_PER_AUTHOR)
            .map(|(author, count)| (author, count - MAX_WAITING_PER_AUTHOR))
            .collect();
        waiting.retain(|unit| match over.get_mut(&unit.unit.header.author) {
            Some(excess) if *excess > 0 => {
                *excess -= 1;
                outcome.rejected += 1;
                false
            }
            _ => true,
        });
        if waiting.len() > MAX_WAITING_UNITS {
            let excess = waiting.len() - MAX_WAITING_UNITS;
            waiting.drain(..excess);
            outcome.rejected += excess as u64;
        }
        replace_quarantine(&transaction, key, &waiting)?;
        outcome.waiting = waiting.len() as u64;
        match held_from {
            Some(seq) => {
                state.cursor = state.cursor.max(seq.saturating_sub(1));
                outcome.more = true;
            }
            None => state.cursor = state.cursor.max(pull.cursor),
        }
        if !pull.more && !outcome.more {
            state.last_sync = Some(Utc::now());
        }
        outcome.cursor = state.cursor;
        write_state(&transaction, key, &state)?;
        transaction.commit()?;
        Ok(outcome)
    }

    /// The tag of the roster this device last took in ([`Session::set_roster_tag`]).
    pub fn roster_tag(&self) -> Result<String> {
        let context = self.background_context()?;
        Ok(read_state(&context.connection, context.key()?)?
            .ok_or(StoreError::NotEnrolled)?
            .roster_tag)
    }

    /// Remembers the server's tag for the roster just taken in by [`Session::apply_roster`].
    pub fn set_roster_tag(&self, tag: &str) -> Result<()> {
        self.with_state(|_, _, state| {
            state.roster_tag = tag.to_owned();
            Ok(())
        })
    }

    /// Where the next pull starts.
    pub fn sync_cursor(&self) -> Result<u64> {
        let context = self.background_context()?;
        Ok(read_state(&context.connection, context.key()?)?
            .ok_or(StoreError::NotEnrolled)?
            .cursor)
    }

    /// Wipes this device's data, as a revoked device must.
    pub fn wipe_device(&self) -> Result<()> {
        {
            let mut unlocked = self.background_context()?.unlocked;
            *unlocked = None;
        }
        self.shared.wipe()
    }
}
