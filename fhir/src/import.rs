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
    Medication as CoreMedication, Sex,
};
use doorstep_core::store::{
    EntryStatus, ImportOutcome, Imported, RecordImport, Session, Snapshot, SourceIdentifier,
    StoreError,
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

/// What an import did, with what it left out.
#[derive(Debug, Serialize)]
pub struct ImportReport {
    #[serde(flatten)]
    pub outcome: ImportOutcome,
    /// Bundle entries of Patients whose details differ from the record held (not changed).
    pub demographics_differ_entries: Vec<usize>,
    pub skipped: Vec<Skipped>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(
        "entry {entry} (Patient): its NHS number is that of a patient on this device whose {field} is different. Nothing was imported; check with the source which patient this is"
    )]
    WrongPatient { entry: usize, field: &'static str },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Applies a checked file in one transaction; `progress` counts patients done.
pub fn apply(
    session: &Session,
    plan: &ImportPlan,
    source: Option<&str>,
    progress: impl FnMut(usize),
) -> Result<ImportReport, ApplyError> {
    let source = source.unwrap_or(&plan.source);
    let entry_of = |record: usize| plan.patient_entries.get(record - 1).copied().unwrap_or(0);
    match session.import_records(&plan.records, source, progress) {
        Ok(outcome) => Ok(ImportReport {
            demographics_differ_entries: outcome
                .demographics_differ
                .iter()
                .map(|record| entry_of(*record))
                .collect(),
            outcome,
            skipped: plan.skipped.clone(),
        }),
        Err(StoreError::ImportMismatch { record, field }) => Err(ApplyError::WrongPatient {
            entry: entry_of(record),
            field,
        }),
        Err(error) => Err(error.into()),
    }
}

/// Bundle types that carry resources as they are (a `history` or `message` bundle does not).
const BUNDLE_TYPES: [&str; 4] = ["collection", "searchset", "transaction", "document"];

/// Reads and checks a FHIR JSON bundle. Nothing is written.
pub fn read_bundle(text: &str) -> Result<ImportPlan, ImportError> {
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
        .unwrap_or_default();
    if !BUNDLE_TYPES.contains(&bundle_type) {
        return Err(ImportError::NotABundle(
            "Bundle.type must be collection, searchset, transaction or document",
        ));
    }
    let raw_entries = match value.get("entry") {
        None => Vec::new(),
        Some(Value::Array(entries)) => entries.clone(),
        Some(_) => return Err(ImportError::NotABundle("Bundle.entry is not a list")),
    };
    for (index, raw) in raw_entries.iter().enumerate() {
        check_choices(index + 1, raw)?;
    }
    let bundle: Bundle = typed(0, "Bundle", "Bundle", value)?;
    let timestamp = match &bundle.timestamp {
        Some(text) => Some(instant(0, "Bundle", "Bundle.timestamp", text)?),
        None => None,
    };
    let mut reader = Reader::new(&bundle);
    reader.read(timestamp)
}

/// Entry numbers of the bundle by every name a reference may use for them.
struct Reader<'a> {
    bundle: &'a Bundle,
    names: HashMap<String, usize>,
}

/// A medicine or problem with when and by whom its source asserted it.
struct ListItem<T> {
    item: T,
    asserted: Option<DateTime<Utc>>,
    source: Option<String>,
}

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
}

impl<'a> Reader<'a> {
    fn new(bundle: &'a Bundle) -> Self {
        let mut names = HashMap::new();
        for (index, entry) in bundle.entry.iter().enumerate() {
            if let Some(url) = &entry.full_url {
                names.insert(url.clone(), index + 1);
            }
            if let (Some(kind), Some(id)) =
                (resource_type(&entry.resource), resource_id(&entry.resource))
            {
                names.insert(format!("{kind}/{id}"), index + 1);
            }
        }
        Self { bundle, names }
    }

    /// The entry a reference points at, by full URL or by `Type/id` (also at the end of a URL).
    fn resolve(&self, reference: &Reference) -> Option<usize> {
        let target = reference.reference.as_deref()?;
        if let Some(found) = self.names.get(target) {
            return Some(*found);
        }
        let mut parts = target.rsplit('/');
        let id = parts.next()?;
        let kind = parts.next()?;
        self.names.get(&format!("{kind}/{id}")).copied()
    }

