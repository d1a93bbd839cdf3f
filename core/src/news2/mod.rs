//! The National Early Warning Score 2 (Royal College of Physicians, 2017): the one place Doorstep
//! computes it.
//!
//! [`score`] is a pure function from validated [`VitalSigns`] and the patient's [`Spo2Scale`] to a
//! [`News2Result`]. A set with any of the seven parameters missing is [`Outcome::Partial`]: it has
//! no total and no risk band, only the sum of what is present as a marked lower bound. Every result
//! carries [`ALGORITHM_VERSION`] so a stored score can always be traced to the rules that made it.
//!
//! NEWS2 is validated for adults (16+) and not in pregnancy: [`not_applicable`] decides whether
//! it applies, and a set it rules out is never scored.

mod applicability;
pub mod bands;
mod chart;
mod protocol;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use applicability::{
    MaternityPeriod, NotApplicable, NotApplicableReason, not_applicable, not_applicable_for_group,
    uk_date,
};
pub use chart::{Band, ParameterBands, chart_bands};
pub use protocol::{
    DEFAULT_COMPLETE_SET_WINDOW_HOURS, DEFAULT_POSTNATAL_DAYS, Guidance, ProtocolError,
    ResponseProtocol, Setting, ShownResponse,
};

use crate::vitals::{Field, Spo2Scale, VitalSigns};

/// Identifies the scoring rules. Bump the suffix whenever this module's output could change for
/// any input, so records scored by an earlier build remain distinguishable.
pub const ALGORITHM_VERSION: &str = "RCP-NEWS2-2017/doorstep-1";

/// The seven scored parameters of NEWS2, in chart order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Parameter {
    RespirationRate,
    Spo2,
    AirOrOxygen,
    SystolicBp,
    Pulse,
    Consciousness,
    Temperature,
}

impl Parameter {
    pub const ALL: [Parameter; 7] = [
        Parameter::RespirationRate,
        Parameter::Spo2,
        Parameter::AirOrOxygen,
        Parameter::SystolicBp,
        Parameter::Pulse,
        Parameter::Consciousness,
        Parameter::Temperature,
    ];

    /// The input field that carries this parameter.
    pub fn field(self) -> Field {
        match self {
            Parameter::RespirationRate => Field::RespirationRate,
            Parameter::Spo2 => Field::Spo2,
            Parameter::AirOrOxygen => Field::OnOxygen,
            Parameter::SystolicBp => Field::SystolicBp,
            Parameter::Pulse => Field::Pulse,
            Parameter::Consciousness => Field::Consciousness,
            Parameter::Temperature => Field::Temperature,
        }
    }
}

/// Clinical risk from RCP Chart 3. Ordered from least to most urgent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClinicalRisk {
    Low,
    LowMedium,
    Medium,
    High,
}

impl ClinicalRisk {
    /// The word the chart and the `doorstep news2` contract use.
    pub fn word(self) -> &'static str {
        match self {
            ClinicalRisk::Low => "low",
            ClinicalRisk::LowMedium => "low-medium",
            ClinicalRisk::Medium => "medium",
            ClinicalRisk::High => "high",
        }
    }
}

impl fmt::Display for ClinicalRisk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// Which row of RCP Chart 4 a complete set falls in; it selects the monitoring and response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    ScoreZero,
    Low,
    SingleParameterThree,
    Medium,
    High,
}

impl Trigger {
    pub fn risk(self) -> ClinicalRisk {
        match self {
            Trigger::ScoreZero | Trigger::Low => ClinicalRisk::Low,
            Trigger::SingleParameterThree => ClinicalRisk::LowMedium,
            Trigger::Medium => ClinicalRisk::Medium,
            Trigger::High => ClinicalRisk::High,
        }
    }

    /// The least urgent trigger that carries `risk`.
    pub fn floor_for_risk(risk: ClinicalRisk) -> Trigger {
        match risk {
            ClinicalRisk::Low => Trigger::ScoreZero,
            ClinicalRisk::LowMedium => Trigger::SingleParameterThree,
            ClinicalRisk::Medium => Trigger::Medium,
            ClinicalRisk::High => Trigger::High,
        }
    }

    fn from_scores(total: u8, any_three: bool) -> Trigger {
        match total {
            0 => Trigger::ScoreZero,
            7.. => Trigger::High,
            5..=6 => Trigger::Medium,
            _ if any_three => Trigger::SingleParameterThree,
            _ => Trigger::Low,
        }
    }
}

