//! Records restricted to named clinicians (safeguarding, sexual health, staff as patient).
//!
//! A restricted record still syncs to every device of the team, so that emergency access works
//! offline; on each device the core shows the rest of the team only its banner (name, NHS
//! number, date of birth, allergies, alerts) until they use emergency access, with a reason, for
//! [`EMERGENCY_ACCESS_MINUTES`], audited. The restriction is enforced by the core on the device,
//! not by encryption: every member of the team holds the team key.
//!
//! A clinician is named as a person on a device, as the team's admin-signed roster (or, before
//! enrolment, the device's own user list) names them: the same person on a second device is named
//! twice.
//!
//! Decisions are a register at the record's root, `{value, by, at}`. Devices that decide apart
//! merge to the stricter outcome on every replica: the record is restricted if any concurrent
//! decision restricts it, and only clinicians named in every concurrent restriction stay named.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::record::Recorded;
use crate::ids::DeviceId;
use crate::observation::{Author, Role};

/// How long emergency access to a restricted record lasts before it must be asked for again.
pub const EMERGENCY_ACCESS_MINUTES: i64 = 30;

/// Why a record is restricted. Shown to the named and under emergency access; never to the rest of
/// the team, for whom the reason itself would say too much ("sexual health").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestrictionReason {
    Safeguarding,
    SexualHealth,
    StaffAsPatient,
}

impl RestrictionReason {
    pub const ALL: [RestrictionReason; 3] = [
        RestrictionReason::Safeguarding,
        RestrictionReason::SexualHealth,
        RestrictionReason::StaffAsPatient,
    ];

    pub fn key(self) -> &'static str {
        match self {
            RestrictionReason::Safeguarding => "safeguarding",
            RestrictionReason::SexualHealth => "sexual-health",
            RestrictionReason::StaffAsPatient => "staff-as-patient",
        }
    }

    pub fn words(self) -> &'static str {
        match self {
            RestrictionReason::Safeguarding => "safeguarding",
            RestrictionReason::SexualHealth => "sexual health",
            RestrictionReason::StaffAsPatient => "the patient is a member of staff",
        }
    }
}

impl std::str::FromStr for RestrictionReason {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|reason| reason.key() == text.trim())
            .ok_or_else(|| "safeguarding, sexual-health or staff-as-patient".to_owned())
    }
}

/// A person on a device, as the team's roster names them.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NamedClinician {
    pub device: DeviceId,
    pub name: String,
}

impl NamedClinician {
    /// Exactly this name on this device (surrounding spaces aside): "jane smith" added beside
    /// "Jane Smith" is another user, and is not named.
    pub fn is(&self, device: DeviceId, name: &str) -> bool {
        self.device == device && self.name.trim() == name.trim()
    }
}

/// One device's decision, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum RestrictionDecision {
    Restricted {
        reason: RestrictionReason,
        clinicians: Vec<NamedClinician>,
    },
    Lifted,
}

/// A decision with who made it and when: the register's stored form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedDecision {
    pub value: RestrictionDecision,
    pub by: Author,
    pub at: DateTime<Utc>,
}

/// The restriction in force on a record.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restriction {
    pub reason: RestrictionReason,
    /// Sorted, without repeats.
    pub clinicians: Vec<NamedClinician>,
    pub recorded: Recorded,
    /// Devices decided apart; the stricter outcome stands until a named clinician decides again.
    #[serde(default)]
    pub disputed: bool,
    /// Who may decide again: everyone any of the concurrent restrictions named, so that two
    /// decisions naming nobody in common never lock a record to everyone for good.
    #[serde(default)]
    pub deciders: Vec<NamedClinician>,
}

impl std::fmt::Debug for Restriction {
    // Who is named says something about the patient; it stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Restriction({:?})", self.reason)
    }
}

impl Restriction {
    /// Whether the person `name` using `device` is named.
    pub fn names(&self, device: DeviceId, name: &str) -> bool {
        self.clinicians
            .iter()
            .any(|clinician| clinician.is(device, name))
    }

    /// Whether the person `name` using `device` may restrict the record again or lift it.
    pub fn may_decide(&self, device: DeviceId, name: &str) -> bool {
        self.names(device, name)
            || self
                .deciders
                .iter()
                .any(|clinician| clinician.is(device, name))
    }
}

/// What the user of a session may see of one record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "access")]
pub enum Access {
    /// The record is not restricted.
    Open,
    /// Restricted, and this user is named.
    Named,
    /// Restricted to others: the banner only, until emergency access. Carries no reason.
    /// `may_decide`: this user was named by one of two restrictions made apart that named nobody
    /// in common, and may restrict it again or lift it.
    BannerOnly { may_decide: bool },
    /// Restricted to others, opened by emergency access until `until`.
    Emergency {
        reason: RestrictionReason,
        until: DateTime<Utc>,
    },
}

