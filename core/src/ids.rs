//! Identifiers for the things Doorstep stores. Random UUIDs: they carry no patient information, so
//! unlike an NHS number they may appear in logs, file names and error messages.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh random identifier.
            pub fn random() -> Self {
                Self(Uuid::new_v4())
            }

            /// An identifier from known bits, for deterministic fixtures and tests.
            pub const fn from_u128(bits: u128) -> Self {
                Self(Uuid::from_u128(bits))
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = IdError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s.trim()).map(Self).map_err(|_| IdError { kind: stringify!($name) })
            }
        }
    };
}

/// A string that is not an identifier of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {kind}: identifiers are UUIDs such as 0b5e5f8e-3c1a-4d2e-9a57-6f1c2d3e4f50")]
pub struct IdError {
    kind: &'static str,
}

uuid_id!(
    /// One patient record.
    PatientId
);
uuid_id!(
    /// One observation set within a patient record.
    ObservationId
);
uuid_id!(
    /// A visit note within a patient record.
    NoteId
);
uuid_id!(
    /// An allergy or alert entry within a patient record.
    EntryId
);
uuid_id!(
    /// A member of staff using Doorstep.
    UserId
);
uuid_id!(
    /// One enrolled tablet, phone or laptop.
    DeviceId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text() {
        let id = PatientId::random();
        assert_eq!(id.to_string().parse::<PatientId>().unwrap(), id);
        assert!("not-an-id".parse::<ObservationId>().is_err());
    }
}
