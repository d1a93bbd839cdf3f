//! One patient held as several records: an incident record started for someone no one knew, later
//! identified with the NHS number of a record the device already holds. Nothing is merged inside
//! the documents: the records stay apart, each entry in the document it was written to with its
//! author and time, and are read together whenever they form a group ([`group`]). Linking is
//! therefore a fact of the records' state, the same on every device whichever linked first.
//!
//! Only incident records link. Two registered records that hold one NHS number (a duplicate
//! registration, or a forged one arriving by sync) are never read together, and while two hold it
//! no incident links to either: which of them it belongs to is for a clinician to settle.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::record::{AllergyStatus, Applicability, PatientRecord};
use crate::ids::PatientId;
use crate::incident::{AgeGroup, Incident};
use crate::news2::MaternityPeriod;
use crate::nhs_number::NhsNumber;
use crate::patient::Sex;

/// Another record of the same patient, shown with this one.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkedRecord {
    pub id: PatientId,
    /// The incident it was started as, if it was one (for a restricted record, without the place
    /// and description, which would say what the restriction hides).
    pub incident: Option<Incident>,
    /// As recorded on that record (an incident's temporary name is worded with it).
    #[serde(default = "sex_unknown")]
    pub sex: Sex,
    /// Restricted to clinicians this user is not: its entries are not shown here.
    pub restricted: bool,
    /// Who identified it as this patient, how they knew, and when.
    #[serde(default)]
    pub identification: Option<crate::incident::Identification>,
}

fn sex_unknown() -> Sex {
    Sex::Unknown
}

redacted_debug!(LinkedRecord, RestrictedLink);

/// What a record this user may not open lends to the group without being read: who it is for
/// the link, and the facts NEWS2's use rests on, from its summary.
#[derive(Clone)]
pub(crate) struct RestrictedLink {
    pub(crate) id: PatientId,
    pub(crate) incident: Option<Incident>,
    pub(crate) sex: Sex,
    pub(crate) birth_date: Option<NaiveDate>,
    pub(crate) maternity: Vec<MaternityPeriod>,
}

/// One record as grouping sees it.
#[derive(Clone, Copy)]
pub(crate) struct Member {
    pub(crate) id: PatientId,
    pub(crate) nhs_number: Option<NhsNumber>,
    pub(crate) incident: bool,
}

/// The records read together with `opened`, itself first: the one registered record holding its
/// NHS number (if exactly one does) and every incident identified with that number. Ordered by
/// id after the first, so every device forms the same group.
pub(crate) fn group(opened: PatientId, members: &[Member]) -> Vec<PatientId> {
    let Some(me) = members.iter().find(|member| member.id == opened) else {
        return Vec::new();
    };
    let Some(number) = me.nhs_number else {
        return vec![opened];
    };
    let holding: Vec<&Member> = members
        .iter()
        .filter(|member| member.nhs_number == Some(number))
        .collect();
    let registered = holding.iter().filter(|member| !member.incident).count();
    if registered > 1 {
        return vec![opened];
    }
    let mut others: Vec<PatientId> = holding
        .iter()
        .map(|member| member.id)
        .filter(|id| *id != opened)
        .collect();
    others.sort();
    std::iter::once(opened).chain(others).collect()
}

/// Which record's identity leads: a registered patient's record before any incident, then the
/// incident started first; ties by id, so every device picks the same.
fn lead_order(record: &PatientRecord) -> (bool, Option<chrono::DateTime<chrono::Utc>>, PatientId) {
    (
        record.incident.is_some(),
        record.incident.as_ref().map(|incident| incident.started),
        record.id,
    )
}

/// Reads the record `patient` together with the records of `records` in its group (an identified
/// incident and the registered record it belongs to); records of anyone else are left out. Every
/// device holding the same changes reads the same record, whichever linked first.
pub fn read_as_one(patient: PatientId, records: Vec<PatientRecord>) -> Option<PatientRecord> {
    joined(patient, records, Vec::new())
}

