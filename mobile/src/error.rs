//! What a mobile shell can be told went wrong. A variant for each case a shell acts on
//! differently (ask for the PIN again, wait, enrol again, go online); the rest carry the core's
//! stable code. Messages say what to do and never carry patient data: the core's carry none.

use doorstep_core::store::StoreError;
use doorstep_transport::TransportError;

#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum MobileError {
    /// Ask for the PIN again; `attempts_left` more wrong ones wipe the device, losing
    /// `unsynced_records` records' changes not yet synced.
    #[error("{message}")]
    WrongPin {
        attempts_left: u32,
        unsynced_records: u64,
        message: String,
    },
    /// Too many wrong PINs: no attempt is accepted for `seconds`.
    #[error("{message}")]
    LockedOut { seconds: u64, message: String },
    /// The device wiped itself (too many wrong PINs, or revoked by the organisation): enrol again.
    #[error("{message}")]
    Wiped { message: String },
    /// The session locked (idle, or locked by the user): unlock to continue.
    #[error("{message}")]
    Locked { message: String },
    /// This user's role may not do this; the message says who may.
    #[error("{message}")]
    NotPermitted { message: String },
    /// A value the user entered was refused; `field` names it where there is one, `code` says
    /// why (`invalid-vitals`, `unusual-values`, `bad-input`, …).
    #[error("{message}")]
    InvalidInput {
        code: String,
        field: Option<String>,
        message: String,
    },
    /// No such patient, set or note on this device.
    #[error("{message}")]
    NotFound { message: String },
    /// The platform key store could not open the device's key (the user must authenticate to
    /// the device first, or the platform lost the key): nothing is wiped; try again.
    #[error("{message}")]
    KeyStoreUnavailable { message: String },
    /// The sync server could not be reached: the work stays on the device; sync later.
    #[error("{message}")]
    Offline { message: String },
    /// The organisation revoked this device and it has wiped itself.
    #[error("{message}")]
    Revoked { message: String },
    /// Anything else, with the core's stable code.
    #[error("{message}")]
    Other { code: String, message: String },
}

impl From<StoreError> for MobileError {
    fn from(error: StoreError) -> Self {
        let message = error.to_string();
        match error {
            StoreError::WrongPin {
                remaining,
                unsynced_records,
            } => MobileError::WrongPin {
                attempts_left: remaining,
                unsynced_records,
                message,
            },
            StoreError::LockedOut { seconds } => MobileError::LockedOut { seconds, message },
            StoreError::Wiped => MobileError::Wiped { message },
            StoreError::Locked => MobileError::Locked { message },
            StoreError::Revoked => MobileError::Revoked { message },
            StoreError::KeyStoreUnavailable => MobileError::KeyStoreUnavailable { message },
            StoreError::NotPermitted(_) | StoreError::NotYourNote => {
                MobileError::NotPermitted { message }
            }
            StoreError::PatientNotFound
            | StoreError::ObservationNotFound
            | StoreError::NoteNotFound => MobileError::NotFound { message },
            StoreError::Vitals(ref vitals) => MobileError::InvalidInput {
                code: error.code().to_owned(),
                field: vitals.field_key().map(str::to_owned),
                message,
            },
            StoreError::UnusualValues { ref fields } => MobileError::InvalidInput {
                code: error.code().to_owned(),
                field: fields.first().map(|field| field.key().to_owned()),
                message,
            },
            ref other if other.code() == "bad-input" => MobileError::InvalidInput {
                code: other.code().to_owned(),
                field: None,
                message,
            },
            other => MobileError::Other {
                code: other.code().to_owned(),
                message,
            },
        }
    }
}

impl From<TransportError> for MobileError {
    fn from(error: TransportError) -> Self {
        match error {
            TransportError::Store(store) => store.into(),
            TransportError::Revoked => MobileError::Revoked {
                message: error.to_string(),
            },
            TransportError::Unreachable(_) => MobileError::Offline {
                message: error.to_string(),
            },
            // The server's own words are not shown: it is not trusted (invariant 9).
            TransportError::Refused { ref code, .. } => MobileError::Other {
                code: error.code().to_owned(),
                message: format!(
                    "the sync server refused this request ({code}); your work stays on this device"
                ),
            },
            other => MobileError::Other {
                code: other.code().to_owned(),
                message: other.to_string(),
            },
        }
    }
}

impl MobileError {
    pub(crate) fn bad_input(field: Option<&str>, message: &str) -> Self {
        MobileError::InvalidInput {
            code: "bad-input".to_owned(),
            field: field.map(str::to_owned),
            message: message.to_owned(),
        }
    }
}
