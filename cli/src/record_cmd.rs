//! `doorstep patient`, `obs` and `note`: working with patient records in the device store.

use std::path::Path;
use std::process::ExitCode;

use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Subcommand, ValueEnum};
use doorstep_core::news2::ResponseProtocol;
use doorstep_core::patient::{Address, Demographics, GpPractice, MaternityStatus, Sex};
use doorstep_core::store::{
    Access, AllergyStatus, Escalation, EscalationService, NewPatient, PatientRecord,
    PatientSummary, Rank, Resolution, Session,
};
use doorstep_core::vitals::{Field, VitalsInput};
use doorstep_core::{DeviceId, NhsNumber, ObservationId, PatientId};
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
        /// Emergency ("break-glass") access to a record restricted to other clinicians: the reason is
        /// required and the access is flagged in the audit trail for review.
        #[arg(long, value_name = "REASON")]
        emergency_reason: Option<String>,
    },
    /// The whole record for handover or transfer (audited as an export).
    Export { id: PatientId },
    /// Record pregnancy status: NEWS2 is not used in pregnancy or for the organisation's postnatal
    /// period after birth (the maternity chart is).
    Maternity {
        id: PatientId,
        #[arg(long, value_enum)]
        status: MaternityArg,
        /// YYYY-MM-DD: the expected date of delivery when pregnant, the date of delivery when
        /// postnatal.
        #[arg(long)]
        date: Option<NaiveDate>,
    },
    /// Settle conflicting values two devices recorded: keep one (`--keep N`, as numbered by
    /// `patient show`) or enter a new one (`--value JSON`, e.g. '"Gwen"' or the care plan's text).
    Resolve {
        id: PatientId,
        /// The field as `patient show` names it (given, birth_date, care_plan, spo2_scale_decision…).
        #[arg(long)]
        field: String,
        #[arg(long, conflicts_with = "value", required_unless_present = "value")]
        keep: Option<usize>,
        #[arg(long)]
        value: Option<String>,
    },
    /// Record that the patient was asked and has no known allergies.
    NoKnownAllergies { id: PatientId },
    /// Restrict the record to named clinicians (you are always named); the rest of the team sees
    /// its banner only, and emergency access with a reason.
    Restrict {
        id: PatientId,
        /// safeguarding, sexual-health or staff-as-patient.
        #[arg(long)]
        reason: doorstep_core::store::RestrictionReason,
        /// A registered clinician of the team to name, as the roster names them (repeat).
        #[arg(long = "clinician")]
        clinicians: Vec<String>,
    },
    /// Lift the restriction: the whole team sees the record again.
    Unrestrict { id: PatientId },
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

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum MaternityArg {
    Pregnant,
    Postnatal,
    None,
}

impl MaternityArg {
    fn status(self, date: Option<NaiveDate>) -> anyhow::Result<MaternityStatus> {
        let needs = |status: &'static str, needs: &'static str| {
            doorstep_core::store::StoreError::MaternityDateRequired { status, needs }
        };
        Ok(match self {
            MaternityArg::Pregnant => MaternityStatus::Pregnant {
                expected_delivery: date.ok_or_else(|| {
                    needs("pregnant", "--date with the expected date of delivery")
                })?,
            },
            MaternityArg::Postnatal => MaternityStatus::Postnatal {
                delivered: date
                    .ok_or_else(|| needs("postnatal", "--date with the date of delivery"))?,
            },
            MaternityArg::None => MaternityStatus::None,
        })
    }
}

/// `doorstep escalate`: a call made about a patient.
#[derive(Debug, Args)]
pub struct EscalateArgs {
    #[arg(long)]
    patient: PatientId,
    /// 999, 111, gp, ucr (urgent community response), spa (single point of access),
    /// maternity-triage or other.
    #[arg(long)]
    service: EscalationService,
    /// What the service said or will do.
    #[arg(long)]
    outcome: String,
    /// The service's reference (incident or case number).
    #[arg(long)]
    reference: Option<String>,
    /// Situation, background, assessment, recommendation, as handed over.
    #[arg(long)]
    sbar: Option<String>,
    /// When the call was made (RFC 3339); now if absent.
    #[arg(long)]
    at: Option<DateTime<Utc>>,
    /// The observation set that prompted it.
    #[arg(long)]
    observation: Option<ObservationId>,
}

pub fn parse_sex(text: &str) -> Result<Sex, String> {
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
    /// Values outside their usual range that you have checked (e.g. spo2,respiration_rate):
    /// without this, such a set is refused with the values to check.
    #[arg(long, value_delimiter = ',', value_parser = parse_field)]
    confirm_unusual: Vec<Field>,
}

