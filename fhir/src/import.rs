//! FHIR bundles from the GP record or the shared care record into a device store.
//!
//! [`read_bundle`] checks the whole file before anything is written: bundle type, every
//! `value[x]`-style choice holding at most one value (exactly one where R4 requires it), each
//! Patient's NHS number (modulus 11), each entry's reference to a Patient in the bundle. Any fault
//! refuses the file with an error that names the entry and the field and never the patient. What
//! Doorstep does not import (observations, encounters) is listed as skipped, not silently lost.
//! [`apply`] then hands the checked records to the core, which applies them in one transaction.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use doorstep_core::patient::{
    Address, Allergy, AllergySeverity, Demographics, Flag as CoreFlag, FlagKind, GpPractice,
    Medication as CoreMedication, MedicationStatus, Sex,
};
use doorstep_core::store::{
    CLOCK_SKEW_TOLERANCE_MINUTES, EntryStatus, ImportOutcome, Imported, NewPatients, RecordImport,
    Session, Snapshot, SourceIdentifier, StoreError,
};
use doorstep_core::{EntryId, NhsNumber};
use serde::Serialize;
use serde_json::Value;

use crate::codes;
use crate::types::{
    AllergyIntolerance, Bundle, CodeableConcept, Condition, Flag, MedicationStatement, Patient,
    Reference, Resource,
};

/// Why a file was refused. Says where and what, never a patient's details.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(
        "the file is not JSON (line {line}, column {column}): export it from the source again as FHIR JSON"
    )]
    NotJson { line: usize, column: usize },
    #[error("the file is not a FHIR Bundle: {0}")]
    NotABundle(&'static str),
    #[error(
        "the file is larger than {MAX_FILE_MIB} MiB: ask the source for it in parts (one practice or team at a time)"
    )]
    TooLarge,
    #[error(
        "entry {entry} ({resource}), {field}: {problem}. Nothing was imported; correct the file at its source and import it again"
    )]
    Entry {
        /// Counted from 1, in the order of the bundle's `entry` array.
        entry: usize,
        resource: String,
        field: String,
        problem: String,
    },
}

/// A file checked and ready to apply.
#[derive(Debug)]
pub struct ImportPlan {
    pub records: Vec<RecordImport>,
    /// The bundle entry (from 1) each record's Patient came from.
    pub patient_entries: Vec<usize>,
    /// Where the file says it came from, for the audit trail.
    pub source: String,
    pub skipped: Vec<Skipped>,
}

/// An entry the import leaves out, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub entry: usize,
    pub resource: String,
    pub reason: &'static str,
}

/// Files larger than this are refused before they are parsed: a caseload's feed is a few MiB
/// (1,000 patients with their lists: 3.6 MB), and a device must not run out of memory on one.
pub const MAX_FILE_MIB: usize = 64;

/// What an import did, with what it left out. Patients are named by their Bundle entry (from 1).
#[derive(Debug, Serialize)]
pub struct ImportReport {
    #[serde(flatten)]
    pub outcome: ImportOutcome,
    /// Patients whose family name, sex, address or GP practice differ from the record held
    /// (the record is not changed).
    pub demographics_differ_entries: Vec<usize>,
    /// Patients refused: their NHS number is held for someone else (another date of birth or
    /// first given name). Nothing of theirs was applied.
    pub refused_entries: Vec<usize>,
    /// Patients not on this device, left out of an import for patients held.
    pub not_held_entries: Vec<usize>,
    pub skipped: Vec<Skipped>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Applies a checked file in one transaction; `progress` counts patients done.
pub fn apply(
    session: &Session,
    plan: &ImportPlan,
    source: Option<&str>,
    new_patients: NewPatients,
    progress: impl FnMut(usize),
) -> Result<ImportReport, ApplyError> {
    let source = source.unwrap_or(&plan.source);
    let entries = |records: &[usize]| -> Vec<usize> {
        records
            .iter()
            .filter_map(|record| plan.patient_entries.get(record - 1).copied())
            .collect()
    };
    let outcome = session.import_records(&plan.records, source, new_patients, progress)?;
    Ok(ImportReport {
        demographics_differ_entries: entries(&outcome.demographics_differ),
        refused_entries: entries(&outcome.refused),
        not_held_entries: entries(&outcome.not_held),
        outcome,
        skipped: plan.skipped.clone(),
    })
}

/// Bundle types that carry resources as they are (a `history` or `message` bundle does not).
const BUNDLE_TYPES: [&str; 4] = ["collection", "searchset", "transaction", "document"];

/// Reads and checks a FHIR JSON bundle. Nothing is written.
pub fn read_bundle(text: &str) -> Result<ImportPlan, ImportError> {
    if text.len() > MAX_FILE_MIB * 1024 * 1024 {
        return Err(ImportError::TooLarge);
    }
    let value: Value = serde_json::from_str(text).map_err(|error| ImportError::NotJson {
        line: error.line(),
        column: error.column(),
    })?;
    if value.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        return Err(ImportError::NotABundle("its resourceType is not Bundle"));
    }
    let bundle_type = value
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if !BUNDLE_TYPES.contains(&bundle_type.as_str()) {
        return Err(ImportError::NotABundle(
            "Bundle.type must be collection, searchset, transaction or document",
        ));
    }
    match value.get("entry") {
        None => {}
        Some(Value::Array(entries)) => {
            for (index, raw) in entries.iter().enumerate() {
                check_choices(index + 1, raw)?;
            }
        }
        Some(_) => return Err(ImportError::NotABundle("Bundle.entry is not a list")),
    }
    // A transaction carries changes, and a page of a search part of the result: neither holds a
    // patient's whole medicines or problem list, and taking it for one would drop the rest.
    let next_page = value
        .get("link")
        .and_then(Value::as_array)
        .is_some_and(|links| {
            links
                .iter()
                .any(|link| link.get("relation").and_then(Value::as_str) == Some("next"))
        });
    let whole_lists = bundle_type != "transaction" && !next_page;
    let bundle: Bundle = typed(0, "Bundle", "Bundle", value)?;
    let timestamp = match &bundle.timestamp {
        Some(text) => Some(instant(0, "Bundle", "Bundle.timestamp", text)?),
        None => None,
    };
    let reader = Reader::new(&bundle)?;
    reader.read(timestamp, whole_lists)
}

