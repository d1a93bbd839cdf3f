//! Enrolment and one sync run, driving the core's sans-I/O engine over HTTP.

use std::path::Path;

use doorstep_core::crypto::{KeyStore, NoKeyStore};
use doorstep_core::store::{Device, Session, StoreError, UnlockPolicy};
use doorstep_core::sync::enrolment::EnrolmentCode;
use doorstep_core::sync::wire::{
    EnrolResponse, PullResponse, Roster, SyncRequest, SyncResponse, UploadRequest, UploadResponse,
};
use reqwest::Method;
use serde::Serialize;
use serde_json::Value;

use crate::client::{HttpClient, Signer, TransportError};

/// A record gets a snapshot after this many units since its last one.
pub const SNAPSHOT_AFTER_UNITS: u32 = 64;

/// Units per upload request and per pulled page.
const PAGE: usize = 500;
/// Bytes of units per upload request (as base64): well inside the server's body limit, and small
/// enough to arrive within the 30-second request timeout at 0.75 Mbit/s (about 8 s once gzipped).
const BATCH_BYTES: usize = 1024 * 1024;

/// Splits units into requests of at most [`PAGE`] units and about [`BATCH_BYTES`] bytes.
fn batches(units: &[doorstep_core::sync::wire::Unit]) -> Vec<&[doorstep_core::sync::wire::Unit]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (index, unit) in units.iter().enumerate() {
        let size = unit.ciphertext.0.len() * 4 / 3 + 512;
        if index > start && (index - start >= PAGE || bytes + size > BATCH_BYTES) {
            out.push(&units[start..index]);
            start = index;
            bytes = 0;
        }
        bytes += size;
    }
    if start < units.len() {
        out.push(&units[start..]);
    }
    out
}

/// Enrols this data directory's device with `server` using an administrator's code, creating the
/// device store (with the user and role the code was issued for) if there is none. After this the
/// device can sync with no further step.
pub fn enrol(dir: &Path, server: &str, code: &str, pin: &str) -> Result<Session, TransportError> {
    enrol_in(dir, server, code, pin, &NoKeyStore)
}

/// [`enrol`], with the device's keys sealed by `store` (the platform's key store) when it
/// creates the device store and one is available.
pub fn enrol_in(
    dir: &Path,
    server: &str,
    code: &str,
    pin: &str,
    store: &dyn KeyStore,
) -> Result<Session, TransportError> {
    let client = HttpClient::new(server)?;
    let code = EnrolmentCode::parse(code)?;
    let token = code.token();
    let response: EnrolResponse = client.call(
        Method::POST,
        &format!("/v1/enrol/{token}"),
        None::<&()>,
        &Signer::Nobody,
    )?;
    let accepted = code.accept(&response, chrono::Utc::now().timestamp())?;
    let session = match Device::open_in(dir, store) {
        Ok(device) => {
            let user = device
                .find_user(Some(&accepted.grant.user))
                .or_else(|_| device.find_user(None))?;
            device.unlock(user.id, pin)?
        }
        Err(StoreError::NotInitialised | StoreError::Wiped) => Device::create_in(
            dir,
            &accepted.grant.user,
            accepted.grant.role,
            pin,
            UnlockPolicy::default(),
            store,
        )?,
        Err(error) => return Err(error.into()),
    };
    let endorsement = session.join_team(client.base(), &code, &accepted)?;
    let completed: Result<Value, TransportError> = client.call(
        Method::POST,
        &format!("/v1/enrol/{token}/complete"),
        Some(&endorsement),
        &Signer::Nobody,
    );
    match completed {
        Ok(_) => Ok(session),
        // Refused for certain (an expired code, another person's code): this device is not in
        // the team. After a lost answer it may be, so the state is kept.
        Err(error @ TransportError::Refused { .. }) => {
            session.abandon_join()?;
            Err(error)
        }
        Err(error) => Err(error),
    }
}

/// Where a sync run is, for a progress bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncProgress {
    Uploading { done: usize, total: usize },
    Downloading { received: u64 },
}

/// What `doorstep sync` reports.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    pub uploaded: u64,
    /// Records sent as whole-document snapshots, letting the server drop their older units.
    pub snapshots: u64,
    pub downloaded: u64,
    pub rejected: u64,
    /// Units refused because they wrote in another member's name.
    pub forged: u64,
    /// Colleagues' units held back until what they need arrives.
    pub waiting: u64,
    /// Team keys the server offered that the organisation's admin never vouched for: refused.
    /// Anything but 0 means the server (or something on the way) is not to be trusted.
    pub keys_refused: u64,
    pub conflicts: u64,
    pub cursor: u64,
    /// Why this device's own changes were not sent this time (the team's new key has not
    /// arrived); they stay on the device.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_back: Option<String>,
    /// This device's clock minus the server's, in seconds.
    pub clock_skew_seconds: Option<i64>,
    /// How long the run took, from its first request to its last answer applied.
    pub elapsed_ms: u64,
}

