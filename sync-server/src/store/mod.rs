//! Where the server keeps what it holds: organisations' public keys, signed memberships and grants,
//! device public keys, sealed units in their order, and spent request nonces. Nothing here can open
//! a unit.
//!
//! Two backends keep one contract: embedded SQLite (one process) and PostgreSQL (several stateless
//! instances on one database). The HTTP layer checks signatures and shapes; the backends only
//! store, order and read, each operation in one transaction. Both are run through the same
//! conformance suite (`cli/tests/sync.rs`).

mod postgres;
mod sqlite;

use doorstep_core::sync::wire::UnitKind;
use tokio::sync::broadcast;

use crate::error::{ApiError, ApiResult};

pub use postgres::Postgres;
pub use sqlite::Sqlite;

/// "Document X of team T changed at sequence N": all that push ever says. Never data.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Notice {
    pub team: String,
    pub doc: String,
    pub seq: u64,
}

/// What connected devices are told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Push {
    Changed(Notice),
    /// Notices may have been missed (this instance lost its link to the others): every device
    /// should pull.
    Resync,
}

/// A device the server knows, with the key its requests must verify against.
#[derive(Debug, Clone)]
pub struct DeviceKey {
    pub team: String,
    pub signing_key: Vec<u8>,
    pub revoked: bool,
}

/// A team and its current admin-signed membership (JSON of a `Signed`).
#[derive(Debug, Clone)]
pub struct Team {
    pub org: String,
    pub version: u64,
    pub membership: String,
}

/// A device as the admin-signed membership or an endorsement names it.
#[derive(Debug, Clone)]
pub struct NewDevice {
    pub device: String,
    pub user_name: String,
    pub role: String,
    pub signing_key: Vec<u8>,
}

/// A new membership version with its lockboxes, already verified against the admin key.
#[derive(Debug, Clone)]
pub struct MembershipWrite {
    pub team: String,
    pub org: String,
    pub version: u64,
    pub signed: String,
    pub members: Vec<NewDevice>,
    pub revoked: Vec<String>,
    pub lockboxes: Vec<LockboxRow>,
}

#[derive(Debug, Clone)]
pub struct LockboxRow {
    pub device: String,
    pub epoch: u32,
    pub sealed: Vec<u8>,
}

/// An enrolment grant as stored, with its organisation's admin key.
#[derive(Debug, Clone)]
pub struct GrantRow {
    pub team: String,
    pub org: String,
    pub admin_key: Vec<u8>,
    pub signed_grant: String,
    pub code_lockbox: Vec<u8>,
}

/// What a roster is built from: the signed membership, completed enrolments (grant and
/// endorsement JSON), and the lockboxes sealed to one device.
#[derive(Debug, Clone, Default)]
pub struct RosterRows {
    pub membership: Option<String>,
    pub enrolments: Vec<(String, String)>,
    pub lockboxes: Vec<(u32, Vec<u8>)>,
}

/// A verified unit ready to be ordered.
#[derive(Debug, Clone)]
pub struct NewUnit {
    pub counter: u64,
    pub doc: String,
    pub kind: UnitKind,
    pub covers: Option<u64>,
    pub json: String,
}

#[derive(Debug, Clone)]
pub struct DeviceListing {
    pub device: String,
    pub team: String,
    pub user_name: String,
    pub role: String,
    pub signing_key: Vec<u8>,
    pub revoked: bool,
    pub enrolled_at: i64,
}

/// How completing an enrolment went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enrolled {
    Now,
    /// The same device repeated the same request: nothing to do.
    Already,
}

/// Which units a page reads: record units (changes, bundles of new records, and the snapshots
/// that replace changes) or audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Records,
    Audit,
}

pub(crate) fn kind_name(kind: UnitKind) -> &'static str {
    match kind {
        UnitKind::Changes => "changes",
        UnitKind::Audit => "audit",
        UnitKind::Snapshot => "snapshot",
        UnitKind::Bundle => "bundle",
    }
}

