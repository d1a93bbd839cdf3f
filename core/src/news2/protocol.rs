//! What a NEWS2 trigger asks of the clinician: when the next set is due and the response, in the
//! words of the setting the clinician works in.
//!
//! The risk band and the monitoring frequency are the RCP's and never configurable (CLINICAL.md,
//! "Escalation outside hospital"). The words are the setting's: a nurse in a patient's kitchen
//! calls 999, 111, the GP or the urgent community response team, not "the medical team at
//! specialist registrar level". Doorstep ships three protocols ([`ResponseProtocol::community`],
//! the default; [`ResponseProtocol::ambulance`]; [`ResponseProtocol::royal_college_of_physicians`]
//! for hospital use); an organisation's clinical safety officer signs off its own, which the admin
//! signs and sync delivers to the team's devices.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{News2Result, Outcome, Trigger};
use crate::vitals::Field;

/// Where the clinicians using a protocol work; it decides the services the words name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Setting {
    Community,
    Ambulance,
    Hospital,
}

impl Setting {
    pub fn label(self) -> &'static str {
        match self {
            Setting::Community => "community nursing",
            Setting::Ambulance => "ambulance",
            Setting::Hospital => "hospital",
        }
    }
}

/// The monitoring and response text for one trigger. Unknown fields are ignored here, so a
/// protocol signed by a newer admin tool still reaches older devices; files are checked strictly
/// where they are read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Guidance {
    pub monitoring: String,
    pub response: String,
    /// Minutes from a set to the next one: `Some(0)` is continuous monitoring (the next set is
    /// due at once), `None` is "at the next planned visit" (no due time to count down to).
    #[serde(default)]
    pub next_set_minutes: Option<u32>,
}

/// Postnatal period in which NEWS2 is not used, unless the organisation sets another.
pub const DEFAULT_POSTNATAL_DAYS: u16 = 42;
/// How long a complete set's risk band still ranks a patient, unless the organisation sets another.
pub const DEFAULT_COMPLETE_SET_WINDOW_HOURS: u16 = 24;

fn default_postnatal_days() -> u16 {
    DEFAULT_POSTNATAL_DAYS
}

fn default_window_hours() -> u16 {
    DEFAULT_COMPLETE_SET_WINDOW_HOURS
}

/// How old a medicines list may be before it is shown as out of date, unless the organisation
/// says otherwise.
pub const DEFAULT_MEDICINES_REVIEW_DAYS: u16 = 28;

fn default_medicines_review_days() -> u16 {
    DEFAULT_MEDICINES_REVIEW_DAYS
}

/// An organisation's protocol: its wording for each NEWS2 trigger (RCP Charts 3 and 4), the
/// monitoring interval each trigger sets, and the settings that decide where NEWS2 applies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseProtocol {
    /// Stable identifier, stored with every set scored under this protocol.
    pub id: String,
    /// Rises with every change of wording: a stored set names the version whose words it showed.
    pub version: u32,
    pub name: String,
    pub setting: Setting,
    /// Days after birth during which NEWS2 is not used (maternity chart instead).
    #[serde(default = "default_postnatal_days")]
    pub postnatal_days: u16,
    /// How long a complete set's band still ranks the patient in "most urgent first"; after it
    /// the patient ranks as "unknown", never as low.
    #[serde(default = "default_window_hours")]
    pub complete_set_window_hours: u16,
    /// After how many days an imported medicines list is marked out of date.
    #[serde(default = "default_medicines_review_days")]
    pub medicines_review_days: u16,
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
    /// Doorstep's users are not on a ward: the default is community wording.
    fn default() -> Self {
        Self::community()
    }
}

fn guidance(monitoring: &str, response: &str, next_set_minutes: Option<u32>) -> Guidance {
    Guidance {
        monitoring: monitoring.to_owned(),
        response: response.to_owned(),
        next_set_minutes,
    }
}

/// RCP Chart 4 minimum monitoring, in minutes: 12-hourly, 4–6-hourly (the stricter end),
/// hourly, hourly, continuous.
const RCP_INTERVALS: [Option<u32>; 5] = [Some(720), Some(240), Some(60), Some(60), Some(0)];

/// The longest interval a protocol may set per trigger: RCP Chart 4's minimum frequencies, the
/// 4–6-hourly band at its outer end.
const LONGEST_INTERVALS: [u32; 5] = [720, 360, 60, 60, 0];

