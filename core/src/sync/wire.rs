//! The sync protocol's messages, shared by the devices and the server. JSON over HTTP; bytes are
//! base64. Nothing here carries plaintext patient data: units are sealed, identifiers are random.

use std::collections::BTreeMap;

use data_encoding::BASE64;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::keys::{self, SigningKey};
use crate::ids::{DeviceId, PatientId};
use crate::observation::Role;

/// Bytes that travel as base64 text.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct B64(pub Vec<u8>);

impl std::fmt::Debug for B64 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "B64({} bytes)", self.0.len())
    }
}

impl Serialize for B64 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&BASE64.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for B64 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        BASE64
            .decode(text.as_bytes())
            .map(B64)
            .map_err(serde::de::Error::custom)
    }
}

impl B64 {
    /// The bytes as a 32-byte key, if they are one.
    pub fn key32(&self) -> Option<[u8; 32]> {
        self.0.as_slice().try_into().ok()
    }
}

/// A JSON document signed with Ed25519 for one purpose, so a signature made for one kind of
/// document can never be passed off as another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signed {
    pub body: String,
    pub signer: B64,
    pub signature: B64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a signed {purpose} did not verify: wrong signer or altered content")]
pub struct BadSignature {
    pub purpose: &'static str,
}

fn signing_input(purpose: &str, body: &str) -> Vec<u8> {
    format!("doorstep/v1/{purpose}\n{body}").into_bytes()
}

impl Signed {
    pub fn sign<T: Serialize>(
        key: &SigningKey,
        purpose: &'static str,
        value: &T,
    ) -> Result<Self, BadSignature> {
        let body = serde_json::to_string(value).map_err(|_| BadSignature { purpose })?;
        Ok(Self {
            signature: B64(key.sign(&signing_input(purpose, &body))),
            signer: B64(key.public_key().to_vec()),
            body,
        })
    }

    /// The content, if `signer` signed it for `purpose`.
    pub fn open<T: DeserializeOwned>(
        &self,
        signer: &[u8; 32],
        purpose: &'static str,
    ) -> Result<T, BadSignature> {
        if self.signer.0 != signer.as_slice()
            || !keys::verify(
                signer,
                &signing_input(purpose, &self.body),
                &self.signature.0,
            )
        {
            return Err(BadSignature { purpose });
        }
        serde_json::from_str(&self.body).map_err(|_| BadSignature { purpose })
    }

    /// The content without checking the signature: only for a party (the server) that then checks
    /// it against a key it already trusts.
    pub fn peek<T: DeserializeOwned>(&self) -> Option<T> {
        serde_json::from_str(&self.body).ok()
    }
}

pub const PURPOSE_MEMBERSHIP: &str = "membership";
pub const PURPOSE_GRANT: &str = "grant";
pub const PURPOSE_ENDORSEMENT: &str = "endorsement";

/// A device in a team.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub device: DeviceId,
    pub user: String,
    pub role: Role,
    pub signing_key: B64,
    pub agreement_key: B64,
}

/// The team's membership, signed by the organisation's admin key. `version` only rises.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    pub org: String,
    pub team: String,
    pub version: u64,
    pub epoch: u32,
    pub members: Vec<Member>,
    pub revoked: Vec<DeviceId>,
    /// Revoked devices with the epoch their revocation started: units they sealed under an
    /// earlier epoch are still theirs, and still verify.
    #[serde(default)]
    pub former: Vec<FormerMember>,
    /// Per epoch, the admin's commitment to that epoch's content key
    /// ([`super::keys::epoch_key_commitment`]): a device accepts a key from a lockbox only if it
    /// matches, so a server that seals a key of its own choosing to a device is caught.
    #[serde(default)]
    pub key_commitments: BTreeMap<u32, B64>,
    /// The organisation's NEWS2 response protocol for the team, signed with the membership so a
    /// server cannot change the words a clinician is shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<crate::news2::ResponseProtocol>,
}

/// A revoked device, and the first epoch it never held.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormerMember {
    pub member: Member,
    pub until_epoch: u32,
}

/// An admin's permission for whoever holds an enrolment code to join a team. The code's holder
/// proves it by signing their device's keys with `endorse_key`, derived from the code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub org: String,
    pub team: String,
    pub token_hash: B64,
    pub endorse_key: B64,
    pub user: String,
    pub role: Role,
    pub epoch: u32,
    /// The admin's commitment to the team key of `epoch` sealed in the code's lockbox (empty in
    /// grants made before commitments: their key is then never taken from a lockbox).
    #[serde(default)]
    pub key_commitment: B64,
    /// Unix seconds after which the code no longer enrols a device.
    #[serde(default = "never")]
    pub expires_at: i64,
    /// The membership version when the grant was made: a new device refuses any older one.
    #[serde(default)]
    pub membership_version: u64,
}

fn never() -> i64 {
    i64::MAX
}

/// A device's keys, signed with a grant's endorse key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endorsement {
    pub team: String,
    pub member: Member,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    /// Automerge changes of one patient document.
    Changes,
    /// A device's audit entries, in order, for the organisation; `doc` is then the author
    /// device's own id. Devices do not apply other devices' audit.
    Audit,
    /// A whole patient document (compressed) holding every change in units up to `covers`; the
    /// server then drops those units, so history does not grow without bound.
    Snapshot,
    /// Several records this device has never sent, each as a whole document, sealed together
    /// (`payload::bundle`): one signature and one compression context for a shift's new patients.
    /// `doc` is a random id for the bundle; which records it holds is only inside.
    Bundle,
}