/// Entry numbers of the bundle by every name a reference may use for them.
struct Reader<'a> {
    bundle: &'a Bundle,
    names: HashMap<String, usize>,
}

/// A medicine or problem with who asserted it.
struct ListItem<T> {
    item: T,
    source: Option<String>,
}

/// A list entry read: the item when it belongs on the list, and when the source asserted it
/// (which dates the list either way).
type MedicineRead = (Option<ListItem<CoreMedication>>, Option<DateTime<Utc>>);
type ProblemRead = (Option<ListItem<String>>, Option<DateTime<Utc>>);

/// A patient being assembled from the entries that refer to them.
struct Assembling {
    entry: usize,
    record: RecordImport,
    medications: Vec<ListItem<CoreMedication>>,
    problems: Vec<ListItem<String>>,
    /// Whether the source listed any medicine or problem for them at all (a list of only stopped
    /// medicines is an empty list, not a missing one).
    medicines_listed: bool,
    problems_listed: bool,
    /// The latest time any of the list's entries was asserted, stopped ones included: a list
    /// that stops a medicine is as new as the stopping.
    medicines_asserted: Option<DateTime<Utc>>,
    problems_asserted: Option<DateTime<Utc>>,
}

#[derive(Clone, Copy)]
enum List {
    Medicines,
    Problems,
}

impl Assembling {
    fn asserted(&mut self, at: Option<DateTime<Utc>>, list: List) {
        let latest = match list {
            List::Medicines => &mut self.medicines_asserted,
            List::Problems => &mut self.problems_asserted,
        };
        *latest = (*latest).max(at);
    }
}

const PART_OF_A_LIST: &str = "a transaction, or one page of a search, is not a whole medicines or problem list: the lists held are kept; import the whole list";

impl<'a> Reader<'a> {
    /// Names every entry by its full URL and by `Type/id`. Two entries answering to one name
    /// refuse the file: a reference to it could attach an allergy to the wrong patient.
    fn new(bundle: &'a Bundle) -> Result<Self, ImportError> {
        let mut names = HashMap::new();
        for (index, entry) in bundle.entry.iter().enumerate() {
            let number = index + 1;
            let kind = resource_type(&entry.resource);
            let relative = match (kind, resource_id(&entry.resource)) {
                (Some(kind), Some(id)) => Some(format!("{kind}/{id}")),
                _ => None,
            };
            for name in entry.full_url.iter().cloned().chain(relative) {
                if let Some(first) = names.insert(name, number)
                    && first != number
                {
                    return Err(entry_error(
                        number,
                        kind.unwrap_or("unknown"),
                        "fullUrl or id",
                        &format!(
                            "the same name as entry {first}; a reference to it could mean either"
                        ),
                    ));
                }
            }
        }
        Ok(Self { bundle, names })
    }

    /// The entry a reference points at: exactly by full URL, or a relative `Type/id` by the
    /// entry's own `Type/id`. An absolute URL names a resource on that server, never one here
    /// that happens to share its id.
    fn resolve(&self, reference: &Reference) -> Option<usize> {
        let target = reference.reference.as_deref()?;
        self.names.get(target).copied()
    }

