//! Sync without anyone asking: after unlock and after every change, on a timer (every 10 s while
//! the server cannot be reached, so a device back in signal syncs within seconds; every 60 s
//! otherwise), and on push. One run at a time; every step is reported to the UI as a
//! `sync-status` event so the status bar shows progress with counts.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::Duration;

use chrono::{DateTime, Utc};
use doorstep_transport::{SyncProgress, TransportError};
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager};

use crate::error::{CommandError, CommandResult};
use crate::state::{AppState, LastAttempt, SyncActivity};

const RETRY_OFFLINE: Duration = Duration::from_secs(10);
const RESYNC: Duration = Duration::from_secs(60);
/// How long the push listener waits before reconnecting after the stream fails.
const RELISTEN: Duration = Duration::from_secs(5);

/// Wakes the sync thread.
#[derive(Debug)]
pub struct Waker(std::sync::Mutex<Sender<()>>);

/// Asks for a sync soon (after a change, after unlock).
pub fn wake(app: &AppHandle) {
    if let Some(waker) = app.try_state::<Waker>() {
        let sender = waker
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let _ = sender.send(());
    }
}

/// Starts the sync thread and the push listener.
pub fn start(app: &AppHandle, state: Arc<AppState>) {
    let (sender, receiver) = channel();
    app.manage(Waker(std::sync::Mutex::new(sender)));
    {
        let (app, state) = (app.clone(), Arc::clone(&state));
        std::thread::spawn(move || sync_loop(&app, &state, &receiver));
    }
    let app = app.clone();
    std::thread::spawn(move || listen_loop(&app, &state));
}

fn sync_loop(app: &AppHandle, state: &AppState, wakes: &Receiver<()>) {
    loop {
        let offline = state
            .last_attempt
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .error
            .as_ref()
            .is_some_and(|(code, _)| code == "offline");
        let wait = if offline { RETRY_OFFLINE } else { RESYNC };
        match wakes.recv_timeout(wait) {
            Ok(()) => {
                // Changes often come in bursts (a set, then a note): take them in one run.
                std::thread::sleep(Duration::from_millis(300));
                while wakes.try_recv().is_ok() {}
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
        }
        run_once(app, state);
    }
}

fn listen_loop(app: &AppHandle, state: &AppState) {
    loop {
        if let Some(session) = state.current().filter(|s| enrolled(s)) {
            let outcome = doorstep_transport::listen(&session, |_notice| {
                wake(app);
                state.current().is_some()
            });
            if let Err(error) = outcome {
                tracing::debug!(%error, "push stream unavailable");
            }
        }
        std::thread::sleep(RELISTEN);
    }
}

fn enrolled(session: &doorstep_core::store::Session) -> bool {
    session
        .sync_status()
        .map(|status| status.server.is_some())
        .unwrap_or(false)
}

/// One sync run, if a session is unlocked and the device is enrolled.
pub fn run_once(app: &AppHandle, state: &AppState) {
    let Some(session) = state.current() else {
        return;
    };
    if !enrolled(&session) {
        return;
    }
    let _one_at_a_time = state
        .sync_running
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    state.set_activity(SyncActivity::Uploading { done: 0, total: 0 });
    emit(app, state);
    let outcome = doorstep_transport::sync(&session, |progress| {
        state.set_activity(match progress {
            SyncProgress::Uploading { done, total } => SyncActivity::Uploading { done, total },
            SyncProgress::Downloading { received } => SyncActivity::Downloading { received },
        });
        emit(app, state);
    });
    state.set_activity(SyncActivity::Idle);
    let error = match outcome {
        Ok(_) => None,
        Err(TransportError::Revoked) => {
            // The device has wiped itself; nothing is left to unlock.
            state.set_session(None);
            Some(CommandError::from(TransportError::Revoked))
        }
        Err(error) => Some(CommandError::from(error)),
    };
    *state
        .last_attempt
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner()) = LastAttempt {
        at: Some(Utc::now()),
        error: error.map(|error| (error.code.to_owned(), error.message)),
    };
    emit(app, state);
}

fn emit(app: &AppHandle, state: &AppState) {
    if let Ok(status) = status(state) {
        let _ = app.emit("sync-status", status);
    }
}

/// Everything the status bar needs; the words are chosen by the UI.
#[derive(Debug, Clone, Serialize)]
pub struct StatusView {
    pub unlocked: bool,
    pub enrolled: bool,
    /// The sync server this device is enrolled with.
    pub server: Option<String>,
    pub activity: SyncActivity,
    pub last_sync: Option<DateTime<Utc>>,
    /// Records with changes the server has not received.
    pub pending: u64,
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The last attempt's error code (`offline`, `refused`, `revoked`…) and message.
    pub error_code: Option<String>,
    pub error: Option<String>,
    /// Colleagues' changes held back until what they need arrives.
    pub waiting: u64,
    /// The organisation's idle limit for this device: the app's own idle lock may be shorter,
    /// never longer.
    pub idle_limit_seconds: Option<u64>,
    /// This device's clock minus the server's at the last sync, in seconds.
    pub clock_skew_seconds: Option<i64>,
    /// Whether that is far enough out to warn about.
    pub clock_wrong: bool,
    /// The NEWS2 response protocol in use, as "name (id vN)".
    pub protocol: Option<String>,
}

pub fn status(state: &AppState) -> CommandResult<StatusView> {
    let activity = state
        .activity
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone();
    let attempt = state
        .last_attempt
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone();
    let (error_code, error) = attempt.error.unzip();
    let base = StatusView {
        unlocked: false,
        enrolled: false,
        server: None,
        activity,
        last_sync: None,
        pending: 0,
        last_attempt_at: attempt.at,
        error_code,
        error,
        waiting: 0,
        idle_limit_seconds: None,
        clock_skew_seconds: None,
        clock_wrong: false,
        protocol: None,
    };
    let Some(session) = state.current() else {
        return Ok(base);
    };
    let sync = session.sync_status()?;
    Ok(StatusView {
        unlocked: true,
        enrolled: sync.server.is_some(),
        server: sync.server,
        last_sync: sync.last_sync,
        pending: sync.pending,
        waiting: sync.waiting,
        idle_limit_seconds: Some(session.idle_limit().as_secs()),
        clock_skew_seconds: sync.clock_skew_seconds,
        clock_wrong: sync
            .clock_skew_seconds
            .is_some_and(|skew| skew.abs() > doorstep_core::store::CLOCK_SKEW_WARNING_SECONDS),
        protocol: Some(format!(
            "{} ({} v{})",
            sync.protocol.name, sync.protocol.id, sync.protocol.version
        )),
        ..base
    })
}