/// What a unit says about itself, authenticated by both the AEAD and the author's signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitHeader {
    pub team: String,
    pub epoch: u32,
    pub doc: PatientId,
    pub author: DeviceId,
    pub counter: u64,
    pub kind: UnitKind,
    /// For a snapshot: the highest sequence number whose changes it contains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub covers: Option<u64>,
}

/// One sealed, signed unit of sync.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    pub header: UnitHeader,
    pub ciphertext: B64,
    pub signature: B64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredUnit {
    pub seq: u64,
    pub unit: Unit,
}

/// Admin: register the organisation's public key with the server.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RegisterOrg {
    pub org: String,
    pub admin_key: B64,
}

/// Admin: publish a grant and the team key sealed for whoever holds the code.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PublishGrant {
    pub grant: Signed,
    pub code_lockbox: B64,
}

/// Admin: publish a new membership and the team key's lockboxes for its members.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PublishMembership {
    pub membership: Signed,
    pub lockboxes: Vec<Lockbox>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lockbox {
    pub device: DeviceId,
    pub epoch: u32,
    pub sealed: B64,
}

/// Device: join with the token derived from an enrolment code.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EnrolRequest {
    pub token: B64,
    pub endorsement: Signed,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EnrolResponse {
    pub org: String,
    pub admin_key: B64,
    pub grant: Signed,
    pub code_lockbox: B64,
}

/// Everything a device needs to know who may write to its team: the admin-signed membership,
/// enrolments since (grant + endorsement pairs), and its own lockboxes.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Roster {
    pub membership: Option<Signed>,
    pub enrolments: Vec<Enrolment>,
    pub lockboxes: Vec<Lockbox>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Enrolment {
    pub grant: Signed,
    pub endorsement: Signed,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UploadRequest {
    pub units: Vec<Unit>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UploadResponse {
    /// The sequence number of each unit, in request order (the existing one for a re-upload).
    pub seqs: Vec<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PullResponse {
    pub units: Vec<StoredUnit>,
    /// Pass as `after` next time.
    pub cursor: u64,
    pub more: bool,
}

/// One sync in one round trip: the device's next units, where its pull stands, and the tag of the
/// roster it last took in.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SyncRequest {
    /// The `roster_tag` of the last roster this device took in (empty: send it).
    #[serde(default)]
    pub roster_tag: String,
    #[serde(default)]
    pub units: Vec<Unit>,
    /// The pull cursor: colleagues' units after this sequence number.
    pub after: u64,
    pub limit: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SyncResponse {
    /// The team's roster, when it differs from the one the device's tag names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roster: Option<Roster>,
    pub roster_tag: String,
    /// The sequence number of each unit sent, in order.
    #[serde(default)]
    pub seqs: Vec<u64>,
    pub units: Vec<StoredUnit>,
    pub cursor: u64,
    pub more: bool,
}

/// Every refusal: a stable code for programs, a message for people, and whether the server
/// believes the device must wipe itself (it was revoked). A device never wipes on `wipe` alone: it
/// wipes only if `revocation` holds an admin-signed membership that revokes it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    #[serde(default)]
    pub wipe: bool,
    /// For a revoked device: the team's membership, signed by the admin key, naming it revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation: Option<Signed>,
}

/// Request authentication headers.
pub const HEADER_DEVICE: &str = "x-doorstep-device";
pub const HEADER_ADMIN: &str = "x-doorstep-admin";
pub const HEADER_TIMESTAMP: &str = "x-doorstep-timestamp";
pub const HEADER_NONCE: &str = "x-doorstep-nonce";
pub const HEADER_SIGNATURE: &str = "x-doorstep-signature";

/// What a request's signature covers: method, path with query, time, a one-time nonce and the
/// body's hash. The server refuses a signature older than a few minutes or a nonce it has seen.
pub fn request_signing_input(
    method: &str,
    path: &str,
    timestamp: i64,
    nonce: &str,
    body: &[u8],
) -> Vec<u8> {
    let body_hash = crate::crypto::hex(&crate::crypto::sha256(&[body]));
    format!("doorstep/v1/request\n{method}\n{path}\n{timestamp}\n{nonce}\n{body_hash}").into_bytes()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::sync::enrolment::EnrolmentCode;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// Every decoder a device or the server runs on untrusted input returns an error, never a
        /// panic, whatever the bytes.
        #[test]
        fn decoders_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512), text in ".{0,200}") {
            let _ = serde_json::from_slice::<UploadRequest>(&bytes);
            let _ = serde_json::from_slice::<PullResponse>(&bytes);
            let _ = serde_json::from_slice::<SyncRequest>(&bytes);
            let _ = serde_json::from_slice::<SyncResponse>(&bytes);
            let _ = serde_json::from_slice::<Roster>(&bytes);
            let _ = serde_json::from_slice::<EnrolResponse>(&bytes);
            let _ = serde_json::from_slice::<Signed>(&bytes);
            let _ = serde_json::from_str::<Unit>(&text);
            let _ = EnrolmentCode::parse(&text);
            let _ = crate::vitals::VitalsInput::from_json(&text);
            let _ = crate::nhs_number::NhsNumber::parse(&text);
            if let Ok(signed) = serde_json::from_str::<Signed>(&text) {
                let _ = signed.open::<Membership>(&[0; 32], PURPOSE_MEMBERSHIP);
            }
        }
    }
}
