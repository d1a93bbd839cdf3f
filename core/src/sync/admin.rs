//! The organisation administrator's side: the admin key, teams and their epoch keys, enrolment
//! codes, memberships and revocation. Kept in an admin directory sealed under the admin's PIN; no
//! network I/O (the transport publishes what these functions produce).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::enrolment::EnrolmentCode;
use super::keys::{self, SigningKey};
use super::roster::VerifiedRoster;
use super::wire::{
    B64, Grant, Lockbox, Member, Membership, PURPOSE_GRANT, PURPOSE_MEMBERSHIP, PublishGrant,
    PublishMembership, Roster, Signed,
};
use crate::crypto::{self, DataKey, PIN_KDF_ITERATIONS, SALT_LEN};
use crate::ids::DeviceId;
use crate::observation::Role;

const ADMIN_FILE: &str = "admin.sealed";
const ADMIN_ROW: &str = "admin-state";

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("no admin state in this directory; run `doorstep admin init` first")]
    NotInitialised,
    #[error("admin state already exists in this directory")]
    AlreadyInitialised,
    #[error("wrong admin PIN")]
    WrongPin,
    #[error("no team called that; create it with `doorstep admin team create NAME`")]
    UnknownTeam,
    #[error("a team with that name already exists")]
    DuplicateTeam,
    #[error("no such device in the team")]
    UnknownDevice,
    #[error("the admin state could not be read or written ({0})")]
    Io(String),
    #[error("key material failed: {0}")]
    Crypto(#[from] crypto::CryptoError),
}

impl From<std::io::Error> for AdminError {
    fn from(error: std::io::Error) -> Self {
        AdminError::Io(error.kind().to_string())
    }
}

#[derive(Clone, Serialize, Deserialize)]
pub struct TeamState {
    pub epoch: u32,
    pub keys: BTreeMap<u32, B64>,
    pub version: u64,
    pub members: Vec<Member>,
    pub revoked: Vec<DeviceId>,
}

impl std::fmt::Debug for TeamState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "TeamState(epoch {}, {} members)",
            self.epoch,
            self.members.len()
        )
    }
}

#[derive(Serialize, Deserialize)]
pub struct AdminState {
    pub server: String,
    pub org: String,
    admin_seed: B64,
    pub teams: BTreeMap<String, TeamState>,
}

impl std::fmt::Debug for AdminState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AdminState({}, {} teams)", self.org, self.teams.len())
    }
}

#[derive(Serialize, Deserialize)]
struct SealedFile {
    salt: B64,
    iterations: u32,
    sealed: B64,
}

fn team_key(team: &TeamState, epoch: u32) -> Result<DataKey, AdminError> {
    let bytes = team.keys.get(&epoch).ok_or(AdminError::UnknownTeam)?;
    Ok(DataKey::from_bytes(&bytes.0)?)
}

pub fn lockbox_context(team: &str, epoch: u32, device: DeviceId) -> String {
    format!("team/{team}/epoch/{epoch}/device/{device}")
}

impl AdminState {
    pub fn create(server: &str, org: &str) -> Result<Self, AdminError> {
        Ok(Self {
            server: server.trim_end_matches('/').to_owned(),
            org: org.trim().to_owned(),
            admin_seed: B64(crypto::random_bytes::<32>()?.to_vec()),
            teams: BTreeMap::new(),
        })
    }

    pub fn admin_key(&self) -> Result<SigningKey, AdminError> {
        Ok(SigningKey::from_pkcs8(&self.admin_seed.0)?)
    }