    fn read(
        &self,
        timestamp: Option<DateTime<Utc>>,
        whole_lists: bool,
    ) -> Result<ImportPlan, ImportError> {
        let mut patients: Vec<Assembling> = Vec::new();
        let mut by_entry: HashMap<usize, usize> = HashMap::new();
        let mut skipped = Vec::new();
        let mut seen_nhs: HashMap<NhsNumber, usize> = HashMap::new();
        // Patients first: every other resource refers to one.
        for (index, entry) in self.bundle.entry.iter().enumerate() {
            if let Resource::Patient(patient) = &entry.resource {
                let number = index + 1;
                let demographics = self.demographics(number, patient)?;
                if let Some(first) = seen_nhs.insert(demographics.nhs_number, number) {
                    return Err(entry_error(
                        number,
                        "Patient",
                        "Patient.identifier (NHS number)",
                        &format!("the same NHS number as entry {first}; send each patient once"),
                    ));
                }
                by_entry.insert(number, patients.len());
                patients.push(Assembling {
                    entry: number,
                    record: RecordImport {
                        demographics,
                        allergies: Vec::new(),
                        flags: Vec::new(),
                        medications: None,
                        problems: None,
                        no_known_allergies: false,
                    },
                    medications: Vec::new(),
                    problems: Vec::new(),
                    medicines_listed: false,
                    problems_listed: false,
                    medicines_asserted: None,
                    problems_asserted: None,
                });
            }
        }
        let patient_of = |reader: &Self,
                          number: usize,
                          kind: &str,
                          field: &str,
                          reference: &Reference|
         -> Result<usize, ImportError> {
            reader
                .resolve(reference)
                .and_then(|target| by_entry.get(&target).copied())
                .ok_or_else(|| {
                    entry_error(
                        number,
                        kind,
                        field,
                        "refers to no Patient in this bundle; send the Patient with it",
                    )
                })
        };
        for (index, entry) in self.bundle.entry.iter().enumerate() {
            let number = index + 1;
            match &entry.resource {
                Resource::Patient(_) | Resource::Organization(_) | Resource::Medication(_) => {}
                Resource::AllergyIntolerance(allergy) => {
                    let at = patient_of(
                        self,
                        number,
                        "AllergyIntolerance",
                        "AllergyIntolerance.patient",
                        &allergy.patient,
                    )?;
                    match allergy_of(number, allergy)? {
                        AllergyRead::Allergy(allergy) => patients[at].record.allergies.push(allergy),
                        AllergyRead::NoKnownAllergies => {
                            patients[at].record.no_known_allergies = true;
                        }
                        AllergyRead::Withdrawn => {}
                    }
                }
                Resource::Flag(flag) => {
                    let at = patient_of(self, number, "Flag", "Flag.subject", &flag.subject)?;
                    patients[at].record.flags.push(alert_of(number, flag)?);
                }
                Resource::MedicationStatement(statement) => {
                    let at = patient_of(
                        self,
                        number,
                        "MedicationStatement",
                        "MedicationStatement.subject",
                        &statement.subject,
                    )?;
                    if !whole_lists {
                        skipped.push(Skipped {
                            entry: number,
                            resource: "MedicationStatement".to_owned(),
                            reason: PART_OF_A_LIST,
                        });
                        continue;
                    }
                    patients[at].medicines_listed = true;
                    let (medicine, asserted) = self.medicine_of(number, statement)?;
                    patients[at].asserted(asserted, List::Medicines);
                    if let Some(medicine) = medicine {
                        patients[at].medications.push(medicine);
                    }
                }
                Resource::Condition(condition) => {
                    let at = patient_of(
                        self,
                        number,
                        "Condition",
                        "Condition.subject",
                        &condition.subject,
                    )?;
                    if !whole_lists {
                        skipped.push(Skipped {
                            entry: number,
                            resource: "Condition".to_owned(),
                            reason: PART_OF_A_LIST,
                        });
                        continue;
                    }
                    patients[at].problems_listed = true;
                    let (problem, asserted) = problem_of(number, condition)?;
                    patients[at].asserted(asserted, List::Problems);
                    if let Some(problem) = problem {
                        patients[at].problems.push(problem);
                    }
                }
                Resource::Observation(_) => skipped.push(Skipped {
                    entry: number,
                    resource: "Observation".to_owned(),
                    reason: "observations are not imported: Doorstep records its own at the visit; check the source for anything coded as an observation",
                }),
                Resource::Practitioner(_) => {}
                Resource::Composition(_) | Resource::Provenance(_) => skipped.push(Skipped {
                    entry: number,
                    resource: resource_type(&entry.resource).unwrap_or("unknown").to_owned(),
                    reason: "a document's own parts are not imported; its allergies, alerts, medicines and problems are",
                }),
                Resource::Other(other) => skipped.push(Skipped {
                    entry: number,
                    resource: other
                        .get("resourceType")
                        .and_then(Value::as_str)
                        .unwrap_or("unknown")
                        .to_owned(),
                    reason: "a resource Doorstep does not import",
                }),
            }
        }
        let source = self.source_name();
        let mut records = Vec::with_capacity(patients.len());
        let mut patient_entries = Vec::with_capacity(patients.len());
        for mut patient in patients {
            if patient.medicines_listed {
                let as_of = as_of(
                    timestamp,
                    patient.medicines_asserted,
                    patient.entry,
                    "MedicationStatement.dateAsserted",
                )?;
                patient.record.medications = Some(Snapshot {
                    source: list_source(&patient.medications, &source),
                    as_of,
                    items: patient
                        .medications
                        .into_iter()
                        .map(|item| item.item)
                        .collect(),
                });
            }
            if patient.problems_listed {
                let as_of = as_of(
                    timestamp,
                    patient.problems_asserted,
                    patient.entry,
                    "Condition extension condition-assertedDate",
                )?;
                patient.record.problems = Some(Snapshot {
                    source: list_source(&patient.problems, &source),
                    as_of,
                    items: patient.problems.into_iter().map(|item| item.item).collect(),
                });
            }
            patient_entries.push(patient.entry);
            records.push(patient.record);
        }
        Ok(ImportPlan {
            records,
            patient_entries,
            source,
            skipped,
        })
    }

