//! `doorstep triage`: who on the caseload needs attention first, by their latest NEWS2.
//!
//! Until the encrypted store exists this works on a synthetic caseload from `doorstep-fixtures`,
//! which makes it the foundation's end-to-end demonstration: generate, score in the core, rank.

use std::cmp::Reverse;
use std::io::{self, Write};
use std::process::ExitCode;

use chrono::{DateTime, Timelike, Utc};
use clap::Args;
use doorstep_core::news2::{
    ALGORITHM_VERSION, ClinicalRisk, News2Result, ResponseProtocol, Trigger,
};
use doorstep_core::patient::AllergySeverity;
use doorstep_fixtures::{CaseloadSpec, SyntheticPatient, caseload};
use serde_json::{Value, json};

use crate::report;

#[derive(Debug, Args)]
pub struct TriageArgs {
    #[command(flatten)]
    caseload: SyntheticCaseload,
    /// Time of the latest observations (RFC 3339); defaults to the start of the current hour.
    #[arg(long)]
    now: Option<DateTime<Utc>>,
    /// List every patient, not only those at risk.
    #[arg(long)]
    all: bool,
}

/// Which synthetic caseload to make (shared by `triage` and `fixtures load`).
#[derive(Debug, Args)]
pub struct SyntheticCaseload {
    /// How many synthetic patients to generate.
    #[arg(long, default_value_t = 40)]
    pub patients: usize,
    /// Seed of the synthetic caseload; the same seed gives the same patients.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Observation sets per patient.
    #[arg(long, default_value_t = 8)]
    pub observations: usize,
    /// Visit notes per patient (a few sentences each, spread over the observations' span).
    #[arg(long, default_value_t = 0)]
    pub notes: usize,
}

impl SyntheticCaseload {
    pub fn spec(&self, now: DateTime<Utc>) -> CaseloadSpec {
        CaseloadSpec {
            observations_per_patient: self.observations.max(1),
            notes_per_patient: self.notes,
            ..CaseloadSpec::new(self.patients, self.seed, now)
        }
    }
}

/// The start of the current hour: synthetic observations fall on the hour, like a visit round.
pub fn this_hour() -> DateTime<Utc> {
    let now = Utc::now();
    now.with_minute(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(now)
}

struct Row<'a> {
    patient: &'a SyntheticPatient,
    latest: &'a News2Result,
    previous_points: Option<u8>,
}

impl Row<'_> {
    /// Complete sets rank by risk; an incomplete latest set ranks as the risk it already forces,
    /// and with no floor just above low, because an unscored patient is not a low-risk one.
    fn rank(&self) -> (u8, u8) {
        let risk_rank = match self.latest.effective_risk() {
            Some(ClinicalRisk::High) => 5,
            Some(ClinicalRisk::Medium) => 4,
            Some(ClinicalRisk::LowMedium) => 3,
            None if self.latest.is_partial() => 2,
            _ => 1,
        };
        (risk_rank, self.latest.points())
    }

    fn at_risk(&self) -> bool {
        self.rank().0 >= 2
    }

    fn alerts(&self) -> Vec<String> {
        let mut alerts: Vec<String> = self
            .patient
            .flags
            .iter()
            .map(|flag| flag.kind.label().to_owned())
            .collect();
        for allergy in &self.patient.allergies {
            let severe = if allergy.severity == AllergySeverity::Severe {
                " (severe)"
            } else {
                ""
            };
            alerts.push(format!("Allergy: {}{severe}", allergy.substance));
        }
        alerts
    }

    fn trend(&self) -> Option<i16> {
        self.previous_points
            .map(|previous| i16::from(self.latest.points()) - i16::from(previous))
    }
}

