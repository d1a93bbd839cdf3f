//! One patient held as several records: an incident record started for someone no one knew, later
//! identified with the NHS number of a record the device already holds. Nothing is merged inside
//! the documents: the records stay apart, each entry in the document it was written to with its
//! author and time, and are read together whenever they share an NHS number. Linking is therefore
//! a fact of the records' state, the same on every device whichever linked first.

use serde::{Deserialize, Serialize};

use super::record::{AllergyStatus, Applicability, PatientRecord};
use crate::ids::PatientId;
use crate::incident::{AgeGroup, Incident};

/// Another record of the same patient, shown with this one.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkedRecord {
    pub id: PatientId,
    /// The incident it was started as, if it was one.
    pub incident: Option<Incident>,
    /// Restricted to clinicians this user is not: its entries are not shown here.
    pub restricted: bool,
}

redacted_debug!(LinkedRecord);

/// Which record's identity leads: a registered patient's record before any incident, then the
/// incident started first; ties by id, so every device picks the same.
fn lead_order(record: &PatientRecord) -> (bool, Option<chrono::DateTime<chrono::Utc>>, PatientId) {
    (
        record.incident.is_some(),
        record.incident.as_ref().map(|incident| incident.started),
        record.id,
    )
}

/// Reads the record `patient` together with those of `records` that share its NHS number (an
/// identified incident and the registered record it belongs to); records of anyone else are left
/// out. Every device holding the same changes reads the same record, whichever linked first.
pub fn read_as_one(patient: PatientId, records: Vec<PatientRecord>) -> Option<PatientRecord> {
    joined(patient, records, Vec::new())
}

/// Reads `patient`'s record and those of `records` sharing its NHS number (all openable by this
/// user) as one: the leading record's
/// identity, alerts, medicines and plan, with every observation, note, escalation, allergy and
/// alert of all of them, each as written. Whether NEWS2 applies is decided again on the facts of
/// all of them: a date of birth on the registered record outranks an incident's estimate.
/// `restricted` lists linked records this user may not open.
pub(crate) fn joined(
    patient: PatientId,
    records: Vec<PatientRecord>,
    restricted: Vec<(PatientId, Option<Incident>)>,
) -> Option<PatientRecord> {
    let number = records
        .iter()
        .find(|record| record.id == patient)?
        .nhs_number;
    let mut records: Vec<PatientRecord> = records
        .into_iter()
        .filter(|record| record.id == patient || (number.is_some() && record.nhs_number == number))
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
            restricted: false,
        })
        .collect();
    linked.extend(restricted.into_iter().map(|(id, incident)| LinkedRecord {
        id,
        incident,
        restricted: true,
    }));
    linked.sort_by_key(|record| record.id);

    let mut applicability = std::mem::take(&mut lead.applicability);
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
        applicability = joined_facts(applicability, other.applicability);
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

/// The facts NEWS2's use rests on, from two records of one patient: every birth date and
/// maternity period, and, where no birth date is known, "child" if either incident said so.
fn joined_facts(mut ours: Applicability, theirs: Applicability) -> Applicability {
    ours.birth_dates.extend(theirs.birth_dates);
    ours.maternity.extend(theirs.maternity);
    ours.stated_group = match (ours.stated_group, theirs.stated_group) {
        (Some(AgeGroup::Child), _) | (_, Some(AgeGroup::Child)) => Some(AgeGroup::Child),
        (ours, theirs) => ours.or(theirs),
    };
    ours
}