fn parse_field(text: &str) -> Result<Field, String> {
    Field::from_key(text.trim())
        .ok_or_else(|| "use respiration_rate, spo2, systolic_bp, pulse or temperature".to_owned())
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

fn summary_line(
    summary: &PatientSummary,
    rank: &Rank,
    access: Access,
    now: DateTime<Utc>,
) -> String {
    let latest = match (summary.news2_not_applicable(now), summary.latest_news2) {
        _ if !access.may_open() => "RESTRICTED (banner only)".to_owned(),
        (Some(reason), _) => format!("NEWS2 NOT USED ({})", reason.key()),
        (None, None) => "never observed".to_owned(),
        (None, Some(latest)) => match (latest.not_applicable, latest.total, latest.risk) {
            (Some(reason), _, _) => format!("NEWS2 NOT USED ({})", reason.key()),
            (None, Some(total), Some(risk)) => {
                format!("NEWS2 {total} {}", risk.word().to_uppercase())
            }
            _ => format!("INCOMPLETE (≥{})", latest.points),
        },
    };
    let due = match rank.next_due {
        Some(due) if rank.overdue => format!("OVERDUE since {}", report::local_time(due)),
        Some(due) => format!("due {}", report::local_time(due)),
        None => String::new(),
    };
    format!(
        "{}  {:<28} {}  {:<24} ranked {:<10} {due}",
        summary.id,
        summary.display_name(),
        nhs_text(summary.nhs_number),
        latest,
        rank.risk_word(),
    )
}

fn list(
    out: &Output,
    session: &Session,
    rows: &[(PatientSummary, Rank)],
    now: DateTime<Utc>,
) -> anyhow::Result<ExitCode> {
    let rows = rows
        .iter()
        .map(|(summary, rank)| Ok((summary, rank, session.access(summary.id)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let value = Value::Array(
        rows.iter()
            .map(|(summary, rank, access)| {
                let mut row = doorstep_core::view::summary_json(summary, rank, now);
                row["access"] = json!(access);
                row
            })
            .collect(),
    );
    out.print(&value, || {
        if rows.is_empty() {
            return "No patients match.".to_owned();
        }
        rows.iter()
            .map(|(summary, rank, access)| summary_line(summary, rank, *access, now))
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// The record as JSON: record content only, so two devices with the same changes print the same.
pub fn record_json(record: &PatientRecord, protocol: &ResponseProtocol) -> anyhow::Result<Value> {
    Ok(doorstep_core::view::record_json(record, protocol)?)
}

/// An NHS number as a list shows it, or why there is none.
pub fn nhs_text(number: Option<doorstep_core::NhsNumber>) -> String {
    number.map_or_else(|| "not identified".to_owned(), |number| number.to_string())
}

fn record_text(record: &PatientRecord) -> String {
    let mut lines = vec![format!(
        "{}   NHS {}   born {}",
        record.display_name(),
        nhs_text(record.nhs_number),
        record
            .birth_date
            .map_or_else(|| "not known".to_owned(), |born| born.to_string())
    )];
    if let Some(incident) = &record.incident {
        lines.push(format!(
            "  INCIDENT {} started {}: {}",
            incident.reference,
            report::local_time(incident.started),
            incident.description
        ));
    }
    for linked in &record.linked {
        lines.push(match (&linked.incident, linked.restricted) {
            (_, true) => format!("  LINKED: record {} (restricted: not shown)", linked.id),
            (Some(incident), false) => format!(
                "  LINKED: incident {} started {}, shown here",
                incident.reference,
                report::local_time(incident.started)
            ),
            (None, false) => format!("  LINKED: record {}, shown here", linked.id),
        });
    }
    for allergy in &record.allergies {
        lines.push(format!(
            "  ALLERGY: {} ({})",
            allergy.allergy.substance, allergy.allergy.reaction
        ));
    }
    match &record.allergy_status {
        AllergyStatus::Recorded => {}
        AllergyStatus::NoKnownAllergies { at, .. } => lines.push(format!(
            "  Allergies: no known allergies (confirmed {})",
            report::local_time(*at)
        )),
        AllergyStatus::NotRecorded => {
            lines.push("  Allergies: NOT RECORDED (never asked)".to_owned());
        }
    }
    if let Some(review) = record.spo2_scale_review {
        lines.push(format!("  SpO2 SCALE: {}", review.message()));
    }
    if let Some(restriction) = &record.restriction {
        let names: Vec<&str> = restriction
            .clinicians
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        lines.push(format!(
            "  RESTRICTED ({}) to {}",
            restriction.reason.words(),
            names.join(", ")
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
            "  CONFLICT in {}: devices recorded different values (settle with `patient resolve --field {} --keep N`):",
            conflict.field, conflict.field
        ));
        for (index, value) in conflict.values.iter().enumerate() {
            lines.push(format!("    {index}: {value}"));
        }
    }
    if let Some(maternity) = &record.maternity {
        let date = maternity
            .status
            .date()
            .map(|date| format!(" ({date})"))
            .unwrap_or_default();
        lines.push(format!(
            "  Pregnancy status: {}{date}",
            maternity.status.key()
        ));
    }
    if let Some(not_applicable) = record.news2_not_applicable(Utc::now()) {
        lines.push(format!("  {}", not_applicable.message));
    }
    lines.push(format!("Observations ({}):", record.observations.len()));
    for entry in &record.observations {
        let score = match (entry.set.news2(), entry.set.not_applicable()) {
            (Some(result), _) => match result.total() {
                Some(total) => format!(
                    "NEWS2 {total} {}",
                    result.risk().map(|r| r.word()).unwrap_or_default()
                ),
                None => format!("incomplete (≥{})", result.points()),
            },
            (None, not_applicable) => format!(
                "NEWS2 not used ({})",
                not_applicable.map_or("", |n| n.reason.key())
            ),
        };
        let error = if entry.entered_in_error.is_some() {
            "  [ENTERED IN ERROR]"
        } else {
            ""
        };
        lines.push(format!(
            "  {}  {}  {score}{error}",
            report::local_time(entry.set.taken_at()),
            entry.set.id()
        ));
    }
    if !record.escalations.is_empty() {
        lines.push(format!("Escalations ({}):", record.escalations.len()));
    }
    for entry in &record.escalations {
        let escalation = &entry.escalation;
        let reference = escalation
            .reference
            .as_deref()
            .map(|reference| format!(" [ref {reference}]"))
            .unwrap_or_default();
        lines.push(format!(
            "  {}  {}: {}{reference}",
            report::local_time(escalation.at),
            escalation.service.label(),
            escalation.outcome
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
                address: Address::default(),
                gp_practice: GpPractice::default(),
                contacts: Vec::new(),
            }))?;
            out.print(&json!({"id": id}), || format!("Added patient {id}"))
        }
        PatientCommand::List { by_risk } => {
            let now = Utc::now();
            let mut rows = session.ranked_caseload(now)?;
            if !by_risk {
                rows.sort_by(|(a, _), (b, _)| {
                    (a.family.to_lowercase(), a.given.to_lowercase(), a.id).cmp(&(
                        b.family.to_lowercase(),
                        b.given.to_lowercase(),
                        b.id,
                    ))
                });
            }
            list(out, session, &rows, now)
        }
        PatientCommand::Find { query } => {
            let now = Utc::now();
            let found: std::collections::HashSet<PatientId> =
                session.find(query)?.iter().map(|s| s.id).collect();
            let mut rows: Vec<_> = session
                .ranked_caseload(now)?
                .into_iter()
                .filter(|(summary, _)| found.contains(&summary.id))
                .collect();
            rows.sort_by(|(a, _), (b, _)| {
                (&a.family, &a.given, a.id).cmp(&(&b.family, &b.given, b.id))
            });
            list(out, session, &rows, now)
        }
        PatientCommand::Maternity { id, status, date } => {
            let status = status.status(*date)?;
            session.set_maternity(*id, status)?;
            out.print(
                &json!({"id": id, "maternity": status.key(), "date": status.date()}),
                || match status {
                    MaternityStatus::None => {
                        "Recorded: not pregnant and not postnatal; NEWS2 applies to new sets.".to_owned()
                    }
                    _ => format!(
                        "Recorded: {}. NEWS2 is not used for this patient's sets while this applies; use the maternity early warning chart.",
                        status.key()
                    ),
                },
            )
        }
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
        PatientCommand::Resolve {
            id,
            field,
            keep,
            value,
        } => {
            let resolution = match (keep, value) {
                (Some(index), _) => {
                    // The value as `patient show` numbered it, kept by content, not position.
                    let record = session.open_record(*id)?;
                    let kept = record
                        .conflicts
                        .iter()
                        .find(|conflict| conflict.field == *field)
                        .and_then(|conflict| conflict.values.get(*index))
                        .ok_or(doorstep_core::store::StoreError::NoConflict)?;
                    Resolution::Keep(kept.clone())
                }
                (None, Some(text)) => Resolution::Enter(
                    serde_json::from_str(text)
                        .map_err(|_| anyhow::anyhow!("--value must be JSON, e.g. '\"Gwen\"'"))?,
                ),
                (None, None) => anyhow::bail!("give --keep N or --value JSON"),
            };
            session.resolve_conflict(*id, field, &resolution)?;
            out.print(&json!({"id": id, "resolved": field}), || {
                format!("Resolved the conflict in {field}; it syncs to the team with the record.")
            })
        }
        PatientCommand::Restrict {
            id,
            reason,
            clinicians,
        } => {
            let candidates = session.restriction_candidates()?;
            let mut named = Vec::new();
            for wanted in clinicians {
                // "NAME", or "DEVICE:NAME" where two people (or one on two devices) share it.
                let (device, name) = match wanted.split_once(':') {
                    Some((device, name)) if device.trim().parse::<DeviceId>().is_ok() => {
                        (device.trim().parse::<DeviceId>().ok(), name)
                    }
                    _ => (None, wanted.as_str()),
                };
                let matching: Vec<_> = candidates
                    .iter()
                    .filter(|c| {
                        c.clinician.name.trim() == name.trim()
                            && device.is_none_or(|device| c.clinician.device == device)
                    })
                    .collect();
                match matching.as_slice() {
                    [] => anyhow::bail!(
                        "no registered clinician called {name:?} on the team; `patient restrict` names people exactly as the team's roster does"
                    ),
                    [one] => named.push(one.clinician.clone()),
                    several => anyhow::bail!(
                        "{} clinicians on the team are called {name:?} (devices {}); name one as DEVICE:NAME",
                        several.len(),
                        several
                            .iter()
                            .map(|c| c.clinician.device.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }
            }
            let restriction = session.restrict_record(*id, *reason, &named)?;
            let names: Vec<&str> = restriction
                .clinicians
                .iter()
                .map(|c| c.name.as_str())
                .collect();
            out.print(
                &json!({"id": id, "restricted": reason, "clinicians": restriction.clinicians}),
                || format!("Restricted ({}) to {}.", reason.words(), names.join(", ")),
            )
        }
        PatientCommand::Unrestrict { id } => {
            session.lift_restriction(*id)?;
            out.print(&json!({"id": id, "restricted": null}), || {
                "Restriction lifted: the whole team sees the record.".to_owned()
            })
        }
        PatientCommand::NoKnownAllergies { id } => {
            session.confirm_no_known_allergies(*id)?;
            out.print(
                &json!({"id": id, "allergy_status": "no-known-allergies"}),
                || "Recorded: no known allergies (asked and confirmed).".to_owned(),
            )
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
            // Air is the default for a set of vital signs, never a vital sign of its own: a
            // glucose on its own stays an entry with no vital sign.
            let any_vital = input.respiration_rate.is_some()
                || input.spo2.is_some()
                || input.systolic_bp.is_some()
                || input.pulse.is_some()
                || input.consciousness.is_some()
                || input.temperature.is_some();
            if args.on_oxygen {
                input.on_oxygen = Some(true);
            } else if args.on_air || (input.on_oxygen.is_none() && any_vital) {
                input.on_oxygen = Some(false);
            }
            let set = session.record_observation_confirming(
                args.patient,
                &input,
                args.taken_at,
                &args.confirm_unusual,
            )?;
            let mut shown = doorstep_core::view::set_json(&set, protocol);
            let late =
                Utc::now().signed_duration_since(set.taken_at()) > chrono::Duration::hours(24);
            let warnings: Vec<&str> = if late {
                vec!["taken more than 24 hours ago: check the date and time"]
            } else {
                Vec::new()
            };
            shown["warnings"] = json!(warnings);
            out.print(&shown, || {
                let warning = warnings
                    .iter()
                    .map(|warning| format!("WARNING: {warning}\n"))
                    .collect::<String>();
                format!(
                    "Saved observation {} taken {}.\n{warning}\n{}",
                    set.id(),
                    report::local_time(set.taken_at()),
                    report::set_text(&set, &shown)
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

pub fn escalate(session: &Session, args: &EscalateArgs, out: &Output) -> anyhow::Result<ExitCode> {
    let escalation = Escalation {
        service: args.service,
        at: args.at.unwrap_or_else(Utc::now),
        outcome: args.outcome.clone(),
        reference: args.reference.clone(),
        sbar: args.sbar.clone(),
        observation: args.observation,
    };
    let id = session.escalate(args.patient, &escalation)?;
    out.print(&json!({"id": id}), || {
        format!(
            "Recorded escalation {id} to {}; it syncs to the team with the record.",
            args.service.label()
        )
    })
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