/// Why a protocol cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("the protocol needs an id (letters, digits and '-', up to 64)")]
    BadId,
    #[error("the protocol's version must be 1 or more")]
    BadVersion,
    #[error("the protocol's {0} wording is empty: write what the clinician must do")]
    EmptyWording(&'static str),
    #[error("postnatal_days must be between 28 and 366")]
    BadPostnatalDays,
    #[error("complete_set_window_hours must be between 1 and 168")]
    BadWindow,
    #[error("medicines_review_days must be between 1 and 366")]
    BadMedicinesReview,
    #[error(
        "the {0} interval is longer than the RCP's minimum monitoring frequency allows; \
         the bands' frequencies are fixed, only the words change"
    )]
    IntervalTooLong(&'static str),
}

impl ResponseProtocol {
    /// Community nursing: CLINICAL.md's default wording for teams visiting patients at home. Score
    /// 0 waits for the planned visit; the other intervals are the RCP's (4–6-hourly taken at its
    /// outer end, as the wording says "consider").
    pub fn community() -> Self {
        Self {
            id: "doorstep-community".to_owned(),
            version: 1,
            name: "Community nursing (Doorstep default)".to_owned(),
            setting: Setting::Community,
            postnatal_days: DEFAULT_POSTNATAL_DAYS,
            complete_set_window_hours: DEFAULT_COMPLETE_SET_WINDOW_HOURS,
            medicines_review_days: DEFAULT_MEDICINES_REVIEW_DAYS,
            score_zero: guidance(
                "next set at the planned visit",
                "routine care; next set at the planned visit",
                None,
            ),
            low: guidance(
                "consider a repeat set within 4–6 hours",
                "assess the patient; consider a repeat set within 4–6 hours, or ask a carer to \
                 call back if the patient gets worse; tell the GP if concerned",
                Some(360),
            ),
            single_parameter_three: guidance(
                "repeat within 1 hour",
                "urgent clinical review within 1 hour: contact the GP, 111 or the urgent \
                 community response team",
                Some(60),
            ),
            medium: guidance(
                "repeat within 1 hour",
                "urgent clinical review within 1 hour: contact the GP, 111 or the urgent \
                 community response team; if that is not possible, call 999",
                Some(60),
            ),
            high: guidance(
                "continuous: stay with the patient",
                "emergency: call 999, give the NEWS2 score, and stay with the patient",
                Some(0),
            ),
        }
    }

    /// Ambulance crews: CLINICAL.md's default wording, with the RCP's monitoring frequencies.
    pub fn ambulance() -> Self {
        let [zero, low, three, medium, high] = RCP_INTERVALS;
        Self {
            id: "doorstep-ambulance".to_owned(),
            version: 1,
            name: "Ambulance (Doorstep default)".to_owned(),
            setting: Setting::Ambulance,
            postnatal_days: DEFAULT_POSTNATAL_DAYS,
            complete_set_window_hours: DEFAULT_COMPLETE_SET_WINDOW_HOURS,
            medicines_review_days: DEFAULT_MEDICINES_REVIEW_DAYS,
            score_zero: guidance(
                "repeat before handover",
                "routine: record and hand over",
                zero,
            ),
            low: guidance(
                "repeat while with the patient",
                "assess; repeat observations while with the patient, as the service's clinical \
                 guidelines require",
                low,
            ),
            single_parameter_three: guidance(
                "at least hourly while with the patient",
                "urgent senior review through the clinical hub",
                three,
            ),
            medium: guidance(
                "at least hourly while with the patient",
                "urgent: consider conveyance; pre-alert the receiving hospital if deteriorating",
                medium,
            ),
            high: guidance(
                "continuous monitoring",
                "emergency: pre-alert the receiving hospital and convey",
                high,
            ),
        }
    }

    /// The RCP's own hospital wording (NEWS2, 2017, Charts 3 and 4): one protocol among others,
    /// never the default.
    pub fn royal_college_of_physicians() -> Self {
        let [zero, low, three, medium, high] = RCP_INTERVALS;
        Self {
            id: "rcp-news2-hospital".to_owned(),
            version: 1,
            name: "Hospital (RCP NEWS2 2017 wording)".to_owned(),
            setting: Setting::Hospital,
            postnatal_days: DEFAULT_POSTNATAL_DAYS,
            complete_set_window_hours: DEFAULT_COMPLETE_SET_WINDOW_HOURS,
            medicines_review_days: DEFAULT_MEDICINES_REVIEW_DAYS,
            score_zero: guidance(
                "minimum 12-hourly",
                "continue routine NEWS monitoring",
                zero,
            ),
            low: guidance(
                "minimum 4–6-hourly",
                "inform the registered nurse, who must assess the patient and decide whether \
                 increased frequency of monitoring and/or escalation of care is required",
                low,
            ),
            single_parameter_three: guidance(
                "minimum 1-hourly",
                "registered nurse to inform the medical team caring for the patient, who will \
                 review and decide whether escalation of care is necessary (urgent ward-based response)",
                three,
            ),
            medium: guidance(
                "minimum 1-hourly",
                "urgent response: the registered nurse immediately informs the medical team; urgent \
                 assessment by a clinician or team with core competencies in the care of acutely ill \
                 patients; provide clinical care in an environment with monitoring facilities",
                medium,
            ),
            high: guidance(
                "continuous monitoring of vital signs",
                "emergency response: the registered nurse immediately informs the medical team at \
                 least at specialist registrar level; emergency assessment by a team with \
                 critical-care competencies, including airway management; consider transfer to a \
                 level 2 or 3 care facility",
                high,
            ),
        }
    }

