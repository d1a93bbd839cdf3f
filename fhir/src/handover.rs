//! A transfer of care: the record's essentials under UK Core record-standard headings, once as
//! words a crew can read aloud (SBAR order) and once as a FHIR document — a `document` Bundle whose
//! first entry is a Composition with a narrative in every section, then the Patient and the
//! observations the trend is drawn from.

use std::collections::HashMap;
use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};
use doorstep_core::DeviceId;
use doorstep_core::news2::Outcome;
use doorstep_core::store::{AllergyStatus, EntryStatus, PatientRecord};
use serde_json::Map;
use uuid::Uuid;

use crate::codes;
use crate::export::{ExportOptions, observations_bundle};
use crate::types::{
    Bundle, BundleEntry, CodeableConcept, Coding, Composition, HumanName, Identifier, Meta,
    Narrative, Practitioner, Provenance, ProvenanceAgent, Reference, Resource,
    Section as FhirSection,
};

/// The sets the trend shows, newest first.
pub const TREND_SETS: usize = 5;

const HEADINGS: &str = "https://fhir.hl7.org.uk/CodeSystem/UKCore-RecordStandardHeadings";

/// Who hands over, to whom, when, and how authors are named.
pub struct HandoverOptions {
    /// The person completing the record, as they are to be named ("Nell Nightingale (nurse)").
    pub by: String,
    /// Who receives it ("ED majors, Borsetshire General"), when known.
    pub to: Option<String>,
    pub at: DateTime<Utc>,
    /// Names of the team's devices' users, for who took each set.
    pub names: HashMap<DeviceId, String>,
    /// The organisation's limit in days after which a medicines list is out of date.
    pub medicines_review_days: u16,
}

impl std::fmt::Debug for HandoverOptions {
    // Names of staff and where the patient goes stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HandoverOptions({}, <redacted>)", self.at)
    }
}

/// One heading's lines: the record-standard heading (`code`, and its `display` as the code system
/// words it) and the title a reader sees.
struct Section {
    code: &'static str,
    display: &'static str,
    title: &'static str,
    lines: Vec<String>,
}

fn sections(record: &PatientRecord, options: &HandoverOptions) -> Vec<Section> {
    let mut out = Vec::new();
    out.push(Section {
        code: "patient-demographics",
        display: "Patient demographics",
        title: "Patient demographics",
        lines: demographic_lines(record, options),
    });
    if let Some(to) = &options.to {
        out.push(Section {
            code: "person-receiving-handover",
            display: "Person receiving handover",
            title: "Person receiving handover",
            lines: vec![to.clone()],
        });
    }

    let mut allergies: Vec<String> = record
        .allergies
        .iter()
        .filter(|entry| entry.status == EntryStatus::Active)
        .map(|entry| entry.allergy.describe())
        .collect();
    if allergies.is_empty() {
        allergies.push(match &record.allergy_status {
            AllergyStatus::NoKnownAllergies { at, .. } => {
                format!("No known allergies (asked and confirmed {})", day(*at))
            }
            _ => "ALLERGIES NOT RECORDED: ask before giving anything".to_owned(),
        });
    }
    out.push(Section {
        code: "allergies-and-adverse-reaction",
        display: "Allergies and adverse reaction",
        title: "Allergies and adverse reactions",
        lines: allergies,
    });

    let mut alerts: Vec<String> = record
        .flags
        .iter()
        .filter(|entry| entry.status == EntryStatus::Active)
        .map(|entry| format!("{}: {}", entry.flag.kind.label(), entry.flag.detail))
        .collect();
    if !record.conflicts.is_empty() {
        let fields: Vec<String> = record
            .conflicts
            .iter()
            .map(|conflict| conflict.field.replace('_', " "))
            .collect();
        alerts.insert(
            0,
            format!(
                "CONFLICTING VALUES on the record ({}): devices recorded different values; check with the patient before relying on them",
                fields.join(", ")
            ),
        );
    }
    if let Some(review) = record.spo2_scale_review {
        alerts.push(format!("SpO2 scale: {}", review.message()));
    }
    if alerts.is_empty() {
        alerts.push("None recorded".to_owned());
    }
    out.push(Section {
        code: "safety-alerts",
        display: "Safety alerts",
        title: "Safety alerts",
        lines: alerts,
    });

    let medications = match &record.medications {
        Some(snapshot) => {
            let mut lines: Vec<String> =
                snapshot.items.iter().map(|item| item.describe()).collect();
            if lines.is_empty() {
                lines.push("No current medicines".to_owned());
            }
            let stale = if record.medications_out_of_date(options.at, options.medicines_review_days)
            {
                ": OUT OF DATE, check with the patient and the GP record"
            } else {
                ""
            };
            lines.push(format!(
                "From {} as of {}{stale}",
                snapshot.source,
                day(snapshot.as_of)
            ));
            lines
        }
        None => vec![
            "No medicines list on the record: ask the patient and check the GP record".to_owned(),
        ],
    };
    out.push(Section {
        code: "medications-and-medical-devices",
        display: "Medications and medical devices",
        title: "Medications",
        lines: medications,
    });

    let problems = match &record.problems {
        Some(snapshot) => {
            let mut lines = snapshot.items.clone();
            if lines.is_empty() {
                lines.push("No current problems".to_owned());
            }
            lines.push(format!(
                "From {} as of {}",
                snapshot.source,
                day(snapshot.as_of)
            ));
            lines
        }
        None => vec!["No problem list on the record".to_owned()],
    };
    out.push(Section {
        code: "problems-and-issues",
        display: "Problems and issues",
        title: "Problems and issues",
        lines: problems,
    });

    out.push(Section {
        code: "observations",
        display: "Observations",
        title: "Observations and NEWS2 trend",
        lines: trend(record, options),
    });

    let escalations: Vec<String> = record
        .escalations
        .iter()
        .rev()
        .map(|entry| {
            let escalation = &entry.escalation;
            format!(
                "{}: called {}{}: {}",
                local(escalation.at),
                escalation.service.label(),
                escalation
                    .reference
                    .as_ref()
                    .map(|r| format!(" (ref {r})"))
                    .unwrap_or_default(),
                escalation.outcome
            )
        })
        .collect();
    out.push(Section {
        code: "past-actions",
        display: "Past actions",
        title: "Escalations",
        lines: if escalations.is_empty() {
            vec!["None recorded".to_owned()]
        } else {
            escalations
        },
    });

    let mut plan = Vec::new();
    if let Some(latest) = current_sets(record).next()
        && let Some(response) = latest.set.response()
    {
        plan.push(format!("Response to the latest set: {}", response.text));
    }
    if !record.care_plan.trim().is_empty() {
        plan.push(format!("Care plan: {}", record.care_plan.trim()));
    }
    if plan.is_empty() {
        plan.push("No plan recorded".to_owned());
    }
    out.push(Section {
        code: "plan-and-requested-actions",
        display: "Plan and requested actions",
        title: "Plan and requested actions",
        lines: plan,
    });

    out.push(Section {
        code: "person-completing-record",
        display: "Person completing record",
        title: "Person completing record",
        lines: vec![format!("{}, {}", options.by, local(options.at))],
    });
    out
}

