//! Records brought in from another system (the GP record, the shared care record) as one action
//! over many patients: matched by NHS number, applied in one transaction, never removing or
//! undoing what a clinician entered.
//!
//! | list | how an import changes it |
//! |---|---|
//! | allergies, alerts | merged by the entry's id, derived from the source's identifier ([`SourceIdentifier::entry_id`]): a new entry is added; an imported entry whose content changed at the source is updated in place; its status moves only forward (active → resolved → entered in error). An entry made on a device is never changed by an import, content or status |
//! | "no known allergies" | recorded as the source asserted it, unless an allergy is active on the record |
//! | medicines, problems | the source's snapshot replaces the one held when it is newer; an older snapshot is kept out and counted as stale |
//! | demographics | used to register a patient not yet on the device (unless the import is for patients already held); for a patient held they are compared, never written: a different date of birth or first given name refuses that patient (the rest of the file applies), any other difference is reported to check |

use chrono::Utc;
use serde::Serialize;

use super::audit::{self, AuditAction};
use super::error::{Result, StoreError};
use super::persist;
use super::record::{
    AllergyEntry, AllergyStatus, EntryContainer, EntryStatus, FlagEntry, NewPatient, PatientRecord,
    RecordDoc, Recorded, Snapshot, SnapshotList, SourceIdentifier,
};
use super::session::Session;
use super::summary::PatientSummary;
use crate::ids::{EntryId, PatientId};
use crate::nhs_number::NhsNumber;
use crate::observation::Role;
use crate::patient::{Allergy, Demographics, Flag, Medication};
use crate::permission::Action;

/// An allergy or alert as the source holds it, under the id every device derives from the
/// source's identifier, so that imports on two devices meet in one entry.
#[derive(Clone)]
pub struct Imported<T> {
    pub id: EntryId,
    /// The source's identifier; `None` for an entry that was made in Doorstep and comes back.
    pub source: Option<SourceIdentifier>,
    pub item: T,
    pub status: EntryStatus,
}

/// One patient's record as a source system sends it.
#[derive(Clone)]
pub struct RecordImport {
    pub demographics: Demographics,
    pub allergies: Vec<Imported<Allergy>>,
    pub flags: Vec<Imported<Flag>>,
    /// `None`: the source sent no medicines list (not the same as an empty one).
    pub medications: Option<Snapshot<Medication>>,
    pub problems: Option<Snapshot<String>>,
    /// The source asserts the patient has no known allergies.
    pub no_known_allergies: bool,
}

impl<T> std::fmt::Debug for Imported<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Imported({}, <redacted>)", self.id)
    }
}

impl std::fmt::Debug for RecordImport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecordImport(<redacted>)")
    }
}

/// What an import did, in counts: no patient data.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImportOutcome {
    pub patients_created: usize,
    pub patients_updated: usize,
    pub patients_unchanged: usize,
    pub entries_added: usize,
    pub entries_updated: usize,
    /// Entries whose content or status the source would have changed but that a device's entry
    /// or a clinician's later decision keeps.
    pub entries_kept: usize,
    /// Medicines or problems lists taken in: none was held, or the source's is newer.
    pub snapshots_applied: usize,
    /// Medicines or problems lists older than the one held: not applied.
    pub snapshots_stale: usize,
    /// "No known allergies" recorded as the source asserted it.
    pub no_known_allergies_recorded: usize,
    /// Positions (in the import, from 1) of patients whose family name, sex, address or GP
    /// practice differ from the record held: the record is not changed; someone should check
    /// which is right.
    pub demographics_differ: Vec<usize>,
    /// Positions of patients refused: the NHS number is held for someone whose date of birth or
    /// first given name differs. Nothing of theirs was applied; which detail differs is not said.
    pub refused: Vec<usize>,
    /// Positions of patients not on this device, left out of an import for patients held.
    pub not_held: Vec<usize>,
}

/// How an import treats patients not yet on the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NewPatients {
    /// Registered from the source's details: the file is the team's caseload or referrals.
    Register,
    /// Left out and reported: the file covers more people than the team cares for.
    LeaveOut,
}

#[derive(Clone, Copy, Default)]
struct Changes {
    any: bool,
}

