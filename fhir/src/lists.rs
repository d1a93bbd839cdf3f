//! A record's allergies, alerts, medicines and problems as UK Core resources, written so that
//! [`crate::import`] reads them back to the same entries: each allergy and alert carries its
//! identifier, each medicine and problem its list's source and as-of time.

use chrono::{DateTime, SecondsFormat, Utc};
use doorstep_core::patient::{AllergySeverity, FlagKind, MedicationStatus};
use doorstep_core::store::{AllergyEntry, EntryStatus, FlagEntry, PatientRecord, Snapshot};
use doorstep_core::{EntryId, PatientId};
use serde_json::Map;
use uuid::Uuid;

use crate::codes;
use crate::export::urn;
use crate::types::{
    AllergyIntolerance, AllergyReaction, BundleEntry, CodeableConcept, Coding, Condition, Dosage,
    Extension, Flag, Identifier, MedicationStatement, Meta, Reference, Resource, Timing,
};

/// The allergies, alerts, medicines and problems of `record`, about the Patient at `patient_url`.
pub fn list_entries(record: &PatientRecord, patient_url: &str) -> Vec<BundleEntry> {
    let mut entries = Vec::new();
    for allergy in &record.allergies {
        entries.push(BundleEntry {
            full_url: Some(urn(allergy.id.as_uuid())),
            resource: Resource::AllergyIntolerance(Box::new(allergy_intolerance(
                allergy,
                patient_url,
            ))),
        });
    }
    for flag in &record.flags {
        entries.push(BundleEntry {
            full_url: Some(urn(flag.id.as_uuid())),
            resource: Resource::Flag(Box::new(alert(flag, patient_url))),
        });
    }
    if let Some(snapshot) = &record.medications {
        for (index, medication) in snapshot.items.iter().enumerate() {
            let statement = MedicationStatement {
                id: None,
                meta: Some(profile("UKCore-MedicationStatement")),
                status: match medication.status {
                    MedicationStatus::Active => "active",
                    MedicationStatus::OnHold => "on-hold",
                    MedicationStatus::NotStarted => "intended",
                    MedicationStatus::Unknown => "unknown",
                }
                .to_owned(),
                medication_codeable_concept: Some(text(&medication.name)),
                medication_reference: None,
                subject: Reference::to(patient_url),
                date_asserted: Some(instant(snapshot.as_of)),
                information_source: Some(source(snapshot)),
                dosage: vec![Dosage {
                    text: non_empty(&medication.dose),
                    timing: non_empty(&medication.frequency).map(|frequency| Timing {
                        code: Some(text(&frequency)),
                        extra: Map::new(),
                    }),
                    extra: Map::new(),
                }],
                extra: Map::new(),
            };
            entries.push(BundleEntry {
                full_url: Some(urn(list_item_id(record.id, List::Medicines, index))),
                resource: Resource::MedicationStatement(Box::new(statement)),
            });
        }
    }
    if let Some(snapshot) = &record.problems {
        for (index, problem) in snapshot.items.iter().enumerate() {
            let condition = Condition {
                id: None,
                meta: Some(profile("UKCore-Condition")),
                extension: vec![Extension {
                    url: codes::CONDITION_ASSERTED_DATE.to_owned(),
                    value_date_time: Some(instant(snapshot.as_of)),
                    extra: Map::new(),
                }],
                clinical_status: Some(coded(codes::CONDITION_CLINICAL, "active", "Active")),
                verification_status: Some(coded(
                    codes::CONDITION_VERIFICATION,
                    "confirmed",
                    "Confirmed",
                )),
                category: vec![coded(
                    codes::CONDITION_CATEGORY,
                    "problem-list-item",
                    "Problem List Item",
                )],
                code: Some(text(problem)),
                subject: Reference::to(patient_url),
                asserter: Some(source(snapshot)),
                extra: Map::new(),
            };
            entries.push(BundleEntry {
                full_url: Some(urn(list_item_id(record.id, List::Problems, index))),
                resource: Resource::Condition(Box::new(condition)),
            });
        }
    }
    entries
}

#[derive(Clone, Copy)]
enum List {
    Medicines = 1,
    Problems,
}

/// Stable per record, list and position, so that the same record exports the same bundle.
fn list_item_id(patient: PatientId, list: List, index: usize) -> Uuid {
    Uuid::from_u128(patient.as_uuid().as_u128() ^ ((list as u128) << 64 | index as u128))
}

