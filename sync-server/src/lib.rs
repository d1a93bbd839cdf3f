//! # doorstep-sync-server
//!
//! Orders and stores sealed, signed units for teams of devices, relays the admin-signed roster and
//! lockboxes, and enrols devices that hold an admin's code.
//!
//! Architecture invariant: the server never holds a key that opens patient data. It stores
//! ciphertext, public keys and signed documents; it checks signatures to refuse forgeries early, but
//! devices verify everything again against the organisation's admin key, so a malicious server can
//! withhold data but cannot forge or read it.

mod auth;
mod db;
mod error;
mod routes;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use rusqlite::Connection;
use tokio::net::TcpListener;

use crate::error::{ApiError, ApiResult};

/// Largest request body accepted: 500 units of a busy shift fit comfortably.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// "Document X of team T changed at sequence N": all that push ever says. Never data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub team: String,
    pub doc: String,
    pub seq: u64,
}

/// Shared server state: the database behind one lock (SQLite has one writer anyway), and the
/// channel that wakes connected devices.
#[derive(Debug)]
pub struct App {
    db: Mutex<Connection>,
    notices: tokio::sync::broadcast::Sender<Notice>,
    limits: Mutex<std::collections::HashMap<String, Bucket>>,
}

/// A token bucket per device: a burst of [`RATE_BURST`] requests, refilled at [`RATE_PER_SECOND`].
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    refilled: std::time::Instant,
}

pub const RATE_PER_SECOND: f64 = 20.0;
pub const RATE_BURST: f64 = 200.0;

impl App {
    pub fn open(path: &Path) -> anyhow::Result<Arc<Self>> {
        let (notices, _) = tokio::sync::broadcast::channel(1024);
        Ok(Arc::new(Self {
            db: Mutex::new(db::open(path)?),
            notices,
            limits: Mutex::new(std::collections::HashMap::new()),
        }))
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

    fn notify(&self, notice: Notice) {
        // No subscriber is not an error: nobody is listening right now.
        let _ = self.notices.send(notice);
    }

    async fn with_db<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&mut Connection) -> ApiResult<T> + Send + 'static,
    ) -> ApiResult<T> {
        let app = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let mut connection = app
                .db
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            work(&mut connection)
        })
        .await
        .map_err(ApiError::internal)?
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

/// Where the database lives, from `--database`.
pub fn database_path(url: &str) -> anyhow::Result<std::path::PathBuf> {
    if let Some(path) = url.strip_prefix("sqlite:") {
        return Ok(path.into());
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        anyhow::bail!(
            "the PostgreSQL backend is not available in this build; use --database sqlite:PATH"
        );
    }
    anyhow::bail!("--database must be sqlite:PATH")
}

/// A running server, for tests and embedding: its address, and a handle that stops it.
#[derive(Debug)]
pub struct RunningServer {
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningServer {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
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
        let served = axum::serve(listener, router(app))
            .with_graceful_shutdown(async {
                let _ = on_shutdown.await;
            })
            .await;
        if let Err(error) = served {
            tracing::error!(%error, "server stopped");
        }
    });
    Ok(RunningServer {
        addr,
        shutdown: Some(shutdown),
        task,
    })
}