/// Reads `patient`'s group as one (the records given are those this user may open; `restricted`
/// those they may not): the leading record's identity, alerts, medicines and plan, with every
/// observation, note, escalation, allergy and alert of all of them, each as written. Whether
/// NEWS2 applies is decided again on the facts of the group: the registered record's date of
/// birth (an incident's is not trusted over it), every maternity period, and only where no date of
/// birth is known the stated age group (child if any incident said so).
pub(crate) fn joined(
    patient: PatientId,
    records: Vec<PatientRecord>,
    restricted: Vec<RestrictedLink>,
) -> Option<PatientRecord> {
    let members: Vec<Member> = records
        .iter()
        .map(|record| Member {
            id: record.id,
            nhs_number: record.nhs_number,
            incident: record.incident.is_some(),
        })
        .chain(restricted.iter().map(|link| {
            Member {
                id: link.id,
                // Grouped already by the session from summaries: they share the number.
                nhs_number: records
                    .iter()
                    .find(|record| record.id == patient)
                    .and_then(|record| record.nhs_number),
                incident: link.incident.is_some(),
            }
        }))
        .collect();
    let wanted = group(patient, &members);
    let mut records: Vec<PatientRecord> = records
        .into_iter()
        .filter(|record| wanted.contains(&record.id))
        .collect();
    let restricted: Vec<RestrictedLink> = restricted
        .into_iter()
        .filter(|link| wanted.contains(&link.id))
        .collect();
    records.sort_by_key(lead_order);
    let mut records = records.into_iter();
    let mut lead = records.next()?;
    let others: Vec<PatientRecord> = records.collect();
    if others.is_empty() && restricted.is_empty() {
        return Some(lead);
    }
    let mut linked: Vec<LinkedRecord> = others
        .iter()
        .map(|other| LinkedRecord {
            id: other.id,
            incident: other.incident.clone(),
            sex: other.sex,
            restricted: false,
            identification: other.identification.clone(),
        })
        .chain(restricted.iter().map(|link| LinkedRecord {
            id: link.id,
            incident: link.incident.clone(),
            sex: link.sex,
            restricted: true,
            identification: None,
        }))
        .collect();
    linked.sort_by_key(|record| record.id);

    let applicability = joined_facts(&lead, &others, &restricted);
    for other in others {
        lead.observations.extend(other.observations);
        lead.notes.extend(other.notes);
        lead.escalations.extend(other.escalations);
        lead.allergies.extend(other.allergies);
        lead.flags.extend(other.flags);
        lead.conflicts.extend(other.conflicts);
        if other.allergy_status == AllergyStatus::Recorded {
            lead.allergy_status = AllergyStatus::Recorded;
        }
        let newer_decision = match (&lead.spo2_scale_decision, &other.spo2_scale_decision) {
            (None, Some(_)) => true,
            (Some(ours), Some(theirs)) => theirs.at > ours.at,
            _ => false,
        };
        if newer_decision {
            lead.spo2_scale_decision = other.spo2_scale_decision;
            lead.spo2_scale_review = other.spo2_scale_review;
        }
        lead.maternity = lead.maternity.or(other.maternity);
        lead.medications = lead.medications.or(other.medications);
        lead.problems = lead.problems.or(other.problems);
        // A plan written on scene before the patient was identified is not lost behind an
        // empty one.
        if lead.care_plan.is_empty() && !other.care_plan.is_empty() {
            lead.care_plan = other.care_plan;
            lead.care_plan_edited = other.care_plan_edited;
        }
    }
    lead.observations
        .sort_by_key(|entry| (entry.set.taken_at(), entry.set.id()));
    lead.notes.sort_by_key(|note| (note.recorded.at, note.id));
    lead.escalations
        .sort_by_key(|entry| (entry.escalation.at, entry.id));
    lead.allergies
        .sort_by_key(|entry| (entry.recorded.at, entry.id));
    lead.flags
        .sort_by_key(|entry| (entry.recorded.at, entry.id));
    for entry in &mut lead.observations {
        match applicability.not_applicable(entry.set.taken_at()) {
            Some(reason) => entry.set.withhold(reason),
            None => entry.set.score_on_reading(),
        }
    }
    lead.applicability = applicability;
    lead.linked = linked;
    Some(lead)
}

/// The facts NEWS2's use rests on for a group: the registered record's birth dates where there is
/// one (read or restricted), else any the incidents hold; every maternity period; and the stated
/// age group, child if any incident said so.
fn joined_facts(
    lead: &PatientRecord,
    others: &[PatientRecord],
    restricted: &[RestrictedLink],
) -> Applicability {
    let registered_births: Vec<NaiveDate> = std::iter::once(lead)
        .chain(others)
        .filter(|record| record.incident.is_none())
        .flat_map(|record| record.applicability.birth_dates.iter().copied())
        .chain(
            restricted
                .iter()
                .filter(|link| link.incident.is_none())
                .filter_map(|link| link.birth_date),
        )
        .collect();
    let birth_dates = if registered_births.is_empty() {
        std::iter::once(lead)
            .chain(others)
            .flat_map(|record| record.applicability.birth_dates.iter().copied())
            .collect()
    } else {
        registered_births
    };
    let stated: Vec<AgeGroup> = std::iter::once(lead)
        .chain(others)
        .filter_map(|record| record.applicability.stated_group)
        .chain(
            restricted
                .iter()
                .filter_map(|link| link.incident.as_ref().map(|incident| incident.age_group)),
        )
        .collect();
    let stated_group = if stated.contains(&AgeGroup::Child) {
        Some(AgeGroup::Child)
    } else {
        stated.first().copied()
    };
    Applicability {
        birth_dates,
        maternity: std::iter::once(lead)
            .chain(others)
            .flat_map(|record| record.applicability.maternity.iter().copied())
            .chain(
                restricted
                    .iter()
                    .flat_map(|link| link.maternity.iter().copied()),
            )
            .collect(),
        stated_group,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: u128, number: Option<u32>, incident: bool) -> Member {
        Member {
            id: PatientId::from_u128(id),
            nhs_number: number.and_then(NhsNumber::test_number),
            incident,
        }
    }

    #[test]
    fn only_incidents_link_and_never_to_a_number_two_registered_records_hold() {
        let serial = (1..)
            .find(|n| NhsNumber::test_number(*n).is_some())
            .unwrap();
        let other = (serial + 1..)
            .find(|n| NhsNumber::test_number(*n).is_some())
            .unwrap();
        let id = PatientId::from_u128;
        let members = [
            member(1, Some(serial), false),
            member(2, Some(serial), true),
            member(3, Some(serial), true),
            member(4, Some(other), true),
            member(5, None, true),
        ];
        assert_eq!(group(id(3), &members), [id(3), id(1), id(2)]);
        assert_eq!(group(id(1), &members), [id(1), id(2), id(3)]);
        assert_eq!(group(id(4), &members), [id(4)]);
        assert_eq!(group(id(5), &members), [id(5)]);
        // A second registered record with the number: nothing links until it is settled.
        let mut duplicated = members.to_vec();
        duplicated.push(member(0, Some(serial), false));
        assert_eq!(group(id(1), &duplicated), [id(1)]);
        assert_eq!(group(id(2), &duplicated), [id(2)]);
        assert!(group(id(9), &members).is_empty());
    }
}