impl Access {
    pub fn may_open(self) -> bool {
        !matches!(self, Access::BannerOnly { .. })
    }

    /// What `user` (`name` in `role`) on `device` may see of a record under `restriction`,
    /// holding emergency access until `granted` (if ever) at `now`. Only a registered clinician
    /// is ever named: a healthcare assistant given a named clinician's name is not.
    pub fn of(
        restriction: Option<&Restriction>,
        device: DeviceId,
        (name, role): (&str, Role),
        granted: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Self {
        match restriction {
            None => Access::Open,
            Some(restriction)
                if role.is_registered_clinician() && restriction.names(device, name) =>
            {
                Access::Named
            }
            Some(restriction) => match granted.filter(|until| *until > now) {
                Some(until) => Access::Emergency {
                    reason: restriction.reason,
                    until,
                },
                None => Access::BannerOnly {
                    may_decide: role.is_registered_clinician()
                        && restriction.may_decide(device, name),
                },
            },
        }
    }
}

/// The restriction every replica holding the same `decisions` (all concurrent values of the
/// register) puts in force: any restriction beats a lift; the named are those every concurrent
/// restriction names; the reason and who decided are the latest restriction's.
pub fn restriction_in_force(decisions: &[RecordedDecision]) -> Option<Restriction> {
    let restrictions: Vec<(&RecordedDecision, RestrictionReason, &[NamedClinician])> = decisions
        .iter()
        .filter_map(|decision| match &decision.value {
            RestrictionDecision::Restricted { reason, clinicians } => {
                Some((decision, *reason, clinicians.as_slice()))
            }
            RestrictionDecision::Lifted => None,
        })
        .collect();
    // Latest by time; ties broken by content so every replica picks the same one.
    let (latest, reason, _) = restrictions.iter().max_by(|a, b| {
        (a.0.at, a.1, a.2, a.0.by.device, a.0.by.user).cmp(&(
            b.0.at,
            b.1,
            b.2,
            b.0.by.device,
            b.0.by.user,
        ))
    })?;
    let mut clinicians: Vec<NamedClinician> = restrictions[0].2.to_vec();
    for (_, _, others) in &restrictions[1..] {
        clinicians.retain(|clinician| others.contains(clinician));
    }
    clinicians.sort();
    clinicians.dedup();
    let mut deciders: Vec<NamedClinician> = restrictions
        .iter()
        .flat_map(|(_, _, named)| named.iter().cloned())
        .collect();
    deciders.sort();
    deciders.dedup();
    Some(Restriction {
        reason: *reason,
        clinicians,
        recorded: Recorded {
            by: latest.by,
            at: latest.at,
        },
        disputed: decisions.len() > 1,
        deciders,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::ids::UserId;
    use crate::observation::Role;

    fn device(n: u8) -> DeviceId {
        DeviceId::from_u128(u128::from(n))
    }

    fn decision(n: u8, minute: i64, value: RestrictionDecision) -> RecordedDecision {
        RecordedDecision {
            value,
            by: Author {
                user: UserId::from_u128(u128::from(n)),
                role: Role::Nurse,
                device: device(n),
            },
            at: DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::minutes(minute),
        }
    }

    fn named(n: u8) -> NamedClinician {
        NamedClinician {
            device: device(n),
            name: format!("Clinician {n}"),
        }
    }

    fn restricted(names: &[u8]) -> RestrictionDecision {
        RestrictionDecision::Restricted {
            reason: RestrictionReason::Safeguarding,
            clinicians: names.iter().map(|n| named(*n)).collect(),
        }
    }

    #[test]
    fn emergency_access_opens_a_record_only_until_it_expires() {
        let restriction = restriction_in_force(&[decision(1, 0, restricted(&[1]))]).unwrap();
        let now = DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::days(1);
        let until = now + chrono::Duration::minutes(EMERGENCY_ACCESS_MINUTES);
        let reason = RestrictionReason::Safeguarding;
        let other = device(2);
        let nurse = ("Clinician 1", Role::Nurse);
        let r = Some(&restriction);
        assert_eq!(Access::of(None, other, nurse, None, now), Access::Open);
        assert_eq!(Access::of(r, device(1), nurse, None, now), Access::Named);
        assert_eq!(
            Access::of(r, device(1), ("clinician 1", Role::Nurse), None, now),
            Access::BannerOnly { may_decide: false },
            "a user whose name differs only in case is someone else"
        );
        assert_eq!(
            Access::of(
                r,
                device(1),
                ("Clinician 1", Role::HealthcareAssistant),
                None,
                now
            ),
            Access::BannerOnly { may_decide: false },
            "only a registered clinician is named"
        );
        assert_eq!(
            Access::of(r, other, nurse, None, now),
            Access::BannerOnly { may_decide: false }
        );
        assert_eq!(
            Access::of(r, other, nurse, Some(until), now),
            Access::Emergency { reason, until }
        );
        assert_eq!(
            Access::of(r, other, nurse, Some(until), until),
            Access::BannerOnly { may_decide: false },
            "access ends at its time"
        );
    }

    #[test]
    fn a_lift_alone_leaves_the_record_open() {
        assert!(restriction_in_force(&[decision(1, 0, RestrictionDecision::Lifted)]).is_none());
        assert!(restriction_in_force(&[]).is_none());
    }

    #[test]
    fn a_restriction_made_apart_from_a_lift_stands_and_is_disputed() {
        let restriction = restriction_in_force(&[
            decision(1, 5, RestrictionDecision::Lifted),
            decision(2, 0, restricted(&[2, 3])),
        ])
        .unwrap();
        assert_eq!(restriction.clinicians, vec![named(2), named(3)]);
        assert!(restriction.disputed);
    }

    #[test]
    fn restrictions_made_apart_name_only_who_both_name() {
        let restriction = restriction_in_force(&[
            decision(1, 0, restricted(&[1, 2, 3])),
            decision(2, 1, restricted(&[2, 3, 4])),
        ])
        .unwrap();
        assert_eq!(restriction.clinicians, vec![named(2), named(3)]);
        assert_eq!(restriction.recorded.by.device, device(2));
    }

    #[test]
    fn restrictions_made_apart_naming_nobody_in_common_can_still_be_decided_again() {
        let restriction = restriction_in_force(&[
            decision(1, 0, restricted(&[1])),
            decision(2, 0, restricted(&[2])),
        ])
        .unwrap();
        assert!(restriction.clinicians.is_empty(), "nobody reads it unnamed");
        assert!(restriction.may_decide(device(1), "Clinician 1"));
        assert!(restriction.may_decide(device(2), "Clinician 2"));
        assert!(!restriction.may_decide(device(3), "Clinician 3"));
        let now = DateTime::<Utc>::UNIX_EPOCH;
        assert_eq!(
            Access::of(
                Some(&restriction),
                device(1),
                ("Clinician 1", Role::Nurse),
                None,
                now
            ),
            Access::BannerOnly { may_decide: true },
            "the shell offers them the decision"
        );
    }

    #[test]
    fn a_named_clinician_is_a_name_on_a_device() {
        let restriction = restriction_in_force(&[decision(1, 0, restricted(&[1]))]).unwrap();
        assert!(restriction.names(device(1), " Clinician 1 "));
        assert!(
            !restriction.names(device(1), "clinician 1"),
            "letter case counts"
        );
        assert!(!restriction.names(device(2), "Clinician 1"));
        assert!(!restriction.names(device(1), "Clinician 2"));
    }

    fn any_decision() -> impl Strategy<Value = RecordedDecision> {
        (
            1u8..5,
            0i64..3,
            prop::option::of(prop::collection::vec(1u8..6, 0..4)),
        )
            .prop_map(|(n, minute, names)| match names {
                Some(names) => decision(n, minute, restricted(&names)),
                None => decision(n, minute, RestrictionDecision::Lifted),
            })
    }

    proptest! {
        /// Replicas see concurrent values in different orders; all must put the same restriction
        /// in force, never name anyone a concurrent restriction left out, and never open a record
        /// any of them restricted.
        #[test]
        fn the_outcome_is_the_same_in_any_order_and_never_looser(
            decisions in prop::collection::vec(any_decision(), 1..5),
            rotation in 0usize..5,
        ) {
            let mut turned = decisions.clone();
            turned.rotate_left(rotation % decisions.len());
            turned.reverse();
            let outcome = restriction_in_force(&decisions);
            prop_assert_eq!(&outcome, &restriction_in_force(&turned));
            let any_restricts = decisions
                .iter()
                .any(|d| matches!(d.value, RestrictionDecision::Restricted { .. }));
            prop_assert_eq!(outcome.is_some(), any_restricts);
            if let Some(restriction) = outcome {
                for decision in &decisions {
                    if let RestrictionDecision::Restricted { clinicians, .. } = &decision.value {
                        for clinician in &restriction.clinicians {
                            prop_assert!(clinicians.contains(clinician));
                        }
                    }
                }
            }
        }
    }
}
