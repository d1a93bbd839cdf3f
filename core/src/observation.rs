//! An observation set: one bedside round of vital signs, who took it, where and when, and the NEWS2
//! result the core computed from it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::additional::AdditionalObservations;
use crate::ids::{DeviceId, ObservationId, UserId};
use crate::news2::{self, News2Result, NotApplicable, ResponseProtocol, ShownResponse};
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
    /// An organisation's integration device: it imports records from the GP and shared care
    /// record systems and syncs them to its team, end-to-end encrypted like any other device. It
    /// cannot read or change what clinicians record.
    Integration,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Nurse,
        Role::Midwife,
        Role::Paramedic,
        Role::HealthcareAssistant,
        Role::Administrator,
        Role::Integration,
    ];

    /// The role as a sentence says it ("healthcare assistant").
    pub fn words(self) -> &'static str {
        match self {
            Role::Nurse => "nurse",
            Role::Midwife => "midwife",
            Role::Paramedic => "paramedic",
            Role::HealthcareAssistant => "healthcare assistant",
            Role::Administrator => "administrator",
            Role::Integration => "integration service",
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Role::Nurse => "nurse",
            Role::Midwife => "midwife",
            Role::Paramedic => "paramedic",
            Role::HealthcareAssistant => "healthcare-assistant",
            Role::Administrator => "administrator",
            Role::Integration => "integration",
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
#[error(
    "unknown role; use nurse, midwife, paramedic, healthcare-assistant, administrator or integration"
)]
pub struct UnknownRole;

/// Who made an entry: the person, their role at the time, and the device they used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Author {
    pub user: UserId,
    pub role: Role,
    pub device: DeviceId,
}

/// What a set is scored against: the organisation's protocol, whether NEWS2 applies to this
/// patient on this date, and the ceiling of care in force.
#[derive(Clone)]
pub struct Scoring<'a> {
    pub protocol: &'a ResponseProtocol,
    pub not_applicable: Option<NotApplicable>,
    pub ceiling_of_care: Vec<String>,
}

impl<'a> Scoring<'a> {
    /// NEWS2 applies, and no ceiling of care is recorded.
    pub fn applies(protocol: &'a ResponseProtocol) -> Self {
        Self {
            protocol,
            not_applicable: None,
            ceiling_of_care: Vec::new(),
        }
    }
}

impl std::fmt::Debug for Scoring<'_> {
    // Applicability (age band, pregnancy) and the ceiling of care are about the patient.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Scoring({}, <redacted>)", self.protocol.id)
    }
}

/// One set of vital signs with its NEWS2 result, or the reason NEWS2 was not used.
///
/// The only constructor, [`ObservationSet::record`], scores the vitals itself, so a stored set can
/// never carry a score computed elsewhere or by other rules than [`news2::score`]; and it stores
/// the response shown, in the protocol's words of that moment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObservationSet {
    id: ObservationId,
    taken_at: DateTime<Utc>,
    author: Author,
    vitals: VitalSigns,
    /// `None` when NEWS2 does not apply ([`Self::not_applicable`] says why).
    news2: Option<News2Result>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    not_applicable: Option<NotApplicable>,
    /// Absent only in sets stored before responses were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    response: Option<ShownResponse>,
    /// The scale in force, kept here when there is no NEWS2 result to carry it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    spo2_scale: Option<Spo2Scale>,
    /// Values outside their usual range that the author confirmed on saving
    /// ([`crate::unusual`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    confirmed_unusual: Vec<crate::vitals::Field>,
    /// Observations recorded with the set and never scored ([`crate::additional`]).
    #[serde(default, skip_serializing_if = "AdditionalObservations::is_empty")]
    additional: AdditionalObservations,
    /// Set only in memory by [`Self::score_on_reading`]; never stored or synced.
    #[serde(skip)]
    scored_on_reading: bool,
}

impl ObservationSet {
    pub fn record(
        id: ObservationId,
        taken_at: DateTime<Utc>,
        author: Author,
        vitals: VitalSigns,
        scale: Spo2Scale,
        scoring: &Scoring<'_>,
    ) -> Self {
        let (news2, response) = match scoring.not_applicable {
            Some(_) => (None, None),
            None => {
                let result = news2::score(&vitals, scale);
                let response = scoring
                    .protocol
                    .response_for(&result, scoring.ceiling_of_care.clone());
                (Some(result), Some(response))
            }
        };
        Self {
            id,
            taken_at,
            author,
            vitals,
            news2,
            not_applicable: scoring.not_applicable.clone(),
            response,
            spo2_scale: Some(scale),
            confirmed_unusual: Vec::new(),
            additional: AdditionalObservations::default(),
            scored_on_reading: false,
        }
    }

    /// Observations beside NEWS2 recorded on their own, with no vital sign (a glucose between
    /// sets, a fetal heart at a clinic visit): never scored, never a "last observed" or a due time
    /// for NEWS2 (ARCHITECTURE.md, "Decisions").
    pub fn beside_only(
        id: ObservationId,
        taken_at: DateTime<Utc>,
        author: Author,
        scale: Spo2Scale,
        additional: AdditionalObservations,
    ) -> Self {
        Self {
            id,
            taken_at,
            author,
            vitals: VitalSigns::default(),
            news2: None,
            not_applicable: None,
            response: None,
            spo2_scale: Some(scale),
            confirmed_unusual: Vec::new(),
            additional,
            scored_on_reading: false,
        }
    }