    fn demographics(&self, number: usize, patient: &Patient) -> Result<Demographics, ImportError> {
        let fail = |field: &str, problem: &str| entry_error(number, "Patient", field, problem);
        let identifier = patient
            .identifier
            .iter()
            .find(|identifier| identifier.system == codes::NHS_NUMBER)
            .ok_or_else(|| {
                fail(
                    "Patient.identifier",
                    "no NHS number (system https://fhir.nhs.uk/Id/nhs-number); Doorstep matches patients by it",
                )
            })?;
        let nhs_number = NhsNumber::parse(&identifier.value)
            .map_err(|error| fail("Patient.identifier (NHS number)", &format!("{error}")))?;
        let name = patient
            .name
            .iter()
            .find(|name| name.name_use.as_deref() == Some("official"))
            .or_else(|| patient.name.first())
            .ok_or_else(|| fail("Patient.name", "missing"))?;
        let family = name
            .family
            .as_deref()
            .map(str::trim)
            .filter(|family| !family.is_empty())
            .ok_or_else(|| fail("Patient.name.family", "missing"))?
            .to_owned();
        let given = name.given.join(" ").trim().to_owned();
        let birth_date = patient
            .birth_date
            .as_deref()
            .ok_or_else(|| fail("Patient.birthDate", "missing"))?;
        let birth_date = NaiveDate::parse_from_str(birth_date, "%Y-%m-%d").map_err(|_| {
            fail(
                "Patient.birthDate",
                "not a full date (YYYY-MM-DD); NEWS2 needs the exact age",
            )
        })?;
        let sex = match patient.gender.as_deref() {
            Some("female") => Sex::Female,
            Some("male") => Sex::Male,
            Some("other") => Sex::Other,
            Some("unknown") | None => Sex::Unknown,
            Some(_) => {
                return Err(fail(
                    "Patient.gender",
                    "not one of male, female, other, unknown",
                ));
            }
        };
        let address = patient
            .address
            .iter()
            .find(|address| address.address_use.as_deref() == Some("home"))
            .or_else(|| patient.address.first());
        let address = Address {
            lines: address
                .map(|address| address.line.clone())
                .unwrap_or_default(),
            town: address
                .and_then(|address| address.city.clone())
                .unwrap_or_default(),
            postcode: address
                .and_then(|address| address.postal_code.clone())
                .unwrap_or_default(),
        };
        Ok(Demographics {
            nhs_number,
            given,
            family,
            birth_date,
            sex,
            address,
            gp_practice: self.practice(patient),
            contacts: Vec::new(),
        })
    }

    /// The registered GP practice: the reference's ODS code and name, or the Organization it
    /// points at in the bundle.
    fn practice(&self, patient: &Patient) -> GpPractice {
        let Some(reference) = patient.general_practitioner.first() else {
            return GpPractice::default();
        };
        let organization = self.resolve(reference).and_then(|entry| {
            match &self.bundle.entry.get(entry - 1)?.resource {
                Resource::Organization(organization) => Some(organization.as_ref()),
                _ => None,
            }
        });
        let ods_code = reference
            .identifier
            .iter()
            .chain(
                organization
                    .iter()
                    .flat_map(|found| found.identifier.iter()),
            )
            .find(|identifier| identifier.system == codes::ODS_CODE)
            .map(|identifier| identifier.value.clone())
            .unwrap_or_default();
        let name = reference
            .display
            .clone()
            .or_else(|| organization.and_then(|found| found.name.clone()))
            .unwrap_or_default();
        GpPractice { ods_code, name }
    }

