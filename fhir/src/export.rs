//! Observations and NEWS2 out to the electronic patient record, as UK Core: per set, one
//! Observation per vital sign, ACVPU and inspired oxygen, and — only for a complete set where
//! NEWS2 applies — the total with its seven sub-scores, derived from those vitals. A partial set
//! exports its vitals and never a total; a set entered in error exports with that status. The
//! record's allergies, alerts, medicines and problems go with them ([`crate::lists`]), so that the
//! bundle imports back as it left.

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use doorstep_core::additional::{Glucose, MeterLimit};
use doorstep_core::news2::Parameter;
use doorstep_core::observation::{Author, ObservationSet};
use doorstep_core::patient::Sex;
use doorstep_core::store::{ObservationEntry, PatientRecord};
use doorstep_core::{Acvpu, DeviceId, Spo2Scale};
use serde_json::{Map, Number};
use uuid::Uuid;

use crate::codes::{self, VitalCode};
use crate::types::{
    Address, Bundle, BundleEntry, CodeableConcept, Coding, HumanName, Identifier, Meta,
    Observation, ObservationComponent, Patient, Quantity, Reference, Resource,
};

/// Said of a total the core worked out after the set was taken, never shown at the bedside.
pub const SCORED_ON_READING: &str =
    "NEWS2 worked out by Doorstep when the record was read, not shown when the set was taken";

/// What to export and how to name who took each set.
#[derive(Debug, Default)]
pub struct ExportOptions {
    /// Only sets taken at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// The name shown for each author's device (the team's roster); otherwise their role.
    pub names: HashMap<DeviceId, String>,
}

/// The patient and their observation sets as a UK Core `collection` Bundle. The same record and
/// options give the same bundle, byte for byte: every id derives from the set's own.
pub fn observations_bundle(record: &PatientRecord, options: &ExportOptions) -> Bundle {
    let patient_url = urn(record.id.as_uuid());
    let mut entry = vec![BundleEntry {
        full_url: Some(patient_url.clone()),
        resource: Resource::Patient(patient(record)),
    }];
    // A set taken earlier but marked in error since goes again, so that the receiving record
    // does not keep it as final.
    let wanted = |entry: &&ObservationEntry| {
        options.since.is_none_or(|since| {
            entry.set.taken_at() >= since
                || entry
                    .entered_in_error
                    .as_ref()
                    .is_some_and(|mark| mark.at >= since)
        })
    };
    entry.extend(crate::lists::list_entries(record, &patient_url));
    for observation in record.observations.iter().filter(wanted) {
        entry.extend(set_entries(observation, &patient_url, options));
    }
    Bundle {
        resource_type: "Bundle".to_owned(),
        bundle_type: "collection".to_owned(),
        identifier: None,
        timestamp: None,
        entry,
    }
}

pub(crate) fn patient(record: &PatientRecord) -> Patient {
    let address = record.address.clone().unwrap_or_default();
    let practice = record.gp_practice.clone().unwrap_or_default();
    // An incident record's patient has a temporary name until someone records theirs.
    let name = if record.family.is_empty() && record.given.is_empty() {
        HumanName {
            name_use: Some("temp".to_owned()),
            text: Some(record.display_name()),
            ..HumanName::default()
        }
    } else {
        HumanName {
            name_use: Some("official".to_owned()),
            family: Some(record.family.clone()),
            given: vec![record.given.clone()],
            ..HumanName::default()
        }
    };
    Patient {
        id: Some(record.id.to_string()),
        meta: Some(Meta {
            profile: vec![codes::profile("UKCore-Patient")],
        }),
        identifier: record
            .nhs_number
            .iter()
            .map(|number| Identifier {
                system: codes::NHS_NUMBER.to_owned(),
                value: number.as_digits(),
            })
            .collect(),
        name: vec![name],
        gender: Some(
            match record.sex {
                Sex::Female => "female",
                Sex::Male => "male",
                Sex::Other => "other",
                Sex::Unknown => "unknown",
            }
            .to_owned(),
        ),
        birth_date: record
            .birth_date
            .map(|born| born.format("%Y-%m-%d").to_string()),
        address: if address.lines.is_empty()
            && address.town.is_empty()
            && address.postcode.is_empty()
        {
            Vec::new()
        } else {
            vec![Address {
                address_use: Some("home".to_owned()),
                line: address.lines.clone(),
                city: non_empty(&address.town),
                postal_code: non_empty(&address.postcode),
            }]
        },
        general_practitioner: if practice.ods_code.is_empty() && practice.name.is_empty() {
            Vec::new()
        } else {
            vec![Reference {
                identifier: non_empty(&practice.ods_code).map(|code| Identifier {
                    system: codes::ODS_CODE.to_owned(),
                    value: code,
                }),
                display: non_empty(&practice.name),
                ..Reference::default()
            }]
        },
        extra: Map::new(),
    }
}

