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
    B64, FormerMember, Grant, Lockbox, Member, Membership, PURPOSE_GRANT, PURPOSE_MEMBERSHIP,
    PublishGrant, PublishMembership, Roster, Signed,
};
use crate::crypto::{self, DataKey, PinKdf, SALT_LEN};
use crate::ids::DeviceId;
use crate::news2::ResponseProtocol;
use crate::observation::Role;

const ADMIN_FILE: &str = "admin.sealed";
const ADMIN_ROW: &str = "admin-state";

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("no admin state in this directory; run `doorstep admin init` first")]
    NotInitialised,
    #[error("admin state already exists in this directory")]
    AlreadyInitialised,
    #[error("wrong admin passphrase")]
    WrongPin,
    #[error(
        "the admin passphrase must have at least {MIN_ADMIN_PASSPHRASE_CHARS} characters: it protects every team's keys"
    )]
    WeakPassphrase,
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
    #[error("the protocol cannot be used: {0}")]
    Protocol(crate::news2::ProtocolError),
    #[error(
        "the team already has version {current} of this protocol: raise `version` when the wording changes, so every stored set names the words it showed"
    )]
    ProtocolVersionNotRaised { current: u32 },
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
    #[serde(default)]
    pub former: Vec<FormerMember>,
    /// The NEWS2 response protocol the team's devices use; Doorstep's community protocol when
    /// none is set.
    #[serde(default)]
    pub protocol: Option<ResponseProtocol>,
    /// Every protocol ever set for the team: an id and version once used keeps its words.
    #[serde(default)]
    pub protocol_history: Vec<ResponseProtocol>,
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

/// How long an enrolment code works unless the organisation sets otherwise.
pub const DEFAULT_CODE_VALIDITY_DAYS: u32 = 7;

/// The shortest admin passphrase accepted: the admin file holds every team key, so it gets more
/// than a device PIN.
pub const MIN_ADMIN_PASSPHRASE_CHARS: usize = 12;

#[derive(Serialize, Deserialize)]
pub struct AdminState {
    pub server: String,
    pub org: String,
    admin_seed: B64,
    pub teams: BTreeMap<String, TeamState>,
    /// The organisation's setting: days an enrolment code stays usable.
    #[serde(default = "default_code_validity_days")]
    pub code_validity_days: u32,
}

fn default_code_validity_days() -> u32 {
    DEFAULT_CODE_VALIDITY_DAYS
}

impl std::fmt::Debug for AdminState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AdminState({}, {} teams)", self.org, self.teams.len())
    }
}

#[derive(Serialize, Deserialize)]
struct SealedFile {
    salt: B64,
    /// Legacy PBKDF2 iterations, when `kdf` is absent.
    #[serde(default)]
    iterations: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kdf: Option<String>,
    sealed: B64,
}

fn write_private_durably(path: &Path, bytes: &[u8]) -> Result<(), AdminError> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

