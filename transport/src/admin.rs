//! The administrator's requests: register the organisation, publish teams, grants and
//! memberships, list devices, revoke.

use std::path::Path;

use doorstep_core::DeviceId;
use doorstep_core::observation::Role;
use doorstep_core::store::AuditEntry;
use doorstep_core::sync::admin::AdminState;
use doorstep_core::sync::roster::VerifiedRoster;
use doorstep_core::sync::unit::open_unit;
use doorstep_core::sync::wire::{B64, PublishMembership, PullResponse, RegisterOrg, Roster};
use reqwest::Method;
use serde_json::Value;

use crate::client::{HttpClient, Signer, TransportError};

/// An administrator's state and a client to their server.
#[derive(Debug)]
pub struct AdminClient {
    state: AdminState,
    client: HttpClient,
}

/// A new enrolment code, to hand to the person who will use the device.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EnrolmentIssued {
    pub code: String,
    pub team: String,
    pub user: String,
}

impl AdminClient {
    /// Creates the organisation's admin key, saves it (sealed under the passphrase), then
    /// registers it with the server. The key is kept if registering fails: the server may have
    /// registered it before the answer was lost.
    pub fn init(dir: &Path, pin: &str, server: &str, org: &str) -> Result<Self, TransportError> {
        let state = AdminState::create(server, org)?;
        let client = HttpClient::new(&state.server)?;
        let admin = Self { state, client };
        let key = admin.state.admin_key()?;
        let request = RegisterOrg {
            org: admin.state.org.clone(),
            admin_key: B64(key.public_key().to_vec()),
        };
        admin.state.save(dir, pin, true)?;
        let _: Value = admin.call(Method::POST, "/v1/orgs", Some(&request))?;
        Ok(admin)
    }

    pub fn open(dir: &Path, pin: &str) -> Result<Self, TransportError> {
        let state = AdminState::load(dir, pin)?;
        let client = HttpClient::new(&state.server)?;
        Ok(Self { state, client })
    }

