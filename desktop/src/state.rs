//! What the app holds between commands: where the device store is, the unlocked session (if any),
//! and what sync is doing right now.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Utc};
use doorstep_core::store::Session;
use serde::Serialize;

use crate::error::{CommandError, CommandResult};

/// What the sync engine is doing, for the always-visible status.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(tag = "phase", rename_all = "kebab-case")]
pub enum SyncActivity {
    #[default]
    Idle,
    Uploading {
        done: usize,
        total: usize,
    },
    Downloading {
        received: u64,
    },
}

/// The outcome of the last attempt, so "offline" can be told apart from "synced".
#[derive(Debug, Clone, Default, Serialize)]
pub struct LastAttempt {
    pub at: Option<DateTime<Utc>>,
    /// `None` when it succeeded; else the error code (`offline`, `refused`…) and message.
    pub error: Option<(String, String)>,
}

#[derive(Debug)]
pub struct AppState {
    pub data_dir: PathBuf,
    session: RwLock<Option<Arc<Session>>>,
    pub activity: Mutex<SyncActivity>,
    pub last_attempt: Mutex<LastAttempt>,
    /// Serialises sync runs started by the user, the timer and push.
    pub sync_running: Mutex<()>,
}

impl AppState {
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            session: RwLock::new(None),
            activity: Mutex::new(SyncActivity::Idle),
            last_attempt: Mutex::new(LastAttempt::default()),
            sync_running: Mutex::new(()),
        }
    }

    /// The unlocked session, or "locked" for the UI to show the unlock screen.
    pub fn session(&self) -> CommandResult<Arc<Session>> {
        let session = self
            .session
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
            .ok_or_else(CommandError::locked)?;
        if session.is_locked() {
            return Err(CommandError::locked());
        }
        Ok(session)
    }

    /// The session if one is unlocked, without treating "locked" as an error.
    pub fn current(&self) -> Option<Arc<Session>> {
        self.session().ok()
    }

    pub fn set_session(&self, session: Option<Arc<Session>>) {
        let mut slot = self
            .session
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(previous) = slot.take() {
            // Zeroise the old key now rather than when the last background user drops it.
            let _ = previous.lock();
        }
        *slot = session;
    }

    pub fn set_activity(&self, activity: SyncActivity) {
        *self
            .activity
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = activity;
    }
}