    fn medicine_of(
        &self,
        number: usize,
        statement: &MedicationStatement,
    ) -> Result<MedicineRead, ImportError> {
        let kind = "MedicationStatement";
        let asserted = match &statement.date_asserted {
            Some(text) => Some(instant(
                number,
                kind,
                "MedicationStatement.dateAsserted",
                text,
            )?),
            None => None,
        };
        // On the list: what the patient takes, has on hold, is to start, or may take. Stopped,
        // completed and withdrawn statements say it is not taken (and still date the list).
        let status = match statement.status.as_str() {
            "active" => MedicationStatus::Active,
            "on-hold" => MedicationStatus::OnHold,
            "intended" => MedicationStatus::NotStarted,
            "unknown" => MedicationStatus::Unknown,
            _ => return Ok((None, asserted)),
        };
        let concept = match (
            &statement.medication_codeable_concept,
            &statement.medication_reference,
        ) {
            (Some(concept), _) => Some(concept.clone()),
            (None, Some(reference)) => self.resolve(reference).and_then(|entry| {
                match &self.bundle.entry.get(entry - 1)?.resource {
                    Resource::Medication(medication) => medication.code.clone(),
                    _ => None,
                }
            }),
            (None, None) => None,
        };
        let name = concept.as_ref().and_then(words).ok_or_else(|| {
            entry_error(
                number,
                kind,
                "MedicationStatement.medication[x]",
                "names no medicine (text or a coding's display, or a Medication in the bundle)",
            )
        })?;
        let dosage = statement.dosage.first();
        let dose = dosage
            .and_then(|dosage| dosage.text.clone())
            .unwrap_or_default();
        let frequency = dosage
            .and_then(|dosage| dosage.timing.as_ref())
            .and_then(|timing| timing.code.as_ref())
            .and_then(words)
            .unwrap_or_default();
        let source = statement
            .information_source
            .as_ref()
            .and_then(|source| source.display.clone());
        Ok((
            Some(ListItem {
                item: CoreMedication {
                    name,
                    dose,
                    frequency,
                    status,
                },
                source,
            }),
            asserted,
        ))
    }

    /// Where the file came from: the Organization it carries (the GP practice or the shared
    /// record's owner), else what a FHIR import is.
    fn source_name(&self) -> String {
        self.bundle
            .entry
            .iter()
            .find_map(|entry| match &entry.resource {
                Resource::Organization(organization) => organization.name.clone(),
                _ => None,
            })
            .unwrap_or_else(|| "a FHIR import".to_owned())
    }
}

/// The allergy an AllergyIntolerance records, or that the patient has no known allergy (SNOMED CT 716186003, which UK Core uses for it): that is an allergy status, and
/// shown as an allergy it would read as one.
fn allergy_of(number: usize, allergy: &AllergyIntolerance) -> Result<AllergyRead, ImportError> {
    let kind = "AllergyIntolerance";
    let no_known_allergy = allergy
        .code
        .as_ref()
        .is_some_and(|code| code.has(codes::SNOMED, codes::NO_KNOWN_ALLERGY.0));
    let verification = allergy
        .verification_status
        .as_ref()
        .and_then(|concept| code_in(concept, codes::ALLERGY_VERIFICATION));
    let clinical = allergy
        .clinical_status
        .as_ref()
        .and_then(|concept| code_in(concept, codes::ALLERGY_CLINICAL));
    let status = match (verification, clinical) {
        (Some("entered-in-error"), _) => EntryStatus::EnteredInError,
        // Disproven: no longer an allergy to act on, and not a recording mistake either.
        (Some("refuted"), _) | (_, Some("inactive" | "resolved")) => EntryStatus::Resolved,
        _ => EntryStatus::Active,
    };
    if no_known_allergy {
        return Ok(if status == EntryStatus::Active {
            AllergyRead::NoKnownAllergies
        } else {
            AllergyRead::Withdrawn
        });
    }
    let (id, source) = identity(number, kind, &allergy.identifier)?;
    let substance = allergy.code.as_ref().and_then(words).ok_or_else(|| {
        entry_error(
            number,
            kind,
            "AllergyIntolerance.code",
            "names no substance (text or a coding's display)",
        )
    })?;
    // Every reaction the source knows, and the worst severity of any: a later anaphylaxis must
    // not hide behind an earlier rash.
    let mut manifestations: Vec<String> = Vec::new();
    let mut severity = AllergySeverity::NotRecorded;
    for reaction in &allergy.reaction {
        for manifestation in reaction.manifestation.iter().filter_map(words) {
            if !manifestations.contains(&manifestation) {
                manifestations.push(manifestation);
            }
        }
        let this = match reaction.severity.as_deref() {
            Some("mild") => AllergySeverity::Mild,
            Some("moderate") => AllergySeverity::Moderate,
            Some("severe") => AllergySeverity::Severe,
            None => AllergySeverity::NotRecorded,
            Some(_) => {
                return Err(entry_error(
                    number,
                    kind,
                    "AllergyIntolerance.reaction.severity",
                    "not one of mild, moderate, severe",
                ));
            }
        };
        severity = worse(severity, this);
    }
    Ok(AllergyRead::Allergy(Imported {
        id,
        source,
        item: Allergy {
            substance,
            reaction: manifestations.join(", "),
            severity,
        },
        status,
    }))
}

