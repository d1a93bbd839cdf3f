//! The HTTP API. Every handler reads its request, then does its database work in one blocking task
//! and one transaction.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, Method};
use chrono::Utc;
use doorstep_core::sync::keys;
use doorstep_core::sync::wire::{
    B64, Endorsement, EnrolResponse, Enrolment, Grant, Lockbox, Membership, PURPOSE_ENDORSEMENT,
    PURPOSE_GRANT, PURPOSE_MEMBERSHIP, PublishGrant, PublishMembership, PullResponse, RegisterOrg,
    Roster, Signed, StoredUnit, Unit, UnitKind, UploadRequest, UploadResponse,
};
use rusqlite::{OptionalExtension, params};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::App;
use crate::auth::{self, Signature};
use crate::error::{ApiError, ApiResult};

/// Most units a device may send in one upload, and receive in one page.
pub const MAX_UNITS_PER_REQUEST: usize = 500;

fn parse<T: DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    serde_json::from_slice(body)
        .map_err(|error| ApiError::bad_request(format!("malformed request body: {error}")))
}

fn signature(
    method: &Method,
    uri: &OriginalUri,
    headers: &HeaderMap,
    body: &[u8],
) -> ApiResult<Signature> {
    let path = uri
        .0
        .path_and_query()
        .map_or_else(|| uri.0.path().to_owned(), |p| p.as_str().to_owned());
    Signature::read(headers, method.as_str(), &path, body)
}

pub async fn health() -> Json<Value> {
    Json(json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}))
}

/// The first request of a new organisation: its public admin key, signed by that key.
pub async fn register_org(
    State(app): State<Arc<App>>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let signature = signature(&method, &uri, &headers, &body)?;
    let request: RegisterOrg = parse(&body)?;
    let key = request
        .admin_key
        .key32()
        .ok_or_else(|| ApiError::bad_request("admin_key must be 32 bytes"))?;
    if signature.principal != auth::Principal::Admin(request.org.clone())
        || request.org.trim().is_empty()
    {
        return Err(ApiError::bad_request(
            "sign the registration as the organisation being registered",
        ));
    }
    app.with_db(move |connection| {
        let transaction = connection.transaction()?;
        signature.verify(&transaction, &key)?;
        let existing: Option<Vec<u8>> = transaction
            .query_row(
                "SELECT admin_key FROM orgs WHERE org = ?1",
                params![request.org],
                |r| r.get(0),
            )
            .optional()?;
        match existing {
            Some(existing) if existing != key => {
                return Err(ApiError::conflict(
                    "that organisation is registered with another admin key",
                ));
            }
            Some(_) => {}
            None => {
                transaction.execute(
                    "INSERT INTO orgs (org, admin_key) VALUES (?1, ?2)",
                    params![request.org, key.to_vec()],
                )?;
            }
        }
        transaction.commit()?;
        Ok(Json(json!({"org": request.org})))
    })
    .await
}

