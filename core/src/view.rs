//! The JSON shapes every front end shows: a scored set with the response it demands, a refused
//! value, a whole record. The CLI's `--json` contract and the desktop app read the same objects,
//! so a set never reads differently on two screens.

use serde_json::{Map, Value, json};

use crate::news2::{News2Result, Outcome, ResponseProtocol};
use crate::store::{PatientRecord, PatientSummary};
use crate::vitals::VitalsError;

/// One scored set: total, risk, parameter scores, the guidance it triggers, and for a partial set
/// what is missing and the risk it already forces.
pub fn news2_json(result: &News2Result, protocol: &ResponseProtocol) -> Value {
    let guidance = protocol.guidance_for(result);
    let scores: Map<String, Value> = result
        .scores
        .iter()
        .map(|(parameter, score)| (parameter.field().key().to_owned(), json!(score)))
        .collect();
    let (missing, lower_bound, minimum_risk) = match &result.outcome {
        Outcome::Complete { .. } => (Vec::new(), None, None),
        Outcome::Partial {
            missing,
            lower_bound,
            minimum_risk,
        } => (
            missing.iter().map(|field| field.key()).collect(),
            Some(*lower_bound),
            minimum_risk.map(|risk| risk.word()),
        ),
    };
    json!({
        "total": result.total(),
        "risk": result.risk().map(|risk| risk.word()),
        "partial": result.is_partial(),
        "missing": missing,
        "scores": scores,
        "monitoring": guidance.monitoring,
        "response": guidance.response,
        "lower_bound": lower_bound,
        "minimum_risk": minimum_risk,
        "spo2_scale": u8::from(result.scale),
        "algorithm": result.algorithm_version,
    })
}

/// A refused value: the message and the field it concerns.
pub fn vitals_error_json(error: &VitalsError) -> Value {
    json!({ "error": error.to_string(), "field": error.field_key() })
}

/// A whole record, each observation with its scored result.
pub fn record_json(
    record: &PatientRecord,
    protocol: &ResponseProtocol,
) -> Result<Value, serde_json::Error> {
    let mut value = serde_json::to_value(record)?;
    if let Some(observations) = value.get_mut("observations").and_then(Value::as_array_mut) {
        for (json, entry) in observations.iter_mut().zip(&record.observations) {
            json["news2"] = news2_json(entry.set.news2(), protocol);
        }
    }
    Ok(value)
}

/// One caseload row: who, their latest NEWS2, alerts and allergies, and whether the record holds
/// unresolved conflicting values.
pub fn summary_json(summary: &PatientSummary) -> Value {
    json!({
        "id": summary.id,
        "nhs_number": summary.nhs_number,
        "given": summary.given,
        "family": summary.family,
        "birth_date": summary.birth_date,
        "latest_news2": summary.latest_news2,
        "flags": summary.flags,
        "allergies": summary.allergies,
        "conflicts": summary.has_conflicts,
    })
}
