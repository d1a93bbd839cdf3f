//! The JSON shapes every front end shows: a scored set with the response it demands, a refused
//! value, a whole record. The CLI's `--json` contract and the desktop app read the same objects,
//! so a set never reads differently on two screens.

use serde_json::{Map, Value, json};

use chrono::{DateTime, Utc};

use crate::news2::{ClinicalRisk, Guidance, News2Result, Outcome, ResponseProtocol, Setting};
use crate::observation::ObservationSet;
use crate::store::{EscalationService, PatientRecord, PatientSummary, Rank, Session, StoreError};
use crate::vitals::VitalsError;

/// One scored set: total, risk, parameter scores, the guidance it triggers, and for a partial set
/// what is missing and the risk it already forces.
pub fn news2_json(result: &News2Result, protocol: &ResponseProtocol) -> Value {
    scored_json(result, &protocol.guidance_for(result))
}

fn scored_json(result: &News2Result, guidance: &Guidance) -> Value {
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

/// A stored set: its NEWS2 result with the response shown when it was saved (or, where NEWS2 does
/// not apply, no result and the reason), when the next set is due, and whether the response asks
/// for an escalation. `fallback` words only sets stored before responses were kept.
pub fn set_json(set: &ObservationSet, fallback: &ResponseProtocol) -> Value {
    let stored = set.response().is_some();
    let response = match (set.response(), set.news2()) {
        (Some(response), _) => Some(response.clone()),
        (None, Some(result)) => Some(fallback.response_for(result, Vec::new())),
        (None, None) => None,
    };
    let news2 = set
        .news2()
        .zip(response.as_ref())
        .map(|(result, response)| {
            scored_json(
                result,
                &Guidance {
                    monitoring: response.monitoring.clone(),
                    response: response.text.clone(),
                    next_set_minutes: response.next_set_minutes,
                },
            )
        });
    json!({
        "id": set.id(),
        "taken_at": set.taken_at(),
        "news2": news2,
        "not_applicable": set.not_applicable(),
        "response": response.as_ref().map(|response| json!({
            "protocol": response.protocol,
            "version": response.version,
            "setting": response.setting,
            "text": response.text,
            "monitoring": response.monitoring,
            "ceiling_of_care": response.ceiling_of_care,
            // False where the set was saved before responses were kept, or scored on reading:
            // the words are the current protocol's, not necessarily those shown then.
            "stored": stored,
        })),
        "next_due": set.next_due(),
        "scored_on_reading": set.scored_on_reading(),
        "escalation_prompt": set.calls_for_escalation(),
        "escalation_service": suggested_service(set, response.as_ref()).map(EscalationService::key),
        // Values to check before saving (a preview), or that were checked (a saved set).
        "unusual": crate::unusual::unusual_values(set.vitals()),
        "confirmed_unusual": set.confirmed_unusual(),
        // Observations recorded with the set, never scored: as they read, and as values.
        "additional": additional_json(set.additional()),
        "additional_values": set.additional(),
        // Observations beside NEWS2 on their own: no vital sign, so nothing for NEWS2.
        "beside_only": set.is_beside_only(),
    })
}

/// Observations recorded with a set (never scored), each with its label, how it reads in a list
/// (`text`) and in a chart column (`short`).
pub fn additional_json(additional: &crate::additional::AdditionalObservations) -> Value {
    json!(additional.shown())
}

/// The service the response's setting names first for this set's risk: 999 for a community
/// emergency, the GP for a community urgent review; none where the setting's pathway is the
/// service's own (ambulance, hospital).
fn suggested_service(
    set: &ObservationSet,
    response: Option<&crate::news2::ShownResponse>,
) -> Option<EscalationService> {
    let risk = set.news2()?.effective_risk()?;
    match (response?.setting, risk) {
        (Setting::Community, ClinicalRisk::High) => Some(EscalationService::Emergency999),
        (Setting::Community, ClinicalRisk::Medium | ClinicalRisk::LowMedium) => {
            Some(EscalationService::Gp)
        }
        _ => None,
    }
}

/// A refused value: the message and the field it concerns.
pub fn vitals_error_json(error: &VitalsError) -> Value {
    json!({ "error": error.to_string(), "field": error.field_key() })
}

/// A whole record, each observation with its result and the response it showed, whether NEWS2
/// applies to the patient today, and the ceiling of care.
pub fn record_json(
    record: &PatientRecord,
    protocol: &ResponseProtocol,
) -> Result<Value, serde_json::Error> {
    let mut value = serde_json::to_value(record)?;
    if let Some(observations) = value.get_mut("observations").and_then(Value::as_array_mut) {
        for (json, entry) in observations.iter_mut().zip(&record.observations) {
            let set = set_json(&entry.set, protocol);
            for key in [
                "news2",
                "not_applicable",
                "response",
                "next_due",
                "scored_on_reading",
                "escalation_prompt",
                "escalation_service",
                "unusual",
                "confirmed_unusual",
                "additional",
                "additional_values",
                "beside_only",
            ] {
                json[key] = set[key].clone();
            }
        }
    }
    let now = Utc::now();
    value["display_name"] = json!(record.display_name());
    value["incident"] = incident_json(record.incident.as_ref(), record.sex);
    if let Some(linked) = value.get_mut("linked").and_then(Value::as_array_mut) {
        for (shown, entry) in linked.iter_mut().zip(&record.linked) {
            shown["incident"] = incident_json(entry.incident.as_ref(), entry.sex);
        }
    }
    value["news2_not_applicable_now"] = json!(record.news2_not_applicable(now));
    value["pregnant_now"] = json!(record.pregnant_on(now));
    value["ceiling_of_care"] = json!(record.ceiling_of_care());
    value["spo2_scale"] = json!(u8::from(record.spo2_scale()));
    value["spo2_scale_review"] = json!(record.spo2_scale_review.map(|review| json!({
        "reason": review,
        "message": review.message(),
    })));
    value["medications_out_of_date"] =
        json!(record.medications_out_of_date(now, protocol.medicines_review_days));
    value["medicines_review_days"] = json!(protocol.medicines_review_days);
    // Each medicine in words, with its status where it is not simply taken now.
    // (`get_mut`, not indexing: indexing a null `medications` would turn it into an object.)
    if let (Some(items), Some(snapshot)) = (
        value
            .get_mut("medications")
            .and_then(|medications| medications.get_mut("items"))
            .and_then(serde_json::Value::as_array_mut),
        record.medications.as_ref(),
    ) {
        for (shown, item) in items.iter_mut().zip(&snapshot.items) {
            shown["description"] = json!(item.describe());
        }
    }
    // What the allergy is, in words that say what the source left out ("reaction not recorded").
    if let Some(allergies) = value
        .get_mut("allergies")
        .and_then(serde_json::Value::as_array_mut)
    {
        for (shown, entry) in allergies.iter_mut().zip(&record.allergies) {
            shown["description"] = json!(entry.allergy.describe());
        }
    }
    Ok(value)
}

/// An incident's temporary identity with its words: the age band as read aloud, and the name the
/// record goes by until identified.
pub fn incident_json(
    incident: Option<&crate::incident::Incident>,
    sex: crate::patient::Sex,
) -> Value {
    incident.map_or(Value::Null, |incident| {
        json!({
            "reference": incident.reference,
            "place": incident.place,
            "description": incident.description,
            "age_band": incident.age_band,
            "age_band_words": incident.age_band.words(),
            "estimated_age": incident.estimated_age,
            "age_group": incident.age_group,
            "started": incident.started,
            "occurred_at": incident.occurred_at,
            "by": incident.by,
            "temporary_name": incident.temporary_name(sex),
        })
    })
}

/// One caseload row at `rank`'s moment: who, their latest set, when the next is due and whether it
/// is overdue, the risk they were ranked by, alerts and allergies, and whether the record holds
/// unresolved conflicting values.
pub fn summary_json(summary: &PatientSummary, rank: &Rank, now: DateTime<Utc>) -> Value {
    let not_applicable = summary.news2_not_applicable(now);
    // Where NEWS2 does not apply today, not even an earlier set's number travels with the row.
    let latest = match (not_applicable, summary.latest_news2) {
        (Some(reason), Some(latest)) => json!({
            "taken_at": latest.taken_at,
            "total": null,
            "risk": null,
            "partial": false,
            "effective_risk": null,
            "points": 0,
            "not_applicable": reason,
        }),
        (_, latest) => json!(latest),
    };
    json!({
        "next_due": rank.next_due,
        "overdue": rank.overdue,
        "continuous": rank.continuous,
        "rank_risk": rank.risk_word(),
        "last_observed": summary.ranking.last_observed,
        "news2_not_applicable": not_applicable.map(|reason| json!({
            "reason": reason,
            "message": reason.message(),
        })),
        "id": summary.id,
        "display_name": summary.display_name(),
        "incident": incident_json(summary.incident.as_ref(), summary.sex),
        "nhs_number": summary.nhs_number,
        "given": summary.given,
        "family": summary.family,
        "birth_date": summary.birth_date,
        "latest_news2": latest,
        "flags": summary.flags,
        "allergies": summary.allergies,
        "conflicts": summary.has_conflicts,
    })
}

/// A record as every shell shows it to this user: opened (audited as a view) where they may
/// open it, else its banner only; with how current it is, similar names on the device, what this
/// user may see, the restriction as far as they may know it, and the team's names for authors.
pub fn record_view_json(
    session: &Session,
    patient: crate::ids::PatientId,
    protocol: &ResponseProtocol,
) -> Result<Value, StoreError> {
    let opened = if session.access(patient)?.may_open() {
        match session.open_record(patient) {
            // The record itself decides: a summary may not know of its restriction yet.
            Err(StoreError::Restricted) => None,
            opened => Some(opened?),
        }
    } else {
        None
    };
    match opened {
        Some(record) => shown_record_json(session, protocol, &record),
        None => {
            let mut view = shown_record_json(session, protocol, &session.banner(patient)?)?;
            view["access"] = json!(crate::store::Access::BannerOnly { may_decide: false });
            view["restriction"] = Value::Null;
            Ok(view)
        }
    }
}

/// A record already opened (emergency access opens one) as [`record_view_json`] shows it.
pub fn shown_record_json(
    session: &Session,
    protocol: &ResponseProtocol,
    record: &PatientRecord,
) -> Result<Value, StoreError> {
    let mut value = record_json(record, protocol).map_err(|_| StoreError::Tampered {
        what: "record view",
    })?;
    let status = session.sync_status()?;
    value["sync"] = json!({
        "last_sync": status.last_sync,
        "unsynced_changes": session.has_unsynced_changes(record.id)?,
        "enrolled": status.server.is_some(),
    });
    value["similar_name"] = json!(session.similar_names()?.contains(&record.id));
    value["shares_nhs_number"] = json!(session.sharing_nhs_number(record.id)?);
    value["similar_to"] = json!(
        session
            .similar_to(record.id)?
            .iter()
            .map(|other| json!({
                "given": other.given,
                "family": other.family,
                "birth_date": other.birth_date,
            }))
            .collect::<Vec<_>>()
    );
    let access = session.access(record.id)?;
    value["access"] = json!(access);
    // To those it does not name, a restriction says only that it exists: its reason ("sexual
    // health") and who is named would tell what it hides.
    let restriction = record.restriction.as_ref().filter(|_| access.may_open());
    value["restriction"] = json!(restriction.map(|restriction| json!({
        "reason": restriction.reason,
        "words": restriction.reason.words(),
        "clinicians": restriction.clinicians,
        "by": restriction.recorded.by,
        "at": restriction.recorded.at,
        "disputed": restriction.disputed,
    })));
    // Entries carry the author's device; the team's roster names who uses it.
    let mut authors = Map::new();
    for member in session.team_members()? {
        authors.insert(
            member.device.to_string(),
            json!({"name": member.user, "role": member.role.key()}),
        );
    }
    value["authors"] = Value::Object(authors);
    Ok(value)
}

/// The caseload as every shell lists it: everyone on the device, most urgent first (`by_risk`)
/// or by name, or those matching `query` (name or NHS number, by name); each row with whether a
/// similar name is on the device and what this user may see of the record.
pub fn caseload_json(
    session: &Session,
    query: &str,
    by_risk: bool,
    now: DateTime<Utc>,
) -> Result<Vec<Value>, StoreError> {
    let query = query.trim();
    let mut rows = session.ranked_caseload(now)?;
    if !query.is_empty() {
        let found: std::collections::HashSet<_> = session
            .find(query)?
            .iter()
            .map(|summary| summary.id)
            .collect();
        rows.retain(|(summary, _)| found.contains(&summary.id));
    }
    if !by_risk || !query.is_empty() {
        rows.sort_by(|(a, _), (b, _)| {
            (a.family.to_lowercase(), a.given.to_lowercase(), a.id).cmp(&(
                b.family.to_lowercase(),
                b.given.to_lowercase(),
                b.id,
            ))
        });
    }
    let similar = session.similar_names()?;
    rows.iter()
        .map(|(summary, rank)| {
            let mut row = summary_json(summary, rank, now);
            row["similar_name"] = json!(similar.contains(&summary.id));
            row["access"] = json!(session.access(summary.id)?);
            Ok(row)
        })
        .collect()
}

/// The incident records on the device as every shell lists them: newest first, each row as the
/// caseload shows it (with its temporary identity and, once identified, the NHS number).
pub fn incidents_json(session: &Session, now: DateTime<Utc>) -> Result<Vec<Value>, StoreError> {
    let window = chrono::Duration::hours(i64::from(session.protocol()?.complete_set_window_hours));
    session
        .incidents()?
        .iter()
        .map(|summary| {
            let mut row = summary_json(summary, &summary.rank(now, window), now);
            row["access"] = json!(session.access(summary.id)?);
            Ok(row)
        })
        .collect()
}

/// The registered patients an NHS number would link an incident to, as shown for the clinician
/// to confirm: name, date of birth, sex (never more than a banner shows), and where they disagree
/// with what was recorded on scene.
pub fn identify_preview_json(
    session: &Session,
    incident: crate::ids::PatientId,
    nhs_number: crate::nhs_number::NhsNumber,
) -> Result<Vec<Value>, StoreError> {
    let scene = session.summary(incident)?;
    let registered: Vec<_> = session
        .identify_preview(incident, nhs_number)?
        .into_iter()
        .filter(|summary| summary.incident.is_none())
        .collect();
    let duplicated = registered.len() > 1;
    Ok(registered
        .iter()
        .map(|summary| {
            let mut mismatches = scene.incident.as_ref().map_or_else(Vec::new, |details| {
                crate::incident::mismatches(details, scene.sex, summary.sex, summary.birth_date)
            });
            if duplicated {
                mismatches.push(
                    "two records on this device hold this NHS number: the incident is linked to \
                     neither until a clinician settles which is the patient's"
                        .to_owned(),
                );
            }
            json!({
                "id": summary.id,
                "display_name": summary.display_name(),
                "birth_date": summary.birth_date,
                "sex": summary.sex,
                "mismatches": mismatches,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{DeviceId, PatientId, UserId};
    use crate::nhs_number::NhsNumber;
    use crate::observation::{Author, Role};
    use crate::patient::{Address, Demographics, GpPractice, Medication, MedicationStatus, Sex};
    use crate::store::{NewPatient, RecordDoc, Recorded, Snapshot};

    fn record(medications: Option<Snapshot<Medication>>) -> PatientRecord {
        let mut new = NewPatient::with_demographics(Demographics {
            nhs_number: NhsNumber::parse("999 100 0100").unwrap(),
            given: "Una".to_owned(),
            family: "Usher".to_owned(),
            birth_date: chrono::NaiveDate::from_ymd_opt(1940, 1, 2).unwrap(),
            sex: Sex::Female,
            address: Address::default(),
            gp_practice: GpPractice::default(),
            contacts: Vec::new(),
        });
        new.medications = medications;
        let by = Author {
            user: UserId::from_u128(1),
            role: Role::Nurse,
            device: DeviceId::from_u128(2),
        };
        let recorded = Recorded { by, at: Utc::now() };
        RecordDoc::create(
            automerge::ActorId::from(&[2u8; 16][..]),
            &new,
            recorded,
            &ResponseProtocol::default(),
        )
        .unwrap()
        .read(PatientId::from_u128(3))
        .unwrap()
    }

    #[test]
    fn no_medicines_list_stays_absent_and_each_medicine_is_described() {
        let protocol = ResponseProtocol::default();
        let absent = record_json(&record(None), &protocol).unwrap();
        assert!(absent["medications"].is_null(), "{}", absent["medications"]);
        let listed = record_json(
            &record(Some(Snapshot {
                source: "Lantern Row Surgery".to_owned(),
                as_of: Utc::now(),
                items: vec![Medication {
                    name: "Metformin 500mg tablets".to_owned(),
                    dose: "500 mg".to_owned(),
                    frequency: "twice daily".to_owned(),
                    status: MedicationStatus::OnHold,
                }],
            })),
            &protocol,
        )
        .unwrap();
        assert_eq!(
            listed["medications"]["items"][0]["description"],
            "Metformin 500mg tablets, 500 mg, twice daily (ON HOLD: not taken now)"
        );
    }
}
