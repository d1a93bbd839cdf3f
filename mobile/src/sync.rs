//! Sync for a mobile shell: one run at a time, its progress reported through a listener the
//! shell implements, and the server's push stream for knowing when to run again.

use std::sync::Arc;

use crate::error::MobileError;
use crate::session::MobileSession;

/// How far a sync run has got.
#[derive(Clone, Debug, uniffi::Enum)]
pub enum SyncProgress {
    /// This device's changes going up: `done` of `total` records.
    Uploading { done: u64, total: u64 },
    /// The team's changes coming down: `received` units so far.
    Downloading { received: u64 },
}

/// Told as a sync run goes; called on the thread running the sync.
#[uniffi::export(with_foreign)]
pub trait SyncListener: Send + Sync {
    fn on_progress(&self, progress: SyncProgress);
}

/// Told when the team changed something; return `false` to stop listening. Called on the thread
/// running [`MobileSession::listen`]. A notice carries no data: run [`MobileSession::sync_once`].
#[uniffi::export(with_foreign)]
pub trait ChangeListener: Send + Sync {
    /// `patient_id`: the record that changed, when the server could say.
    fn on_change(&self, patient_id: Option<String>) -> bool;
    /// Asked at each keep-alive (every 15 s) while nothing changes; `false` stops listening
    /// (the app went to the background, the user signed out).
    fn keep_listening(&self) -> bool;
}

/// What a sync run did, in counts.
#[derive(Clone, Debug, uniffi::Record)]
pub struct SyncSummary {
    pub uploaded: u64,
    pub downloaded: u64,
    /// Units refused as malformed.
    pub rejected: u64,
    /// Units refused because they wrote in another member's name or beyond their role.
    pub forged: u64,
    /// Colleagues' units held back until what they need arrives.
    pub waiting: u64,
    /// Team keys the server offered that the organisation never vouched for: anything but 0
    /// means the server is not to be trusted.
    pub keys_refused: u64,
    pub conflicts: u64,
    /// Why this device's own changes were not sent this time, if they were not.
    pub held_back: Option<String>,
}

#[uniffi::export]
impl MobileSession {
    /// One sync run: the team's roster, this device's changes up, the team's down. A device the
    /// organisation revoked wipes itself and returns [`MobileError::Revoked`]. Network and
    /// disk: call off the main thread.
    pub fn sync_once(
        &self,
        listener: Option<Arc<dyn SyncListener>>,
    ) -> Result<SyncSummary, MobileError> {
        // One run at a time on this device: `doorstep_transport::sync` holds its sync lock.
        let report = doorstep_transport::sync(&self.session, |progress| {
            let Some(listener) = &listener else {
                return;
            };
            listener.on_progress(match progress {
                doorstep_transport::SyncProgress::Uploading { done, total } => {
                    SyncProgress::Uploading {
                        done: done as u64,
                        total: total as u64,
                    }
                }
                doorstep_transport::SyncProgress::Downloading { received } => {
                    SyncProgress::Downloading { received }
                }
            });
        })?;
        Ok(SyncSummary {
            uploaded: report.uploaded,
            downloaded: report.downloaded,
            rejected: report.rejected,
            forged: report.forged,
            waiting: report.waiting,
            keys_refused: report.keys_refused,
            conflicts: report.conflicts,
            held_back: report.held_back,
        })
    }

    /// Listens to the server's push stream until `listener` returns `false` (on a change or at
    /// a keep-alive), the session locks, or the stream ends. Blocks for as long as it listens:
    /// run it on its own background thread.
    pub fn listen(&self, listener: Arc<dyn ChangeListener>) -> Result<(), MobileError> {
        doorstep_transport::listen_while(
            &self.session,
            || !self.session.is_locked() && listener.keep_listening(),
            |notice| listener.on_change(notice.doc),
        )?;
        Ok(())
    }
}