    fn read(&mut self, timestamp: Option<DateTime<Utc>>) -> Result<ImportPlan, ImportError> {
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
                    },
                    medications: Vec::new(),
                    problems: Vec::new(),
                    medicines_listed: false,
                    problems_listed: false,
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
                    patients[at]
                        .record
                        .allergies
                        .push(allergy_of(number, allergy)?);
                }
                Resource::Flag(flag) => {
                    let at = patient_of(self, number, "Flag", "Flag.subject", &flag.subject)?;
                    match alert_of(number, flag)? {
                        Some(alert) => patients[at].record.flags.push(alert),
                        None => skipped.push(Skipped {
                            entry: number,
                            resource: "Flag".to_owned(),
                            reason: "an alert of a kind Doorstep does not show (it shows DNACPR, ReSPECT, end-of-life wishes, safeguarding and child protection)",
                        }),
                    }
                }
                Resource::MedicationStatement(statement) => {
                    let at = patient_of(
                        self,
                        number,
                        "MedicationStatement",
                        "MedicationStatement.subject",
                        &statement.subject,
                    )?;
                    patients[at].medicines_listed = true;
                    if let Some(medicine) = self.medicine_of(number, statement)? {
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
                    patients[at].problems_listed = true;
                    if let Some(problem) = problem_of(number, condition)? {
                        patients[at].problems.push(problem);
                    }
                }
                Resource::Observation(_) => skipped.push(Skipped {
                    entry: number,
                    resource: "Observation".to_owned(),
                    reason: "observations are recorded on a device, not imported",
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
                    &patient.medications,
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
                    &patient.problems,
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
            return GpPractice {
                ods_code: String::new(),
                name: String::new(),
            };
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
    ) -> Result<Option<ListItem<CoreMedication>>, ImportError> {
        let kind = "MedicationStatement";
        // Only what the patient is taking goes on the list; stopped, completed and withdrawn
        // statements say it is not.
        if !matches!(statement.status.as_str(), "active" | "intended" | "on-hold") {
            return Ok(None);
        }
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
        let asserted = match &statement.date_asserted {
            Some(text) => Some(instant(
                number,
                kind,
                "MedicationStatement.dateAsserted",
                text,
            )?),
            None => None,
        };
        let source = statement
            .information_source
            .as_ref()
            .and_then(|source| source.display.clone());
        Ok(Some(ListItem {
            item: CoreMedication {
                name,
                dose,
                frequency,
            },
            asserted,
            source,
        }))
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

fn allergy_of(
    number: usize,
    allergy: &AllergyIntolerance,
) -> Result<Imported<Allergy>, ImportError> {
    let kind = "AllergyIntolerance";
    let (id, source) = identity(number, kind, &allergy.identifier)?;
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
    let substance = allergy.code.as_ref().and_then(words).ok_or_else(|| {
        entry_error(
            number,
            kind,
            "AllergyIntolerance.code",
            "names no substance (text or a coding's display)",
        )
    })?;
    let reaction = allergy.reaction.first();
    let manifestations: Vec<String> = reaction
        .map(|reaction| reaction.manifestation.iter().filter_map(words).collect())
        .unwrap_or_default();
    let severity = match reaction.and_then(|reaction| reaction.severity.as_deref()) {
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
    Ok(Imported {
        id,
        source,
        item: Allergy {
            substance,
            reaction: manifestations.join(", "),
            severity,
        },
        status,
    })
}

/// The alert a Flag raises, or `None` for a kind Doorstep does not show.
fn alert_of(number: usize, flag: &Flag) -> Result<Option<Imported<CoreFlag>>, ImportError> {
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
    });
    let Some(alert_kind) = alert_kind else {
        return Ok(None);
    };
    Ok(Some(Imported {
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
    }))
}

fn problem_of(
    number: usize,
    condition: &Condition,
) -> Result<Option<ListItem<String>>, ImportError> {
    let kind = "Condition";
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
        return Ok(None);
    }
    let problem = condition.code.as_ref().and_then(words).ok_or_else(|| {
        entry_error(
            number,
            kind,
            "Condition.code",
            "names no problem (text or a coding's display)",
        )
    })?;
    let asserted = match condition
        .extension
        .iter()
        .find(|extension| extension.url == codes::CONDITION_ASSERTED_DATE)
        .and_then(|extension| extension.value_date_time.as_deref())
    {
        Some(text) => Some(instant(number, kind, "Condition assertedDate", text)?),
        None => None,
    };
    let source = condition
        .asserter
        .as_ref()
        .and_then(|asserter| asserter.display.clone());
    Ok(Some(ListItem {
        item: problem,
        asserted,
        source,
    }))
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
    let digest = ring::digest::digest(
        &ring::digest::SHA256,
        format!("{}|{}", identifier.system, identifier.value).as_bytes(),
    );
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest.as_ref()[..16]);
    // A name-based UUID (RFC 9562 version 8): never taken for a random one.
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    Ok((
        EntryId::from_u128(u128::from_be_bytes(bytes)),
        Some(SourceIdentifier {
            system: identifier.system.clone(),
            value: identifier.value.clone(),
        }),
    ))
}

/// When a list was true: the bundle's timestamp when it has one (the moment the source
/// assembled it), else the latest time the list's entries were asserted.
fn as_of<T>(
    timestamp: Option<DateTime<Utc>>,
    items: &[ListItem<T>],
    patient_entry: usize,
    field: &str,
) -> Result<DateTime<Utc>, ImportError> {
    timestamp
        .or_else(|| items.iter().filter_map(|item| item.asserted).max())
        .ok_or_else(|| {
            entry_error(
                patient_entry,
                "Patient",
                &format!("Bundle.timestamp or {field}"),
                "missing: without the time the list was true, an older list could replace a newer one",
            )
        })
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