/// One sync run: upload local changes, take in the roster if it changed, pull everything after
/// the cursor; usually one round trip.
///
/// A device wipes itself only on the organisation's word: an admin-signed membership that revokes
/// it, from the roster or relayed with the server's refusal. It then reports
/// [`TransportError::Revoked`]. A refusal that claims revocation without that proof wipes nothing
/// and reports [`TransportError::UnprovenRevocation`].
pub fn sync(
    session: &Session,
    mut progress: impl FnMut(SyncProgress),
) -> Result<SyncReport, TransportError> {
    let started = std::time::Instant::now();
    // One run at a time on this device (a push notice, a timer and a person pressing Sync): two
    // runs confirming the same upload could clear a change made in between.
    let _running = session.begin_sync()?;
    let client = HttpClient::new(&session.sync_server()?)?;
    let outcome = run(session, &client, &mut progress);
    // Measured even when the server refused (a clock far enough out fails request signing), so
    // the device can say what is wrong. A wiped device has nowhere to keep it.
    if let Some(skew) = client.clock_skew() {
        let _ = session.record_clock_skew(skew);
    }
    match outcome.map(|mut report| {
        report.clock_skew_seconds = client.clock_skew();
        report.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        report
    }) {
        Err(TransportError::Revoked) => {
            session.wipe_device()?;
            Err(TransportError::Revoked)
        }
        Err(TransportError::RevocationClaimed(proof)) => match proof {
            Some(proof) if session.verify_revocation(&proof)? => {
                session.wipe_device()?;
                Err(TransportError::Revoked)
            }
            _ => Err(TransportError::UnprovenRevocation),
        },
        other => other,
    }
}

/// The refusal for units sealed under a rotated key (the server's `STALE_EPOCH`).
const STALE_EPOCH: &str = "stale-epoch";

fn run(
    session: &Session,
    client: &HttpClient,
    progress: &mut impl FnMut(SyncProgress),
) -> Result<SyncReport, TransportError> {
    let signer = Signer::Device(session);
    let mut report = SyncReport::default();
    let roster_taken = match exchange(session, client, &signer, &mut report, progress) {
        // The team's key was rotated since this device last heard: take in the roster (with the
        // new key's lockbox) and seal again. Nothing was kept of the refused request.
        Err(TransportError::Refused {
            status: 409, code, ..
        }) if code == STALE_EPOCH => {
            let roster: Roster = client.call(Method::GET, "/v1/roster", None::<&()>, &signer)?;
            take_roster(session, roster, None, &mut report)?;
            exchange(session, client, &signer, &mut report, progress)?
        }
        other => other?,
    };
    // The key this device was waiting for came with the answer: send what waited for it now.
    if report.held_back.is_some() && roster_taken {
        report.held_back = None;
        exchange(session, client, &signer, &mut report, progress)?;
    }
    if report.held_back.is_none() {
        let snapshots = session.prepare_snapshots(SNAPSHOT_AFTER_UNITS)?;
        if !snapshots.request.units.is_empty() {
            let seqs = send(client, &signer, &snapshots.request.units, |_| {})?;
            session.confirm_upload(&snapshots, &UploadResponse { seqs })?;
            report.snapshots = snapshots.request.units.len() as u64;
        }
    }
    Ok(report)
}

/// Takes in a roster the server sent; a revocation of this device ends the sync.
fn take_roster(
    session: &Session,
    roster: Roster,
    tag: Option<&str>,
    report: &mut SyncReport,
) -> Result<(), TransportError> {
    let taken = session.apply_roster(roster)?;
    if taken.revoked {
        return Err(TransportError::Revoked);
    }
    report.keys_refused += taken.keys_refused;
    // A tag is the server's 32 hex digits; anything else is not kept (the roster comes again).
    if let Some(tag) =
        tag.filter(|tag| tag.len() == 32 && tag.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        session.set_roster_tag(tag)?;
    }
    Ok(())
}

