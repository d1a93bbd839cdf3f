//! An observation set: one bedside round of vital signs, who took it, where and when, and the NEWS2
//! result the core computed from it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{DeviceId, ObservationId, UserId};
use crate::news2::{self, News2Result};
use crate::vitals::{Spo2Scale, VitalSigns};

/// What a member of staff does, which decides what they may see and do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Nurse,
    Midwife,
    Paramedic,
    HealthcareAssistant,
    Administrator,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Nurse,
        Role::Midwife,
        Role::Paramedic,
        Role::HealthcareAssistant,
        Role::Administrator,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Role::Nurse => "nurse",
            Role::Midwife => "midwife",
            Role::Paramedic => "paramedic",
            Role::HealthcareAssistant => "healthcare-assistant",
            Role::Administrator => "administrator",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.key() == s.trim())
            .ok_or(UnknownRole)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown role; use nurse, midwife, paramedic, healthcare-assistant or administrator")]
pub struct UnknownRole;

/// Who made an entry: the person, their role at the time, and the device they used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Author {
    pub user: UserId,
    pub role: Role,
    pub device: DeviceId,
}

/// One set of vital signs with its NEWS2 result.
///
/// The only constructor, [`ObservationSet::record`], scores the vitals itself, so a stored set can
/// never carry a score computed elsewhere or by other rules than [`news2::score`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObservationSet {
    id: ObservationId,
    taken_at: DateTime<Utc>,
    author: Author,
    vitals: VitalSigns,
    news2: News2Result,
}

impl ObservationSet {
    pub fn record(
        id: ObservationId,
        taken_at: DateTime<Utc>,
        author: Author,
        vitals: VitalSigns,
        scale: Spo2Scale,
    ) -> Self {
        let news2 = news2::score(&vitals, scale);
        Self {
            id,
            taken_at,
            author,
            vitals,
            news2,
        }
    }

    pub fn id(&self) -> ObservationId {
        self.id
    }

    pub fn taken_at(&self) -> DateTime<Utc> {
        self.taken_at
    }

    pub fn author(&self) -> &Author {
        &self.author
    }

    pub fn vitals(&self) -> &VitalSigns {
        &self.vitals
    }

    pub fn scale(&self) -> Spo2Scale {
        self.news2.scale
    }

    pub fn news2(&self) -> &News2Result {
        &self.news2
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vitals::{Acvpu, Temperature};

    #[test]
    fn recording_scores_with_the_core_algorithm() {
        let vitals = VitalSigns {
            respiration_rate: Some(22),
            spo2: Some(95),
            on_oxygen: Some(false),
            systolic_bp: Some(105),
            pulse: Some(95),
            consciousness: Some(Acvpu::Alert),
            temperature: serde_json::from_str::<Temperature>("38.4").ok(),
        };
        let author = Author {
            user: UserId::from_u128(1),
            role: Role::Nurse,
            device: DeviceId::from_u128(2),
        };
        let set = ObservationSet::record(
            ObservationId::from_u128(3),
            DateTime::UNIX_EPOCH,
            author,
            vitals,
            Spo2Scale::Scale1,
        );
        // RR 2 + SpO2 1 + air 0 + SBP 1 + pulse 1 + alert 0 + temperature 1.
        assert_eq!(set.news2().total(), Some(6));
        assert_eq!(set.news2().algorithm_version, news2::ALGORITHM_VERSION);
    }

    #[test]
    fn roles_parse_from_their_keys() {
        for role in Role::ALL {
            assert_eq!(role.key().parse::<Role>().unwrap(), role);
        }
        assert!("surgeon".parse::<Role>().is_err());
    }
}