/// What an AllergyIntolerance says.
enum AllergyRead {
    Allergy(Imported<Allergy>),
    NoKnownAllergies,
    /// A "no known allergy" the source withdrew: nothing to record.
    Withdrawn,
}

fn worse(a: AllergySeverity, b: AllergySeverity) -> AllergySeverity {
    let rank = |severity| match severity {
        AllergySeverity::NotRecorded => 0,
        AllergySeverity::Mild => 1,
        AllergySeverity::Moderate => 2,
        AllergySeverity::Severe => 3,
    };
    if rank(b) > rank(a) { b } else { a }
}

/// The alert a Flag raises, or `None` for a kind Doorstep does not show.
/// The alert a Flag raises. A kind Doorstep has no name for is still an alert: shown as "Alert"
/// in the source's words, never dropped.
fn alert_of(number: usize, flag: &Flag) -> Result<Imported<CoreFlag>, ImportError> {
    let kind = "Flag";
    let (id, source) = identity(number, kind, &flag.identifier)?;
    let status = match flag.status.as_str() {
        "active" => EntryStatus::Active,
        "inactive" => EntryStatus::Resolved,
        "entered-in-error" => EntryStatus::EnteredInError,
        _ => {
            return Err(entry_error(
                number,
                kind,
                "Flag.status",
                "not one of active, inactive, entered-in-error",
            ));
        }
    };
    let alert_kind = [
        FlagKind::Dnacpr,
        FlagKind::Respect,
        FlagKind::EndOfLifeWishes,
        FlagKind::Safeguarding,
        FlagKind::ChildProtection,
    ]
    .into_iter()
    .find(|kind| {
        flag.code
            .has(codes::ALERT_KIND, crate::lists::alert_code(*kind))
    })
    .or_else(|| {
        flag.code
            .has(codes::SNOMED, codes::NOT_FOR_RESUSCITATION.0)
            .then_some(FlagKind::Dnacpr)
    })
    .unwrap_or(FlagKind::Other);
    Ok(Imported {
        id,
        source,
        item: CoreFlag {
            kind: alert_kind,
            detail: flag
                .code
                .text
                .clone()
                .or_else(|| {
                    flag.code
                        .coding
                        .first()
                        .and_then(|coding| coding.display.clone())
                })
                .unwrap_or_default(),
        },
        status,
    })
}

fn problem_of(number: usize, condition: &Condition) -> Result<ProblemRead, ImportError> {
    let kind = "Condition";
    let asserted = match condition
        .extension
        .iter()
        .find(|extension| extension.url == codes::CONDITION_ASSERTED_DATE)
        .and_then(|extension| extension.value_date_time.as_deref())
    {
        Some(text) => Some(instant(number, kind, "Condition assertedDate", text)?),
        None => None,
    };
    let clinical = condition
        .clinical_status
        .as_ref()
        .and_then(|concept| code_in(concept, codes::CONDITION_CLINICAL));
    let verification = condition
        .verification_status
        .as_ref()
        .and_then(|concept| code_in(concept, codes::CONDITION_VERIFICATION));
    // The problem list holds what is current and not withdrawn.
    let current = matches!(clinical, Some("active" | "recurrence" | "relapse"));
    let withdrawn = matches!(verification, Some("entered-in-error" | "refuted"));
    if !current || withdrawn {
        return Ok((None, asserted));
    }
    let problem = condition.code.as_ref().and_then(words).ok_or_else(|| {
        entry_error(
            number,
            kind,
            "Condition.code",
            "names no problem (text or a coding's display)",
        )
    })?;
    let source = condition
        .asserter
        .as_ref()
        .and_then(|asserter| asserter.display.clone());
    Ok((
        Some(ListItem {
            item: problem,
            source,
        }),
        asserted,
    ))
}

