//! The HTTP API. Handlers check signatures and shapes; the store orders and keeps what passes.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use doorstep_core::sync::keys;
use doorstep_core::sync::wire::{
    B64, Endorsement, EnrolResponse, Enrolment, Grant, Lockbox, Membership, PURPOSE_ENDORSEMENT,
    PURPOSE_GRANT, PURPOSE_MEMBERSHIP, PublishGrant, PublishMembership, PullResponse, RegisterOrg,
    Roster, Signed, StoredUnit, SyncRequest, SyncResponse, Unit, UploadRequest, UploadResponse,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::App;
use crate::auth::{self, SignedRequest};
use crate::error::{ApiError, ApiResult};
use crate::store::{LockboxRow, MembershipWrite, NewDevice, NewUnit, Push, Stream};

/// Most units a device may send in one upload, and receive in one page.
pub const MAX_UNITS_PER_REQUEST: usize = 500;

/// Longest team or organisation name: names travel in every push notice.
const MAX_NAME_CHARS: usize = 100;

fn check_name(name: &str, what: &str) -> ApiResult<()> {
    if name.trim().is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::bad_request(format!(
            "the {what} name must be 1 to {MAX_NAME_CHARS} characters"
        )));
    }
    Ok(())
}

pub async fn health() -> Json<Value> {
    Json(json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}))
}

/// The first request of a new organisation: its public admin key, signed by that key.
pub async fn register_org(
    State(app): State<Arc<App>>,
    request: SignedRequest,
) -> ApiResult<Json<Value>> {
    let registration: RegisterOrg = request.json()?;
    check_name(&registration.org, "organisation")?;
    let key = registration
        .admin_key
        .key32()
        .ok_or_else(|| ApiError::bad_request("admin_key must be 32 bytes"))?;
    if request.signature.principal != auth::Principal::Admin(registration.org.clone()) {
        return Err(ApiError::bad_request(
            "sign the registration as the organisation being registered",
        ));
    }
    request.signature.verify_self_signed(&app, &key).await?;
    let stored = app
        .store
        .register_org(registration.org.clone(), key.to_vec())
        .await?;
    if stored != key {
        return Err(ApiError::conflict(
            "that organisation is registered with another admin key",
        ));
    }
    Ok(Json(json!({"org": registration.org})))
}

/// A new version of a team's membership, signed by the admin key, with lockboxes for its members.
pub async fn publish_membership(
    State(app): State<Arc<App>>,
    Path(team): Path<String>,
    request: SignedRequest,
) -> ApiResult<Json<Value>> {
    let publish: PublishMembership = request.json()?;
    check_name(&team, "team")?;
    let auth::AdminRow { org, key } = auth::admin(&app, &request.signature).await?;
    let membership: Membership =
        publish
            .membership
            .open(&key, PURPOSE_MEMBERSHIP)
            .map_err(|_| {
                ApiError::bad_request(
                    "the membership is not signed by this organisation's admin key",
                )
            })?;
    if membership.team != team || membership.org != org {
        return Err(ApiError::bad_request(
            "the membership names another team or organisation",
        ));
    }
    let write = MembershipWrite {
        team: team.clone(),
        org,
        version: membership.version,
        signed: serde_json::to_string(&publish.membership).map_err(ApiError::internal)?,
        members: membership
            .members
            .iter()
            .map(|member| NewDevice {
                device: member.device.to_string(),
                user_name: member.user.clone(),
                role: member.role.key().to_owned(),
                signing_key: member.signing_key.0.clone(),
            })
            .collect(),
        revoked: membership.revoked.iter().map(ToString::to_string).collect(),
        lockboxes: publish
            .lockboxes
            .into_iter()
            .map(|lockbox| LockboxRow {
                device: lockbox.device.to_string(),
                epoch: lockbox.epoch,
                sealed: lockbox.sealed.0,
            })
            .collect(),
    };
    app.store.publish_membership(write).await?;
    Ok(Json(json!({"team": team, "version": membership.version})))
}