/// The notices an append raises: one per record touched, with its latest sequence, in the order
/// the records were first touched. Audit units raise none: devices never pull them. Bundles raise
/// one with no record (`doc` empty): which records a bundle holds is sealed inside it.
pub(crate) fn notices(team: &str, stored: &[(String, UnitKind, u64)]) -> Vec<Notice> {
    let mut notices: Vec<Notice> = Vec::new();
    for (doc, kind, seq) in stored {
        let doc = match kind {
            UnitKind::Audit => continue,
            UnitKind::Bundle => "",
            UnitKind::Changes | UnitKind::Snapshot => doc.as_str(),
        };
        match notices.iter_mut().find(|notice| notice.doc == doc) {
            Some(notice) => notice.seq = notice.seq.max(*seq),
            None => notices.push(Notice {
                team: team.to_owned(),
                doc: doc.to_owned(),
                seq: *seq,
            }),
        }
    }
    notices
}

/// Refuses a membership for a team owned by another organisation, or not newer than the stored
/// one (the admin's versions only go up; an older one replayed must not roll a revocation back).
pub(crate) fn check_newer(current: Option<Team>, write: &MembershipWrite) -> ApiResult<()> {
    match current {
        Some(team) if team.org != write.org => Err(ApiError::conflict(
            "that team belongs to another organisation",
        )),
        Some(team) if team.version >= write.version => Err(ApiError::conflict(
            "a newer membership is already published",
        )),
        _ => Ok(()),
    }
}

/// What a code already used means for `device`: nothing more to do when it was this device,
/// refused when another.
pub(crate) fn code_reuse(used_by: Option<&str>, device: &str) -> ApiResult<Option<Enrolled>> {
    match used_by {
        Some(existing) if existing != device => Err(ApiError::conflict(
            "this enrolment code has already been used by another device",
        )),
        Some(_) => Ok(Some(Enrolled::Already)),
        None => Ok(None),
    }
}

/// The sequence a snapshot stored at `seq` covers, checked: it cannot cover itself or later units.
pub(crate) fn snapshot_covers(unit: &NewUnit, seq: u64) -> ApiResult<Option<u64>> {
    if unit.kind != UnitKind::Snapshot {
        return Ok(None);
    }
    let covers = unit.covers.unwrap_or(0);
    if covers >= seq {
        return Err(ApiError::bad_request(
            "a snapshot cannot cover units after itself",
        ));
    }
    Ok(Some(covers))
}

/// A device reused one of its counters for different bytes: the first unit stands, and other
/// devices never see two versions of one unit.
pub(crate) fn counter_reused() -> ApiError {
    ApiError::conflict(
        "a unit with this author and counter was already received with different content; it is refused",
    )
}

pub(crate) fn unknown_code() -> ApiError {
    ApiError::not_found("unknown enrolment code; ask the administrator for a new one")
}

pub(crate) fn device_exists() -> ApiError {
    ApiError::conflict("that device is already enrolled")
}

pub(crate) fn grant_exists() -> ApiError {
    ApiError::conflict("that enrolment code was already issued; issue a new one")
}

/// The backend a server runs on.
#[derive(Debug)]
pub enum Store {
    Sqlite(Sqlite),
    Postgres(Postgres),
}

macro_rules! dispatch {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {
        match $self {
            Store::Sqlite(store) => store.$method($($arg),*).await,
            Store::Postgres(store) => store.$method($($arg),*).await,
        }
    };
}