/// Uploads and pulls in as few round trips as the data allows: usually one request, carrying
/// this device's units and the tag of the roster it holds, answered with their sequence numbers,
/// the roster only if it changed, and the first page of colleagues' units. A first upload too
/// large for one request sends its earlier batches on their own first. True when a roster came.
fn exchange(
    session: &Session,
    client: &HttpClient,
    signer: &Signer<'_>,
    report: &mut SyncReport,
    progress: &mut impl FnMut(SyncProgress),
) -> Result<bool, TransportError> {
    // Without the team's newest key this device seals nothing (its changes wait on the device),
    // but it still pulls: what colleagues wrote must not wait for the key too.
    let prepared = match session.prepare_upload() {
        Ok(prepared) => Some(prepared),
        Err(StoreError::SyncRefused(reason)) => {
            report.held_back = Some(reason);
            None
        }
        Err(error) => return Err(error.into()),
    };
    let units = prepared
        .as_ref()
        .map_or(&[][..], |prepared| prepared.request.units.as_slice());
    let total = units.len();
    let last = batches(units).pop().unwrap_or(&[]);
    progress(SyncProgress::Uploading { done: 0, total });
    // All but the last batch go on their own; the last rides with the first pull.
    let mut seqs = send(client, signer, &units[..total - last.len()], |done| {
        progress(SyncProgress::Uploading { done, total })
    })?;
    let mut carrying = last;
    let mut first = true;
    let mut roster_taken = false;
    loop {
        let after = session.sync_cursor()?;
        let request = SyncRequest {
            roster_tag: session.roster_tag()?,
            units: carrying.to_vec(),
            after,
            limit: PAGE,
        };
        let response: SyncResponse =
            client.call(Method::POST, "/v1/sync", Some(&request), signer)?;
        // The first answer acknowledges the upload, before anything else can fail: the server
        // holds these units, and they must not be sealed and sent again.
        if let Some(prepared) = prepared.as_ref().filter(|_| first) {
            seqs.extend(response.seqs);
            progress(SyncProgress::Uploading {
                done: seqs.len(),
                total,
            });
            let seqs = std::mem::take(&mut seqs);
            report.uploaded += session.confirm_upload(prepared, &UploadResponse { seqs })?;
        }
        first = false;
        carrying = &[];
        if let Some(roster) = response.roster {
            take_roster(session, roster, Some(&response.roster_tag), report)?;
            roster_taken = true;
        }
        if response.more && response.cursor <= after {
            return Err(TransportError::Protocol(
                "the sync server sent a page that does not move on; try again later".to_owned(),
            ));
        }
        let outcome = session.apply_pull(&PullResponse {
            units: response.units,
            cursor: response.cursor,
            more: response.more,
        })?;
        report.downloaded += outcome.applied;
        report.rejected += outcome.rejected;
        report.forged += outcome.forged;
        report.waiting = outcome.waiting;
        report.conflicts += outcome.conflicts;
        report.cursor = outcome.cursor;
        progress(SyncProgress::Downloading {
            received: report.downloaded,
        });
        if !response.more && !outcome.more {
            return Ok(roster_taken);
        }
    }
}

/// Units sent on their own, in requests of at most a batch each.
fn send(
    client: &HttpClient,
    signer: &Signer<'_>,
    units: &[doorstep_core::sync::wire::Unit],
    mut sent: impl FnMut(usize),
) -> Result<Vec<u64>, TransportError> {
    let mut seqs = Vec::with_capacity(units.len());
    for chunk in batches(units) {
        let request = UploadRequest {
            units: chunk.to_vec(),
        };
        let response: UploadResponse =
            client.call(Method::POST, "/v1/units", Some(&request), signer)?;
        seqs.extend(response.seqs);
        sent(seqs.len());
    }
    Ok(seqs)
}

/// A push notice: something changed in the team; pull to see it. Carries no data.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct ChangeNotice {
    /// The record that changed, or `None` when the server could not say (pull everything).
    pub doc: Option<String>,
    pub seq: Option<u64>,
}

/// Listens to the server's push stream, calling `on_notice` for each notice until it returns
/// `false` or the stream ends. The caller then runs [`sync`]: push never carries data.
pub fn listen(
    session: &Session,
    on_notice: impl FnMut(ChangeNotice) -> bool,
) -> Result<(), TransportError> {
    listen_while(session, || true, on_notice)
}

/// [`listen`], also asking `still_wanted` at each keep-alive the server sends (every 15 s) and
/// stopping when it says no: a shell that locks or goes to the background ends the stream
/// without waiting for a notice.
pub fn listen_while(
    session: &Session,
    mut still_wanted: impl FnMut() -> bool,
    mut on_notice: impl FnMut(ChangeNotice) -> bool,
) -> Result<(), TransportError> {
    use std::io::BufRead;
    let client = HttpClient::new(&session.sync_server()?)?;
    let response = client.open_stream("/v1/events", session)?;
    for line in std::io::BufReader::new(response).lines() {
        let Ok(line) = line else { break };
        let Some(data) = line.strip_prefix("data:") else {
            if !still_wanted() {
                break;
            }
            continue;
        };
        let Ok(notice) = serde_json::from_str::<ChangeNotice>(data.trim()) else {
            continue;
        };
        if !on_notice(notice) {
            break;
        }
    }
    Ok(())
}