/// Sets in force (not entered in error), newest first.
fn current_sets(
    record: &PatientRecord,
) -> impl Iterator<Item = &doorstep_core::store::ObservationEntry> {
    record
        .observations
        .iter()
        .rev()
        .filter(|entry| entry.entered_in_error.is_none())
}

fn trend(record: &PatientRecord, options: &HandoverOptions) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    if record.spo2_scale() == doorstep_core::Spo2Scale::Scale2 {
        lines.push(
            "SpO2 scored on Scale 2 (target 88–92%), as the record's clinical decision says"
                .to_owned(),
        );
    }
    lines.extend(current_sets(record).take(TREND_SETS).map(|entry| {
        let set = &entry.set;
        if set.is_beside_only() {
            let shown: Vec<String> = set
                .additional()
                .shown()
                .into_iter()
                .map(|shown| format!("{} {}", shown.label, shown.text))
                .collect();
            return format!(
                "{}: no vital signs; beside NEWS2: {}",
                local(set.taken_at()),
                shown.join(", ")
            );
        }
        let v = set.vitals();
        let field = |value: Option<String>| value.unwrap_or_else(|| "—".to_owned());
        let score = match (set.news2(), set.not_applicable()) {
            (_, Some(not_applicable)) => {
                format!("NEWS2 not used: {}", not_applicable.reason.message())
            }
            (Some(result), None) => match &result.outcome {
                Outcome::Complete { total, risk, .. } => format!(
                    "NEWS2 {total} ({}){}",
                    risk.word().to_uppercase(),
                    if set.scored_on_reading() {
                        ", worked out when the record was read, not shown when the set was taken"
                    } else {
                        ""
                    }
                ),
                Outcome::Partial {
                    missing,
                    minimum_risk,
                    ..
                } => {
                    let missing: Vec<&str> = missing.iter().map(|field| field.label()).collect();
                    format!(
                        "INCOMPLETE SET: no NEWS2 total{}; not recorded: {}",
                        minimum_risk
                            .map(|risk| format!(
                                ", already at least {} risk",
                                risk.word().to_uppercase()
                            ))
                            .unwrap_or_default(),
                        missing.join(", ")
                    )
                }
            },
            (None, None) => "no NEWS2".to_owned(),
        };
        let author = set.author();
        let who = options
            .names
            .get(&author.device)
            .cloned()
            .unwrap_or_else(|| format!("a {}", author.role.words()));
        format!(
            "{}: {score}. RR {}, SpO2 {} {}, BP {}, pulse {}, {}, temp {} (by {who})",
            local(set.taken_at()),
            field(v.respiration_rate.map(|n| n.to_string())),
            field(v.spo2.map(|n| format!("{n}%"))),
            match v.on_oxygen {
                Some(true) => "on oxygen",
                Some(false) => "on air",
                None => "air/oxygen —",
            },
            field(v.systolic_bp.map(|n| format!("{n} systolic"))),
            field(v.pulse.map(|n| n.to_string())),
            field(v.consciousness.map(|c| format!("ACVPU {}", c.letter()))),
            field(v.temperature.map(|t| format!("{:.1}°C", t.celsius()))),
        )
    }));
    if current_sets(record).next().is_none() {
        lines.push("No observations recorded".to_owned());
    }
    lines
}

