//! Every failure a command can return, as `{code, message, …}` the UI can act on: a stable code to
//! branch on, a message that says what to do, and the numbers a screen needs (attempts left,
//! seconds to wait, the field to fix). Never patient data: the core's errors carry none.

use doorstep_core::store::StoreError;
use doorstep_transport::TransportError;
use serde::Serialize;

#[derive(Debug, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct CommandError {
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remaining: Option<u32>,
    /// Patient records whose changes a wipe would lose (wrong PIN).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unsynced_records: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The values to check before a set can be saved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<String>>,
}

impl CommandError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            remaining: None,
            unsynced_records: None,
            seconds: None,
            field: None,
            fields: None,
        }
    }

    pub fn locked() -> Self {
        Self::from(StoreError::Locked)
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::new("bad-input", message)
    }
}

impl From<StoreError> for CommandError {
    fn from(error: StoreError) -> Self {
        let message = error.to_string();
        let code = match &error {
            StoreError::WrongPin {
                remaining,
                unsynced_records,
            } => {
                return Self {
                    remaining: Some(*remaining),
                    unsynced_records: Some(u32::try_from(*unsynced_records).unwrap_or(u32::MAX)),
                    ..Self::new("wrong-pin", message)
                };
            }
            StoreError::LockedOut { seconds } => {
                return Self {
                    seconds: Some(*seconds),
                    ..Self::new("locked-out", message)
                };
            }
            StoreError::UnusualValues { fields } => {
                return Self {
                    fields: Some(fields.iter().map(|field| field.key().to_owned()).collect()),
                    ..Self::new("unusual-values", message)
                };
            }
            StoreError::Vitals(vitals) => {
                return Self {
                    field: vitals.field_key().map(str::to_owned),
                    ..Self::new("invalid-vitals", message)
                };
            }
            other => other.code(),
        };
        Self::new(code, message)
    }
}

impl From<TransportError> for CommandError {
    fn from(error: TransportError) -> Self {
        let error = match error {
            TransportError::Store(store) => return Self::from(store),
            other => other,
        };
        let code = error.code();
        Self::new(code, error.to_string())
    }
}

pub type CommandResult<T> = Result<T, CommandError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockout_and_wrong_pin_carry_what_the_unlock_screen_shows() {
        let wrong = serde_json::to_value(CommandError::from(StoreError::WrongPin {
            remaining: 7,
            unsynced_records: 0,
        }))
        .unwrap();
        assert_eq!(wrong["code"], "wrong-pin");
        assert_eq!(wrong["remaining"], 7);
        assert!(wrong["message"].as_str().unwrap().contains('7'));
        let out = serde_json::to_value(CommandError::from(StoreError::LockedOut { seconds: 60 }))
            .unwrap();
        assert_eq!(out["code"], "locked-out");
        assert_eq!(out["seconds"], 60);
        assert!(out.get("remaining").is_none());
    }
}
