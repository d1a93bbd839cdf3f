//! Incident records in the session: started with a temporary identity, listed on their own, and
//! identified later with an NHS number, which links them to any record the device holds with it.

use serde::Serialize;

use super::audit::{self, AuditAction};
use super::error::{Result, StoreError};
use super::persist;
use super::record::{DemographicField, RecordDoc};
use super::session::{Session, resummarise};
use super::summary::PatientSummary;
use crate::ids::PatientId;
use crate::incident::NewIncident;
use crate::nhs_number::NhsNumber;
use crate::permission::Action;

/// What identifying an incident record did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Identified {
    /// The registered records that now read as one with the incident record.
    pub linked_to: Vec<PatientId>,
}

impl Identified {
    /// The record to show now: the registered patient's (read with the incident) where the
    /// device holds one, else the incident record itself.
    pub fn record_to_show(&self, incident: PatientId) -> PatientId {
        self.linked_to.first().copied().unwrap_or(incident)
    }
}

impl Session {
    /// Starts a record for a patient no one has identified: no NHS number, name or date of
    /// birth, a temporary identity and whether NEWS2 applies (adult or child). One action,
    /// audited; it syncs like any record.
    pub fn start_incident(&self, new: &NewIncident) -> Result<PatientId> {
        self.permit(Action::RegisterPatient)?;
        let recorded = self.recorded();
        let incident = new.checked(recorded.at, recorded.by)?;
        let id = PatientId::random();
        let mut doc = RecordDoc::create_incident(self.actor(), &incident, new.sex, recorded)?;
        let summary = PatientSummary::of(&doc.read(id)?);
        let mut context = self.context()?;
        {
            let (connection, unlocked) = context.parts()?;
            let key = &unlocked.key;
            let transaction = connection.transaction()?;
            persist::insert_doc(&transaction, key, id, &mut doc)?;
            persist::mark_dirty(&transaction, id)?;
            persist::write_summary(&transaction, key, &summary)?;
            audit::append(
                &transaction,
                key,
                self.event(AuditAction::StartIncident, Some(id), None),
            )?;
            transaction.commit()?;
        }
        context.summaries()?.insert(id, summary);
        Ok(id)
    }

    /// The records a registered patient's NHS number would link `incident` to, without changing
    /// anything: what a shell shows ("this is SMITH, John, born …?") before the clinician
    /// confirms, so a mistyped number is not linked to someone else's history unseen.
    pub fn identify_preview(
        &self,
        incident: PatientId,
        nhs_number: NhsNumber,
    ) -> Result<Vec<PatientSummary>> {
        self.permit(Action::ReadRecords)?;
        let context = self.context()?;
        let unlocked = context.unlocked()?;
        let summary = unlocked
            .summaries
            .get(&incident)
            .ok_or(StoreError::PatientNotFound)?;
        if summary.incident.is_none() {
            return Err(StoreError::NotAnIncident);
        }
        let mut held: Vec<PatientSummary> = unlocked
            .summaries
            .values()
            .filter(|other| other.id != incident && other.nhs_number == Some(nhs_number))
            .map(|other| self.shown(unlocked, other))
            .collect();
        held.sort_by_key(|other| (other.incident.is_some(), other.id));
        Ok(held)
    }

    /// Records the NHS number of the patient an incident record was started for. Where the
    /// device holds that patient's record the two are read as one from then on, on every device
    /// once synced: nothing is merged away, each entry stays where it was written. Identifying
    /// again with another number corrects a wrong identification (the earlier one stays in the
    /// record's history, and two devices identifying differently show as a conflict).
    pub fn identify_incident(
        &self,
        incident: PatientId,
        nhs_number: NhsNumber,
    ) -> Result<Identified> {
        self.permit(Action::AmendRecord)?;
        let linked_to: Vec<PatientId> = self
            .identify_preview(incident, nhs_number)?
            .into_iter()
            .filter(|held| held.incident.is_none())
            .map(|held| held.id)
            .collect();
        let recorded = self.recorded();
        self.act(
            incident,
            AuditAction::IdentifyPatient,
            None,
            |doc, _| {
                doc.amend_demographic(
                    DemographicField::NhsNumber,
                    serde_json::json!(nhs_number),
                    recorded,
                )
            },
            resummarise(incident),
        )?;
        Ok(Identified { linked_to })
    }

    /// The incident records on this device, newest first, identified or not.
    pub fn incidents(&self) -> Result<Vec<PatientSummary>> {
        self.permit(Action::ReadRecords)?;
        let context = self.context()?;
        let unlocked = context.unlocked()?;
        let mut list: Vec<PatientSummary> = unlocked
            .summaries
            .values()
            .filter(|summary| summary.incident.is_some())
            .map(|summary| self.shown(unlocked, summary))
            .collect();
        list.sort_by_key(|summary| {
            (
                std::cmp::Reverse(summary.incident.as_ref().map(|incident| incident.started)),
                summary.id,
            )
        });
        Ok(list)
    }
}

/// The caseload's rows as this user may see them: an incident record identified as a registered
/// patient on the device is that patient's row (its sets rank them), not a row of its own.
pub(super) fn caseload_rows(
    session: &Session,
    unlocked: &super::session::Unlocked,
) -> Vec<PatientSummary> {
    let mut rows: std::collections::HashMap<PatientId, PatientSummary> = unlocked
        .summaries
        .values()
        .map(|summary| (summary.id, session.shown(unlocked, summary)))
        .collect();
    let registered: std::collections::HashMap<NhsNumber, PatientId> = unlocked
        .summaries
        .values()
        .filter_map(|summary| Some((summary.registered_nhs_number()?, summary.id)))
        .collect();
    let identified: Vec<(PatientId, PatientId)> = unlocked
        .summaries
        .values()
        .filter(|summary| summary.incident.is_some())
        .filter_map(|summary| Some((summary.id, *registered.get(&summary.nhs_number?)?)))
        .collect();
    for (incident, patient) in identified {
        if let Some(row) = rows.remove(&incident)
            && let Some(lead) = rows.get_mut(&patient)
        {
            lead.absorb_linked(&row);
        }
    }
    rows.into_values().collect()
}

/// The other records on the device with `patient`'s NHS number: one person's records, read as
/// one. A registered record is linked to incident records only; two registered records never
/// share a number.
pub(super) fn linked_ids<'a>(
    summaries: impl IntoIterator<Item = &'a PatientSummary>,
    patient: PatientId,
    nhs_number: Option<NhsNumber>,
) -> Vec<PatientId> {
    let Some(number) = nhs_number else {
        return Vec::new();
    };
    summaries
        .into_iter()
        .filter(|summary| summary.id != patient && summary.nhs_number == Some(number))
        .map(|summary| summary.id)
        .collect()
}
