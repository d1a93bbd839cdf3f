//! Enrolment codes: the one secret an administrator hands a new device (typed or scanned).
//!
//! A code holds 16 random bytes and the first 8 bytes of the admin key's fingerprint. From the
//! secret both sides derive: the token the server knows the device by until it has keys, the key
//! that seals the team key for the code's holder, and an Ed25519 key with which the holder endorses
//! its device's keys. The admin signs a grant naming that endorse key, so every member can verify
//! a new device came through a real code, without the admin being online.

use data_encoding::BASE32_NOPAD;

use super::keys::{SigningKey, hkdf32};
use super::wire::{EnrolResponse, Grant, PURPOSE_GRANT, Signed};
use crate::crypto::{self, CryptoError, DataKey};

#[derive(Clone, PartialEq, Eq)]
pub struct EnrolmentCode {
    secret: [u8; 16],
    admin_fingerprint: [u8; 8],
}

impl std::fmt::Debug for EnrolmentCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EnrolmentCode(<secret>)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnrolmentError {
    #[error("that is not an enrolment code; check it with the administrator who issued it")]
    Malformed,
    #[error(
        "the server's answer is not signed by the organisation that issued this code; do not use this server"
    )]
    WrongOrganisation,
    #[error("the team key for this code could not be opened; ask the administrator for a new code")]
    Lockbox,
    #[error("this enrolment code has expired; ask the administrator for a new one")]
    Expired,
}

pub fn admin_fingerprint(admin_key: &[u8; 32]) -> [u8; 8] {
    let digest = crypto::sha256(&[b"doorstep-admin-key", admin_key]);
    let mut out = [0u8; 8];
    out.copy_from_slice(&digest[..8]);
    out
}

impl EnrolmentCode {
    pub fn generate(admin_key: &[u8; 32]) -> Result<Self, CryptoError> {
        Ok(Self {
            secret: crypto::random_bytes::<16>()?,
            admin_fingerprint: admin_fingerprint(admin_key),
        })
    }

    /// Groups of four characters, e.g. `ABCD-EFGH-…`; parsing ignores case, spaces and hyphens.
    pub fn to_text(&self) -> String {
        let mut bytes = self.secret.to_vec();
        bytes.extend_from_slice(&self.admin_fingerprint);
        let text = BASE32_NOPAD.encode(&bytes);
        text.as_bytes()
            .chunks(4)
            .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
            .collect::<Vec<_>>()
            .join("-")
    }

    pub fn parse(text: &str) -> Result<Self, EnrolmentError> {
        let cleaned: String = text
            .chars()
            .filter(|c| !matches!(c, '-' | ' '))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let bytes = BASE32_NOPAD
            .decode(cleaned.as_bytes())
            .map_err(|_| EnrolmentError::Malformed)?;
        if bytes.len() != 24 {
            return Err(EnrolmentError::Malformed);
        }
        let mut secret = [0u8; 16];
        secret.copy_from_slice(&bytes[..16]);
        let mut admin_fingerprint = [0u8; 8];
        admin_fingerprint.copy_from_slice(&bytes[16..]);
        Ok(Self {
            secret,
            admin_fingerprint,
        })
    }

    /// What the server files the grant under (hex); reveals nothing of the secret.
    pub fn token(&self) -> String {
        crypto::hex(&hkdf32(&self.secret, "enrol-token"))
    }

    /// The hash of the token, which the admin publishes in the grant.
    pub fn token_hash(&self) -> Vec<u8> {
        crypto::sha256(&[self.token().as_bytes()]).to_vec()
    }

    pub fn endorse_key(&self) -> Result<SigningKey, CryptoError> {
        SigningKey::from_seed(&hkdf32(&self.secret, "enrol-endorse"))
    }

    fn lockbox_key(&self) -> Result<DataKey, CryptoError> {
        DataKey::from_bytes(&hkdf32(&self.secret, "enrol-lockbox"))
    }

    /// The team key sealed for whoever holds this code.
    pub fn seal_team_key(
        &self,
        team: &str,
        epoch: u32,
        team_key: &DataKey,
    ) -> Result<Vec<u8>, CryptoError> {
        crypto::seal(
            &self.lockbox_key()?,
            &format!("code-lockbox/{team}/{epoch}"),
            team_key.as_bytes(),
        )
    }

    /// Checks the server's answer against the code (the admin's signature, the code's expiry at
    /// `now`, unix seconds) and opens the team key, which must be the one the admin committed to.
    pub fn accept(
        &self,
        response: &EnrolResponse,
        now: i64,
    ) -> Result<AcceptedGrant, EnrolmentError> {
        let admin_key = response
            .admin_key
            .key32()
            .ok_or(EnrolmentError::WrongOrganisation)?;
        if admin_fingerprint(&admin_key) != self.admin_fingerprint {
            return Err(EnrolmentError::WrongOrganisation);
        }
        let grant: Grant = response
            .grant
            .open(&admin_key, PURPOSE_GRANT)
            .map_err(|_| EnrolmentError::WrongOrganisation)?;
        let expected_endorse = self
            .endorse_key()
            .map_err(|_| EnrolmentError::Malformed)?
            .public_key();
        if grant.token_hash.0 != self.token_hash() || grant.endorse_key.0 != expected_endorse {
            return Err(EnrolmentError::WrongOrganisation);
        }
        if now >= grant.expires_at {
            return Err(EnrolmentError::Expired);
        }
        let key = self.lockbox_key().map_err(|_| EnrolmentError::Lockbox)?;
        let team_key = crypto::open(
            &key,
            &format!("code-lockbox/{}/{}", grant.team, grant.epoch),
            &response.code_lockbox.0,
        )
        .map_err(|_| EnrolmentError::Lockbox)?;
        let team_key = DataKey::from_bytes(&team_key).map_err(|_| EnrolmentError::Lockbox)?;
        let committed = super::keys::epoch_key_commitment(&grant.team, grant.epoch, &team_key);
        if grant.key_commitment.0 != committed {
            return Err(EnrolmentError::Lockbox);
        }
        Ok(AcceptedGrant {
            admin_key,
            team_key,
            signed_grant: response.grant.clone(),
            grant,
        })
    }
}

/// A verified grant with the team key it unlocked.
#[derive(Debug)]
pub struct AcceptedGrant {
    pub admin_key: [u8; 32],
    pub grant: Grant,
    pub signed_grant: Signed,
    pub team_key: DataKey,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_text_in_any_case_and_spacing() {
        let admin = SigningKey::generate().unwrap();
        let code = EnrolmentCode::generate(&admin.public_key()).unwrap();
        let text = code.to_text();
        assert_eq!(EnrolmentCode::parse(&text).unwrap(), code);
        assert_eq!(
            EnrolmentCode::parse(&text.to_lowercase().replace('-', " ")).unwrap(),
            code
        );
        assert!(EnrolmentCode::parse("ABCD-EFGH").is_err());
        assert_eq!(format!("{code:?}"), "EnrolmentCode(<secret>)");
    }
}
