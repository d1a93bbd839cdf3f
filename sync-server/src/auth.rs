//! Request authentication. Devices sign every request with their Ed25519 key, administrators with
//! the organisation's admin key. A signature covers method, path and query, time, a nonce and the
//! body, is accepted for five minutes, and only once: a replayed request is refused.

use axum::body::Bytes;
use axum::extract::{FromRequest, OriginalUri, Request};
use axum::http::HeaderMap;
use chrono::Utc;
use data_encoding::BASE64;
use doorstep_core::sync::keys;
use doorstep_core::sync::wire::{
    HEADER_ADMIN, HEADER_DEVICE, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP,
    request_signing_input,
};
use serde::de::DeserializeOwned;

use crate::App;
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
    async fn verify(&self, app: &App, key: &[u8]) -> ApiResult<()> {
        let key: [u8; 32] = key.try_into().map_err(ApiError::internal)?;
        if !keys::verify(&key, &self.input, &self.signature) {
            return Err(ApiError::unauthorised(
                "the request signature does not verify",
            ));
        }
        let now = Utc::now().timestamp();
        let forget_before = app
            .forget_nonces_now(now)
            .then_some(now - 2 * WINDOW_SECONDS);
        let fresh = app
            .store
            .spend_nonce(self.nonce.clone(), self.timestamp, forget_before)
            .await?;
        if !fresh {
            return Err(ApiError::unauthorised(
                "this request was already received (replay refused)",
            ));
        }
        Ok(())
    }

    /// Verifies a request that registers `key` itself (a new organisation).
    pub async fn verify_self_signed(&self, app: &App, key: &[u8; 32]) -> ApiResult<()> {
        self.verify(app, key).await
    }
}

/// A device the server knows and has not revoked.
#[derive(Debug, Clone)]
pub struct DeviceRow {
    pub device: String,
    pub team: String,
    pub signing_key: Vec<u8>,
}

/// The device that signed the request, verified, within its rate limit, and not revoked.
pub async fn device(app: &App, signature: &Signature) -> ApiResult<DeviceRow> {
    let Principal::Device(device) = &signature.principal else {
        return Err(ApiError::forbidden("this needs a device's signature"));
    };
    let Some(row) = app.store.device(device.clone()).await? else {
        return Err(ApiError::unauthorised("unknown device; enrol it first"));
    };
    signature.verify(app, &row.signing_key).await?;
    if row.revoked {
        let proof = app
            .store
            .team(row.team.clone())
            .await?
            .and_then(|team| serde_json::from_str(&team.membership).ok());
        return Err(ApiError::revoked(proof));
    }
    app.allow(device)?;
    Ok(DeviceRow {
        device: device.clone(),
        team: row.team,
        signing_key: row.signing_key,
    })
}

/// An organisation whose admin key signed the request.
#[derive(Debug, Clone)]
pub struct AdminRow {
    pub org: String,
    pub key: [u8; 32],
}

/// The organisation whose admin key signed the request, with that key.
pub async fn admin(app: &App, signature: &Signature) -> ApiResult<AdminRow> {
    let Principal::Admin(org) = &signature.principal else {
        return Err(ApiError::forbidden(
            "this needs the organisation administrator's signature",
        ));
    };
    let key = app.store.org_key(org.clone()).await?.ok_or_else(|| {
        ApiError::unauthorised("unknown organisation; run `doorstep admin init` first")
    })?;
    signature.verify(app, &key).await?;
    let key: [u8; 32] = key.as_slice().try_into().map_err(ApiError::internal)?;
    Ok(AdminRow {
        org: org.clone(),
        key,
    })
}

/// A request with its signature headers read and its whole body: what every signed handler
/// starts from. The signature covers method, path and query, time, nonce and body.
#[derive(Debug)]
pub struct SignedRequest {
    pub signature: Signature,
    pub body: Bytes,
}

impl SignedRequest {
    pub fn json<T: DeserializeOwned>(&self) -> ApiResult<T> {
        serde_json::from_slice(&self.body)
            .map_err(|error| ApiError::bad_request(format!("malformed request body: {error}")))
    }
}

impl<S: Send + Sync> FromRequest<S> for SignedRequest {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let method = request.method().clone();
        let uri = request
            .extensions()
            .get::<OriginalUri>()
            .map_or_else(|| request.uri().clone(), |original| original.0.clone());
        let path = uri
            .path_and_query()
            .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned());
        let headers = request.headers().clone();
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                ApiError::new(rejection.status(), "bad-request", rejection.body_text())
            })?;
        let signature = Signature::read(&headers, method.as_str(), &path, &body)?;
        Ok(Self { signature, body })
    }
}
