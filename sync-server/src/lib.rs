//! # doorstep-sync-server
//!
//! Orders and stores sealed, signed units for teams of devices, relays the admin-signed roster and
//! lockboxes, and enrols devices that hold an admin's code.
//!
//! Architecture invariant: the server never holds a key that opens patient data. It stores
//! ciphertext, public keys and signed documents; it checks signatures to refuse forgeries early, but
//! devices verify everything again against the organisation's admin key, so a malicious server can
//! withhold data but cannot forge or read it.
//!
//! Storage is embedded SQLite (`sqlite:PATH`) or PostgreSQL (`postgres://…`), where several
//! stateless instances share one database and push reaches devices on any of them.

mod auth;
mod error;
mod routes;
mod store;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use tokio::net::TcpListener;
use tokio::sync::broadcast;

use crate::error::{ApiError, ApiResult};
pub use crate::store::{Notice, Push};
use crate::store::{Sqlite, Store};

/// Largest request body accepted: 500 units of a busy shift fit comfortably.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// A token bucket per device: a burst of [`RATE_BURST`] requests, refilled at [`RATE_PER_SECOND`].
/// Each instance keeps its own buckets, so behind N instances a device's budget is up to N times
/// this; the limit is there to keep one misbehaving device from starving the others.
pub const RATE_PER_SECOND: f64 = 20.0;
pub const RATE_BURST: f64 = 200.0;

/// How often spent nonces past the signature window are forgotten.
const FORGET_NONCES_EVERY_SECONDS: i64 = 60;

/// Shared server state: the store, the channel that wakes connected devices, and rate limits.
#[derive(Debug)]
pub struct App {
    store: Store,
    push: broadcast::Sender<Push>,
    limits: Mutex<std::collections::HashMap<String, Bucket>>,
    nonces_forgotten_at: AtomicI64,
    /// Set when the server stops: push streams end so that a graceful shutdown does not wait
    /// forever on devices that are listening.
    closing: tokio::sync::watch::Sender<bool>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    refilled: std::time::Instant,
}

impl App {
    /// Opens the store named by `--database`: `sqlite:PATH` or `postgres://USER@HOST:PORT/DB`.
    pub async fn connect(database: &str) -> anyhow::Result<Arc<Self>> {
        let (push, _) = broadcast::channel(1024);
        let store = Store::connect(database, push.clone()).await?;
        Ok(Self::with_store(store, push))
    }

    /// Opens an embedded SQLite store at `path`.
    pub fn open(path: &Path) -> anyhow::Result<Arc<Self>> {
        let (push, _) = broadcast::channel(1024);
        let store = Store::Sqlite(Sqlite::open(path, push.clone())?);
        Ok(Self::with_store(store, push))
    }

    fn with_store(store: Store, push: broadcast::Sender<Push>) -> Arc<Self> {
        Arc::new(Self {
            store,
            push,
            limits: Mutex::new(std::collections::HashMap::new()),
            nonces_forgotten_at: AtomicI64::new(0),
            closing: tokio::sync::watch::channel(false).0,
        })
    }

