//! Request authentication. Devices sign every request with their Ed25519 key, administrators with
//! the organisation's admin key. A signature covers method, path and query, time, a nonce and the
//! body, is accepted for five minutes, and only once: a replayed request is refused.

use axum::http::HeaderMap;
use chrono::Utc;
use data_encoding::BASE64;
use doorstep_core::sync::keys;
use doorstep_core::sync::wire::{
    HEADER_ADMIN, HEADER_DEVICE, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP,
    request_signing_input,
};
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::{ApiError, ApiResult};

const WINDOW_SECONDS: i64 = 300;

/// The authentication headers of one request, read before any database work.
#[derive(Debug, Clone)]
pub struct Signature {
    pub principal: Principal,
    timestamp: i64,
    nonce: String,
    signature: Vec<u8>,
    input: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Device(String),
    Admin(String),
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

impl Signature {
    pub fn read(headers: &HeaderMap, method: &str, path: &str, body: &[u8]) -> ApiResult<Self> {
        let principal = match (
            header(headers, HEADER_DEVICE),
            header(headers, HEADER_ADMIN),
        ) {
            (Some(device), None) => Principal::Device(device.to_owned()),
            (None, Some(org)) => Principal::Admin(org.to_owned()),
            _ => {
                return Err(ApiError::unauthorised(
                    "sign the request as one device or one organisation",
                ));
            }
        };
        let timestamp: i64 = header(headers, HEADER_TIMESTAMP)
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| ApiError::unauthorised("missing or malformed request timestamp"))?;
        let nonce = header(headers, HEADER_NONCE)
            .filter(|n| (16..=128).contains(&n.len()))
            .ok_or_else(|| ApiError::unauthorised("missing or malformed request nonce"))?
            .to_owned();
        let signature = header(headers, HEADER_SIGNATURE)
            .and_then(|s| BASE64.decode(s.as_bytes()).ok())
            .ok_or_else(|| ApiError::unauthorised("missing or malformed request signature"))?;
        if (Utc::now().timestamp() - timestamp).abs() > WINDOW_SECONDS {
            return Err(ApiError::unauthorised(
                "the request's time is more than five minutes from the server's; check the device clock",
            ));
        }
        Ok(Self {
            input: request_signing_input(method, path, timestamp, &nonce, body),
            principal,
            timestamp,
            nonce,
            signature,
        })
    }

    /// Checks the signature against `key`, then spends the nonce.
    pub fn verify(&self, connection: &Connection, key: &[u8; 32]) -> ApiResult<()> {
        if !keys::verify(key, &self.input, &self.signature) {
            return Err(ApiError::unauthorised(
                "the request signature does not verify",
            ));
        }
        let now = Utc::now().timestamp();
        connection.execute(
            "DELETE FROM nonces WHERE at < ?1",
            params![now - 2 * WINDOW_SECONDS],
        )?;
        let inserted = connection.execute(
            "INSERT INTO nonces (nonce, at) VALUES (?1, ?2) ON CONFLICT (nonce) DO NOTHING",
            params![self.nonce, self.timestamp],
        )?;
        if inserted == 0 {
            return Err(ApiError::unauthorised(
                "this request was already received (replay refused)",
            ));
        }
        Ok(())
    }
}

/// A device the server knows and has not revoked.
#[derive(Debug, Clone)]
pub struct DeviceRow {
    pub device: String,
    pub team: String,
}

pub fn device(connection: &Connection, signature: &Signature) -> ApiResult<DeviceRow> {
    let Principal::Device(device) = &signature.principal else {
        return Err(ApiError::forbidden("this needs a device's signature"));
    };
    let row: Option<(String, Vec<u8>, bool)> = connection
        .query_row(
            "SELECT team, signing_key, revoked FROM devices WHERE device = ?1",
            params![device],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()?;
    let Some((team, key, revoked)) = row else {
        return Err(ApiError::unauthorised("unknown device; enrol it first"));
    };
    let key: [u8; 32] = key
        .as_slice()
        .try_into()
        .map_err(ApiError::internal_from_len)?;
    signature.verify(connection, &key)?;
    if revoked {
        return Err(ApiError::revoked());
    }
    Ok(DeviceRow {
        device: device.clone(),
        team,
    })
}

/// An organisation whose admin key signed the request.
#[derive(Debug, Clone)]
pub struct AdminRow {
    pub org: String,
    pub key: [u8; 32],
}

/// The organisation whose admin key signed the request, with that key.
pub fn admin(connection: &Connection, signature: &Signature) -> ApiResult<AdminRow> {
    let Principal::Admin(org) = &signature.principal else {
        return Err(ApiError::forbidden(
            "this needs the organisation administrator's signature",
        ));
    };
    let key: Option<Vec<u8>> = connection
        .query_row(
            "SELECT admin_key FROM orgs WHERE org = ?1",
            params![org],
            |row| row.get(0),
        )
        .optional()?;
    let key = key.ok_or_else(|| {
        ApiError::unauthorised("unknown organisation; run `doorstep admin init` first")
    })?;
    let key: [u8; 32] = key
        .as_slice()
        .try_into()
        .map_err(ApiError::internal_from_len)?;
    signature.verify(connection, &key)?;
    Ok(AdminRow {
        org: org.clone(),
        key,
    })
}

impl ApiError {
    fn internal_from_len(error: std::array::TryFromSliceError) -> Self {
        ApiError::internal(error)
    }
}