fn non_empty(text: &str) -> Option<String> {
    (!text.trim().is_empty()).then(|| text.trim().to_owned())
}

/// Each resource a set makes, numbered so that its id derives from the set's id.
#[derive(Clone, Copy)]
enum Part {
    RespiratoryRate = 1,
    OxygenSaturation,
    InspiredOxygen,
    BloodPressure,
    HeartRate,
    Consciousness,
    Temperature,
    News2Total,
    BloodGlucose,
    PainScore,
    Gcs,
    FetalHeartRate,
    UrineProtein,
}

fn part_id(set: &ObservationSet, part: Part) -> Uuid {
    // Distinct per part of one set; across sets, random ids collide with negligible chance.
    Uuid::from_u128(set.id().as_uuid().as_u128() ^ part as u128)
}

pub(crate) fn urn(id: Uuid) -> String {
    format!("urn:uuid:{id}")
}

fn performer(author: &Author, names: &HashMap<DeviceId, String>) -> Reference {
    let role = author.role.words();
    Reference {
        display: Some(match names.get(&author.device) {
            Some(name) => format!("{name} ({role})"),
            None => format!("a {role}"),
        }),
        ..Reference::default()
    }
}

fn quantity(value: impl Into<Number>, (code, unit): (&str, &str)) -> Quantity {
    Quantity {
        value: value.into(),
        unit: unit.to_owned(),
        system: codes::UCUM.to_owned(),
        code: code.to_owned(),
    }
}

fn category(code: &str, display: &str) -> Vec<CodeableConcept> {
    vec![CodeableConcept::of(vec![Coding::new(
        codes::OBSERVATION_CATEGORY,
        code,
        display,
    )])]
}

fn vital_code(vital: &VitalCode) -> CodeableConcept {
    CodeableConcept::of(vec![
        Coding::new(codes::LOINC, vital.loinc.0, vital.loinc.1),
        Coding::new(codes::SNOMED, vital.snomed.0, vital.snomed.1),
    ])
}