/// A date as the UK reads it.
fn day(at: DateTime<Utc>) -> String {
    doorstep_core::news2::uk_date(at)
        .format("%-d %b %Y")
        .to_string()
}

/// A time as the UK reads it (GMT or BST), with the zone named.
fn local(at: DateTime<Utc>) -> String {
    at.with_timezone(&chrono_tz::Europe::London)
        .format("%-d %b %Y %H:%M %Z")
        .to_string()
}

/// Who the patient is: name, NHS number, date of birth and age; for an incident record not yet
/// identified, what is known instead (its reference, estimated age, adult or child).
fn demographic_lines(record: &PatientRecord, options: &HandoverOptions) -> Vec<String> {
    let mut lines = vec![record.display_name()];
    lines.push(match record.nhs_number {
        Some(number) => format!("NHS number {number}"),
        None => "NHS number not known: patient not yet identified".to_owned(),
    });
    match (record.birth_date, &record.incident) {
        (Some(born), _) => {
            let age = doorstep_core::news2::uk_date(options.at)
                .years_since(born)
                .unwrap_or(0);
            lines.push(format!(
                "Born {} ({age} years), {}",
                born.format("%-d %b %Y"),
                sex_word(record)
            ));
        }
        (None, Some(incident)) => lines.push(format!(
            "Date of birth not known{}{}; treated as {}; {}",
            match incident.age_band {
                doorstep_core::incident::AgeBand::Unknown => String::new(),
                band => format!(": {}", band.words()),
            },
            incident
                .estimated_age
                .map(|age| format!(", about {age} (estimated)"))
                .unwrap_or_default(),
            match incident.age_group {
                doorstep_core::incident::AgeGroup::Adult => "an adult (16 or over)",
                doorstep_core::incident::AgeGroup::Child => "a child (under 16)",
            },
            sex_word(record)
        )),
        (None, None) => lines.push(sex_word(record).to_owned()),
    }
    if let Some(incident) = &record.incident {
        lines.push(format!(
            "Incident {}: record started {}{}",
            incident.reference,
            local(incident.started),
            incident
                .occurred_at
                .map(|at| format!("; happened or began {}", local(at)))
                .unwrap_or_default()
        ));
    }
    lines
}

fn sex_word(record: &PatientRecord) -> &'static str {
    match record.sex {
        doorstep_core::patient::Sex::Female => "female",
        doorstep_core::patient::Sex::Male => "male",
        doorstep_core::patient::Sex::Other => "other",
        doorstep_core::patient::Sex::Unknown => "sex not known",
    }
}

/// The handover as words to read aloud or print: each heading, then its lines.
pub fn handover_text(record: &PatientRecord, options: &HandoverOptions) -> String {
    let mut text = format!(
        "HANDOVER — {} — {}\n",
        record.display_name(),
        record
            .nhs_number
            .map_or_else(|| "NHS number not known".to_owned(), |n| format!("NHS {n}"))
    );
    for section in sections(record, options) {
        let _ = writeln!(text, "\n{}", section.title.to_uppercase());
        for line in &section.lines {
            let _ = writeln!(text, "  {line}");
        }
    }
    text
}