/// An admin-signed enrolment grant, and the team key sealed for the code's holder.
pub async fn publish_grant(
    State(app): State<Arc<App>>,
    request: SignedRequest,
) -> ApiResult<Json<Value>> {
    let publish: PublishGrant = request.json()?;
    let auth::AdminRow { org, key } = auth::admin(&app, &request.signature).await?;
    let grant: Grant = publish.grant.open(&key, PURPOSE_GRANT).map_err(|_| {
        ApiError::bad_request("the grant is not signed by this organisation's admin key")
    })?;
    owned_team(&app, &grant.team, &org).await?;
    if grant.org != org {
        return Err(ApiError::bad_request(
            "the grant names another organisation",
        ));
    }
    app.store
        .insert_grant(
            doorstep_core::crypto::hex(&grant.token_hash.0),
            grant.team.clone(),
            serde_json::to_string(&publish.grant).map_err(ApiError::internal)?,
            publish.code_lockbox.0,
        )
        .await?;
    Ok(Json(json!({"team": grant.team})))
}

fn token_hash(token: &str) -> String {
    doorstep_core::crypto::hex(&doorstep_core::crypto::sha256(&[token.as_bytes()]))
}

/// Refuses a code past the expiry its admin-signed grant states.
fn check_not_expired(signed_grant: &str) -> ApiResult<()> {
    let grant: Grant = serde_json::from_str::<Signed>(signed_grant)
        .ok()
        .and_then(|signed| signed.peek())
        .ok_or_else(|| ApiError::internal("stored grant unreadable"))?;
    if chrono::Utc::now().timestamp() >= grant.expires_at {
        return Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "code-expired",
            "this enrolment code has expired; ask the administrator for a new one",
        ));
    }
    Ok(())
}

/// Step one of enrolment: the holder of a code fetches its grant and sealed team key.
pub async fn enrol_start(
    State(app): State<Arc<App>>,
    Path(token): Path<String>,
) -> ApiResult<Json<EnrolResponse>> {
    let grant = app
        .store
        .grant(token_hash(&token))
        .await?
        .ok_or_else(crate::store::unknown_code)?;
    check_not_expired(&grant.signed_grant)?;
    Ok(Json(EnrolResponse {
        org: grant.org,
        admin_key: B64(grant.admin_key),
        grant: serde_json::from_str(&grant.signed_grant).map_err(ApiError::internal)?,
        code_lockbox: B64(grant.code_lockbox),
    }))
}

/// Step two: the holder registers its device's keys, endorsed with the code's key. A code works
/// for one device; repeating the same endorsement is harmless.
pub async fn enrol_complete(
    State(app): State<Arc<App>>,
    Path(token): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    let endorsement: Signed = serde_json::from_slice(&body)
        .map_err(|error| ApiError::bad_request(format!("malformed request body: {error}")))?;
    let stored = app
        .store
        .grant(token_hash(&token))
        .await?
        .ok_or_else(crate::store::unknown_code)?;
    check_not_expired(&stored.signed_grant)?;
    let grant: Signed = serde_json::from_str(&stored.signed_grant).map_err(ApiError::internal)?;
    let grant: Grant = grant
        .peek()
        .ok_or_else(|| ApiError::internal("stored grant unreadable"))?;
    let endorse_key = grant
        .endorse_key
        .key32()
        .ok_or_else(|| ApiError::internal("stored grant key"))?;
    let endorsed: Endorsement = endorsement
        .open(&endorse_key, PURPOSE_ENDORSEMENT)
        .map_err(|_| {
            ApiError::forbidden("the endorsement was not made with this enrolment code")
        })?;
    if endorsed.team != stored.team {
        return Err(ApiError::bad_request("the endorsement names another team"));
    }
    if endorsed.member.user != grant.user || endorsed.member.role != grant.role {
        return Err(ApiError::forbidden(
            "the endorsement names another person or role than the enrolment code was issued for",
        ));
    }
    let signing_key = endorsed
        .member
        .signing_key
        .key32()
        .ok_or_else(|| ApiError::bad_request("signing key must be 32 bytes"))?;
    let device = endorsed.member.device.to_string();
    app.store
        .complete_enrolment(
            token_hash(&token),
            stored.team.clone(),
            NewDevice {
                device: device.clone(),
                user_name: endorsed.member.user.clone(),
                role: endorsed.member.role.key().to_owned(),
                signing_key: signing_key.to_vec(),
            },
            serde_json::to_string(&endorsement).map_err(ApiError::internal)?,
        )
        .await?;
    Ok(Json(json!({"device": device, "team": stored.team})))
}

