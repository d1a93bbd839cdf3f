//! `doorstep patient`, `obs` and `note`: working with patient records in the device store.

use std::path::Path;
use std::process::ExitCode;

use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Subcommand};
use doorstep_core::news2::ResponseProtocol;
use doorstep_core::patient::{Address, Demographics, GpPractice, Sex};
use doorstep_core::store::{NewPatient, PatientRecord, PatientSummary, Session};
use doorstep_core::vitals::VitalsInput;
use doorstep_core::{NhsNumber, ObservationId, PatientId};
use serde_json::{Value, json};

use crate::output::Output;
use crate::report;
use crate::session;

#[derive(Debug, Subcommand)]
pub enum PatientCommand {
    /// Register a patient on this device.
    Add {
        #[arg(long)]
        nhs_number: NhsNumber,
        #[arg(long)]
        given: String,
        #[arg(long)]
        family: String,
        /// YYYY-MM-DD
        #[arg(long)]
        birth_date: NaiveDate,
        /// female, male, other or unknown.
        #[arg(long, default_value = "unknown", value_parser = parse_sex)]
        sex: Sex,
    },
    /// Every patient on this device, by name.
    List {
        /// Most urgent first (latest NEWS2 risk, then score).
        #[arg(long)]
        by_risk: bool,
    },
    /// Patients by NHS number (any spacing) or name prefix.
    Find { query: String },
    /// The whole record.
    Show {
        id: PatientId,
        /// Emergency ("break-glass") access to a record outside your relationship: the reason is
        /// required and the access is flagged in the audit trail for review.
        #[arg(long, value_name = "REASON")]
        emergency_reason: Option<String>,
    },
    /// The whole record for handover or transfer (audited as an export).
    Export { id: PatientId },
    /// Record the clinical decision on the SpO2 scale (2 only for confirmed hypercapnic
    /// respiratory failure with a prescribed 88–92% target).
    DecideScale {
        id: PatientId,
        #[arg(long, value_name = "1|2")]
        scale: u8,
        /// Who decided and why, e.g. "respiratory consultant, target 88-92%".
        #[arg(long)]
        note: String,
    },
}

fn parse_sex(text: &str) -> Result<Sex, String> {
    serde_json::from_value(json!(text.trim().to_lowercase()))
        .map_err(|_| "use female, male, other or unknown".to_owned())
}

#[derive(Debug, Subcommand)]
pub enum ObsCommand {
    /// Record an observation set; printed only once it is durable.
    Add(ObsAddArgs),
    /// Mark an observation set entered-in-error (it stays in the record).
    EnteredInError {
        id: ObservationId,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Args)]
pub struct ObsAddArgs {
    #[arg(long)]
    patient: PatientId,
    /// The set as JSON, with the keys of `doorstep news2 --jsonl`; flags below override it.
    #[arg(long)]
    vitals: Option<String>,
    #[arg(long, allow_negative_numbers = true)]
    respiration_rate: Option<i64>,
    #[arg(long, allow_negative_numbers = true)]
    spo2: Option<i64>,
    #[arg(long)]
    spo2_scale: Option<u8>,
    /// On supplemental oxygen.
    #[arg(long)]
    on_oxygen: bool,
    /// On air (the default when neither flag nor JSON says).
    #[arg(long, conflicts_with = "on_oxygen")]
    on_air: bool,
    #[arg(long, allow_negative_numbers = true)]
    systolic_bp: Option<i64>,
    #[arg(long, allow_negative_numbers = true)]
    pulse: Option<i64>,
    #[arg(long)]
    consciousness: Option<String>,
    #[arg(long, allow_negative_numbers = true)]
    temperature: Option<f64>,
    /// When the set was taken (RFC 3339); now if absent.
    #[arg(long)]
    taken_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Subcommand)]
pub enum NoteCommand {
    /// Add a visit note.
    Add {
        #[arg(long)]
        patient: PatientId,
        #[arg(long)]
        text: String,
    },
}

fn summary_line(summary: &PatientSummary) -> String {
    let news2 = match summary.latest_news2 {
        None => "no observations".to_owned(),
        Some(latest) => match (latest.total, latest.risk) {
            (Some(total), Some(risk)) => format!("NEWS2 {total} {}", risk.word().to_uppercase()),
            _ => format!("INCOMPLETE (≥{})", latest.points),
        },
    };
    format!(
        "{}  {:<28} {}  {:<22} {}",
        summary.id,
        format!("{}, {}", summary.family.to_uppercase(), summary.given),
        summary.nhs_number,
        news2,
        summary.birth_date
    )
}