fn allergy_intolerance(entry: &AllergyEntry, patient_url: &str) -> AllergyIntolerance {
    let allergy = &entry.allergy;
    let (clinical, verification) = match entry.status {
        EntryStatus::Active => (Some(("active", "Active")), ("confirmed", "Confirmed")),
        EntryStatus::Resolved => (Some(("resolved", "Resolved")), ("confirmed", "Confirmed")),
        // R4 (ait-2): no clinical status on an entry made in error.
        EntryStatus::EnteredInError => (None, ("entered-in-error", "Entered in Error")),
    };
    let severity = match allergy.severity {
        AllergySeverity::Mild => Some("mild"),
        AllergySeverity::Moderate => Some("moderate"),
        AllergySeverity::Severe => Some("severe"),
        AllergySeverity::NotRecorded => None,
    };
    let reaction = non_empty(&allergy.reaction);
    AllergyIntolerance {
        id: None,
        meta: Some(profile("UKCore-AllergyIntolerance")),
        identifier: vec![identifier(entry.id, entry.source.as_ref())],
        clinical_status: clinical
            .map(|(code, display)| coded(codes::ALLERGY_CLINICAL, code, display)),
        verification_status: Some(coded(
            codes::ALLERGY_VERIFICATION,
            verification.0,
            verification.1,
        )),
        code: Some(text(&allergy.substance)),
        patient: Reference::to(patient_url),
        recorded_date: Some(instant(entry.recorded.at)),
        // A reaction needs a manifestation (R4 1..*): with none recorded, the severity has
        // nowhere to go, and neither is invented.
        reaction: reaction
            .map(|reaction| AllergyReaction {
                manifestation: vec![text(&reaction)],
                severity: severity.map(str::to_owned),
                extra: Map::new(),
            })
            .into_iter()
            .collect(),
        extra: Map::new(),
    }
}

fn alert(entry: &FlagEntry, patient_url: &str) -> Flag {
    let kind = entry.flag.kind;
    let mut coding = vec![Coding::new(
        codes::ALERT_KIND,
        alert_code(kind),
        kind.label(),
    )];
    if kind == FlagKind::Dnacpr {
        let (code, display) = codes::NOT_FOR_RESUSCITATION;
        coding.push(Coding::new(codes::SNOMED, code, display));
    }
    Flag {
        id: None,
        meta: Some(profile("UKCore-Flag")),
        identifier: vec![identifier(entry.id, entry.source.as_ref())],
        status: match entry.status {
            EntryStatus::Active => "active",
            EntryStatus::Resolved => "inactive",
            EntryStatus::EnteredInError => "entered-in-error",
        }
        .to_owned(),
        code: CodeableConcept {
            coding,
            text: non_empty(&entry.flag.detail),
        },
        subject: Reference::to(patient_url),
        extra: Map::new(),
    }
}

/// The code of an alert kind in [`codes::ALERT_KIND`].
pub(crate) fn alert_code(kind: FlagKind) -> &'static str {
    match kind {
        FlagKind::Dnacpr => "dnacpr",
        FlagKind::Respect => "respect",
        FlagKind::EndOfLifeWishes => "end-of-life-wishes",
        FlagKind::Safeguarding => "safeguarding",
        FlagKind::ChildProtection => "child-protection",
        FlagKind::Other => "other",
    }
}

/// The source's identifier for an imported entry; Doorstep's own for one made here.
fn identifier(id: EntryId, source: Option<&doorstep_core::store::SourceIdentifier>) -> Identifier {
    match source {
        Some(source) => Identifier {
            system: source.system.clone(),
            value: source.value.clone(),
        },
        None => Identifier {
            system: codes::DOORSTEP_ID.to_owned(),
            value: id.to_string(),
        },
    }
}

fn source<T>(snapshot: &Snapshot<T>) -> Reference {
    Reference {
        display: non_empty(&snapshot.source),
        ..Reference::default()
    }
}

fn profile(name: &str) -> Meta {
    Meta {
        profile: vec![codes::profile(name)],
    }
}

fn coded(system: &str, code: &str, display: &str) -> CodeableConcept {
    CodeableConcept::of(vec![Coding::new(system, code, display)])
}

fn text(text: &str) -> CodeableConcept {
    CodeableConcept {
        coding: Vec::new(),
        text: Some(text.to_owned()),
    }
}

fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn non_empty(text: &str) -> Option<String> {
    (!text.trim().is_empty()).then(|| text.trim().to_owned())
}