/// Refuses unless `team` belongs to `org`.
async fn owned_team(app: &App, team: &str, org: &str) -> ApiResult<()> {
    let owner = app.store.team(team.to_owned()).await?.map(|team| team.org);
    if owner.as_deref() != Some(org) {
        return Err(ApiError::not_found(
            "no such team in this organisation; create it first",
        ));
    }
    Ok(())
}

async fn team_roster(app: &App, team: &str, device: Option<&str>) -> ApiResult<Roster> {
    let rows = app
        .store
        .roster(team.to_owned(), device.map(str::to_owned))
        .await?;
    let membership = rows
        .membership
        .map(|text| serde_json::from_str(&text))
        .transpose()
        .map_err(ApiError::internal)?;
    // Stored rows were checked when they arrived; one that no longer reads is left out rather
    // than failing every device's roster.
    let enrolments = rows
        .enrolments
        .into_iter()
        .filter_map(|(grant, endorsement)| {
            Some(Enrolment {
                grant: serde_json::from_str(&grant).ok()?,
                endorsement: serde_json::from_str(&endorsement).ok()?,
            })
        })
        .collect();
    let lockboxes = match device {
        Some(device) => {
            let device = device.parse().map_err(ApiError::internal)?;
            rows.lockboxes
                .into_iter()
                .map(|(epoch, sealed)| Lockbox {
                    device,
                    epoch,
                    sealed: B64(sealed),
                })
                .collect()
        }
        None => Vec::new(),
    };
    Ok(Roster {
        membership,
        enrolments,
        lockboxes,
    })
}

/// The team's roster as the device must verify it, and the lockboxes sealed to this device.
pub async fn roster(
    State(app): State<Arc<App>>,
    request: SignedRequest,
) -> ApiResult<Json<Roster>> {
    let device = auth::device(&app, &request.signature).await?;
    team_roster(&app, &device.team, Some(&device.device))
        .await
        .map(Json)
}

/// A team's roster for its administrator (to fold enrolments into the next membership).
pub async fn admin_roster(
    State(app): State<Arc<App>>,
    Path(team): Path<String>,
    request: SignedRequest,
) -> ApiResult<Json<Roster>> {
    let org = auth::admin(&app, &request.signature).await?.org;
    owned_team(&app, &team, &org).await?;
    team_roster(&app, &team, None).await.map(Json)
}

/// Units from a device. Each must be the device's own, for its team, sealed under the current
/// epoch, and signed by it; a unit already received (same author and counter) keeps its first
/// sequence number.
pub async fn upload(
    State(app): State<Arc<App>>,
    request: SignedRequest,
) -> ApiResult<Json<UploadResponse>> {
    let device = auth::device(&app, &request.signature).await?;
    let upload: UploadRequest = request.json()?;
    let seqs = store_units(&app, &device, &upload.units).await?;
    Ok(Json(UploadResponse { seqs }))
}

/// Checks and keeps a device's units; their sequence numbers in order.
async fn store_units(app: &App, device: &auth::DeviceRow, units: &[Unit]) -> ApiResult<Vec<u64>> {
    if units.len() > MAX_UNITS_PER_REQUEST {
        return Err(ApiError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "too-many-units",
            format!("send at most {MAX_UNITS_PER_REQUEST} units per request"),
        ));
    }
    if units.is_empty() {
        return Ok(Vec::new());
    }
    let current_epoch = app
        .store
        .team(device.team.clone())
        .await?
        .and_then(|team| serde_json::from_str::<Signed>(&team.membership).ok())
        .and_then(|signed| signed.peek::<Membership>())
        .map_or(0, |membership| membership.epoch);
    let mut checked = Vec::with_capacity(units.len());
    for unit in units {
        check_unit(unit, device)?;
        if unit.header.epoch < current_epoch {
            return Err(ApiError::new(
                axum::http::StatusCode::CONFLICT,
                STALE_EPOCH,
                "the team key has been rotated; fetch the roster and seal with the new key",
            ));
        }
        if current_epoch > 0 && unit.header.epoch > current_epoch {
            return Err(ApiError::bad_request(
                "a unit names a key epoch the organisation has not started",
            ));
        }
        checked.push(NewUnit {
            counter: unit.header.counter,
            doc: unit.header.doc.to_string(),
            kind: unit.header.kind,
            covers: unit.header.covers,
            json: serde_json::to_string(unit).map_err(ApiError::internal)?,
        });
    }
    let count = checked.len();
    let seqs = app
        .store
        .append(device.team.clone(), device.device.clone(), checked)
        .await?;
    tracing::info!(device = %device.device, units = count, "upload");
    Ok(seqs)
}