impl Session {
    /// Applies `records` in one transaction: everything or nothing. `source` says where they came
    /// from ("Lantern Surgery GP record") for the audit trail. `progress` is told how many
    /// patients are done.
    pub fn import_records(
        &self,
        records: &[RecordImport],
        source: &str,
        new_patients: NewPatients,
        mut progress: impl FnMut(usize),
    ) -> Result<ImportOutcome> {
        self.permit(Action::ImportRecords)?;
        let importer = self.author().role;
        let protocol = self.protocol()?;
        let recorded = Recorded {
            by: self.author(),
            at: Utc::now(),
        };
        let reason = format!("imported from {}", source.trim());
        let mut outcome = ImportOutcome::default();
        let mut context = self.context()?;
        let mut summaries = Vec::new();
        {
            let (connection, unlocked) = context.parts()?;
            let key = &unlocked.key;
            let mut held: std::collections::HashMap<NhsNumber, Vec<&PatientSummary>> =
                std::collections::HashMap::new();
            for summary in unlocked.summaries.values() {
                if let Some(number) = summary.registered_nhs_number() {
                    held.entry(number).or_default().push(summary);
                }
            }
            let transaction = connection.transaction()?;
            for (position, import) in records.iter().enumerate() {
                let nhs_number = import.demographics.nhs_number;
                let holding = held.get(&nhs_number).map(Vec::as_slice).unwrap_or_default();
                // Two records hold the number (a duplicate registration): which one the source
                // means is for a clinician to settle, never a guess.
                if holding.len() > 1 {
                    outcome.refused.push(position + 1);
                    progress(position + 1);
                    continue;
                }
                let (patient, mut doc, created) = match holding.first() {
                    None if new_patients == NewPatients::LeaveOut => {
                        outcome.not_held.push(position + 1);
                        progress(position + 1);
                        continue;
                    }
                    Some(summary) => {
                        let loaded =
                            persist::load_doc(&transaction, key, summary.id, self.actor())?;
                        (summary.id, loaded, false)
                    }
                    None => {
                        let id = PatientId::random();
                        let new = NewPatient::with_demographics(import.demographics.clone());
                        let doc = RecordDoc::create(self.actor(), &new, recorded, &protocol)?;
                        (
                            id,
                            persist::LoadedDoc {
                                doc,
                                state: persist::DocState::default(),
                            },
                            true,
                        )
                    }
                };
                let record = doc.doc.read(patient)?;
                if !created {
                    if !same_person(&record, &import.demographics) {
                        // Audited: the attempt, not what differs.
                        audit::append(
                            &transaction,
                            key,
                            self.event(
                                AuditAction::ImportRecord,
                                Some(patient),
                                Some(format!(
                                    "{reason}: refused, the details do not match the patient held with this NHS number"
                                )),
                            ),
                        )?;
                        outcome.refused.push(position + 1);
                        progress(position + 1);
                        continue;
                    }
                    if differs(&record, &import.demographics) {
                        outcome.demographics_differ.push(position + 1);
                    }
                }
                let changes = apply(
                    &mut doc.doc,
                    &record,
                    import,
                    recorded,
                    importer,
                    &mut outcome,
                )?;
                if created {
                    persist::insert_doc(&transaction, key, patient, &mut doc.doc)?;
                    outcome.patients_created += 1;
                } else if changes.any {
                    persist::append_changes(&transaction, key, patient, &mut doc)?;
                    outcome.patients_updated += 1;
                } else {
                    outcome.patients_unchanged += 1;
                }
                if created || changes.any {
                    persist::mark_dirty(&transaction, patient)?;
                    let summary = PatientSummary::of(&doc.doc.read(patient)?);
                    persist::write_summary(&transaction, key, &summary)?;
                    let action = if created {
                        AuditAction::CreateRecord
                    } else {
                        AuditAction::ImportRecord
                    };
                    audit::append(
                        &transaction,
                        key,
                        self.event(action, Some(patient), Some(reason.clone())),
                    )?;
                    summaries.push(summary);
                }
                progress(position + 1);
            }
            transaction.commit()?;
        }
        let cache = context.summaries()?;
        for summary in summaries {
            cache.insert(summary.id, summary);
        }
        Ok(outcome)
    }
}

/// Whether the source's patient is the one held with that NHS number: the same date of birth and
/// the same first given name (twins share a date of birth; a family name changes on marriage).
fn same_person(record: &PatientRecord, source: &Demographics) -> bool {
    let first = |given: &str| {
        given
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_lowercase()
    };
    record.birth_date == Some(source.birth_date) && first(&record.given) == first(&source.given)
}

/// Whether the held record's other details differ from the source's.
fn differs(record: &PatientRecord, source: &Demographics) -> bool {
    let Some(held) = record.demographics() else {
        return true;
    };
    held.given != source.given
        || held.family != source.family
        || held.sex != source.sex
        || held.address != source.address
        || held.gp_practice != source.gp_practice
}