fn xhtml(lines: &[String]) -> String {
    let items: String = lines
        .iter()
        .map(|line| format!("<li>{}</li>", escape(line)))
        .collect();
    format!("<div xmlns=\"http://www.w3.org/1999/xhtml\"><ul>{items}</ul></div>")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The handover as a FHIR document: a `document` Bundle, the Composition first.
pub fn handover_document(record: &PatientRecord, options: &HandoverOptions) -> Bundle {
    // The trend's sets, with their vitals and totals, are the observations section's entries.
    let shown: Vec<_> = current_sets(record)
        .take(TREND_SETS)
        .map(|entry| entry.set.id())
        .collect();
    let mut trend_record = record.clone();
    trend_record
        .observations
        .retain(|entry| shown.contains(&entry.set.id()));
    let observations = observations_bundle(
        &trend_record,
        &ExportOptions {
            since: None,
            names: options.names.clone(),
        },
    );
    let patient_url = observations
        .entry
        .first()
        .and_then(|entry| entry.full_url.clone())
        .unwrap_or_default();
    // Each section lists the resources that say what it says in words.
    let section_of = |resource: &Resource| match resource {
        Resource::Observation(_) => Some("observations"),
        Resource::AllergyIntolerance(_) => Some("allergies-and-adverse-reaction"),
        Resource::Flag(_) => Some("safety-alerts"),
        Resource::MedicationStatement(_) => Some("medications-and-medical-devices"),
        Resource::Condition(_) => Some("problems-and-issues"),
        _ => None,
    };
    let section_entries = |code: &str| -> Vec<Reference> {
        observations
            .entry
            .iter()
            .filter(|entry| section_of(&entry.resource) == Some(code))
            .filter_map(|entry| entry.full_url.as_deref())
            .map(Reference::to)
            .collect()
    };
    let practitioner_id = Uuid::new_v4();
    let practitioner_url = format!("urn:uuid:{practitioner_id}");

    let document_id = Uuid::new_v4();
    let composition_id = Uuid::new_v4();
    let composition_url = format!("urn:uuid:{composition_id}");
    let sections: Vec<FhirSection> = sections(record, options)
        .into_iter()
        .map(|section| FhirSection {
            title: Some(section.title.to_owned()),
            code: Some(CodeableConcept::of(vec![Coding::new(
                HEADINGS,
                section.code,
                section.display,
            )])),
            text: Some(Narrative {
                status: "generated".to_owned(),
                div: xhtml(&section.lines),
            }),
            entry: match section.code {
                "patient-demographics" => vec![Reference::to(&patient_url)],
                "person-completing-record" => vec![Reference::to(&practitioner_url)],
                code => section_entries(code),
            },
            extra: Map::new(),
        })
        .collect();
    let at = options.at.to_rfc3339_opts(SecondsFormat::Secs, true);
    let author = Reference {
        reference: Some(practitioner_url.clone()),
        display: Some(options.by.clone()),
        ..Reference::default()
    };
    let composition = Composition {
        id: Some(composition_id.to_string()),
        meta: Some(Meta {
            profile: vec![codes::profile("UKCore-Composition")],
        }),
        status: "final".to_owned(),
        composition_type: CodeableConcept::of(vec![Coding::new(
            codes::LOINC,
            "18761-7",
            "Transfer summary note",
        )]),
        subject: Some(Reference::to(&patient_url)),
        date: at.clone(),
        author: vec![author.clone()],
        title: format!(
            "Handover: {}, {}",
            record.family.to_uppercase(),
            record.given
        ),
        section: sections,
        extra: Map::new(),
    };
    let mut entry = vec![BundleEntry {
        full_url: Some(composition_url.clone()),
        resource: Resource::Composition(Box::new(composition)),
    }];
    entry.extend(observations.entry);
    // Who wrote the document, when: a receiving system records it against the Composition.
    entry.push(BundleEntry {
        full_url: Some(format!("urn:uuid:{}", Uuid::new_v4())),
        resource: Resource::Provenance(Box::new(Provenance {
            id: None,
            meta: Some(Meta {
                profile: vec![codes::profile("UKCore-Provenance")],
            }),
            target: vec![Reference::to(&composition_url)],
            recorded: at.clone(),
            agent: vec![ProvenanceAgent {
                agent_type: Some(CodeableConcept::of(vec![Coding::new(
                    "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                    "author",
                    "Author",
                )])),
                who: author,
                extra: Map::new(),
            }],
            extra: Map::new(),
        })),
    });
    entry.push(BundleEntry {
        full_url: Some(practitioner_url.clone()),
        resource: Resource::Practitioner(Box::new(Practitioner {
            id: Some(practitioner_id.to_string()),
            meta: Some(crate::types::Meta {
                profile: vec![codes::profile("UKCore-Practitioner")],
            }),
            name: vec![HumanName {
                text: Some(options.by.clone()),
                ..HumanName::default()
            }],
            extra: Map::new(),
        })),
    });
    Bundle {
        resource_type: "Bundle".to_owned(),
        bundle_type: "document".to_owned(),
        // A document is identified (bdl-9): a fresh identifier for each handover made.
        identifier: Some(Identifier {
            system: "urn:ietf:rfc:3986".to_owned(),
            value: format!("urn:uuid:{document_id}"),
        }),
        timestamp: Some(at),
        entry,
    }
}
