//! Sealing and opening sync units: AES-256-GCM under the team key of the unit's epoch with the
//! header as associated data, then an Ed25519 signature by the author device over header and
//! ciphertext. A unit moved to another document, re-signed by a stranger or altered in any bit
//! fails to open.

use zeroize::Zeroizing;

use super::keys::{self, SigningKey};
use super::roster::VerifiedRoster;
use super::wire::{B64, Unit, UnitHeader};
use crate::crypto::{self, DataKey};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitError {
    #[error("a unit for another team was offered")]
    WrongTeam,
    #[error("a unit's author is not a member of the team")]
    UnknownAuthor,
    #[error("a unit's signature did not verify")]
    BadSignature,
    #[error("no team key for the unit's epoch on this device")]
    NoKeyForEpoch,
    #[error("a unit failed its integrity check")]
    Unauthentic,
}

fn header_text(header: &UnitHeader) -> String {
    // Serialising a plain struct of strings and numbers cannot fail.
    serde_json::to_string(header).unwrap_or_default()
}

fn signature_input(header: &str, ciphertext: &[u8]) -> Vec<u8> {
    format!(
        "doorstep/v1/unit\n{header}\n{}",
        crypto::hex(&crypto::sha256(&[ciphertext]))
    )
    .into_bytes()
}

pub fn seal_unit(
    team_key: &DataKey,
    author: &SigningKey,
    header: UnitHeader,
    plaintext: &[u8],
) -> Result<Unit, crypto::CryptoError> {
    let text = header_text(&header);
    let ciphertext = crypto::seal(team_key, &format!("unit/{text}"), plaintext)?;
    let signature = author.sign(&signature_input(&text, &ciphertext));
    Ok(Unit {
        header,
        ciphertext: B64(ciphertext),
        signature: B64(signature),
    })
}

/// Checks a unit's author and signature against the roster without decrypting it.
pub fn verify_unit(unit: &Unit, roster: &VerifiedRoster) -> Result<(), UnitError> {
    if unit.header.team != roster.team {
        return Err(UnitError::WrongTeam);
    }
    let author = roster
        .signing_key(unit.header.author)
        .ok_or(UnitError::UnknownAuthor)?;
    let text = header_text(&unit.header);
    if !keys::verify(
        &author,
        &signature_input(&text, &unit.ciphertext.0),
        &unit.signature.0,
    ) {
        return Err(UnitError::BadSignature);
    }
    Ok(())
}

pub fn open_unit(
    unit: &Unit,
    roster: &VerifiedRoster,
    team_key: impl Fn(u32) -> Option<DataKey>,
) -> Result<Zeroizing<Vec<u8>>, UnitError> {
    verify_unit(unit, roster)?;
    let key = team_key(unit.header.epoch).ok_or(UnitError::NoKeyForEpoch)?;
    crypto::open(
        &key,
        &format!("unit/{}", header_text(&unit.header)),
        &unit.ciphertext.0,
    )
    .map_err(|_| UnitError::Unauthentic)
}