/// The entry's id on every device, from its first identifier: Doorstep's own id comes back as
/// itself; another system's identifier gives the same id wherever it is imported.
fn identity(
    number: usize,
    kind: &str,
    identifiers: &[crate::types::Identifier],
) -> Result<(EntryId, Option<SourceIdentifier>), ImportError> {
    let identifier = identifiers
        .iter()
        .find(|identifier| !identifier.system.is_empty() && !identifier.value.is_empty())
        .ok_or_else(|| {
            entry_error(
                number,
                kind,
                &format!("{kind}.identifier"),
                "missing: it is how the next import finds this entry again instead of adding it twice",
            )
        })?;
    if identifier.system == codes::DOORSTEP_ID
        && let Ok(id) = identifier.value.parse::<EntryId>()
    {
        return Ok((id, None));
    }
    let source = SourceIdentifier {
        system: identifier.system.clone(),
        value: identifier.value.clone(),
    };
    Ok((source.entry_id(), Some(source)))
}

/// When a list was true: the bundle's timestamp when it has one (the moment the source
/// assembled it), else the latest time any of its entries was asserted. A time in the future
/// (a source's clock gone wrong) would hold every later list out as older: refused.
fn as_of(
    timestamp: Option<DateTime<Utc>>,
    asserted: Option<DateTime<Utc>>,
    patient_entry: usize,
    field: &str,
) -> Result<DateTime<Utc>, ImportError> {
    let as_of = timestamp.or(asserted).ok_or_else(|| {
        entry_error(
            patient_entry,
            "Patient",
            &format!("Bundle.timestamp or {field}"),
            "missing: without the time the list was true, an older list could replace a newer one",
        )
    })?;
    if as_of > Utc::now() + chrono::Duration::minutes(CLOCK_SKEW_TOLERANCE_MINUTES) {
        return Err(entry_error(
            patient_entry,
            "Patient",
            &format!("Bundle.timestamp or {field}"),
            "in the future: the source's clock is wrong, and a list dated ahead would hold back every true one",
        ));
    }
    Ok(as_of)
}

/// The list's own source when all its entries name the same one, else the file's.
fn list_source<T>(items: &[ListItem<T>], file: &str) -> String {
    let mut named = items.iter().map(|item| item.source.as_deref());
    match named.next() {
        Some(Some(first)) if named.all(|other| other == Some(first)) => first.to_owned(),
        _ => file.to_owned(),
    }
}

/// A concept's words: its text, else its first coding's display.
fn words(concept: &CodeableConcept) -> Option<String> {
    concept
        .text
        .clone()
        .or_else(|| {
            concept
                .coding
                .iter()
                .find_map(|coding| coding.display.clone())
        })
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
}

fn code_in<'a>(concept: &'a CodeableConcept, system: &str) -> Option<&'a str> {
    concept
        .coding
        .iter()
        .find(|coding| coding.system == system)
        .map(|coding| coding.code.as_str())
}

fn instant(
    number: usize,
    kind: &str,
    field: &str,
    text: &str,
) -> Result<DateTime<Utc>, ImportError> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| {
            entry_error(
                number,
                kind,
                field,
                "not a date and time with its time zone",
            )
        })
}

fn entry_error(entry: usize, resource: &str, field: &str, problem: &str) -> ImportError {
    ImportError::Entry {
        entry,
        resource: resource.to_owned(),
        field: field.to_owned(),
        problem: problem.to_owned(),
    }
}

fn resource_type(resource: &Resource) -> Option<&str> {
    Some(match resource {
        Resource::Patient(_) => "Patient",
        Resource::Observation(_) => "Observation",
        Resource::AllergyIntolerance(_) => "AllergyIntolerance",
        Resource::MedicationStatement(_) => "MedicationStatement",
        Resource::Medication(_) => "Medication",
        Resource::Condition(_) => "Condition",
        Resource::Flag(_) => "Flag",
        Resource::Organization(_) => "Organization",
        Resource::Practitioner(_) => "Practitioner",
        Resource::Composition(_) => "Composition",
        Resource::Provenance(_) => "Provenance",
        Resource::Other(other) => other.get("resourceType")?.as_str()?,
    })
}

fn resource_id(resource: &Resource) -> Option<&str> {
    match resource {
        Resource::Patient(patient) => patient.id.as_deref(),
        Resource::Observation(observation) => observation.id.as_deref(),
        Resource::AllergyIntolerance(allergy) => allergy.id.as_deref(),
        Resource::MedicationStatement(statement) => statement.id.as_deref(),
        Resource::Medication(medication) => medication.id.as_deref(),
        Resource::Condition(condition) => condition.id.as_deref(),
        Resource::Flag(flag) => flag.id.as_deref(),
        Resource::Organization(organization) => organization.id.as_deref(),
        Resource::Practitioner(practitioner) => practitioner.id.as_deref(),
        Resource::Composition(composition) => composition.id.as_deref(),
        Resource::Provenance(provenance) => provenance.id.as_deref(),
        Resource::Other(other) => other.get("id")?.as_str(),
    }
}