/// A new version of a team's membership, signed by the admin key, with lockboxes for its members.
pub async fn publish_membership(
    State(app): State<Arc<App>>,
    Path(team): Path<String>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let signature = signature(&method, &uri, &headers, &body)?;
    let request: PublishMembership = parse(&body)?;
    app.with_db(move |connection| {
        let transaction = connection.transaction()?;
        let auth::AdminRow { org, key } = auth::admin(&transaction, &signature)?;
        let membership: Membership = request
            .membership
            .open(&key, PURPOSE_MEMBERSHIP)
            .map_err(|_| ApiError::bad_request("the membership is not signed by this organisation's admin key"))?;
        if membership.team != team || membership.org != org {
            return Err(ApiError::bad_request("the membership names another team or organisation"));
        }
        let current: Option<(String, u64)> = transaction
            .query_row("SELECT org, version FROM teams WHERE team = ?1", params![team], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        match current {
            Some((owner, _)) if owner != org => return Err(ApiError::conflict("that team belongs to another organisation")),
            Some((_, version)) if version >= membership.version => {
                return Err(ApiError::conflict("a newer membership is already published"));
            }
            _ => {}
        }
        let text = serde_json::to_string(&request.membership).map_err(ApiError::internal)?;
        transaction.execute(
            "INSERT INTO teams (team, org, version, membership) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (team) DO UPDATE SET version = excluded.version, membership = excluded.membership",
            params![team, org, membership.version, text],
        )?;
        for member in &membership.members {
            transaction.execute(
                "INSERT INTO devices (device, team, user_name, role, signing_key, revoked, enrolled_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6) ON CONFLICT (device) DO NOTHING",
                params![member.device.to_string(), team, member.user, member.role.key(), member.signing_key.0, Utc::now().timestamp()],
            )?;
        }
        for device in &membership.revoked {
            transaction.execute("UPDATE devices SET revoked = 1 WHERE device = ?1 AND team = ?2", params![device.to_string(), team])?;
        }
        for lockbox in &request.lockboxes {
            transaction.execute(
                "INSERT INTO lockboxes (team, device, epoch, sealed) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (team, device, epoch) DO UPDATE SET sealed = excluded.sealed",
                params![team, lockbox.device.to_string(), lockbox.epoch, lockbox.sealed.0],
            )?;
        }
        transaction.commit()?;
        Ok(Json(json!({"team": team, "version": membership.version})))
    })
    .await
}

/// An admin-signed enrolment grant, and the team key sealed for the code's holder.
pub async fn publish_grant(
    State(app): State<Arc<App>>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let signature = signature(&method, &uri, &headers, &body)?;
    let request: PublishGrant = parse(&body)?;
    app.with_db(move |connection| {
        let transaction = connection.transaction()?;
        let auth::AdminRow { org, key } = auth::admin(&transaction, &signature)?;
        let grant: Grant = request
            .grant
            .open(&key, PURPOSE_GRANT)
            .map_err(|_| ApiError::bad_request("the grant is not signed by this organisation's admin key"))?;
        owned_team(&transaction, &grant.team, &org)?;
        if grant.org != org {
            return Err(ApiError::bad_request("the grant names another organisation"));
        }
        let text = serde_json::to_string(&request.grant).map_err(ApiError::internal)?;
        transaction.execute(
            "INSERT INTO grants (token_hash, team, signed_grant, code_lockbox) VALUES (?1, ?2, ?3, ?4)",
            params![doorstep_core::crypto::hex(&grant.token_hash.0), grant.team, text, request.code_lockbox.0],
        )?;
        transaction.commit()?;
        Ok(Json(json!({"team": grant.team})))
    })
    .await
}

fn token_hash(token: &str) -> String {
    doorstep_core::crypto::hex(&doorstep_core::crypto::sha256(&[token.as_bytes()]))
}

/// Step one of enrolment: the holder of a code fetches its grant and sealed team key.
pub async fn enrol_start(
    State(app): State<Arc<App>>,
    Path(token): Path<String>,
) -> ApiResult<Json<EnrolResponse>> {
    app.with_db(move |connection| {
        let row: Option<(String, String, Vec<u8>, Option<String>)> = connection
            .query_row(
                "SELECT g.signed_grant, t.org, g.code_lockbox, g.device FROM grants g JOIN teams t ON t.team = g.team
                 WHERE g.token_hash = ?1",
                params![token_hash(&token)],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let Some((grant, org, code_lockbox, _)) = row else {
            return Err(ApiError::not_found("unknown enrolment code; ask the administrator for a new one"));
        };
        let admin_key: Vec<u8> = connection.query_row("SELECT admin_key FROM orgs WHERE org = ?1", params![org], |r| r.get(0))?;
        Ok(Json(EnrolResponse {
            org,
            admin_key: B64(admin_key),
            grant: serde_json::from_str(&grant).map_err(ApiError::internal)?,
            code_lockbox: B64(code_lockbox),
        }))
    })
    .await
}

/// Step two: the holder registers its device's keys, endorsed with the code's key. A code works
/// for one device; repeating the same endorsement is harmless.
pub async fn enrol_complete(
    State(app): State<Arc<App>>,
    Path(token): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let endorsement: Signed = parse(&body)?;
    app.with_db(move |connection| {
        let transaction = connection.transaction()?;
        let row: Option<(String, String, Option<String>)> = transaction
            .query_row(
                "SELECT signed_grant, team, device FROM grants WHERE token_hash = ?1",
                params![token_hash(&token)],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((grant, team, used_by)) = row else {
            return Err(ApiError::not_found("unknown enrolment code; ask the administrator for a new one"));
        };
        let grant: Signed = serde_json::from_str(&grant).map_err(ApiError::internal)?;
        let grant: Grant = grant.peek().ok_or_else(|| ApiError::internal("stored grant unreadable"))?;
        let endorse_key = grant.endorse_key.key32().ok_or_else(|| ApiError::internal("stored grant key"))?;
        let endorsed: Endorsement = endorsement
            .open(&endorse_key, PURPOSE_ENDORSEMENT)
            .map_err(|_| ApiError::forbidden("the endorsement was not made with this enrolment code"))?;
        if endorsed.team != team {
            return Err(ApiError::bad_request("the endorsement names another team"));
        }
        let device = endorsed.member.device.to_string();
        match used_by {
            Some(existing) if existing != device => {
                return Err(ApiError::conflict("this enrolment code has already been used by another device"));
            }
            Some(_) => return Ok(Json(json!({"device": device, "team": team}))),
            None => {}
        }
        let signing_key = endorsed.member.signing_key.key32().ok_or_else(|| ApiError::bad_request("signing key must be 32 bytes"))?;
        transaction.execute(
            "INSERT INTO devices (device, team, user_name, role, signing_key, revoked, enrolled_at) VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)",
            params![device, team, endorsed.member.user, endorsed.member.role.key(), signing_key.to_vec(), Utc::now().timestamp()],
        )
        .map_err(|_| ApiError::conflict("that device is already enrolled"))?;
        let text = serde_json::to_string(&endorsement).map_err(ApiError::internal)?;
        transaction.execute(
            "UPDATE grants SET endorsement = ?1, device = ?2 WHERE token_hash = ?3",
            params![text, device, token_hash(&token)],
        )?;
        transaction.commit()?;
        Ok(Json(json!({"device": device, "team": team})))
    })
    .await
}

/// Refuses unless `team` belongs to `org`.
fn owned_team(connection: &rusqlite::Connection, team: &str, org: &str) -> ApiResult<()> {
    let owner: Option<String> = connection
        .query_row(
            "SELECT org FROM teams WHERE team = ?1",
            params![team],
            |r| r.get(0),
        )
        .optional()?;
    if owner.as_deref() != Some(org) {
        return Err(ApiError::not_found(
            "no such team in this organisation; create it first",
        ));
    }
    Ok(())
}

fn team_roster(
    connection: &rusqlite::Connection,
    team: &str,
    device: Option<&str>,
) -> ApiResult<Roster> {
    let membership: Option<String> = connection
        .query_row(
            "SELECT membership FROM teams WHERE team = ?1",
            params![team],
            |r| r.get(0),
        )
        .optional()?;
    let membership = membership
        .map(|text| serde_json::from_str(&text))
        .transpose()
        .map_err(ApiError::internal)?;
    let mut statement = connection.prepare(
        "SELECT signed_grant, endorsement FROM grants WHERE team = ?1 AND endorsement IS NOT NULL ORDER BY token_hash",
    )?;
    let enrolments = statement
        .query_map(params![team], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?
        .filter_map(|row| row.ok())
        .filter_map(|(grant, endorsement)| {
            Some(Enrolment {
                grant: serde_json::from_str(&grant).ok()?,
                endorsement: serde_json::from_str(&endorsement).ok()?,
            })
        })
        .collect();
    let mut lockboxes = Vec::new();
    if let Some(device) = device {
        let mut statement = connection.prepare(
            "SELECT epoch, sealed FROM lockboxes WHERE team = ?1 AND device = ?2 ORDER BY epoch",
        )?;
        lockboxes = statement
            .query_map(params![team, device], |r| {
                Ok((r.get::<_, u32>(0)?, r.get::<_, Vec<u8>>(1)?))
            })?
            .filter_map(|row| row.ok())
            .filter_map(|(epoch, sealed)| {
                Some(Lockbox {
                    device: device.parse().ok()?,
                    epoch,
                    sealed: B64(sealed),
                })
            })
            .collect();
    }
    Ok(Roster {
        membership,
        enrolments,
        lockboxes,
    })
}

/// The team's roster as the device must verify it, and the lockboxes sealed to this device.
pub async fn roster(
    State(app): State<Arc<App>>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
) -> ApiResult<Json<Roster>> {
    let signature = signature(&method, &uri, &headers, &[])?;
    let limiter = Arc::clone(&app);
    app.with_db(move |connection| {
        let device = auth::device(connection, &signature)?;
        limiter.allow(&device.device)?;
        team_roster(connection, &device.team, Some(&device.device)).map(Json)
    })
    .await
}

/// A team's roster for its administrator (to fold enrolments into the next membership).
pub async fn admin_roster(
    State(app): State<Arc<App>>,
    Path(team): Path<String>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
) -> ApiResult<Json<Roster>> {
    let signature = signature(&method, &uri, &headers, &[])?;
    app.with_db(move |connection| {
        let org = auth::admin(connection, &signature)?.org;
        owned_team(connection, &team, &org)?;
        team_roster(connection, &team, None).map(Json)
    })
    .await
}

/// Units from a device. Each must be the device's own, for its team, and signed by it; a unit
/// already received (same author and counter) keeps its first sequence number.
pub async fn upload(
    State(app): State<Arc<App>>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<UploadResponse>> {
    let signature = signature(&method, &uri, &headers, &body)?;
    let request: UploadRequest = parse(&body)?;
    let docs: Vec<(String, String)> = request
        .units
        .iter()
        .map(|unit| (unit.header.team.clone(), unit.header.doc.to_string()))
        .collect();
    if request.units.len() > MAX_UNITS_PER_REQUEST {
        return Err(ApiError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "too-many-units",
            format!("send at most {MAX_UNITS_PER_REQUEST} units per request"),
        ));
    }
    let limiter = Arc::clone(&app);
    let response = app
        .with_db(move |connection| {
            let transaction = connection.transaction()?;
            let device = auth::device(&transaction, &signature)?;
            limiter.allow(&device.device)?;
            let key: Vec<u8> = transaction.query_row(
                "SELECT signing_key FROM devices WHERE device = ?1",
                params![device.device],
                |r| r.get(0),
            )?;
            let key: [u8; 32] = key.as_slice().try_into().map_err(ApiError::internal)?;
            let membership: String = transaction.query_row(
                "SELECT membership FROM teams WHERE team = ?1",
                params![device.team],
                |r| r.get(0),
            )?;
            let current_epoch = serde_json::from_str::<Signed>(&membership)
                .ok()
                .and_then(|signed| signed.peek::<Membership>())
                .map_or(0, |membership| membership.epoch);
            let mut seqs = Vec::with_capacity(request.units.len());
            for unit in &request.units {
                check_unit(unit, &device, &key)?;
                if unit.header.epoch < current_epoch {
                    return Err(ApiError::conflict(
                        "the team key has been rotated; fetch the roster and seal with the new key",
                    ));
                }
                let text = serde_json::to_string(unit).map_err(ApiError::internal)?;
                transaction.execute(
                "INSERT INTO units (team, author, counter, doc, unit, kind) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (author, counter) DO NOTHING",
                params![
                    device.team,
                    device.device,
                    unit.header.counter,
                    unit.header.doc.to_string(),
                    text,
                    unit_kind(unit)
                ],
            )?;
                let seq: u64 = transaction.query_row(
                    "SELECT seq FROM units WHERE author = ?1 AND counter = ?2",
                    params![device.device, unit.header.counter],
                    |r| r.get(0),
                )?;
                if unit.header.kind == UnitKind::Snapshot {
                let covers = unit.header.covers.unwrap_or(0);
                if covers >= seq {
                    return Err(ApiError::bad_request("a snapshot cannot cover units after itself"));
                }
                // The snapshot holds every change of its record up to `covers`: those units, and
                // older snapshots, are no longer needed by anyone.
                transaction.execute(
                    "DELETE FROM units WHERE team = ?1 AND doc = ?2 AND kind IN ('changes', 'snapshot') AND seq <= ?3",
                    params![device.team, unit.header.doc.to_string(), covers],
                )?;
            }
            seqs.push(seq);
            }
            transaction.commit()?;
            tracing::info!(device = %device.device, units = seqs.len(), "upload");
            Ok(UploadResponse { seqs })
        })
        .await?;
    for ((team, doc), seq) in docs.into_iter().zip(&response.seqs) {
        app.notify(crate::Notice {
            team,
            doc,
            seq: *seq,
        });
    }
    Ok(Json(response))
}

/// Push: a server-sent event stream of "document X changed at sequence N" for the device's team.
/// The device then pulls through the normal, authenticated path; no data travels here.
pub async fn events(
    State(app): State<Arc<App>>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
) -> ApiResult<
    axum::response::sse::Sse<
        impl futures_util::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>,
    >,
> {
    use axum::response::sse::{Event, KeepAlive, Sse};
    let signature = signature(&method, &uri, &headers, &[])?;
    let receiver = app.notices.subscribe();
    let team = app
        .with_db(move |connection| auth::device(connection, &signature).map(|device| device.team))
        .await?;
    let stream =
        futures_util::stream::unfold((receiver, team), |(mut receiver, team)| async move {
            loop {
                match receiver.recv().await {
                    Ok(notice) if notice.team == team => {
                        let data = json!({"doc": notice.doc, "seq": notice.seq}).to_string();
                        let event = Event::default().event("changed").data(data);
                        return Some((Ok(event), (receiver, team)));
                    }
                    Ok(_) => {}
                    // Fell behind: tell the device to pull; it will catch up through its cursor.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        let event = Event::default()
                            .event("changed")
                            .data(json!({"doc": null, "seq": null}).to_string());
                        return Some((Ok(event), (receiver, team)));
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                }
            }
        });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(std::time::Duration::from_secs(15))))
}

fn unit_kind(unit: &Unit) -> &'static str {
    match unit.header.kind {
        UnitKind::Changes => "changes",
        UnitKind::Audit => "audit",
        UnitKind::Snapshot => "snapshot",
    }
}

fn check_unit(unit: &Unit, device: &auth::DeviceRow, key: &[u8; 32]) -> ApiResult<()> {
    if unit.header.author.to_string() != device.device || unit.header.team != device.team {
        return Err(ApiError::forbidden(
            "a device may upload only its own units, for its own team",
        ));
    }
    let header = serde_json::to_string(&unit.header).map_err(ApiError::internal)?;
    let input = format!(
        "doorstep/v1/unit\n{header}\n{}",
        doorstep_core::crypto::hex(&doorstep_core::crypto::sha256(&[&unit.ciphertext.0]))
    );
    if !keys::verify(key, input.as_bytes(), &unit.signature.0) {
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

/// One page of a team's units of one kind after `after`, oldest first.
fn page(
    connection: &rusqlite::Connection,
    team: &str,
    kind: &str,
    after: u64,
    limit: usize,
) -> ApiResult<PullResponse> {
    let mut statement = connection.prepare_cached(
        "SELECT seq, unit FROM units WHERE team = ?1 AND (kind = ?2 OR (?2 = 'changes' AND kind = 'snapshot'))
         AND seq > ?3 ORDER BY seq LIMIT ?4",
    )?;
    let rows = statement.query_map(params![team, kind, after, limit + 1], |r| {
        Ok((r.get::<_, u64>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut units = Vec::new();
    for row in rows {
        let (seq, text) = row?;
        let unit = serde_json::from_str(&text).map_err(ApiError::internal)?;
        units.push(StoredUnit { seq, unit });
    }
    let more = units.len() > limit;
    units.truncate(limit);
    let cursor = units.last().map_or(after, |u| u.seq);
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
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
) -> ApiResult<Json<PullResponse>> {
    let signature = signature(&method, &uri, &headers, &[])?;
    let limit = query
        .limit
        .unwrap_or(MAX_UNITS_PER_REQUEST)
        .clamp(1, MAX_UNITS_PER_REQUEST);
    let limiter = Arc::clone(&app);
    app.with_db(move |connection| {
        let device = auth::device(connection, &signature)?;
        limiter.allow(&device.device)?;
        page(connection, &device.team, "changes", query.after, limit).map(Json)
    })
    .await
}

/// A team's audit units, for its organisation's administrator (who alone can open them with the
/// team keys it holds).
pub async fn admin_audit(
    State(app): State<Arc<App>>,
    Path(team): Path<String>,
    Query(query): Query<PullQuery>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
) -> ApiResult<Json<PullResponse>> {
    let signature = signature(&method, &uri, &headers, &[])?;
    let limit = query
        .limit
        .unwrap_or(MAX_UNITS_PER_REQUEST)
        .clamp(1, MAX_UNITS_PER_REQUEST);
    app.with_db(move |connection| {
        let org = auth::admin(connection, &signature)?.org;
        owned_team(connection, &team, &org)?;
        page(connection, &team, "audit", query.after, limit).map(Json)
    })
    .await
}

/// The organisation's devices, for its administrator.
pub async fn devices(
    State(app): State<Arc<App>>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let signature = signature(&method, &uri, &headers, &[])?;
    app.with_db(move |connection| {
        let org = auth::admin(connection, &signature)?.org;
        let mut statement = connection.prepare(
            "SELECT d.device, d.team, d.user_name, d.role, d.signing_key, d.revoked, d.enrolled_at
             FROM devices d JOIN teams t ON t.team = d.team WHERE t.org = ?1 ORDER BY d.enrolled_at, d.device",
        )?;
        let list: Vec<Value> = statement
            .query_map(params![org], |r| {
                Ok(json!({
                    "device": r.get::<_, String>(0)?,
                    "team": r.get::<_, String>(1)?,
                    "user": r.get::<_, String>(2)?,
                    "role": r.get::<_, String>(3)?,
                    "signing_key": B64(r.get::<_, Vec<u8>>(4)?),
                    "revoked": r.get::<_, bool>(5)?,
                    "enrolled_at": r.get::<_, i64>(6)?,
                }))
            })?
            .filter_map(|row| row.ok())
            .collect();
        Ok(Json(Value::Array(list)))
    })
    .await
}