    /// Whether the entry holds observations beside NEWS2 and no vital sign: there is nothing for
    /// NEWS2 to score or to withhold.
    pub fn is_beside_only(&self) -> bool {
        self.vitals == VitalSigns::default()
    }

    /// The set with observations recorded beside its vital signs. They change nothing in its
    /// score or response.
    pub fn with_additional(mut self, additional: AdditionalObservations) -> Self {
        self.additional = additional;
        self
    }

    /// Observations recorded with the set, never part of its NEWS2 score.
    pub fn additional(&self) -> &AdditionalObservations {
        &self.additional
    }

    /// The set with the unusual values its author confirmed on saving.
    pub(crate) fn confirming(mut self, fields: Vec<crate::vitals::Field>) -> Self {
        self.confirmed_unusual = fields;
        self
    }

    /// Values outside their usual range that the author confirmed when saving.
    pub fn confirmed_unusual(&self) -> &[crate::vitals::Field] {
        &self.confirmed_unusual
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
        self.news2
            .as_ref()
            .map(|result| result.scale)
            .or(self.spo2_scale)
            .unwrap_or(Spo2Scale::Scale1)
    }

    /// The NEWS2 result; `None` when NEWS2 does not apply to this patient on this date.
    pub fn news2(&self) -> Option<&News2Result> {
        self.news2.as_ref()
    }

    pub fn not_applicable(&self) -> Option<&NotApplicable> {
        self.not_applicable.as_ref()
    }

    /// The response shown when the set was saved (`None` where NEWS2 does not apply, and in sets
    /// stored before responses were kept).
    pub fn response(&self) -> Option<&ShownResponse> {
        self.response.as_ref()
    }

    /// When the next set is due after this one, by the protocol it was scored under.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        self.response
            .as_ref()
            .and_then(|response| response.next_due(self.taken_at))
    }

    /// Whether the response calls for someone to be contacted (a single 3, medium or high risk,
    /// or a partial set already forcing one of those): the shells then offer to record the
    /// escalation.
    pub fn calls_for_escalation(&self) -> bool {
        self.news2
            .as_ref()
            .and_then(News2Result::effective_risk)
            .is_some_and(|risk| risk >= news2::ClinicalRisk::LowMedium)
    }

    /// Scores a set stored without a score when the record, as it stands, shows NEWS2 applies on
    /// its date. The response it shows then is not the one stored (there was none): it is worded
    /// by the current protocol and marked as such ([`Self::scored_on_reading`]).
    pub(crate) fn score_on_reading(&mut self) {
        if self.news2.is_none() && !self.is_beside_only() {
            self.news2 = Some(news2::score(&self.vitals, self.scale()));
            self.not_applicable = None;
            self.response = None;
            self.scored_on_reading = true;
        }
    }

    /// Whether the score was made when the record was read, not when the set was saved.
    pub fn scored_on_reading(&self) -> bool {
        self.scored_on_reading
    }

    /// Takes the score away from a set the record now shows NEWS2 must not be used for (a birth
    /// date corrected to a child's, a pregnancy recorded on another device): only ever removes a
    /// score, never adds one.
    pub(crate) fn withhold(&mut self, reason: NotApplicable) {
        if self.not_applicable.is_none() && !self.is_beside_only() {
            self.spo2_scale = Some(self.scale());
            self.news2 = None;
            self.response = None;
            self.not_applicable = Some(reason);
            self.scored_on_reading = false;
        }
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
            &Scoring {
                protocol: &ResponseProtocol::community(),
                not_applicable: None,
                ceiling_of_care: vec!["DNACPR: not for CPR".to_owned()],
            },
        );
        // RR 2 + SpO2 1 + air 0 + SBP 1 + pulse 1 + alert 0 + temperature 1.
        let result = set.news2().unwrap();
        assert_eq!(result.total(), Some(6));
        assert_eq!(result.algorithm_version, news2::ALGORITHM_VERSION);
        let response = set.response().unwrap();
        assert_eq!(response.protocol, "doorstep-community");
        assert!(response.text.contains("within 1 hour"), "{}", response.text);
        assert_eq!(response.ceiling_of_care, ["DNACPR: not for CPR"]);
        assert_eq!(
            set.next_due(),
            Some(DateTime::UNIX_EPOCH + chrono::Duration::hours(1))
        );
    }

    #[test]
    fn a_set_news2_does_not_apply_to_keeps_its_vitals_and_has_no_score() {
        let vitals = VitalSigns {
            respiration_rate: Some(34),
            pulse: Some(130),
            ..VitalSigns::default()
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
            &Scoring {
                protocol: &ResponseProtocol::community(),
                not_applicable: Some(NotApplicable::because(news2::NotApplicableReason::Under16)),
                ceiling_of_care: Vec::new(),
            },
        );
        assert!(set.news2().is_none());
        assert!(set.response().is_none());
        assert_eq!(set.next_due(), None);
        assert_eq!(set.vitals().respiration_rate, Some(34));
        let json = serde_json::to_value(&set).unwrap();
        assert_eq!(json["news2"], serde_json::Value::Null);
        assert_eq!(json["not_applicable"]["reason"], "under-16");
    }

    #[test]
    fn roles_parse_from_their_keys() {
        for role in Role::ALL {
            assert_eq!(role.key().parse::<Role>().unwrap(), role);
        }
        assert!("surgeon".parse::<Role>().is_err());
    }
}