    pub fn load(dir: &Path, pin: &str) -> Result<Self, AdminError> {
        let text = match std::fs::read(dir.join(ADMIN_FILE)) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Err(AdminError::NotInitialised);
            }
            Err(error) => return Err(error.into()),
        };
        let file: SealedFile = serde_json::from_slice(&text)
            .map_err(|_| AdminError::Io("malformed admin file".to_owned()))?;
        let key = crypto::derive_pin_key(pin, &file.salt.0, file.iterations);
        let plain =
            crypto::open(&key, ADMIN_ROW, &file.sealed.0).map_err(|_| AdminError::WrongPin)?;
        serde_json::from_slice(&plain)
            .map_err(|_| AdminError::Io("malformed admin state".to_owned()))
    }

    pub fn save(&self, dir: &Path, pin: &str, create: bool) -> Result<(), AdminError> {
        let path = dir.join(ADMIN_FILE);
        if create && path.exists() {
            return Err(AdminError::AlreadyInitialised);
        }
        std::fs::create_dir_all(dir)?;
        let salt = crypto::random_bytes::<SALT_LEN>()?;
        let key = crypto::derive_pin_key(pin, &salt, PIN_KDF_ITERATIONS);
        let plain = zeroize::Zeroizing::new(
            serde_json::to_vec(self).map_err(|_| AdminError::Io("encode".to_owned()))?,
        );
        let file = SealedFile {
            salt: B64(salt.to_vec()),
            iterations: PIN_KDF_ITERATIONS,
            sealed: B64(crypto::seal(&key, ADMIN_ROW, &plain)?),
        };
        let text =
            serde_json::to_vec_pretty(&file).map_err(|_| AdminError::Io("encode".to_owned()))?;
        let temporary = dir.join(format!("{ADMIN_FILE}.tmp"));
        std::fs::write(&temporary, text)?;
        std::fs::rename(temporary, path)?;
        Ok(())
    }

    fn sign_membership(&self, team: &str) -> Result<PublishMembership, AdminError> {
        let state = self.teams.get(team).ok_or(AdminError::UnknownTeam)?;
        let membership = Membership {
            org: self.org.clone(),
            team: team.to_owned(),
            version: state.version,
            epoch: state.epoch,
            members: state.members.clone(),
            revoked: state.revoked.clone(),
        };
        let key = team_key(state, state.epoch)?;
        let mut lockboxes = Vec::new();
        for member in &state.members {
            let Some(agreement) = member.agreement_key.key32() else {
                continue;
            };
            lockboxes.push(Lockbox {
                device: member.device,
                epoch: state.epoch,
                sealed: B64(keys::seal_to(
                    &agreement,
                    &lockbox_context(team, state.epoch, member.device),
                    key.as_bytes(),
                )?),
            });
        }
        Ok(PublishMembership {
            membership: Signed::sign(&self.admin_key()?, PURPOSE_MEMBERSHIP, &membership)
                .map_err(|_| AdminError::Io("sign".to_owned()))?,
            lockboxes,
        })
    }

    /// The content key of `team` at `epoch`, for opening its audit units.
    pub fn team_key(&self, team: &str, epoch: u32) -> Option<DataKey> {
        self.teams
            .get(team)
            .and_then(|state| team_key(state, epoch).ok())
    }

    /// The organisation's public admin key.
    pub fn admin_public_key(&self) -> Result<[u8; 32], AdminError> {
        Ok(self.admin_key()?.public_key())
    }

    /// A new team with its first content key; returns the membership to publish.
    pub fn create_team(&mut self, name: &str) -> Result<PublishMembership, AdminError> {
        let name = name.trim();
        if self.teams.contains_key(name) {
            return Err(AdminError::DuplicateTeam);
        }
        let key = crypto::make_data_key()?;
        self.teams.insert(
            name.to_owned(),
            TeamState {
                epoch: 1,
                keys: BTreeMap::from([(1, B64(key.as_bytes().to_vec()))]),
                version: 1,
                members: Vec::new(),
                revoked: Vec::new(),
            },
        );
        self.sign_membership(name)
    }

    /// An enrolment code for one device of `team`, used by `user` in `role`, and what to publish.
    pub fn enrolment_code(
        &self,
        team: &str,
        user: &str,
        role: Role,
    ) -> Result<(EnrolmentCode, PublishGrant), AdminError> {
        let state = self.teams.get(team).ok_or(AdminError::UnknownTeam)?;
        let admin = self.admin_key()?;
        let code = EnrolmentCode::generate(&admin.public_key())?;
        let grant = Grant {
            org: self.org.clone(),
            team: team.to_owned(),
            token_hash: B64(code.token_hash()),
            endorse_key: B64(code.endorse_key()?.public_key().to_vec()),
            user: user.trim().to_owned(),
            role,
            epoch: state.epoch,
        };
        let publish = PublishGrant {
            grant: Signed::sign(&admin, PURPOSE_GRANT, &grant)
                .map_err(|_| AdminError::Io("sign".to_owned()))?,
            code_lockbox: B64(code.seal_team_key(
                team,
                state.epoch,
                &team_key(state, state.epoch)?,
            )?),
        };
        Ok((code, publish))
    }

    /// Revokes `device`: folds verified enrolments into the membership, removes the device, starts
    /// a new epoch with a fresh key sealed to every remaining member. Returns what to publish.
    pub fn revoke(
        &mut self,
        team: &str,
        device: DeviceId,
        roster: &Roster,
    ) -> Result<PublishMembership, AdminError> {
        let admin_key = self.admin_key()?.public_key();
        let state = self.teams.get_mut(team).ok_or(AdminError::UnknownTeam)?;
        let verified = VerifiedRoster::verify(team, &admin_key, roster);
        for member in verified.members() {
            if !state.members.iter().any(|m| m.device == member.device) {
                state.members.push(member.clone());
            }
        }
        if !state.members.iter().any(|m| m.device == device) {
            return Err(AdminError::UnknownDevice);
        }
        state.members.retain(|m| m.device != device);
        if !state.revoked.contains(&device) {
            state.revoked.push(device);
        }
        state.epoch += 1;
        state.version += 1;
        let key = crypto::make_data_key()?;
        state.keys.insert(state.epoch, B64(key.as_bytes().to_vec()));
        self.sign_membership(team)
    }
}