/// Makes a rename in `dir` durable.
fn sync_directory(dir: &Path) -> Result<(), AdminError> {
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
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
            code_validity_days: DEFAULT_CODE_VALIDITY_DAYS,
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
        let kdf = match &file.kdf {
            Some(text) => PinKdf::parse(text)?,
            None => PinKdf::Pbkdf2Sha256 {
                iterations: file.iterations,
            },
        };
        let key = kdf.derive(pin, &file.salt.0)?;
        let plain =
            crypto::open(&key, ADMIN_ROW, &file.sealed.0).map_err(|_| AdminError::WrongPin)?;
        serde_json::from_slice(&plain)
            .map_err(|_| AdminError::Io("malformed admin state".to_owned()))
    }

    /// Writes the admin file atomically and durably (a temporary file, fsync, rename, fsync of the
    /// directory), readable by its owner only. Callers save before publishing anything, so a
    /// failed save never leaves the server holding an epoch key the admin has lost.
    pub fn save(&self, dir: &Path, pin: &str, create: bool) -> Result<(), AdminError> {
        let path = dir.join(ADMIN_FILE);
        if create && path.exists() {
            return Err(AdminError::AlreadyInitialised);
        }
        if create && pin.chars().count() < MIN_ADMIN_PASSPHRASE_CHARS {
            return Err(AdminError::WeakPassphrase);
        }
        std::fs::create_dir_all(dir)?;
        let salt = crypto::random_bytes::<SALT_LEN>()?;
        let kdf = PinKdf::DEFAULT;
        let key = kdf.derive(pin, &salt)?;
        let plain = zeroize::Zeroizing::new(
            serde_json::to_vec(self).map_err(|_| AdminError::Io("encode".to_owned()))?,
        );
        let file = SealedFile {
            salt: B64(salt.to_vec()),
            iterations: 0,
            kdf: Some(kdf.to_text()),
            sealed: B64(crypto::seal(&key, ADMIN_ROW, &plain)?),
        };
        let text =
            serde_json::to_vec_pretty(&file).map_err(|_| AdminError::Io("encode".to_owned()))?;
        let temporary = dir.join(format!("{ADMIN_FILE}.tmp"));
        write_private_durably(&temporary, &text)?;
        std::fs::rename(temporary, path)?;
        sync_directory(dir)?;
        Ok(())
    }

    fn sign_membership(&self, team: &str) -> Result<PublishMembership, AdminError> {
        let state = self.teams.get(team).ok_or(AdminError::UnknownTeam)?;
        let mut key_commitments = BTreeMap::new();
        for epoch in state.keys.keys() {
            key_commitments.insert(
                *epoch,
                B64(keys::epoch_key_commitment(team, *epoch, &team_key(state, *epoch)?).to_vec()),
            );
        }
        let membership = Membership {
            org: self.org.clone(),
            team: team.to_owned(),
            version: state.version,
            epoch: state.epoch,
            members: state.members.clone(),
            revoked: state.revoked.clone(),
            former: state.former.clone(),
            key_commitments,
            protocol: state.protocol.clone(),
        };
        // Every epoch's key to every member: a device that joined after a rotation can still read
        // the units sealed before it, and its quarantine empties.
        let mut lockboxes = Vec::new();
        for member in &state.members {
            let Some(agreement) = member.agreement_key.key32() else {
                continue;
            };
            for epoch in state.keys.keys() {
                let key = team_key(state, *epoch)?;
                lockboxes.push(Lockbox {
                    device: member.device,
                    epoch: *epoch,
                    sealed: B64(keys::seal_to(
                        &agreement,
                        &lockbox_context(team, *epoch, member.device),
                        key.as_bytes(),
                    )?),
                });
            }
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
                former: Vec::new(),
                protocol: None,
                protocol_history: Vec::new(),
            },
        );
        self.sign_membership(name)
    }

    /// An enrolment code for one device of `team`, used by `user` in `role`, usable until
    /// `now` plus the organisation's code validity, and what to publish.
    pub fn enrolment_code(
        &self,
        team: &str,
        user: &str,
        role: Role,
        now: i64,
    ) -> Result<(EnrolmentCode, PublishGrant), AdminError> {
        let state = self.teams.get(team).ok_or(AdminError::UnknownTeam)?;
        let admin = self.admin_key()?;
        let code = EnrolmentCode::generate(&admin.public_key())?;
        let key = team_key(state, state.epoch)?;
        let grant = Grant {
            org: self.org.clone(),
            team: team.to_owned(),
            token_hash: B64(code.token_hash()),
            endorse_key: B64(code.endorse_key()?.public_key().to_vec()),
            user: user.trim().to_owned(),
            role,
            epoch: state.epoch,
            key_commitment: B64(keys::epoch_key_commitment(team, state.epoch, &key).to_vec()),
            expires_at: now + i64::from(self.code_validity_days) * 86_400,
            membership_version: state.version,
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

    /// Publishes the team again without rotating its key: folds verified enrolments into a new
    /// membership version, sealing every epoch's key to every member. Run after enrolments, so
    /// devices that joined after a rotation receive the older keys.
    pub fn publish_team(
        &mut self,
        team: &str,
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
        state.version += 1;
        self.sign_membership(team)
    }

    /// Sets the team's NEWS2 response protocol: checked, folded with verified enrolments into a
    /// new membership version, and signed, so it reaches every device of the team at its next
    /// sync. A protocol may only replace one with a lower version, or the same version unchanged.
    pub fn set_protocol(
        &mut self,
        team: &str,
        protocol: ResponseProtocol,
        roster: &Roster,
    ) -> Result<PublishMembership, AdminError> {
        protocol.validate().map_err(AdminError::Protocol)?;
        let state = self.teams.get(team).ok_or(AdminError::UnknownTeam)?;
        // Against every protocol the team ever had, not only the current one: switching away and
        // back must not let one id and version name two wordings.
        let newest = state
            .protocol_history
            .iter()
            .chain(&state.protocol)
            .filter(|earlier| earlier.id == protocol.id)
            .max_by_key(|earlier| earlier.version);
        let reused = state
            .protocol_history
            .iter()
            .chain(&state.protocol)
            .any(|earlier| {
                earlier.id == protocol.id
                    && earlier.version == protocol.version
                    && *earlier != protocol
            });
        if let Some(newest) = newest
            && (reused || newest.version > protocol.version)
        {
            return Err(AdminError::ProtocolVersionNotRaised {
                current: newest.version,
            });
        }
        if let Some(state) = self.teams.get_mut(team) {
            if !state.protocol_history.contains(&protocol) {
                state.protocol_history.push(protocol.clone());
            }
            state.protocol = Some(protocol);
        }
        self.publish_team(team, roster)
    }

    /// The team's protocol as its devices receive it.
    pub fn protocol(&self, team: &str) -> Result<ResponseProtocol, AdminError> {
        let state = self.teams.get(team).ok_or(AdminError::UnknownTeam)?;
        Ok(state.protocol.clone().unwrap_or_default())
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
        if state.revoked.contains(&device) {
            // Already revoked here (an earlier publish failed): publish the same membership again.
            return self.sign_membership(team);
        }
        let verified = VerifiedRoster::verify(team, &admin_key, roster);
        for member in verified.members() {
            if !state.members.iter().any(|m| m.device == member.device) {
                state.members.push(member.clone());
            }
        }
        let Some(position) = state.members.iter().position(|m| m.device == device) else {
            return Err(AdminError::UnknownDevice);
        };
        let member = state.members.remove(position);
        state.revoked.push(device);
        state.former.push(FormerMember {
            member,
            until_epoch: state.epoch + 1,
        });
        state.epoch += 1;
        state.version += 1;
        let key = crypto::make_data_key()?;
        state.keys.insert(state.epoch, B64(key.as_bytes().to_vec()));
        self.sign_membership(team)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_admin_file_is_private_and_a_short_passphrase_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let state = AdminState::create("https://sync.example", "Ambridge").unwrap();
        assert!(matches!(
            state.save(dir.path(), "short", true),
            Err(AdminError::WeakPassphrase)
        ));
        state
            .save(dir.path(), "a long admin passphrase", true)
            .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join(ADMIN_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(!dir.path().join(format!("{ADMIN_FILE}.tmp")).exists());
        let loaded = AdminState::load(dir.path(), "a long admin passphrase").unwrap();
        assert_eq!(loaded.org, "Ambridge");
        assert!(matches!(
            AdminState::load(dir.path(), "the wrong passphrase"),
            Err(AdminError::WrongPin)
        ));
    }

    #[test]
    fn every_epoch_key_reaches_every_member_and_is_committed_to() {
        let mut state = AdminState::create("https://sync.example", "Ambridge").unwrap();
        state.create_team("north").unwrap();
        let member = |n: u8| Member {
            device: DeviceId::random(),
            user: format!("Nurse {n}"),
            role: Role::Nurse,
            signing_key: B64(vec![n; 32]),
            agreement_key: B64(keys::AgreementKey::generate()
                .unwrap()
                .public_key()
                .to_vec()),
        };
        let (staying, leaving) = (member(1), member(2));
        if let Some(team) = state.teams.get_mut("north") {
            team.members = vec![staying.clone(), leaving.clone()];
        }
        let published = state
            .revoke("north", leaving.device, &Roster::default())
            .unwrap();
        let membership: Membership = published.membership.peek().unwrap();
        assert_eq!(membership.epoch, 2);
        assert_eq!(membership.key_commitments.len(), 2);
        assert_eq!(membership.former[0].member.device, leaving.device);
        assert_eq!(membership.former[0].until_epoch, 2);
        let epochs: Vec<u32> = published
            .lockboxes
            .iter()
            .filter(|l| l.device == staying.device)
            .map(|l| l.epoch)
            .collect();
        assert_eq!(epochs, vec![1, 2]);
        assert!(
            published
                .lockboxes
                .iter()
                .all(|l| l.device != leaving.device)
        );
    }
}