fn list(out: &Output, summaries: &[PatientSummary]) -> anyhow::Result<ExitCode> {
    let value = Value::Array(
        summaries
            .iter()
            .map(doorstep_core::view::summary_json)
            .collect(),
    );
    out.print(&value, || {
        if summaries.is_empty() {
            return "No patients match.".to_owned();
        }
        summaries
            .iter()
            .map(summary_line)
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// The record as JSON: record content only, so two devices with the same changes print the same.
pub fn record_json(record: &PatientRecord, protocol: &ResponseProtocol) -> anyhow::Result<Value> {
    Ok(doorstep_core::view::record_json(record, protocol)?)
}

fn record_text(record: &PatientRecord) -> String {
    let mut lines = vec![format!(
        "{}, {}   NHS {}   born {}",
        record.family.to_uppercase(),
        record.given,
        record.nhs_number,
        record.birth_date
    )];
    for allergy in &record.allergies {
        lines.push(format!(
            "  ALLERGY: {} ({})",
            allergy.allergy.substance, allergy.allergy.reaction
        ));
    }
    for flag in &record.flags {
        lines.push(format!(
            "  ALERT: {}: {}",
            flag.flag.kind.label(),
            flag.flag.detail
        ));
    }
    for conflict in &record.conflicts {
        lines.push(format!(
            "  CONFLICT in {}: devices recorded different values",
            conflict.field
        ));
    }
    lines.push(format!("Observations ({}):", record.observations.len()));
    for entry in &record.observations {
        let result = entry.set.news2();
        let score = match result.total() {
            Some(total) => format!(
                "NEWS2 {total} {}",
                result.risk().map(|r| r.word()).unwrap_or_default()
            ),
            None => format!("incomplete (≥{})", result.points()),
        };
        let error = if entry.entered_in_error.is_some() {
            "  [ENTERED IN ERROR]"
        } else {
            ""
        };
        lines.push(format!(
            "  {}  {}  {score}{error}",
            entry.set.taken_at().format("%Y-%m-%d %H:%M"),
            entry.set.id()
        ));
    }
    if !record.care_plan.is_empty() {
        lines.push(format!("Care plan: {}", record.care_plan));
    }
    for note in &record.notes {
        lines.push(format!(
            "Note {}: {}",
            note.recorded.at.format("%Y-%m-%d %H:%M"),
            note.text
        ));
    }
    lines.join("\n")
}

pub fn patient(
    session: &Session,
    command: &PatientCommand,
    protocol: &ResponseProtocol,
    out: &Output,
) -> anyhow::Result<ExitCode> {
    match command {
        PatientCommand::Add {
            nhs_number,
            given,
            family,
            birth_date,
            sex,
        } => {
            let id = session.add_patient(&NewPatient::with_demographics(Demographics {
                nhs_number: *nhs_number,
                given: given.trim().to_owned(),
                family: family.trim().to_owned(),
                birth_date: *birth_date,
                sex: *sex,
                address: Address {
                    lines: Vec::new(),
                    town: String::new(),
                    postcode: String::new(),
                },
                gp_practice: GpPractice {
                    ods_code: String::new(),
                    name: String::new(),
                },
                contacts: Vec::new(),
            }))?;
            out.print(&json!({"id": id}), || format!("Added patient {id}"))
        }
        PatientCommand::List { by_risk } => {
            let summaries = if *by_risk {
                session.caseload()?
            } else {
                session.patients()?
            };
            list(out, &summaries)
        }
        PatientCommand::Find { query } => list(out, &session.find(query)?),
        PatientCommand::Show {
            id,
            emergency_reason,
        } => {
            let record = match emergency_reason {
                Some(reason) => session.emergency_access(*id, reason)?,
                None => session.open_record(*id)?,
            };
            out.print(&record_json(&record, protocol)?, || record_text(&record))
        }
        PatientCommand::Export { id } => {
            let record = session.export_record(*id)?;
            out.print(&record_json(&record, protocol)?, || record_text(&record))
        }
        PatientCommand::DecideScale { id, scale, note } => {
            let scale = doorstep_core::Spo2Scale::try_from(*scale).map_err(anyhow::Error::msg)?;
            session.decide_spo2_scale(*id, scale, note)?;
            out.print(&json!({"id": id, "spo2_scale": u8::from(scale)}), || {
                format!(
                    "Recorded: SpO2 scored on Scale {} for this patient.",
                    u8::from(scale)
                )
            })
        }
    }
}

pub fn obs(
    session: &Session,
    command: &ObsCommand,
    protocol: &ResponseProtocol,
    out: &Output,
) -> anyhow::Result<ExitCode> {
    match command {
        ObsCommand::Add(args) => {
            let mut input = match &args.vitals {
                Some(json) => VitalsInput::from_json(json)?.0,
                None => VitalsInput::default(),
            };
            input.respiration_rate = args.respiration_rate.or(input.respiration_rate);
            input.spo2 = args.spo2.or(input.spo2);
            input.spo2_scale = args.spo2_scale.or(input.spo2_scale);
            input.systolic_bp = args.systolic_bp.or(input.systolic_bp);
            input.pulse = args.pulse.or(input.pulse);
            input.consciousness = args.consciousness.clone().or(input.consciousness);
            input.temperature = args.temperature.or(input.temperature);
            if args.on_oxygen {
                input.on_oxygen = Some(true);
            } else if args.on_air || input.on_oxygen.is_none() {
                input.on_oxygen = Some(false);
            }
            let set = session.record_observation(args.patient, &input, args.taken_at)?;
            let news2 = report::result_json(set.news2(), protocol);
            out.print(&json!({"id": set.id(), "news2": news2}), || {
                format!(
                    "Saved observation {}.\n\n{}",
                    set.id(),
                    report::result_text(set.vitals(), set.news2(), protocol)
                )
            })
        }
        ObsCommand::EnteredInError { id, reason } => {
            let patient = session.mark_observation_entered_in_error(*id, reason)?;
            out.print(
                &json!({"id": id, "patient": patient, "entered_in_error": true}),
                || format!("Observation {id} marked entered-in-error; it stays in the record."),
            )
        }
    }
}

pub fn note(session: &Session, command: &NoteCommand, out: &Output) -> anyhow::Result<ExitCode> {
    let NoteCommand::Add { patient, text } = command;
    let id = session.add_note(*patient, text)?;
    out.print(&json!({"id": id}), || format!("Saved note {id}"))
}

/// Opens the store for a record command.
pub fn with_session(
    dir: Option<&Path>,
    user: Option<&str>,
    run: impl FnOnce(&Session) -> anyhow::Result<ExitCode>,
) -> anyhow::Result<ExitCode> {
    let session = session::unlock(dir, user)?;
    run(&session)
}