/// Deserialises `value` as `T`, naming the element that does not fit. serde's own message is kept
/// only when it names a field, never when it could quote a value from the file.
fn typed<T: serde::de::DeserializeOwned>(
    entry: usize,
    resource: &str,
    prefix: &str,
    value: Value,
) -> Result<T, ImportError> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.inner().to_string();
        let problem = if inner.starts_with("missing field") {
            inner
        } else {
            "not what FHIR R4 allows here (wrong type or value)".to_owned()
        };
        let field = if path == "." {
            prefix.to_owned()
        } else {
            format!("{prefix}.{path}")
        };
        match entry {
            0 => ImportError::NotABundle("an element of the Bundle is not valid FHIR R4"),
            _ => entry_error(entry, resource, &field, &problem),
        }
    })
}

/// `value[x]` elements of the resources Doorstep reads, and whether R4 requires one.
const CHOICES: &[(&str, &[(&str, bool)])] = &[
    ("Observation", &[("value", false), ("effective", false)]),
    (
        "MedicationStatement",
        &[("medication", true), ("effective", false)],
    ),
    ("Condition", &[("onset", false), ("abatement", false)]),
    ("AllergyIntolerance", &[("onset", false)]),
    ("Patient", &[("deceased", false), ("multipleBirth", false)]),
    ("Extension", &[("value", false)]),
];

/// Checks one entry's choices: a `value[x]` may appear once, as one type (`valueQuantity` and
/// `valueString` together is two values), and must appear where R4 requires it. Components and
/// extensions are checked too. Also checks each resource deserialises, naming the element.
fn check_choices(number: usize, raw: &Value) -> Result<(), ImportError> {
    let Some(resource) = raw.get("resource") else {
        return Err(entry_error(number, "unknown", "entry.resource", "missing"));
    };
    let kind = resource
        .get("resourceType")
        .and_then(Value::as_str)
        .ok_or_else(|| entry_error(number, "unknown", "resourceType", "missing"))?
        .to_owned();
    check_object(number, &kind, &kind, &kind, resource)?;
    // Each type Doorstep reads is checked as that type: read as a `Resource`, a malformed
    // allergy would pass as a resource of no known type and be skipped, lost without a word.
    let value = resource.clone();
    let k = kind.as_str();
    match k {
        "Patient" => typed::<Patient>(number, k, k, value).map(drop),
        "Observation" => typed::<crate::types::Observation>(number, k, k, value).map(drop),
        "AllergyIntolerance" => typed::<AllergyIntolerance>(number, k, k, value).map(drop),
        "MedicationStatement" => typed::<MedicationStatement>(number, k, k, value).map(drop),
        "Medication" => typed::<crate::types::Medication>(number, k, k, value).map(drop),
        "Condition" => typed::<Condition>(number, k, k, value).map(drop),
        "Flag" => typed::<Flag>(number, k, k, value).map(drop),
        "Organization" => typed::<crate::types::Organization>(number, k, k, value).map(drop),
        "Practitioner" => typed::<crate::types::Practitioner>(number, k, k, value).map(drop),
        "Composition" => typed::<crate::types::Composition>(number, k, k, value).map(drop),
        "Provenance" => typed::<crate::types::Provenance>(number, k, k, value).map(drop),
        _ => Ok(()),
    }
}

fn check_object(
    number: usize,
    kind: &str,
    element_type: &str,
    path: &str,
    object: &Value,
) -> Result<(), ImportError> {
    let Some(map) = object.as_object() else {
        return Ok(());
    };
    if let Some((_, choices)) = CHOICES.iter().find(|(name, _)| *name == element_type) {
        for (stem, required) in *choices {
            let present: Vec<&String> = map
                .keys()
                .filter(|key| {
                    key.strip_prefix(stem)
                        .and_then(|rest| rest.chars().next())
                        .is_some_and(char::is_uppercase)
                })
                .collect();
            if present.len() > 1 {
                return Err(entry_error(
                    number,
                    kind,
                    &format!("{path}.{stem}[x]"),
                    &format!("holds {} values; R4 allows one", present.len()),
                ));
            }
            if *required && present.is_empty() {
                return Err(entry_error(
                    number,
                    kind,
                    &format!("{path}.{stem}[x]"),
                    "missing; R4 requires one",
                ));
            }
        }
    }
    for (key, value) in map {
        let child_type = match key.as_str() {
            "component" if element_type == "Observation" => "Observation",
            "extension" | "modifierExtension" => "Extension",
            _ => continue,
        };
        if let Some(items) = value.as_array() {
            for (index, item) in items.iter().enumerate() {
                check_object(
                    number,
                    kind,
                    child_type,
                    &format!("{path}.{key}[{index}]"),
                    item,
                )?;
            }
        }
    }
    Ok(())
}