/// Writes what `import` changes in `doc` (read as `record`) and commits it as one change.
fn apply(
    doc: &mut RecordDoc,
    record: &PatientRecord,
    import: &RecordImport,
    recorded: Recorded,
    importer: Role,
    outcome: &mut ImportOutcome,
) -> Result<Changes> {
    let mut changes = Changes::default();
    let mut merge = Merge {
        doc,
        recorded,
        importer,
        changes: &mut changes,
        outcome,
    };
    for allergy in &import.allergies {
        let held = record
            .allergies
            .iter()
            .find(|entry| entry.id == allergy.id)
            .map(|entry| (&entry.allergy, entry.status, entry.source.is_some()));
        let entry = AllergyEntry {
            id: allergy.id,
            allergy: allergy.item.clone(),
            recorded,
            status: EntryStatus::Active,
            source: allergy.source.clone(),
        };
        merge.entry(EntryContainer::Allergies, allergy, held, &entry)?;
    }
    for flag in &import.flags {
        let held = record
            .flags
            .iter()
            .find(|entry| entry.id == flag.id)
            .map(|entry| (&entry.flag, entry.status, entry.source.is_some()));
        let entry = FlagEntry {
            id: flag.id,
            flag: flag.item.clone(),
            recorded,
            status: EntryStatus::Active,
            source: flag.source.clone(),
        };
        merge.entry(EntryContainer::Flags, flag, held, &entry)?;
    }
    let Merge {
        doc,
        changes,
        outcome,
        ..
    } = merge;
    if import.no_known_allergies {
        // Read again: this import's own allergies count.
        let active = doc.read(record.id)?.allergy_status;
        match active {
            AllergyStatus::NoKnownAllergies { .. } => {}
            AllergyStatus::Recorded => outcome.entries_kept += 1,
            AllergyStatus::NotRecorded => {
                doc.put_no_known_allergies(recorded)?;
                outcome.no_known_allergies_recorded += 1;
                changes.any = true;
            }
        }
    }
    if let Some(snapshot) = &import.medications {
        replace_snapshot(
            doc,
            SnapshotList::Medications,
            record.medications.as_ref(),
            snapshot,
            changes,
            outcome,
        )?;
    }
    if let Some(snapshot) = &import.problems {
        replace_snapshot(
            doc,
            SnapshotList::Problems,
            record.problems.as_ref(),
            snapshot,
            changes,
            outcome,
        )?;
    }
    if changes.any {
        doc.commit_import(recorded.at);
    }
    Ok(*changes)
}

/// How far along an entry's life a status is: an import moves it only forward.
fn stage(status: EntryStatus) -> u8 {
    match status {
        EntryStatus::Active => 0,
        EntryStatus::Resolved => 1,
        EntryStatus::EnteredInError => 2,
    }
}

/// What merging one entry needs besides the entry.
struct Merge<'a> {
    doc: &'a mut RecordDoc,
    recorded: Recorded,
    importer: Role,
    changes: &'a mut Changes,
    outcome: &'a mut ImportOutcome,
}

impl Merge<'_> {
    fn entry<T: PartialEq, E: Serialize>(
        &mut self,
        container: EntryContainer,
        import: &Imported<T>,
        held: Option<(&T, EntryStatus, bool)>,
        entry: &E,
    ) -> Result<()> {
        // An imported entry lives under the id its identifier gives, or it is not the source's.
        if import
            .source
            .as_ref()
            .is_some_and(|source| source.entry_id() != import.id)
        {
            return Err(StoreError::InvalidValue {
                field: "entry id",
                expected: "the id derived from the entry's source identifier",
            });
        }
        match held {
            None => {
                // Nothing to correct: an entry the source withdrew and this record never held.
                // An integration device brings in only the source's own entries.
                if import.status == EntryStatus::EnteredInError
                    || (import.source.is_none() && self.importer == Role::Integration)
                {
                    if import.source.is_none() {
                        self.outcome.entries_kept += 1;
                    }
                    return Ok(());
                }
                self.doc.put_imported_entry(container, import.id, entry)?;
                if import.status != EntryStatus::Active {
                    self.doc.put_entry_status(
                        container,
                        import.id,
                        import.status,
                        self.recorded,
                    )?;
                }
                self.outcome.entries_added += 1;
                self.changes.any = true;
            }
            // An entry made on a device is the clinician's: an import never changes it.
            Some((item, status, false)) => {
                if *item != import.item || status != import.status {
                    self.outcome.entries_kept += 1;
                }
            }
            Some((item, status, true)) => {
                let mut touched = false;
                if *item != import.item {
                    self.doc.put_imported_entry(container, import.id, entry)?;
                    touched = true;
                }
                let mut kept = false;
                if import.status != status {
                    if stage(import.status) > stage(status) {
                        self.doc.put_entry_status(
                            container,
                            import.id,
                            import.status,
                            self.recorded,
                        )?;
                        touched = true;
                    } else {
                        kept = true;
                    }
                }
                if touched {
                    self.outcome.entries_updated += 1;
                    self.changes.any = true;
                } else if kept {
                    self.outcome.entries_kept += 1;
                }
            }
        }
        Ok(())
    }
}

fn replace_snapshot<T: PartialEq + Serialize>(
    doc: &mut RecordDoc,
    list: SnapshotList,
    held: Option<&Snapshot<T>>,
    snapshot: &Snapshot<T>,
    changes: &mut Changes,
    outcome: &mut ImportOutcome,
) -> Result<()> {
    match held {
        Some(held) if held.as_of > snapshot.as_of => outcome.snapshots_stale += 1,
        Some(held) if held == snapshot => {}
        _ => {
            doc.put_snapshot(list, snapshot)?;
            outcome.snapshots_applied += 1;
            changes.any = true;
        }
    }
    Ok(())
}