impl Store {
    /// Opens `sqlite:PATH` or connects to `postgres://…`, bringing the schema up to date. Push
    /// notices of units stored through any instance are sent to `push`.
    pub async fn connect(url: &str, push: broadcast::Sender<Push>) -> anyhow::Result<Self> {
        if let Some(path) = url.strip_prefix("sqlite:") {
            return Ok(Store::Sqlite(Sqlite::open(path.as_ref(), push)?));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Store::Postgres(Postgres::connect(url, push).await?));
        }
        anyhow::bail!("--database must be sqlite:PATH or postgres://USER@HOST:PORT/DATABASE")
    }

    pub async fn org_key(&self, org: String) -> ApiResult<Option<Vec<u8>>> {
        dispatch!(self.org_key(org))
    }

    /// Registers `org` with `key` unless it exists; returns the key it is registered with.
    pub async fn register_org(&self, org: String, key: Vec<u8>) -> ApiResult<Vec<u8>> {
        dispatch!(self.register_org(org, key))
    }

    /// Spends a request nonce; false when it was already spent (a replay). Nonces older than
    /// `forget_before` (past the signature window) are forgotten when it is given.
    pub async fn spend_nonce(
        &self,
        nonce: String,
        at: i64,
        forget_before: Option<i64>,
    ) -> ApiResult<bool> {
        dispatch!(self.spend_nonce(nonce, at, forget_before))
    }

    pub async fn device(&self, device: String) -> ApiResult<Option<DeviceKey>> {
        dispatch!(self.device(device))
    }

    pub async fn team(&self, team: String) -> ApiResult<Option<Team>> {
        dispatch!(self.team(team))
    }

    /// Stores a newer membership; refuses one for another organisation's team or not newer than
    /// the stored one.
    pub async fn publish_membership(&self, write: MembershipWrite) -> ApiResult<()> {
        dispatch!(self.publish_membership(write))
    }

    pub async fn insert_grant(
        &self,
        token_hash: String,
        team: String,
        signed_grant: String,
        code_lockbox: Vec<u8>,
    ) -> ApiResult<()> {
        dispatch!(self.insert_grant(token_hash, team, signed_grant, code_lockbox))
    }

    pub async fn grant(&self, token_hash: String) -> ApiResult<Option<GrantRow>> {
        dispatch!(self.grant(token_hash))
    }

    /// Registers the device a code was used for; refuses a second device on the same code.
    pub async fn complete_enrolment(
        &self,
        token_hash: String,
        team: String,
        device: NewDevice,
        endorsement: String,
    ) -> ApiResult<Enrolled> {
        dispatch!(self.complete_enrolment(token_hash, team, device, endorsement))
    }

    pub async fn roster(&self, team: String, device: Option<String>) -> ApiResult<RosterRows> {
        dispatch!(self.roster(team, device))
    }

    /// Orders `units` from `author` in `team` and returns each one's sequence number (its first
    /// one, for a unit already received). A snapshot drops the record's units it covers. Every
    /// instance's devices are notified once the units are committed.
    pub async fn append(
        &self,
        team: String,
        author: String,
        units: Vec<NewUnit>,
    ) -> ApiResult<Vec<u64>> {
        dispatch!(self.append(team, author, units))
    }

    /// Units of `team` in `stream` after `after`, oldest first, at most `limit` (sequence and
    /// unit JSON).
    pub async fn page(
        &self,
        team: String,
        stream: Stream,
        after: u64,
        limit: usize,
    ) -> ApiResult<Vec<(u64, String)>> {
        dispatch!(self.page(team, stream, after, limit))
    }

    pub async fn org_devices(&self, org: String) -> ApiResult<Vec<DeviceListing>> {
        dispatch!(self.org_devices(org))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_notice_per_record_with_its_latest_sequence_and_none_for_audit() {
        let stored = [
            ("b".to_owned(), UnitKind::Changes, 3),
            ("a".to_owned(), UnitKind::Changes, 4),
            ("b".to_owned(), UnitKind::Snapshot, 7),
            ("b".to_owned(), UnitKind::Changes, 5),
            ("audit".to_owned(), UnitKind::Audit, 8),
            ("random".to_owned(), UnitKind::Bundle, 9),
        ];
        let notice = |doc: &str, seq| Notice {
            team: "north".into(),
            doc: doc.into(),
            seq,
        };
        assert_eq!(
            notices("north", &stored),
            vec![notice("b", 7), notice("a", 4), notice("", 9)]
        );
    }
}