fn set_entries(
    entry: &ObservationEntry,
    patient_url: &str,
    options: &ExportOptions,
) -> Vec<BundleEntry> {
    let set = &entry.set;
    let status = if entry.entered_in_error.is_some() {
        "entered-in-error"
    } else {
        "final"
    };
    let in_error = entry.entered_in_error.is_some();
    let base = |part: Part, profile: &str, code: CodeableConcept| Observation {
        id: Some(part_id(set, part).to_string()),
        // The UK Core profiles require status final: an entry withdrawn claims none of them.
        meta: (!in_error).then(|| Meta {
            profile: vec![codes::profile(profile)],
        }),
        identifier: vec![Identifier {
            system: codes::DOORSTEP_ID.to_owned(),
            value: part_id(set, part).to_string(),
        }],
        status: status.to_owned(),
        category: Vec::new(),
        code,
        subject: Some(Reference::to(patient_url)),
        effective_date_time: Some(set.taken_at().to_rfc3339_opts(SecondsFormat::Secs, true)),
        performer: vec![performer(set.author(), &options.names)],
        value_quantity: None,
        value_codeable_concept: None,
        derived_from: Vec::new(),
        component: Vec::new(),
        extra: Map::new(),
    };
    let vital = |part: Part, code: &VitalCode, value: Number| Observation {
        category: category("vital-signs", "Vital Signs"),
        value_quantity: Some(quantity(value, code.unit)),
        ..base(part, code.profile, vital_code(code))
    };

    let vitals = set.vitals();
    let mut made: Vec<(Part, Observation)> = Vec::new();
    if let Some(rate) = vitals.respiration_rate {
        made.push((
            Part::RespiratoryRate,
            vital(
                Part::RespiratoryRate,
                &codes::RESPIRATORY_RATE,
                Number::from(rate),
            ),
        ));
    }
    if let Some(spo2) = vitals.spo2 {
        let mut observation = vital(
            Part::OxygenSaturation,
            &codes::OXYGEN_SATURATION,
            Number::from(spo2),
        );
        observation.code.coding.insert(
            1,
            Coding::new(
                codes::LOINC,
                codes::PULSE_OXIMETRY_LOINC.0,
                codes::PULSE_OXIMETRY_LOINC.1,
            ),
        );
        made.push((Part::OxygenSaturation, observation));
    }
    let additional = set.additional();
    if let Some(on_oxygen) = vitals.on_oxygen {
        let (code, display) = if on_oxygen {
            codes::ON_OXYGEN
        } else {
            codes::ROOM_AIR
        };
        let mut inspired = base(
            Part::InspiredOxygen,
            "UKCore-Observation-InspiredOxygen",
            CodeableConcept::of(vec![Coding::new(codes::SNOMED, code, display)]),
        );
        if on_oxygen {
            // The flow as UK Core's oxygen therapy example carries it; the device as text.
            inspired.value_quantity = additional
                .oxygen_flow
                .and_then(Number::from_f64)
                .map(|flow| quantity(flow, codes::LITRES_PER_MINUTE));
            if let Some(device) = additional.oxygen_device {
                inspired.extra.insert(
                    "method".to_owned(),
                    serde_json::json!({"text": device.label()}),
                );
            }
        }
        made.push((Part::InspiredOxygen, inspired));
    }
    if let Some(systolic) = vitals.systolic_bp {
        let mut panel = base(
            Part::BloodPressure,
            codes::BLOOD_PRESSURE.profile,
            vital_code(&codes::BLOOD_PRESSURE),
        );
        panel.category = category("vital-signs", "Vital Signs");
        panel.component.push(ObservationComponent {
            code: vital_code(&codes::SYSTOLIC),
            value_quantity: Some(quantity(systolic, codes::SYSTOLIC.unit)),
            extra: Map::new(),
        });
        // The R4 blood pressure profile asks for both parts: NEWS2 takes no diastolic, so it is
        // there only when the clinician recorded it beside the set.
        let mut absent = Map::new();
        if additional.diastolic_bp.is_none() {
            absent.insert(
                "dataAbsentReason".to_owned(),
                serde_json::json!({"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                    "code": "not-performed",
                    "display": "Not Performed",
                }]}),
            );
        }
        panel.component.push(ObservationComponent {
            code: vital_code(&codes::DIASTOLIC),
            value_quantity: additional
                .diastolic_bp
                .map(|diastolic| quantity(diastolic, codes::DIASTOLIC.unit)),
            extra: absent,
        });
        made.push((Part::BloodPressure, panel));
    }
    if let Some(pulse) = vitals.pulse {
        made.push((
            Part::HeartRate,
            vital(Part::HeartRate, &codes::HEART_RATE, Number::from(pulse)),
        ));
    }
    if let Some(level) = vitals.consciousness {
        let (code, display) = match level {
            Acvpu::Alert => codes::ACVPU_ALERT,
            Acvpu::NewConfusion => codes::ACVPU_CONFUSION,
            Acvpu::Voice => codes::ACVPU_VOICE,
            Acvpu::Pain => codes::ACVPU_PAIN,
            Acvpu::Unresponsive => codes::ACVPU_UNRESPONSIVE,
        };
        let mut observation = base(
            Part::Consciousness,
            "UKCore-Observation-ACVPU",
            CodeableConcept::of(vec![Coding::new(
                codes::SNOMED,
                codes::ACVPU.0,
                codes::ACVPU.1,
            )]),
        );
        observation.value_codeable_concept = Some(CodeableConcept::of(vec![Coding::new(
            codes::SNOMED,
            code,
            display,
        )]));
        made.push((Part::Consciousness, observation));
    }
    // To the tenth of a degree, as it was read; the core only holds finite temperatures.
    if let Some(celsius) = vitals
        .temperature
        .and_then(|t| Number::from_f64(f64::from(t.tenths()) / 10.0))
    {
        made.push((
            Part::Temperature,
            vital(Part::Temperature, &codes::BODY_TEMPERATURE, celsius),
        ));
    }

    // The total only where the core scored a complete set: a partial set's points are a floor,
    // never a score, and a set NEWS2 does not apply to (a child, pregnancy) has none at all.
    let total = set
        .news2()
        .and_then(|result| result.total().map(|total| (result, total)));
    // Observations beside NEWS2 come after the vital signs and are never among what a NEWS2
    // total is derived from.
    let beside = additional_observations(set, &base);
    let mut entries: Vec<BundleEntry> = made
        .iter()
        .chain(&beside)
        .map(|(part, observation)| BundleEntry {
            full_url: Some(urn(part_id(set, *part))),
            resource: Resource::Observation(Box::new(observation.clone())),
        })
        .collect();
    if let Some((result, total)) = total {
        let mut score = base(
            Part::News2Total,
            "UKCore-Observation-EarlyWarningTotalScore",
            CodeableConcept::of(vec![Coding::new(
                codes::SNOMED,
                codes::NEWS2_TOTAL.0,
                codes::NEWS2_TOTAL.1,
            )]),
        );
        score.category = category("survey", "Survey");
        if set.scored_on_reading() {
            // Nobody saw this score when the set was taken: the core scored it later, when the
            // record showed NEWS2 applies. The performer took the vitals, not the score.
            score.performer.clear();
            score.extra.insert(
                "note".to_owned(),
                serde_json::json!([{"text": SCORED_ON_READING}]),
            );
        }
        score.value_quantity = Some(quantity(total, codes::SCORE_UNIT));
        score.derived_from = made
            .iter()
            .map(|(part, _)| Reference::to(&urn(part_id(set, *part))))
            .collect();
        score.component = result
            .scores
            .iter()
            .map(|(parameter, points)| {
                let (code, display) = sub_score_code(*parameter, result.scale);
                ObservationComponent {
                    code: CodeableConcept::of(vec![Coding::new(codes::SNOMED, code, display)]),
                    value_quantity: Some(quantity(*points, codes::SCORE_UNIT)),
                    extra: Map::new(),
                }
            })
            .collect();
        entries.push(BundleEntry {
            full_url: Some(urn(part_id(set, Part::News2Total))),
            resource: Resource::Observation(Box::new(score)),
        });
    }
    entries
}