/// The refusal code for units sealed under a key the team has rotated away from.
pub const STALE_EPOCH: &str = "stale-epoch";

/// A roster's tag: devices send back the one they hold, and get the roster only when it changed.
fn roster_tag(roster: &Roster) -> ApiResult<String> {
    let json = serde_json::to_vec(roster).map_err(ApiError::internal)?;
    Ok(doorstep_core::crypto::hex(&doorstep_core::crypto::sha256(&[&json]))[..32].to_owned())
}

/// A whole sync in one round trip: the device's units are kept, then it gets its team's roster
/// (only if it changed since the tag it sent) and a page of colleagues' units after its cursor.
/// The device checks everything it receives as it always does: the tag saves bytes, never trust.
pub async fn sync(
    State(app): State<Arc<App>>,
    request: SignedRequest,
) -> ApiResult<Json<SyncResponse>> {
    // Who is asking, before what they sent is parsed.
    let device = auth::device(&app, &request.signature).await?;
    let exchange: SyncRequest = request.json()?;
    let seqs = store_units(&app, &device, &exchange.units).await?;
    let roster = team_roster(&app, &device.team, Some(&device.device)).await?;
    let tag = roster_tag(&roster)?;
    let page = page(
        &app,
        &device.team,
        Stream::Records,
        &PullQuery {
            after: exchange.after,
            limit: Some(exchange.limit),
        },
        Some(device.device.as_str()),
    )
    .await?;
    Ok(Json(SyncResponse {
        roster: (tag != exchange.roster_tag).then_some(roster),
        roster_tag: tag,
        seqs,
        units: page.units,
        cursor: page.cursor,
        more: page.more,
    }))
}