    /// One request signed with the organisation's admin key.
    fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl serde::Serialize>,
    ) -> Result<T, TransportError> {
        let key = self.state.admin_key()?;
        let signer = Signer::Admin {
            org: &self.state.org,
            key: &key,
        };
        self.client.call(method, path, body, &signer)
    }

    pub fn org(&self) -> &str {
        &self.state.org
    }

    /// Creates a team: its first key is saved before the membership is published, so the admin
    /// never lacks a key the server holds a commitment for. If publishing fails, running
    /// `team publish` publishes it.
    pub fn create_team(&mut self, dir: &Path, pin: &str, name: &str) -> Result<(), TransportError> {
        let publish = self.state.create_team(name)?;
        self.state.save(dir, pin, false)?;
        self.publish_membership(name.trim(), &publish)
    }

    pub fn enrolment_code(
        &self,
        team: &str,
        user: &str,
        role: Role,
    ) -> Result<EnrolmentIssued, TransportError> {
        let now = chrono::Utc::now().timestamp();
        let (code, publish) = self.state.enrolment_code(team, user, role, now)?;
        let _: Value = self.call(Method::POST, "/v1/grants", Some(&publish))?;
        Ok(EnrolmentIssued {
            code: code.to_text(),
            team: team.to_owned(),
            user: user.to_owned(),
        })
    }

    pub fn devices(&self) -> Result<Value, TransportError> {
        self.call(Method::GET, "/v1/admin/devices", None::<&()>)
    }

    /// Every team's synced audit trail, opened with the team keys and checked against the roster:
    /// (team, entry) in server order.
    pub fn audit(&self) -> Result<Vec<(String, AuditEntry)>, TransportError> {
        let admin_key = self.state.admin_public_key()?;
        let mut out = Vec::new();
        for team in self.state.teams.keys() {
            let roster = self.team_roster(team)?;
            let verified = VerifiedRoster::verify(team, &admin_key, &roster);
            let mut after = 0;
            loop {
                let page: PullResponse = self.call(
                    Method::GET,
                    &format!("/v1/admin/teams/{team}/audit?after={after}&limit=500"),
                    None::<&()>,
                )?;
                for stored in &page.units {
                    // A unit that does not verify is not the team's audit; it is skipped, and the
                    // gap shows in that device's sequence numbers.
                    let Ok(plain) = open_unit(&stored.unit, &verified, |epoch| {
                        self.state.team_key(team, epoch)
                    }) else {
                        continue;
                    };
                    // A member's malformed unit is skipped like an unverified one, never
                    // allowed to stop the organisation reading everyone else's trail; and a
                    // device vouches only for entries made on it.
                    let Ok(entries) = doorstep_core::sync::payload::audit::decode(&plain) else {
                        continue;
                    };
                    let author = stored.unit.header.author;
                    out.extend(
                        entries
                            .into_iter()
                            .filter(|entry| entry.device == author)
                            .map(|entry| (team.clone(), entry)),
                    );
                }
                after = page.cursor;
                if !page.more {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Publishes `team` again without a new key (folding in new enrolments, every epoch's key to
    /// every member); saved before it is published. Returns the new membership version.
    pub fn publish_team(
        &mut self,
        dir: &Path,
        pin: &str,
        team: &str,
    ) -> Result<u64, TransportError> {
        let roster = match self.team_roster(team) {
            Ok(roster) => roster,
            // Never published (a `team create` whose publish failed): nobody has enrolled yet.
            Err(TransportError::Refused { status: 404, .. }) => Roster::default(),
            Err(error) => return Err(error),
        };
        let publish = self.state.publish_team(team, &roster)?;
        self.state.save(dir, pin, false)?;
        self.publish_membership(team, &publish)?;
        Ok(self.state.teams.get(team).map_or(0, |state| state.version))
    }

    /// Sets `team`'s NEWS2 response protocol: checked and signed into a new membership version,
    /// saved, then published; the team's devices take it at their next sync. Returns the version.
    pub fn set_protocol(
        &mut self,
        dir: &Path,
        pin: &str,
        team: &str,
        protocol: doorstep_core::news2::ResponseProtocol,
    ) -> Result<u64, TransportError> {
        let roster = match self.team_roster(team) {
            Ok(roster) => roster,
            Err(TransportError::Refused { status: 404, .. }) => Roster::default(),
            Err(error) => return Err(error),
        };
        let publish = self.state.set_protocol(team, protocol, &roster)?;
        self.state.save(dir, pin, false)?;
        self.publish_membership(team, &publish)?;
        Ok(self.state.teams.get(team).map_or(0, |state| state.version))
    }

    /// The team's protocol as its devices receive it.
    pub fn protocol(
        &self,
        team: &str,
    ) -> Result<doorstep_core::news2::ResponseProtocol, TransportError> {
        Ok(self.state.protocol(team)?)
    }

    /// A team's roster as the server relays it: the signed membership and completed enrolments.
    fn team_roster(&self, team: &str) -> Result<Roster, TransportError> {
        self.call(
            Method::GET,
            &format!("/v1/admin/teams/{team}/roster"),
            None::<&()>,
        )
    }

    fn publish_membership(
        &self,
        team: &str,
        publish: &PublishMembership,
    ) -> Result<(), TransportError> {
        let _: Value = self.call(
            Method::PUT,
            &format!("/v1/teams/{team}/membership"),
            Some(publish),
        )?;
        Ok(())
    }

    /// Revokes a device in whichever team holds it, rotating that team's key.
    pub fn revoke(
        &mut self,
        dir: &Path,
        pin: &str,
        device: DeviceId,
    ) -> Result<String, TransportError> {
        let teams: Vec<String> = self.state.teams.keys().cloned().collect();
        for team in teams {
            let roster = self.team_roster(&team)?;
            let publish = match self.state.revoke(&team, device, &roster) {
                Ok(publish) => publish,
                Err(doorstep_core::sync::admin::AdminError::UnknownDevice) => continue,
                Err(error) => return Err(error.into()),
            };
            // The new epoch key is saved before it is published: if publishing fails, running
            // `revoke` again publishes the same membership.
            self.state.save(dir, pin, false)?;
            self.publish_membership(&team, &publish)?;
            return Ok(team);
        }
        Err(doorstep_core::sync::admin::AdminError::UnknownDevice.into())
    }
}
