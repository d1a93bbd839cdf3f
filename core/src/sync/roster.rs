//! Who may write to a team, as a device verifies it: the admin-signed membership plus enrolments
//! (an admin-signed grant and the endorsement its code holder signed), less revoked devices. The
//! server only relays these; it cannot add a member, because it holds neither the admin key nor
//! any code.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::wire::{
    Endorsement, Grant, Member, Membership, PURPOSE_ENDORSEMENT, PURPOSE_GRANT, PURPOSE_MEMBERSHIP,
    Roster,
};
use crate::ids::DeviceId;

#[derive(Debug, Clone, Default)]
pub struct VerifiedRoster {
    pub team: String,
    pub epoch: u32,
    /// The admin-signed membership's version; 0 when none verified.
    pub version: u64,
    members: HashMap<DeviceId, Member>,
    revoked: HashSet<DeviceId>,
    /// Revoked devices and the first epoch they never held.
    former: HashMap<DeviceId, (Member, u32)>,
    /// Per epoch, the admin's commitment to its content key (from the membership and grants).
    commitments: BTreeMap<u32, [u8; 32]>,
}

impl VerifiedRoster {
    /// Builds the roster from what the server relayed, keeping only what `admin_key` vouches for.
    pub fn verify(team: &str, admin_key: &[u8; 32], roster: &Roster) -> Self {
        let mut verified = VerifiedRoster {
            team: team.to_owned(),
            ..VerifiedRoster::default()
        };
        if let Some(signed) = &roster.membership
            && let Ok(membership) = signed.open::<Membership>(admin_key, PURPOSE_MEMBERSHIP)
            && membership.team == team
        {
            verified.epoch = membership.epoch;
            verified.version = membership.version;
            verified.revoked = membership.revoked.iter().copied().collect();
            for former in membership.former {
                verified
                    .former
                    .insert(former.member.device, (former.member, former.until_epoch));
            }
            for (epoch, commitment) in &membership.key_commitments {
                if let Some(commitment) = commitment.key32() {
                    verified.commitments.insert(*epoch, commitment);
                }
            }
            for member in membership.members {
                verified.members.insert(member.device, member);
            }
        }
        // A code enrols one device. The server enforces that, but a server holding a leaked code
        // could relay several endorsements for one grant: then none of them counts.
        let mut endorsed_per_grant: HashMap<&[u8], HashSet<&[u8]>> = HashMap::new();
        for enrolment in &roster.enrolments {
            endorsed_per_grant
                .entry(enrolment.grant.signature.0.as_slice())
                .or_default()
                .insert(enrolment.endorsement.body.as_bytes());
        }
        for enrolment in &roster.enrolments {
            if endorsed_per_grant
                .get(enrolment.grant.signature.0.as_slice())
                .is_some_and(|endorsements| endorsements.len() > 1)
            {
                continue;
            }
            let Ok(grant) = enrolment.grant.open::<Grant>(admin_key, PURPOSE_GRANT) else {
                continue;
            };
            let Some(endorse_key) = grant.endorse_key.key32() else {
                continue;
            };
            let Ok(endorsement) = enrolment
                .endorsement
                .open::<Endorsement>(&endorse_key, PURPOSE_ENDORSEMENT)
            else {
                continue;
            };
            // The code's holder chose the endorsed keys, but the person and role are the admin's
            // to grant: an endorsement that claims another name or role is not an enrolment.
            if grant.team == team
                && endorsement.team == team
                && endorsement.member.user == grant.user
                && endorsement.member.role == grant.role
            {
                verified.epoch = verified.epoch.max(grant.epoch);
                if let Some(commitment) = grant.key_commitment.key32() {
                    verified
                        .commitments
                        .entry(grant.epoch)
                        .or_insert(commitment);
                }
                verified
                    .members
                    .entry(endorsement.member.device)
                    .or_insert(endorsement.member);
            }
        }
        for device in &verified.revoked {
            verified.members.remove(device);
        }
        verified
    }

    pub fn signing_key(&self, device: DeviceId) -> Option<[u8; 32]> {
        self.members
            .get(&device)
            .and_then(|m| m.signing_key.key32())
    }

    /// The member `device` as the admin vouches for it (its user and role).
    pub fn member(&self, device: DeviceId) -> Option<&Member> {
        self.members.get(&device)
    }

    /// Who wrote a unit sealed under `epoch`: a member, or a revoked device writing before its
    /// revocation (its earlier work stays verifiable, so it is never stuck waiting).
    pub fn author_at(&self, device: DeviceId, epoch: u32) -> Option<&Member> {
        self.members.get(&device).or_else(|| {
            self.former
                .get(&device)
                .filter(|(_, until)| epoch < *until)
                .map(|(member, _)| member)
        })
    }

    /// A current or former member, whatever the epoch: whose name an entry in a snapshot may
    /// carry.
    pub fn known(&self, device: DeviceId) -> Option<&Member> {
        self.members
            .get(&device)
            .or_else(|| self.former.get(&device).map(|(member, _)| member))
    }

    /// The admin's commitment to the content key of `epoch`, if it made one this roster carries.
    pub fn key_commitment(&self, epoch: u32) -> Option<[u8; 32]> {
        self.commitments.get(&epoch).copied()
    }

    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.members.values()
    }

    pub fn is_revoked(&self, device: DeviceId) -> bool {
        self.revoked.contains(&device)
    }
}
