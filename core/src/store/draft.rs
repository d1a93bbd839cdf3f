//! A half-entered observation set kept sealed across the idle lock: the lock protects the data,
//! it must not cost a nurse the values she was typing when she turned to the patient.
//!
//! One draft per user (the form they were in), sealed under the data key with the user as the
//! row's identity, offered back only to that user after their next unlock, and cleared when the
//! set is saved or the draft discarded.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::error::{Result, StoreError};
use super::session::Session;
use crate::crypto;
use crate::ids::{PatientId, UserId};
use crate::permission::Action;

/// The form as the shell last saw it: opaque to the core, which only keeps it sealed.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    pub patient: PatientId,
    pub saved_at: DateTime<Utc>,
    pub form: serde_json::Value,
}

impl std::fmt::Debug for Draft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Draft({}, <redacted>)", self.patient)
    }
}

/// Larger than any observation form; a shell sending more is sending something else.
const MAX_DRAFT_BYTES: usize = 16 * 1024;

fn row(user: UserId) -> String {
    format!("draft:{user}")
}

pub(super) fn clear(connection: &Connection, user: UserId) -> Result<()> {
    connection
        .prepare_cached("DELETE FROM drafts WHERE user_id = ?1")?
        .execute(params![user.to_string()])?;
    Ok(())
}

impl Session {
    /// Keeps the form being filled in for `patient`, replacing this user's previous draft. Call
    /// it as values change: what was saved before the idle lock is what is offered back.
    pub fn save_draft(&self, patient: PatientId, form: &serde_json::Value) -> Result<()> {
        self.permit(Action::RecordObservation)?;
        let draft = Draft {
            patient,
            saved_at: Utc::now(),
            form: form.clone(),
        };
        let plain = serde_json::to_vec(&draft).map_err(|_| StoreError::InvalidValue {
            field: "draft",
            expected: "a form",
        })?;
        if plain.len() > MAX_DRAFT_BYTES {
            return Err(StoreError::InvalidValue {
                field: "draft",
                expected: "an observation form (at most 16 KiB)",
            });
        }
        let context = self.context()?;
        let user = self.user().id;
        let sealed = crypto::seal(context.key()?, &row(user), &plain)?;
        context
            .connection
            .prepare_cached(
                "INSERT INTO drafts (user_id, sealed) VALUES (?1, ?2)
                 ON CONFLICT (user_id) DO UPDATE SET sealed = excluded.sealed",
            )?
            .execute(params![user.to_string(), sealed])?;
        Ok(())
    }

    /// This user's draft, if they left one: offered back after unlock.
    pub fn draft(&self) -> Result<Option<Draft>> {
        let context = self.context()?;
        let user = self.user().id;
        let sealed: Option<Vec<u8>> = context
            .connection
            .query_row(
                "SELECT sealed FROM drafts WHERE user_id = ?1",
                params![user.to_string()],
                |row| row.get(0),
            )
            .optional()?;
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let plain = crypto::open(context.key()?, &row(user), &sealed)?;
        let draft =
            serde_json::from_slice(&plain).map_err(|_| StoreError::Tampered { what: "draft" })?;
        Ok(Some(draft))
    }

    /// Drops this user's draft (they chose not to continue it).
    pub fn discard_draft(&self) -> Result<()> {
        let context = self.context()?;
        clear(&context.connection, self.user().id)
    }
}
