//! How a NEWS2 result reads: the JSON contract of `doorstep news2` and the text a person sees.

use std::fmt::Write as _;

use doorstep_core::Spo2Scale;
use doorstep_core::news2::{ALGORITHM_VERSION, Guidance, News2Result, Outcome, Parameter};
use doorstep_core::observation::ObservationSet;
use doorstep_core::vitals::VitalSigns;

pub use doorstep_core::view::{news2_json as result_json, vitals_error_json as error_json};

fn value_text(parameter: Parameter, vitals: &VitalSigns) -> Option<String> {
    Some(match parameter {
        Parameter::RespirationRate => format!("{} /min", vitals.respiration_rate?),
        Parameter::Spo2 => format!("{} %", vitals.spo2?),
        Parameter::AirOrOxygen => if vitals.on_oxygen? { "oxygen" } else { "air" }.to_owned(),
        Parameter::SystolicBp => format!("{} mmHg", vitals.systolic_bp?),
        Parameter::Pulse => format!("{} /min", vitals.pulse?),
        Parameter::Consciousness => {
            let level = vitals.consciousness?;
            format!("{} ({})", level.letter(), level.description())
        }
        Parameter::Temperature => format!("{:.1} °C", vitals.temperature?.celsius()),
    })
}

fn parameter_label(parameter: Parameter, scale: Spo2Scale) -> String {
    match (parameter, scale) {
        (Parameter::Spo2, Spo2Scale::Scale1) => "SpO2 (Scale 1)".to_owned(),
        (Parameter::Spo2, Spo2Scale::Scale2) => "SpO2 (Scale 2)".to_owned(),
        _ => {
            let label = parameter.field().label();
            let mut chars = label.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect())
                .unwrap_or_default()
        }
    }
}

/// The result as a clinician reads it: the headline first, then each parameter, then what to do.
pub fn result_text(vitals: &VitalSigns, result: &News2Result, guidance: &Guidance) -> String {
    let mut text = String::new();
    match &result.outcome {
        Outcome::Complete { total, risk, .. } => {
            let _ = writeln!(
                text,
                "NEWS2 {total}: {} clinical risk",
                risk.word().to_uppercase()
            );
        }
        Outcome::Partial {
            missing,
            lower_bound,
            minimum_risk,
        } => {
            let missing: Vec<&str> = missing.iter().map(|field| field.label()).collect();
            let _ = writeln!(
                text,
                "INCOMPLETE SET: no NEWS2 score. Missing: {}",
                missing.join(", ")
            );
            let _ = writeln!(
                text,
                "The parameters present score {lower_bound} (a lower bound, not a NEWS2 total)"
            );
            if let Some(risk) = minimum_risk {
                let _ = writeln!(
                    text,
                    "Already at least {} clinical risk",
                    risk.word().to_uppercase()
                );
            }
        }
    }
    text.push('\n');
    for parameter in Parameter::ALL {
        let label = parameter_label(parameter, result.scale);
        let value = value_text(parameter, vitals);
        let score = result.score_of(parameter);
        let (value, score) = match (value, score) {
            (Some(value), Some(score)) => (value, score.to_string()),
            (Some(value), None) => (value, "not scored: air or oxygen?".to_owned()),
            (None, _) => ("—".to_owned(), "missing".to_owned()),
        };
        let _ = writeln!(text, "  {label:<26} {value:<22} {score}");
    }
    let _ = writeln!(text, "\nMonitoring: {}", guidance.monitoring);
    let _ = writeln!(text, "Response:   {}", guidance.response);
    let _ = write!(text, "Algorithm:  {ALGORITHM_VERSION}");
    text
}

