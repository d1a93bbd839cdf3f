//! One HTTP client with request signing and retries.

use std::sync::Once;
use std::time::Duration;

use doorstep_core::store::{Session, StoreError};
use doorstep_core::sync::keys::SigningKey;
use doorstep_core::sync::wire::{
    ErrorBody, HEADER_ADMIN, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP,
    request_signing_input,
};
use reqwest::Method;
use reqwest::blocking::Client;
use serde::Serialize;
use serde::de::DeserializeOwned;

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error(
        "the sync server at {0} cannot be reached; check the connection and try again (changes stay on this device)"
    )]
    Unreachable(String),
    #[error("the sync server refused ({code}): {message}")]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    #[error("this device was revoked by its organisation; its data has been wiped")]
    Revoked,
    /// The server says the device is revoked; the device has not yet checked the organisation's
    /// signature on that (the sync run does, and wipes only if it holds).
    #[error("the sync server says this device was revoked")]
    RevocationClaimed(Option<Box<doorstep_core::sync::wire::Signed>>),
    #[error(
        "the sync server says this device was revoked, without proof signed by the organisation; nothing was wiped: tell your administrator, and do not trust this server"
    )]
    UnprovenRevocation,
    #[error(
        "{0} is not a secure address: use https:// (plain http:// is allowed only to this machine)"
    )]
    Insecure(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "the sync server's answer could not be understood ({0}); is the server a Doorstep sync server?"
    )]
    Protocol(String),
    #[error(transparent)]
    Enrolment(#[from] doorstep_core::sync::enrolment::EnrolmentError),
    #[error(transparent)]
    Admin(#[from] doorstep_core::sync::admin::AdminError),
}

impl TransportError {
    /// A stable code a shell branches on, as [`StoreError::code`] for the store's errors.
    pub fn code(&self) -> &'static str {
        match self {
            TransportError::Store(store) => store.code(),
            TransportError::Unreachable(_) => "offline",
            TransportError::Revoked => "revoked",
            TransportError::UnprovenRevocation | TransportError::RevocationClaimed(_) => {
                "untrusted-server"
            }
            TransportError::Insecure(_) => "insecure",
            TransportError::Refused { .. } => "refused",
            _ => "sync",
        }
    }
}

/// Who signs a request.
#[derive(Debug)]
pub(crate) enum Signer<'a> {
    Nobody,
    Device(&'a Session),
    Admin { org: &'a str, key: &'a SigningKey },
}

const ATTEMPTS: u32 = 3;
/// Request bodies larger than this go gzip-compressed.
const COMPRESS_ABOVE: usize = 1024;

fn gzip(body: &[u8]) -> Result<Vec<u8>, TransportError> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(body)
        .and_then(|()| encoder.finish())
        .map_err(|e| TransportError::Protocol(e.to_string()))
}

/// Installs ring as rustls's process-wide crypto provider (idempotent). Call before building any
/// other reqwest client in the same process.
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    // One crypto provider for the process: ring, as everywhere else in Doorstep. Installing fails
    // only if another provider is already installed, which is then used instead.
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_refused_except_to_this_machine() {
        for allowed in [
            "https://sync.example.nhs.uk",
            "http://127.0.0.1:8443",
            "http://localhost:1",
            "http://[::1]:9",
        ] {
            assert!(check_secure(allowed).is_ok(), "{allowed}");
        }
        for refused in [
            "http://sync.example.nhs.uk",
            "http://10.0.0.5:8443",
            "http://localhost.example.com",
            "ftp://127.0.0.1",
            "not a url",
        ] {
            assert!(
                matches!(check_secure(refused), Err(TransportError::Insecure(_))),
                "{refused}"
            );
        }
    }
}

#[derive(Debug, Clone)]
pub struct HttpClient {
    base: String,
    http: Client,
    /// For the push stream, which stays open: no overall timeout.
    streaming: Client,
    /// This device's clock minus the server's, from the last response's `Date` header.
    clock_skew: std::sync::Arc<std::sync::Mutex<Option<i64>>>,
}

/// The organisation's own certificate authority, for a sync server whose certificate it issued:
/// the PEM file `DOORSTEP_CA_CERT` names, trusted in addition to the public roots.
pub const CA_CERT_ENV: &str = "DOORSTEP_CA_CERT";