    /// The protocols Doorstep ships, by id.
    pub fn shipped(id: &str) -> Option<Self> {
        [
            Self::community(),
            Self::ambulance(),
            Self::royal_college_of_physicians(),
        ]
        .into_iter()
        .find(|protocol| protocol.id == id)
    }

    fn triggers(&self) -> [(&'static str, &Guidance); 5] {
        [
            ("score_zero", &self.score_zero),
            ("low", &self.low),
            ("single_parameter_three", &self.single_parameter_three),
            ("medium", &self.medium),
            ("high", &self.high),
        ]
    }

    /// Checks a protocol before an admin signs it or a device uses it: words present, and no
    /// interval longer than the RCP's minimum frequency ("at the next visit" is allowed only for a
    /// score of 0, and only in the community).
    pub fn validate(&self) -> Result<(), ProtocolError> {
        let id_ok = !self.id.is_empty()
            && self.id.len() <= 64
            && self
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !id_ok {
            return Err(ProtocolError::BadId);
        }
        if self.version == 0 {
            return Err(ProtocolError::BadVersion);
        }
        if !(28..=366).contains(&self.postnatal_days) {
            return Err(ProtocolError::BadPostnatalDays);
        }
        if !(1..=168).contains(&self.complete_set_window_hours) {
            return Err(ProtocolError::BadWindow);
        }
        if !(1..=366).contains(&self.medicines_review_days) {
            return Err(ProtocolError::BadMedicinesReview);
        }
        for ((name, guidance), longest) in self.triggers().into_iter().zip(LONGEST_INTERVALS) {
            if guidance.response.trim().is_empty() || guidance.monitoring.trim().is_empty() {
                return Err(ProtocolError::EmptyWording(name));
            }
            let allowed = match guidance.next_set_minutes {
                None => name == "score_zero" && self.setting == Setting::Community,
                Some(minutes) => minutes <= longest,
            };
            if !allowed {
                return Err(ProtocolError::IntervalTooLong(name));
            }
        }
        Ok(())
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
                        next_set_minutes: None,
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
                            next_set_minutes: floor.next_set_minutes,
                        }
                    }
                }
            }
        }
    }

    /// The response to store with a set and show for it: this protocol's words for the result,
    /// with the patient's ceiling of care beside them.
    pub fn response_for(
        &self,
        result: &News2Result,
        ceiling_of_care: Vec<String>,
    ) -> ShownResponse {
        let guidance = self.guidance_for(result);
        ShownResponse {
            protocol: self.id.clone(),
            version: self.version,
            setting: self.setting,
            monitoring: guidance.monitoring,
            text: guidance.response,
            next_set_minutes: guidance.next_set_minutes,
            ceiling_of_care,
        }
    }
}

/// The response a clinician was shown for one set, stored with the set: the advice they saw can
/// always be reconstructed, whatever the organisation's protocol says later.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShownResponse {
    pub protocol: String,
    pub version: u32,
    pub setting: Setting,
    pub monitoring: String,
    pub text: String,
    /// See [`Guidance::next_set_minutes`].
    pub next_set_minutes: Option<u32>,
    /// DNACPR, ReSPECT and end-of-life entries in force when the set was taken: the response
    /// follows the patient's plan.
    #[serde(default)]
    pub ceiling_of_care: Vec<String>,
}

impl std::fmt::Debug for ShownResponse {
    // The ceiling of care is free text about the patient.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ShownResponse({} v{})", self.protocol, self.version)
    }
}

impl ShownResponse {
    /// When the next set is due after a set taken at `taken_at`, if the protocol counts one down.
    pub fn next_due(&self, taken_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.next_set_minutes
            .map(|minutes| taken_at + chrono::Duration::minutes(i64::from(minutes)))
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
