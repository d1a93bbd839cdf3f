//! Incident records in the session: started with a temporary identity, listed on their own,
//! identified later with an NHS number (which reads them with the registered record holding it,
//! `linked.rs`) or that identification withdrawn; and the caseload's rows for such groups.

use serde::Serialize;

use super::audit::{self, AuditAction};
use super::error::{Result, StoreError};
use super::linked::{Member, RestrictedLink};
use super::persist;
use super::record::{PatientRecord, RecordDoc};
use super::session::{Context, Session, Unlocked, resummarise};
use super::summary::PatientSummary;
use crate::ids::PatientId;
use crate::incident::{Identification, IdentificationSource, Incident, NewIncident};
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
        self.permit(Action::StartIncident)?;
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
        source: Option<IdentificationSource>,
    ) -> Result<Identified> {
        self.permit(Action::AmendRecord)?;
        let registered: Vec<PatientId> = self
            .identify_preview(incident, nhs_number)?
            .into_iter()
            .filter(|held| held.incident.is_none())
            .map(|held| held.id)
            .collect();
        // Two registered records holding the number link to neither (`linked::group`).
        let linked_to = if registered.len() == 1 {
            registered
        } else {
            Vec::new()
        };
        let recorded = self.recorded();
        // Ids only (random, no patient data): the review sees which records were joined.
        let reason = match linked_to.as_slice() {
            [] => "no registered record on this device holds the number".to_owned(),
            ids => format!(
                "read with record {}",
                ids.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let reason = match source {
            Some(source) => format!("{reason}; identified from {}", source.words()),
            None => reason,
        };
        let identification = Identification {
            nhs_number: Some(nhs_number),
            source,
            by: recorded.by,
            at: recorded.at,
        };
        self.act(
            incident,
            AuditAction::IdentifyPatient,
            Some(reason),
            |doc, _| doc.identify(&identification),
            resummarise(incident),
        )?;
        Ok(Identified { linked_to })
    }

    /// Withdraws an incident's identification (a wallet that was someone else's, and no one
    /// knows who the patient is): the NHS number is cleared, the records are read apart again,
    /// and the identification stays in the record's history.
    pub fn withdraw_identification(&self, incident: PatientId) -> Result<()> {
        self.permit(Action::AmendRecord)?;
        {
            let context = self.context()?;
            let summary = context
                .unlocked()?
                .summaries
                .get(&incident)
                .ok_or(StoreError::PatientNotFound)?;
            if summary.incident.is_none() {
                return Err(StoreError::NotAnIncident);
            }
        }
        let recorded = self.recorded();
        let identification = Identification {
            nhs_number: None,
            source: None,
            by: recorded.by,
            at: recorded.at,
        };
        self.act(
            incident,
            AuditAction::IdentifyPatient,
            Some("identification withdrawn".to_owned()),
            |doc, _| doc.identify(&identification),
            resummarise(incident),
        )
    }

    /// How many other registered records on the device hold `patient`'s NHS number where that
    /// keeps records apart (a duplicate registration, or one arriving by sync): shown, so that a
    /// record that stops showing an identified incident says why.
    pub fn sharing_nhs_number(&self, patient: PatientId) -> Result<usize> {
        self.permit(Action::ReadRecords)?;
        let context = self.context()?;
        let summaries = &context.unlocked()?.summaries;
        let me = summaries.get(&patient).ok_or(StoreError::PatientNotFound)?;
        let Some(number) = me.nhs_number else {
            return Ok(0);
        };
        let registered = summaries
            .values()
            .filter(|other| other.id != patient && other.registered_nhs_number() == Some(number))
            .count();
        Ok(match me.incident {
            // An incident links to one registered record: two keep it apart.
            Some(_) if registered < 2 => 0,
            _ => registered,
        })
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

/// The caseload's rows as this user may see them: the records of one patient (an identified
/// incident and the registered record it belongs to) are one row, ranked from the group read as
/// one, so the incident's sets rank the patient with NEWS2's use decided on the group's facts.
pub(super) fn caseload_rows(
    session: &Session,
    context: &Context<'_>,
) -> Result<Vec<PatientSummary>> {
    let unlocked = context.unlocked()?;
    // Records grouped by NHS number once, so a caseload of thousands is not compared pairwise.
    let mut by_number: std::collections::HashMap<NhsNumber, Vec<Member>> =
        std::collections::HashMap::new();
    for member in members(unlocked) {
        if let Some(number) = member.nhs_number {
            by_number.entry(number).or_default().push(member);
        }
    }
    let mut rows: Vec<PatientSummary> = Vec::with_capacity(unlocked.summaries.len());
    let mut grouped: std::collections::HashSet<PatientId> = std::collections::HashSet::new();
    let mut ids: Vec<PatientId> = unlocked.summaries.keys().copied().collect();
    ids.sort();
    for id in ids {
        if grouped.contains(&id) {
            continue;
        }
        let sharing = unlocked
            .summaries
            .get(&id)
            .and_then(|summary| summary.nhs_number)
            .and_then(|number| by_number.get(&number))
            .filter(|members| members.len() > 1);
        let group = sharing.map_or_else(|| vec![id], |members| super::linked::group(id, members));
        if group.len() < 2 {
            if let Some(summary) = unlocked.summaries.get(&id) {
                rows.push(session.shown(unlocked, summary));
            }
            continue;
        }
        grouped.extend(group.iter().copied());
        match session.group_row(context, unlocked, &group) {
            Ok(row) => rows.push(row),
            // One unreadable record never takes the caseload down: its group is listed record
            // by record, as before it was identified.
            Err(_) => rows.extend(
                group
                    .iter()
                    .filter_map(|id| unlocked.summaries.get(id))
                    .map(|summary| session.shown(unlocked, summary)),
            ),
        }
    }
    Ok(rows)
}

/// Every record on the device as grouping sees it.
fn members(unlocked: &Unlocked) -> impl Iterator<Item = Member> + '_ {
    unlocked.summaries.values().map(|summary| Member {
        id: summary.id,
        nhs_number: summary.nhs_number,
        incident: summary.incident.is_some(),
    })
}

/// The records read together with `patient` (itself first, `linked::group`), from the records
/// holding its NHS number only: opening a record or saving a set never gathers the whole device.
pub(super) fn group_of(unlocked: &Unlocked, patient: PatientId) -> Vec<PatientId> {
    let number = unlocked
        .summaries
        .get(&patient)
        .and_then(|summary| summary.nhs_number);
    let Some(number) = number else {
        return vec![patient];
    };
    let holding: Vec<Member> = members(unlocked)
        .filter(|member| member.nhs_number == Some(number))
        .collect();
    super::linked::group(patient, &holding)
}

impl Session {
    /// One caseload row for a group of records: the summary of the group read as one, as this
    /// user may see it; where the leading record is restricted to others, its banner only.
    fn group_row(
        &self,
        context: &Context<'_>,
        unlocked: &Unlocked,
        group: &[PatientId],
    ) -> Result<PatientSummary> {
        let (records, restricted) = self.group_records(context, unlocked, group)?;
        let lead_id = records
            .iter()
            .filter(|record| record.incident.is_none())
            .map(|record| record.id)
            .chain(
                restricted
                    .iter()
                    .filter(|link| link.incident.is_none())
                    .map(|link| link.id),
            )
            .next();
        // A registered record this user may not open leads the row, as its banner.
        if let Some(lead) = lead_id
            && restricted.iter().any(|link| link.id == lead)
            && let Some(summary) = unlocked.summaries.get(&lead)
        {
            return Ok(self.shown(unlocked, summary));
        }
        let Some(first) = records.first().map(|record| record.id) else {
            let summary = unlocked
                .summaries
                .get(&group[0])
                .ok_or(StoreError::PatientNotFound)?;
            return Ok(self.shown(unlocked, summary));
        };
        let joined = super::linked::joined(lead_id.unwrap_or(first), records, restricted)
            .ok_or(StoreError::PatientNotFound)?;
        Ok(self.shown(unlocked, &PatientSummary::of(&joined)))
    }

    /// The records of `group` this user may open, read (not audited), and the facts of those they
    /// may not, from their summaries.
    pub(super) fn group_records(
        &self,
        context: &Context<'_>,
        unlocked: &Unlocked,
        group: &[PatientId],
    ) -> Result<(Vec<PatientRecord>, Vec<RestrictedLink>)> {
        let mut records = Vec::with_capacity(group.len());
        let mut restricted = Vec::new();
        for id in group {
            match self.load(context, *id) {
                Ok(loaded) => records.push(loaded.doc.read(*id)?),
                Err(StoreError::Restricted) => {
                    let summary = unlocked
                        .summaries
                        .get(id)
                        .ok_or(StoreError::PatientNotFound)?;
                    restricted.push(RestrictedLink {
                        id: *id,
                        incident: summary.incident.clone().map(Incident::without_details),
                        sex: summary.sex,
                        birth_date: summary.birth_date,
                        maternity: summary.maternity.clone(),
                    });
                }
                Err(error) => return Err(error),
            }
        }
        Ok((records, restricted))
    }

    /// `patient`'s group read as one for scoring a new set, not audited: `None` where the record
    /// stands alone.
    pub(super) fn group_for_scoring(
        &self,
        context: &Context<'_>,
        patient: PatientId,
    ) -> Result<Option<PatientRecord>> {
        let unlocked = context.unlocked()?;
        let group = group_of(unlocked, patient);
        if group.len() < 2 {
            return Ok(None);
        }
        // A linked record that cannot be read leaves the set scored on its own record's facts.
        Ok(self
            .group_records(context, unlocked, &group)
            .ok()
            .and_then(|(records, restricted)| super::linked::joined(patient, records, restricted)))
    }
}