/// The observations recorded with a set beside its vital signs (diastolic pressure and the
/// oxygen given travel in the panel and the inspired-oxygen observation instead).
fn additional_observations(
    set: &ObservationSet,
    base: &dyn Fn(Part, &str, CodeableConcept) -> Observation,
) -> Vec<(Part, Observation)> {
    let additional = set.additional();
    let loinc = |(code, display): (&str, &str)| {
        CodeableConcept::of(vec![Coding::new(codes::LOINC, code, display)])
    };
    let measured =
        |part: Part, code: (&str, &str), kind: (&str, &str), value: Number, unit| Observation {
            category: category(kind.0, kind.1),
            value_quantity: Some(quantity(value, unit)),
            ..base(part, codes::ADDITIONAL_PROFILE, loinc(code))
        };
    let mut made = Vec::new();
    match additional.blood_glucose {
        Some(Glucose::MmolPerL(value)) => {
            if let Some(value) = Number::from_f64(value) {
                made.push((
                    Part::BloodGlucose,
                    measured(
                        Part::BloodGlucose,
                        codes::BLOOD_GLUCOSE,
                        ("laboratory", "Laboratory"),
                        value,
                        codes::MMOL_PER_L,
                    ),
                ));
            }
        }
        // Beyond the meter's range: what the meter said, as text (no number was measured).
        Some(Glucose::BeyondMeter(limit)) => {
            let mut observation = Observation {
                category: category("laboratory", "Laboratory"),
                ..base(
                    Part::BloodGlucose,
                    codes::ADDITIONAL_PROFILE,
                    loinc(codes::BLOOD_GLUCOSE),
                )
            };
            let said = match limit {
                MeterLimit::High => "HI (above the meter's range)",
                MeterLimit::Low => "LO (below the meter's range)",
            };
            observation
                .extra
                .insert("valueString".to_owned(), serde_json::json!(said));
            made.push((Part::BloodGlucose, observation));
        }
        None => {}
    }
    if let Some(pain) = additional.pain_score {
        made.push((
            Part::PainScore,
            measured(
                Part::PainScore,
                codes::PAIN_SCORE,
                ("survey", "Survey"),
                Number::from(pain),
                codes::SCORE,
            ),
        ));
    }
    if let Some(gcs) = additional.gcs {
        let absent = |code: &str, display: &str| {
            let mut extra = Map::new();
            extra.insert(
                "dataAbsentReason".to_owned(),
                serde_json::json!({"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                    "code": code,
                    "display": display,
                }]}),
            );
            extra
        };
        let mut observation = Observation {
            category: category("survey", "Survey"),
            ..base(
                Part::Gcs,
                codes::ADDITIONAL_PROFILE,
                loinc(codes::GCS_TOTAL),
            )
        };
        // No total when a response could not be tested: one would understate the patient.
        match gcs.total() {
            Some(total) => observation.value_quantity = Some(quantity(total, codes::SCORE)),
            None => {
                observation.extra = absent("not-applicable", "Not Applicable");
                observation.extra.insert(
                    "note".to_owned(),
                    serde_json::json!([{"text": format!("GCS {}: a response could not be tested", gcs.written())}]),
                );
            }
        }
        observation.component = [
            (codes::GCS_EYE, gcs.eye.score()),
            (codes::GCS_VERBAL, gcs.verbal.score()),
            (codes::GCS_MOTOR, Some(gcs.motor)),
        ]
        .into_iter()
        .map(|(code, value)| ObservationComponent {
            code: loinc(code),
            value_quantity: value.map(|value| quantity(value, codes::SCORE)),
            extra: match value {
                Some(_) => Map::new(),
                None => absent("not-performed", "Not Performed"),
            },
        })
        .collect();
        made.push((Part::Gcs, observation));
    }
    if let Some(rate) = additional.fetal_heart_rate {
        made.push((
            Part::FetalHeartRate,
            measured(
                Part::FetalHeartRate,
                codes::FETAL_HEART_RATE,
                ("exam", "Exam"),
                Number::from(rate),
                codes::PER_MINUTE,
            ),
        ));
    }
    if let Some(protein) = additional.urine_protein {
        made.push((
            Part::UrineProtein,
            Observation {
                category: category("laboratory", "Laboratory"),
                value_codeable_concept: Some(CodeableConcept {
                    coding: Vec::new(),
                    text: Some(protein.key().to_owned()),
                }),
                ..base(
                    Part::UrineProtein,
                    codes::ADDITIONAL_PROFILE,
                    loinc(codes::URINE_PROTEIN),
                )
            },
        ));
    }
    made
}

fn sub_score_code(parameter: Parameter, scale: Spo2Scale) -> (&'static str, &'static str) {
    match parameter {
        Parameter::RespirationRate => codes::SUB_RESPIRATION,
        Parameter::Spo2 => match scale {
            Spo2Scale::Scale1 => codes::SUB_SPO2_SCALE_1,
            Spo2Scale::Scale2 => codes::SUB_SPO2_SCALE_2,
        },
        Parameter::AirOrOxygen => codes::SUB_AIR_OR_OXYGEN,
        Parameter::SystolicBp => codes::SUB_SYSTOLIC,
        Parameter::Pulse => codes::SUB_PULSE,
        Parameter::Consciousness => codes::SUB_CONSCIOUSNESS,
        Parameter::Temperature => codes::SUB_TEMPERATURE,
    }
}