/// Whether the set could be scored, and what follows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    /// All seven parameters present.
    Complete {
        total: u8,
        risk: ClinicalRisk,
        trigger: Trigger,
    },
    /// At least one parameter missing: there is no NEWS2 total.
    Partial {
        /// The input fields still to record, in chart order.
        missing: Vec<Field>,
        /// Sum of the parameters that could be scored. The full score is at least this; it is
        /// never to be shown as the score.
        lower_bound: u8,
        /// The risk the present values already force whatever the missing ones turn out to be, or
        /// `None` when they force nothing above low. Never `Some(Low)`: absent values are no
        /// evidence of low risk.
        minimum_risk: Option<ClinicalRisk>,
    },
}

/// The result of scoring one observation set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct News2Result {
    pub algorithm_version: String,
    pub scale: Spo2Scale,
    /// Score of each parameter that could be scored, in chart order.
    pub scores: Vec<(Parameter, u8)>,
    pub outcome: Outcome,
}

impl News2Result {
    pub fn total(&self) -> Option<u8> {
        match self.outcome {
            Outcome::Complete { total, .. } => Some(total),
            Outcome::Partial { .. } => None,
        }
    }

    pub fn risk(&self) -> Option<ClinicalRisk> {
        match self.outcome {
            Outcome::Complete { risk, .. } => Some(risk),
            Outcome::Partial { .. } => None,
        }
    }

    /// The total of a complete set, or the marked lower bound of a partial one; for trends and
    /// sorting, never to be shown as a score without saying which it is.
    pub fn points(&self) -> u8 {
        match self.outcome {
            Outcome::Complete { total, .. } => total,
            Outcome::Partial { lower_bound, .. } => lower_bound,
        }
    }

    pub fn is_partial(&self) -> bool {
        matches!(self.outcome, Outcome::Partial { .. })
    }

    pub fn score_of(&self, parameter: Parameter) -> Option<u8> {
        self.scores
            .iter()
            .find(|(p, _)| *p == parameter)
            .map(|&(_, score)| score)
    }

    /// The risk to sort and alert on: the band of a complete set, the forced minimum of a partial
    /// one.
    pub fn effective_risk(&self) -> Option<ClinicalRisk> {
        match self.outcome {
            Outcome::Complete { risk, .. } => Some(risk),
            Outcome::Partial { minimum_risk, .. } => minimum_risk,
        }
    }
}

/// Scores one set of vital signs.
pub fn score(vitals: &VitalSigns, scale: Spo2Scale) -> News2Result {
    let mut scores = Vec::with_capacity(Parameter::ALL.len());
    let mut missing = Vec::new();
    let mut undetermined = false;
    for parameter in Parameter::ALL {
        let present = match parameter {
            Parameter::RespirationRate => vitals.respiration_rate.map(bands::respiration_rate),
            Parameter::Spo2 => match vitals.spo2 {
                None => None,
                Some(percent) => {
                    let score = bands::spo2(percent, scale, vitals.on_oxygen);
                    // Scale 2 at ≥93% with air/oxygen unknown: present but unscorable. The set is
                    // already partial because air/oxygen is missing.
                    undetermined |= score.is_none();
                    if let Some(score) = score {
                        scores.push((parameter, score));
                    }
                    continue;
                }
            },
            Parameter::AirOrOxygen => vitals.on_oxygen.map(bands::air_or_oxygen),
            Parameter::SystolicBp => vitals.systolic_bp.map(bands::systolic_bp),
            Parameter::Pulse => vitals.pulse.map(bands::pulse),
            Parameter::Consciousness => vitals.consciousness.map(bands::consciousness),
            Parameter::Temperature => vitals
                .temperature
                .map(|temperature| bands::temperature(temperature.tenths())),
        };
        match present {
            Some(score) => scores.push((parameter, score)),
            None => missing.push(parameter.field()),
        }
    }
    debug_assert!(!undetermined || missing.contains(&Field::OnOxygen));

    let sum: u8 = scores.iter().map(|&(_, score)| score).sum();
    let any_three = scores.iter().any(|&(_, score)| score == 3);
    let outcome = if missing.is_empty() {
        let trigger = Trigger::from_scores(sum, any_three);
        Outcome::Complete {
            total: sum,
            risk: trigger.risk(),
            trigger,
        }
    } else {
        // Scores only rise as parameters are added, so the trigger of the present values is a
        // floor. A floor of "low" says nothing and is withheld.
        let floor = Trigger::from_scores(sum, any_three).risk();
        Outcome::Partial {
            missing,
            lower_bound: sum,
            minimum_risk: (floor > ClinicalRisk::Low).then_some(floor),
        }
    };
    News2Result {
        algorithm_version: ALGORITHM_VERSION.to_owned(),
        scale,
        scores,
        outcome,
    }
}

#[cfg(test)]
mod tests;
