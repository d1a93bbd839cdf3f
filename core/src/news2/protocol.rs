//! What a NEWS2 trigger asks of the clinician: minimum monitoring frequency and the response.
//!
//! The risk band is fixed by the RCP and is never configurable. The wording is: community and
//! ambulance services adapt it ("call 999", "contact the GP urgently"). An organisation loads its
//! own [`ResponseProtocol`]; the RCP's wording is the default.

use serde::{Deserialize, Serialize};

use super::{News2Result, Outcome, Trigger};
use crate::vitals::Field;

/// The monitoring and response text for one trigger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Guidance {
    pub monitoring: String,
    pub response: String,
}

/// An organisation's wording for each NEWS2 trigger (RCP Charts 3 and 4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseProtocol {
    /// Aggregate score 0.
    pub score_zero: Guidance,
    /// Aggregate score 1–4.
    pub low: Guidance,
    /// A score of 3 in any single parameter, aggregate below 5.
    pub single_parameter_three: Guidance,
    /// Aggregate score 5–6.
    pub medium: Guidance,
    /// Aggregate score 7 or more.
    pub high: Guidance,
}

impl Default for ResponseProtocol {
    fn default() -> Self {
        Self::royal_college_of_physicians()
    }
}

fn guidance(monitoring: &str, response: &str) -> Guidance {
    Guidance {
        monitoring: monitoring.to_owned(),
        response: response.to_owned(),
    }
}

impl ResponseProtocol {
    /// The RCP's own wording (NEWS2, 2017, Charts 3 and 4).
    pub fn royal_college_of_physicians() -> Self {
        Self {
            score_zero: guidance("minimum 12-hourly", "continue routine NEWS monitoring"),
            low: guidance(
                "minimum 4–6-hourly",
                "inform the registered nurse, who must assess the patient and decide whether \
                 increased frequency of monitoring and/or escalation of care is required",
            ),
            single_parameter_three: guidance(
                "minimum 1-hourly",
                "registered nurse to inform the medical team caring for the patient, who will \
                 review and decide whether escalation of care is necessary (urgent ward-based response)",
            ),
            medium: guidance(
                "minimum 1-hourly",
                "urgent response: the registered nurse immediately informs the medical team; urgent \
                 assessment by a clinician or team with core competencies in the care of acutely ill \
                 patients; provide clinical care in an environment with monitoring facilities",
            ),
            high: guidance(
                "continuous monitoring of vital signs",
                "emergency response: the registered nurse immediately informs the medical team at \
                 least at specialist registrar level; emergency assessment by a team with \
                 critical-care competencies, including airway management; consider transfer to a \
                 level 2 or 3 care facility",
            ),
        }
    }

    pub fn for_trigger(&self, trigger: Trigger) -> &Guidance {
        match trigger {
            Trigger::ScoreZero => &self.score_zero,
            Trigger::Low => &self.low,
            Trigger::SingleParameterThree => &self.single_parameter_three,
            Trigger::Medium => &self.medium,
            Trigger::High => &self.high,
        }
    }

    /// The guidance to show with a result. A partial set gets an instruction to complete it, and,
    /// when the parameters already present force at least low-medium risk, the response for that
    /// risk as a floor: missing values can only raise a score, never lower it.
    pub fn guidance_for(&self, result: &News2Result) -> Guidance {
        match &result.outcome {
            Outcome::Complete { trigger, .. } => self.for_trigger(*trigger).clone(),
            Outcome::Partial {
                missing,
                minimum_risk,
                ..
            } => {
                let missing = missing_list(missing);
                let complete_it =
                    format!("incomplete set: no NEWS2 score until {missing} recorded");
                match *minimum_risk {
                    None => Guidance {
                        monitoring: complete_it,
                        response: format!(
                            "record {} to obtain a NEWS2 score; do not treat this set as low risk",
                            missing.names
                        ),
                    },
                    Some(risk) => {
                        let floor = self.for_trigger(Trigger::floor_for_risk(risk));
                        Guidance {
                            monitoring: format!("{} ({complete_it})", floor.monitoring),
                            response: format!(
                                "the values present already mean at least {} risk: {}; then record {}",
                                risk.word(),
                                floor.response,
                                missing.names
                            ),
                        }
                    }
                }
            }
        }
    }
}

/// The missing fields as a phrase, with the verb that agrees with it.
struct MissingList {
    names: String,
    verb: &'static str,
}

impl std::fmt::Display for MissingList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.names, self.verb)
    }
}

fn missing_list(missing: &[Field]) -> MissingList {
    let labels: Vec<&str> = missing.iter().map(|field| field.label()).collect();
    match labels.as_slice() {
        [] => MissingList {
            names: String::new(),
            verb: "is",
        },
        [only] => MissingList {
            names: (*only).to_owned(),
            verb: "is",
        },
        [rest @ .., last] => MissingList {
            names: format!("{} and {last}", rest.join(", ")),
            verb: "are",
        },
    }
}