fn organisation_roots() -> Result<Vec<reqwest::Certificate>, TransportError> {
    let Some(path) = std::env::var_os(CA_CERT_ENV) else {
        return Ok(Vec::new());
    };
    let unreadable = || {
        TransportError::Protocol(format!(
            "{CA_CERT_ENV} does not name a readable PEM certificate file"
        ))
    };
    let pem = std::fs::read(path).map_err(|_| unreadable())?;
    reqwest::Certificate::from_pem_bundle(&pem).map_err(|_| unreadable())
}

/// Whether `base` may be used: https anywhere, plain http only to this machine (a local server,
/// tests), since over any network a plain-http path lets anyone read and alter the traffic.
pub fn check_secure(base: &str) -> Result<(), TransportError> {
    let insecure = || TransportError::Insecure(base.to_owned());
    let url = reqwest::Url::parse(base).map_err(|_| insecure())?;
    match url.scheme() {
        "https" => Ok(()),
        "http" => {
            let host = url
                .host_str()
                .unwrap_or_default()
                .trim_start_matches('[')
                .trim_end_matches(']');
            let loopback = host == "localhost"
                || host
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if loopback { Ok(()) } else { Err(insecure()) }
        }
        _ => Err(insecure()),
    }
}

impl HttpClient {
    pub fn new(base: &str) -> Result<Self, TransportError> {
        check_secure(base)?;
        install_crypto_provider();
        let extra_roots = organisation_roots()?;
        let http = Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            .tls_certs_merge(extra_roots.clone())
            .build()
            .map_err(|_| TransportError::Unreachable(base.to_owned()))?;
        let streaming = Client::builder()
            .timeout(None)
            .connect_timeout(Duration::from_secs(10))
            .tls_certs_merge(extra_roots)
            .build()
            .map_err(|_| TransportError::Unreachable(base.to_owned()))?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            http,
            streaming,
            clock_skew: std::sync::Arc::new(std::sync::Mutex::new(None)),
        })
    }

    /// This device's clock minus the server's, in seconds, as the last response showed it (its
    /// `Date` header against the middle of the round trip); `None` before any response.
    pub fn clock_skew(&self) -> Option<i64> {
        *self
            .clock_skew
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn note_clock(
        &self,
        sent: chrono::DateTime<chrono::Utc>,
        response: &reqwest::blocking::Response,
    ) {
        let received = chrono::Utc::now();
        let Some(server) = response
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|value| value.to_str().ok())
            .and_then(|text| chrono::DateTime::parse_from_rfc2822(text).ok())
        else {
            return;
        };
        let middle = sent + (received - sent) / 2;
        let skew = (middle - server.with_timezone(&chrono::Utc)).num_seconds();
        *self
            .clock_skew
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(skew);
    }

    /// Opens a device-signed GET that stays open (the push stream), returning the body to read.
    pub(crate) fn open_stream(
        &self,
        path: &str,
        session: &Session,
    ) -> Result<reqwest::blocking::Response, TransportError> {
        let mut request = self.streaming.get(format!("{}{path}", self.base));
        for (name, value) in session.sign_request("GET", path, &[])? {
            request = request.header(name, value);
        }
        let response = request
            .send()
            .map_err(|_| TransportError::Unreachable(self.base.clone()))?;
        let status = response.status().as_u16();
        if status == 410 {
            let proof = response
                .bytes()
                .ok()
                .and_then(|bytes| serde_json::from_slice::<ErrorBody>(&bytes).ok())
                .and_then(|body| body.revocation);
            return Err(TransportError::RevocationClaimed(proof.map(Box::new)));
        }
        if !(200..300).contains(&status) {
            return Err(TransportError::Refused {
                status,
                code: "http".to_owned(),
                message: format!("the push stream was refused (HTTP {status})"),
            });
        }
        Ok(response)
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends one request, signed afresh on each attempt; retries connection failures and 5xx with
    /// backoff (250 ms, 500 ms). A 410 or `wipe` is reported as
    /// [`TransportError::RevocationClaimed`], with whatever proof came with it, for the caller to
    /// verify: the transport itself never wipes.
    pub(crate) fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
        signer: &Signer<'_>,
    ) -> Result<T, TransportError> {
        let body = match body {
            Some(body) => {
                serde_json::to_vec(body).map_err(|e| TransportError::Protocol(e.to_string()))?
            }
            None => Vec::new(),
        };
        let mut delay = Duration::from_millis(250);
        let mut attempt = 1;
        loop {
            let outcome = self.attempt(&method, path, &body, signer);
            match outcome {
                Err(TransportError::Unreachable(_)) if attempt < ATTEMPTS => {}
                Err(TransportError::Refused { status, .. })
                    if status >= 500 && attempt < ATTEMPTS => {}
                other => return other,
            }
            std::thread::sleep(delay);
            delay *= 2;
            attempt += 1;
        }
    }

    fn attempt<T: DeserializeOwned>(
        &self,
        method: &Method,
        path: &str,
        body: &[u8],
        signer: &Signer<'_>,
    ) -> Result<T, TransportError> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .header("content-type", "application/json");
        // The signature covers the uncompressed body, which is what the server checks after
        // decompressing.
        request = if body.len() > COMPRESS_ABOVE {
            request.header("content-encoding", "gzip").body(gzip(body)?)
        } else {
            request.body(body.to_vec())
        };
        match signer {
            Signer::Nobody => {}
            Signer::Device(session) => {
                for (name, value) in session.sign_request(method.as_str(), path, body)? {
                    request = request.header(name, value);
                }
            }
            Signer::Admin { org, key } => {
                let timestamp = chrono::Utc::now().timestamp();
                let nonce = doorstep_core::crypto::hex(
                    &doorstep_core::crypto::random_bytes::<16>().map_err(StoreError::from)?,
                );
                let signature = key.sign(&request_signing_input(
                    method.as_str(),
                    path,
                    timestamp,
                    &nonce,
                    body,
                ));
                request = request
                    .header(HEADER_ADMIN, *org)
                    .header(HEADER_TIMESTAMP, timestamp.to_string())
                    .header(HEADER_NONCE, nonce)
                    .header(HEADER_SIGNATURE, data_encoding::BASE64.encode(&signature));
            }
        }
        let sent = chrono::Utc::now();
        let response = request.send().map_err(|error| {
            let why = if error.is_timeout() {
                "timed out"
            } else if error.is_connect() {
                "no connection"
            } else {
                "request failed"
            };
            TransportError::Unreachable(format!("{} ({why})", self.base))
        })?;
        self.note_clock(sent, &response);
        let status = response.status().as_u16();
        let bytes = read_capped(response, MAX_RESPONSE_BYTES)
            .map_err(|_| TransportError::Unreachable(self.base.clone()))?
            .ok_or_else(|| {
                TransportError::Protocol(
                    "the sync server's answer is larger than any page of units; refused".to_owned(),
                )
            })?;
        if (200..300).contains(&status) {
            return serde_json::from_slice(&bytes)
                .map_err(|e| TransportError::Protocol(e.to_string()));
        }
        let error: ErrorBody = serde_json::from_slice(&bytes).unwrap_or(ErrorBody {
            code: "http".to_owned(),
            message: format!("HTTP status {status}"),
            wipe: false,
            revocation: None,
        });
        if error.wipe || status == 410 {
            return Err(TransportError::RevocationClaimed(
                error.revocation.map(Box::new),
            ));
        }
        Err(TransportError::Refused {
            status,
            code: error.code,
            message: error.message,
        })
    }
}

/// The most an answer may hold once decompressed: a full page of the largest snapshots with room
/// to spare. A hostile server's small gzip body that expands without end is cut off here, before
/// anything in it is authenticated.
const MAX_RESPONSE_BYTES: u64 = 512 * 1024 * 1024;

/// The body, or `None` when it runs past `limit`.
fn read_capped(body: impl std::io::Read, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    body.take(limit + 1).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
}

#[cfg(test)]
mod capped_tests {
    use std::io::Write as _;

    use super::read_capped;

    #[test]
    fn a_body_that_expands_past_the_limit_is_cut_off_not_read_whole() {
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gzip.write_all(&vec![0u8; 8 * 1024 * 1024]).unwrap();
        let bomb = gzip.finish().unwrap();
        assert!(bomb.len() < 16 * 1024);
        let expanded = flate2::read::GzDecoder::new(bomb.as_slice());
        assert_eq!(read_capped(expanded, 1024 * 1024).unwrap(), None);
        let fits = flate2::read::GzDecoder::new(bomb.as_slice());
        assert_eq!(
            read_capped(fits, 8 * 1024 * 1024).unwrap().map(|b| b.len()),
            Some(8 * 1024 * 1024)
        );
    }
}