pub fn run(args: &TriageArgs, json: bool, protocol: &ResponseProtocol) -> anyhow::Result<ExitCode> {
    let now = args.now.unwrap_or_else(this_hour);
    let spec = args.caseload.spec(now);
    let patients = caseload(&spec);
    let mut rows: Vec<Row> = patients
        .iter()
        .filter_map(|patient| {
            let (latest, earlier) = patient.observations.split_last()?;
            Some(Row {
                patient,
                // Synthetic patients are adults: every set has a result.
                latest: latest.news2()?,
                previous_points: earlier
                    .last()
                    .and_then(|set| set.news2())
                    .map(|result| result.points()),
            })
        })
        .collect();
    rows.sort_by_key(|row| Reverse(row.rank()));
    let shown: Vec<&Row> = rows
        .iter()
        .filter(|row| args.all || row.at_risk())
        .collect();

    let mut out = io::stdout().lock();
    if json {
        let list: Vec<Value> = shown
            .iter()
            .map(|row| row_json(row, now, protocol))
            .collect();
        serde_json::to_writer_pretty(&mut out, &list)?;
        writeln!(out)?;
    } else {
        write_text(&mut out, &spec, &rows, &shown, protocol)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn row_json(row: &Row, now: DateTime<Utc>, protocol: &ResponseProtocol) -> Value {
    let demographics = &row.patient.demographics;
    json!({
        "id": row.patient.id,
        "nhs_number": demographics.nhs_number,
        "given": demographics.given,
        "family": demographics.family,
        "birth_date": demographics.birth_date,
        "age": demographics.age_on(now.date_naive()),
        "taken_at": row.patient.latest().map(|set| set.taken_at()),
        "trend": row.trend(),
        "alerts": row.alerts(),
        "news2": report::result_json(row.latest, protocol),
    })
}

fn risk_cell(result: &News2Result) -> String {
    match (result.risk(), result.effective_risk()) {
        (Some(risk), _) => risk.word().to_uppercase(),
        (None, Some(floor)) => format!("≥{}", floor.word().to_uppercase()),
        (None, None) => "INCOMPLETE".to_owned(),
    }
}

fn score_cell(result: &News2Result) -> String {
    match result.total() {
        Some(total) => total.to_string(),
        // A partial set's sum is a floor, never a score: mark it so nobody reads it as one.
        None => format!("≥{}", result.points()),
    }
}

fn write_text(
    out: &mut impl Write,
    spec: &CaseloadSpec,
    rows: &[Row],
    shown: &[&Row],
    protocol: &ResponseProtocol,
) -> io::Result<()> {
    let count = |wanted: u8| rows.iter().filter(|row| row.rank().0 == wanted).count();
    writeln!(
        out,
        "Synthetic caseload: {} patients (seed {}), latest observations scored with {ALGORITHM_VERSION}",
        rows.len(),
        spec.seed
    )?;
    writeln!(
        out,
        "High {} · Medium {} · Low-medium {} · Incomplete {} · Low {}\n",
        count(5),
        count(4),
        count(3),
        count(2),
        count(1)
    )?;
    if shown.is_empty() {
        writeln!(
            out,
            "No patient's latest observations call for more than routine monitoring."
        )?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<11} {:>5} {:>6}  {:<30} {:<13} {:>3}  {:<12} ALERTS",
        "RISK", "NEWS2", "TREND", "PATIENT", "NHS NUMBER", "AGE", "LAST OBS"
    )?;
    let today = spec.now.date_naive();
    for row in shown {
        let demographics = &row.patient.demographics;
        let trend = match row.trend() {
            Some(delta) if delta > 0 => format!("↑{delta}"),
            Some(delta) if delta < 0 => format!("↓{}", -delta),
            Some(_) => "→".to_owned(),
            None => String::new(),
        };
        let last = row
            .patient
            .latest()
            .map(|set| set.taken_at().format("%d %b %H:%M").to_string())
            .unwrap_or_default();
        let mut name = demographics.display_name();
        name.truncate(30);
        writeln!(
            out,
            "{:<11} {:>5} {:>6}  {:<30} {:<13} {:>3}  {:<12} {}",
            risk_cell(row.latest),
            score_cell(row.latest),
            trend,
            name,
            demographics.nhs_number.to_string(),
            demographics.age_on(today),
            last,
            row.alerts().join(", ")
        )?;
    }
    writeln!(out, "\nWhat each band requires:")?;
    for trigger in [
        Trigger::High,
        Trigger::Medium,
        Trigger::SingleParameterThree,
    ] {
        if shown
            .iter()
            .any(|row| row.latest.effective_risk() == Some(trigger.risk()))
        {
            let guidance = protocol.for_trigger(trigger);
            writeln!(
                out,
                "  {}: {}; monitoring {}",
                trigger.risk().word().to_uppercase(),
                guidance.response,
                guidance.monitoring
            )?;
        }
    }
    Ok(())
}