    /// Spends one request from an authenticated device's budget, or refuses with 429.
    fn allow(&self, device: &str) -> ApiResult<()> {
        let mut limits = self
            .limits
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = std::time::Instant::now();
        let bucket = limits.entry(device.to_owned()).or_insert(Bucket {
            tokens: RATE_BURST,
            refilled: now,
        });
        let elapsed = now.duration_since(bucket.refilled).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * RATE_PER_SECOND).min(RATE_BURST);
        bucket.refilled = now;
        if bucket.tokens < 1.0 {
            return Err(ApiError::new(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "too many requests from this device; wait a few seconds and sync again",
            ));
        }
        bucket.tokens -= 1.0;
        Ok(())
    }

    /// Whether this request should also forget nonces older than `before` (once a minute).
    fn forget_nonces_now(&self, now: i64) -> bool {
        let last = self.nonces_forgotten_at.load(Ordering::Relaxed);
        now - last >= FORGET_NONCES_EVERY_SECONDS
            && self
                .nonces_forgotten_at
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/health", get(routes::health))
        .route("/v1/orgs", post(routes::register_org))
        .route(
            "/v1/teams/{team}/membership",
            put(routes::publish_membership),
        )
        .route("/v1/grants", post(routes::publish_grant))
        .route("/v1/enrol/{token}", post(routes::enrol_start))
        .route("/v1/enrol/{token}/complete", post(routes::enrol_complete))
        .route("/v1/roster", get(routes::roster))
        .route("/v1/units", post(routes::upload).get(routes::pull))
        .route("/v1/sync", post(routes::sync))
        .route("/v1/events", get(routes::events))
        .route("/v1/admin/devices", get(routes::devices))
        .route("/v1/admin/teams/{team}/roster", get(routes::admin_roster))
        .route("/v1/admin/teams/{team}/audit", get(routes::admin_audit))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Units travel base64 in JSON; gzip on the wire takes back that third (ciphertext itself
        // does not compress, so nothing about the plaintext shows in the sizes). Server-sent
        // events are never compressed, so push notices are not held back in a buffer.
        .layer(tower_http::compression::CompressionLayer::new().gzip(true))
        .layer(tower_http::decompression::RequestDecompressionLayer::new().gzip(true))
        .with_state(app)
}

/// A running server, for tests and embedding: its address, and a handle that stops it.
#[derive(Debug)]
pub struct RunningServer {
    pub addr: SocketAddr,
    scheme: &'static str,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningServer {
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// Starts serving `app` on `listen` (port 0 picks a free port) in the current runtime.
pub async fn start(app: Arc<App>, listen: SocketAddr) -> anyhow::Result<RunningServer> {
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let (shutdown, on_shutdown) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let closing = app.closing.clone();
        let served = axum::serve(listener, router(app))
            .with_graceful_shutdown(async move {
                let _ = on_shutdown.await;
                closing.send_replace(true);
            })
            .await;
        if let Err(error) = served {
            tracing::error!(%error, "server stopped");
        }
    });
    Ok(RunningServer {
        addr,
        scheme: "http",
        shutdown: Some(shutdown),
        task,
    })
}

/// Reads a certificate chain and its private key (PEM files) into a TLS configuration on ring,
/// the one crypto provider Doorstep uses.
pub fn tls_config(
    cert_chain_pem: &[u8],
    key_pem: &[u8],
) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain = CertificateDer::pem_slice_iter(cert_chain_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| anyhow::anyhow!("the --tls-cert file holds no readable PEM certificate"))?;
    if chain.is_empty() {
        anyhow::bail!("the --tls-cert file holds no certificate");
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|_| anyhow::anyhow!("the --tls-key file holds no readable PEM private key"))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(chain, key)?;
    Ok(Arc::new(config))
}

/// Starts serving `app` over HTTPS on `listen` with `tls` (see [`tls_config`]).
pub async fn start_tls(
    app: Arc<App>,
    listen: SocketAddr,
    tls: Arc<rustls::ServerConfig>,
) -> anyhow::Result<RunningServer> {
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let (shutdown, mut on_shutdown) = tokio::sync::oneshot::channel::<()>();
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let task = tokio::spawn(async move {
        let closing = app.closing.clone();
        let router = router(app);
        loop {
            let accepted = tokio::select! {
                _ = &mut on_shutdown => break,
                accepted = listener.accept() => accepted,
            };
            let Ok((stream, _)) = accepted else { continue };
            let acceptor = acceptor.clone();
            let service = hyper_util::service::TowerToHyperService::new(router.clone());
            tokio::spawn(async move {
                // A client that fails the handshake gets nothing; there is nothing to log that
                // a port scanner would not also cause.
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .with_upgrades()
                    .await;
            });
        }
        // Ends the push streams, so open connections finish.
        closing.send_replace(true);
    });
    Ok(RunningServer {
        addr,
        scheme: "https",
        shutdown: Some(shutdown),
        task,
    })
}