/// Push: a server-sent event stream of "document X changed at sequence N" for the device's team.
/// The device then pulls through the normal, authenticated path; no data travels here.
pub async fn events(
    State(app): State<Arc<App>>,
    request: SignedRequest,
) -> ApiResult<Sse<impl futures_util::Stream<Item = Result<Event, std::convert::Infallible>>>> {
    let receiver = app.push.subscribe();
    let team = auth::device(&app, &request.signature).await?.team;
    let pull_everything = || {
        Event::default()
            .event("changed")
            .data(json!({"doc": null, "seq": null}).to_string())
    };
    let closing = app.closing.subscribe();
    let stream = futures_util::stream::unfold(
        (receiver, team, closing),
        move |(mut receiver, team, mut closing)| async move {
            loop {
                let received = tokio::select! {
                    received = receiver.recv() => received,
                    _ = closing.wait_for(|closing| *closing) => return None,
                };
                match received {
                    Ok(Push::Changed(notice)) if notice.team == team => {
                        let doc = (!notice.doc.is_empty()).then_some(&notice.doc);
                        let data = json!({"doc": doc, "seq": notice.seq}).to_string();
                        let event = Event::default().event("changed").data(data);
                        return Some((Ok(event), (receiver, team, closing)));
                    }
                    Ok(Push::Changed(_)) => {}
                    // Notices were missed (fell behind, or the link between instances dropped):
                    // tell the device to pull; it catches up through its cursor.
                    Ok(Push::Resync) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        return Some((Ok(pull_everything()), (receiver, team, closing)));
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                }
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(std::time::Duration::from_secs(15))))
}

fn check_unit(unit: &Unit, device: &auth::DeviceRow) -> ApiResult<()> {
    if unit.header.author.to_string() != device.device || unit.header.team != device.team {
        return Err(ApiError::forbidden(
            "a device may upload only its own units, for its own team",
        ));
    }
    let key: [u8; 32] = device
        .signing_key
        .as_slice()
        .try_into()
        .map_err(ApiError::internal)?;
    let header = serde_json::to_string(&unit.header).map_err(ApiError::internal)?;
    let input = format!(
        "doorstep/v1/unit\n{header}\n{}",
        doorstep_core::crypto::hex(&doorstep_core::crypto::sha256(&[&unit.ciphertext.0]))
    );
    if !keys::verify(&key, input.as_bytes(), &unit.signature.0) {
        return Err(ApiError::forbidden("a unit's signature does not verify"));
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
pub struct PullQuery {
    #[serde(default)]
    after: u64,
    limit: Option<usize>,
}

/// Bytes of units per page, as stored (base64 in JSON; about three quarters of it on the wire once
/// gzipped): a page must arrive well within a client's 30-second request timeout on a slow link
/// (2 MiB is about 8 s at 1.6 Mbit/s), whatever the size of its units.
const MAX_PAGE_BYTES: usize = 2 * 1024 * 1024;

/// One page of a team's units in `stream` after `after`, oldest first.
/// A page of a team's stream after the cursor. Units `reader` wrote itself are not sent back: the
/// device holds them already (they were half of a shift's download); the cursor still moves past
/// them.
async fn page(
    app: &App,
    team: &str,
    stream: Stream,
    query: &PullQuery,
    reader: Option<&str>,
) -> ApiResult<PullResponse> {
    let limit = query
        .limit
        .unwrap_or(MAX_UNITS_PER_REQUEST)
        .clamp(1, MAX_UNITS_PER_REQUEST);
    let rows = app
        .store
        .page(team.to_owned(), stream, query.after, limit + 1)
        .await?;
    let mut more = rows.len() > limit;
    let mut cursor = query.after;
    let mut units = Vec::with_capacity(rows.len().min(limit));
    let mut bytes = 0;
    for (seq, text) in rows.into_iter().take(limit) {
        // The first unit always goes, so every page moves on.
        if bytes > 0 && bytes + text.len() > MAX_PAGE_BYTES {
            more = true;
            break;
        }
        bytes += text.len();
        cursor = seq;
        let unit: doorstep_core::sync::wire::Unit =
            serde_json::from_str(&text).map_err(ApiError::internal)?;
        if reader.is_some_and(|reader| unit.header.author.to_string() == reader) {
            continue;
        }
        units.push(StoredUnit { seq, unit });
    }
    Ok(PullResponse {
        units,
        cursor,
        more,
    })
}

/// Record units of the device's team after its cursor, a page at a time.
pub async fn pull(
    State(app): State<Arc<App>>,
    Query(query): Query<PullQuery>,
    request: SignedRequest,
) -> ApiResult<Json<PullResponse>> {
    let device = auth::device(&app, &request.signature).await?;
    page(
        &app,
        &device.team,
        Stream::Records,
        &query,
        Some(device.device.as_str()),
    )
    .await
    .map(Json)
}

/// A team's audit units, for its organisation's administrator (who alone can open them with the
/// team keys it holds).
pub async fn admin_audit(
    State(app): State<Arc<App>>,
    Path(team): Path<String>,
    Query(query): Query<PullQuery>,
    request: SignedRequest,
) -> ApiResult<Json<PullResponse>> {
    let org = auth::admin(&app, &request.signature).await?.org;
    owned_team(&app, &team, &org).await?;
    page(&app, &team, Stream::Audit, &query, None)
        .await
        .map(Json)
}

/// The organisation's devices, for its administrator.
pub async fn devices(
    State(app): State<Arc<App>>,
    request: SignedRequest,
) -> ApiResult<Json<Value>> {
    let org = auth::admin(&app, &request.signature).await?.org;
    let list: Vec<Value> = app
        .store
        .org_devices(org)
        .await?
        .into_iter()
        .map(|d| {
            json!({
                "device": d.device,
                "team": d.team,
                "user": d.user_name,
                "role": d.role,
                "signing_key": B64(d.signing_key),
                "revoked": d.revoked,
                "enrolled_at": d.enrolled_at,
            })
        })
        .collect();
    Ok(Json(Value::Array(list)))
}