/// A stored set as a clinician reads it: the result with the response it showed when saved, the
/// ceiling of care and when the next set is due; or, where NEWS2 does not apply, the vital signs
/// and the chart to use, with no score at all.
pub fn set_text(set: &ObservationSet, shown: &serde_json::Value) -> String {
    let mut text = String::new();
    match (set.news2(), set.not_applicable()) {
        // Observations beside NEWS2 on their own: nothing for NEWS2, and no vital signs to list.
        _ if set.is_beside_only() => text.push_str(
            "No vital signs recorded: observations beside NEWS2 only, not scored and not counted \
             as a NEWS2 set",
        ),
        (Some(result), _) => {
            let guidance = Guidance {
                monitoring: shown["response"]["monitoring"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                response: shown["response"]["text"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                next_set_minutes: None,
            };
            text.push_str(&result_text(set.vitals(), result, &guidance));
            if let Some(ceiling) = shown["response"]["ceiling_of_care"].as_array()
                && !ceiling.is_empty()
            {
                for entry in ceiling {
                    let _ = write!(
                        text,
                        "\nCeiling of care: {} (the response follows this plan)",
                        entry.as_str().unwrap_or_default()
                    );
                }
            }
            let _ = write!(
                text,
                "\nProtocol:   {} v{}",
                shown["response"]["protocol"].as_str().unwrap_or_default(),
                shown["response"]["version"]
            );
        }
        (None, not_applicable) => {
            let _ = writeln!(
                text,
                "NEWS2 NOT USED: {}",
                not_applicable.map_or("", |n| n.message.as_str())
            );
            text.push('\n');
            for parameter in Parameter::ALL {
                let label = parameter_label(parameter, set.scale());
                let value = value_text(parameter, set.vitals()).unwrap_or_else(|| "—".to_owned());
                let _ = writeln!(text, "  {label:<26} {value}");
            }
            text.pop();
        }
    }
    if let Some(items) = shown["additional"].as_array()
        && !items.is_empty()
    {
        let _ = write!(text, "\n\nAlso recorded (not part of NEWS2):");
        for item in items {
            let _ = write!(
                text,
                "\n  {:<26} {}",
                item["label"].as_str().unwrap_or_default(),
                item["text"].as_str().unwrap_or_default()
            );
        }
    }
    match set.next_due() {
        Some(due) if due <= set.taken_at() => {
            let _ = write!(text, "\nNext set:   continuous monitoring");
        }
        Some(due) => {
            let _ = write!(text, "\nNext set due: {}", local_time(due));
        }
        None => {}
    }
    if set.calls_for_escalation() {
        let _ = write!(
            text,
            "\nRecord the escalation: doorstep escalate --patient ID --service ... --outcome ..."
        );
    }
    text
}

/// A time as the UK reads it (GMT or BST), with the zone named.
pub fn local_time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.with_timezone(&chrono_tz::Europe::London)
        .format("%a %-d %b %Y %H:%M %Z")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use doorstep_core::news2::{self, ResponseProtocol};
    use doorstep_core::vitals::VitalsInput;
    use serde_json::{Value, json};

    #[test]
    fn partial_json_has_no_total_and_no_risk() {
        let (input, scale) = VitalsInput::from_json(r#"{"respiration_rate": 30}"#).unwrap();
        let result = news2::score(&input.validate().unwrap(), scale);
        let json = result_json(&result, &ResponseProtocol::default());
        assert_eq!(json["total"], Value::Null);
        assert_eq!(json["risk"], Value::Null);
        assert_eq!(json["partial"], true);
        assert_eq!(json["lower_bound"], 3);
        assert_eq!(json["minimum_risk"], "low-medium");
        assert_eq!(json["scores"], json!({"respiration_rate": 3}));
        assert_eq!(json["missing"].as_array().unwrap().len(), 6);
        let text = result_text(
            &input.validate().unwrap(),
            &result,
            &ResponseProtocol::default().guidance_for(&result),
        );
        assert!(
            text.starts_with("INCOMPLETE SET: no NEWS2 score."),
            "{text}"
        );
        assert!(!text.contains("NEWS2 3"), "{text}");
    }
}
