//! `doorstep incident`: records for patients no one has identified yet (an ambulance crew's
//! stranger), started at once and identified with an NHS number later.

use std::process::ExitCode;

use chrono::Utc;
use clap::Subcommand;
use doorstep_core::incident::{AgeBand, AgeGroup, NewIncident};
use doorstep_core::patient::Sex;
use doorstep_core::store::Session;
use doorstep_core::{NhsNumber, PatientId};
use serde_json::{Value, json};

use crate::output::Output;
use crate::record_cmd::{nhs_text, parse_sex};
use crate::report;

#[derive(Debug, Subcommand)]
pub enum IncidentCommand {
    /// Start a record for a patient no one has identified: prints its id. NEWS2 is used for an
    /// adult (16 or over) and not for a child: say which with --adult or --child when the age band
    /// is unknown.
    Start {
        /// female, male, other or unknown.
        #[arg(long, value_parser = parse_sex)]
        sex: Sex,
        /// under-1, 1-4, 5-12, 13-15, 16-17, 18-39, 40-64, 65-79, 80+ or unknown.
        #[arg(long)]
        age_band: AgeBand,
        /// Whole years, as estimated on scene; must lie in the age band.
        #[arg(long)]
        estimated_age: Option<u8>,
        /// The patient is 16 or over (needed when the age band is unknown).
        #[arg(long, conflicts_with = "child")]
        adult: bool,
        /// The patient is under 16 (needed when the age band is unknown).
        #[arg(long)]
        child: bool,
        /// The incident or dispatch number.
        #[arg(long)]
        reference: String,
        /// What happened, in a line ("found collapsed, no wallet").
        #[arg(long, default_value = "")]
        description: String,
        /// Where, as free text.
        #[arg(long, default_value = "")]
        place: String,
        /// When it happened or began, if known (RFC 3339): not when the record is started.
        #[arg(long)]
        occurred_at: Option<chrono::DateTime<chrono::FixedOffset>>,
    },
    /// Record the NHS number of an incident's patient: the record is then read as one with the
    /// record this device holds with that number, both histories kept. Identify again with the
    /// right number to correct a wrong one.
    Identify {
        id: PatientId,
        #[arg(long)]
        nhs_number: NhsNumber,
        /// How you know: patient, relative-or-carer, document, police, care-record or other.
        #[arg(long)]
        source: Option<doorstep_core::incident::IdentificationSource>,
    },
    /// Withdraw an identification that was wrong when no one knows who the patient is: the NHS
    /// number is cleared and the records are read apart again (the history keeps it).
    Withdraw { id: PatientId },
    /// This device's incident records, newest first.
    List,
}

pub fn incident(
    session: &Session,
    command: &IncidentCommand,
    out: &Output,
) -> anyhow::Result<ExitCode> {
    match command {
        IncidentCommand::Start {
            sex,
            age_band,
            estimated_age,
            adult,
            child,
            reference,
            description,
            place,
            occurred_at,
        } => {
            let stated_group = match (adult, child) {
                (true, _) => Some(AgeGroup::Adult),
                (_, true) => Some(AgeGroup::Child),
                _ => None,
            };
            let id = session.start_incident(&NewIncident {
                reference: reference.clone(),
                place: place.clone(),
                description: description.clone(),
                sex: *sex,
                age_band: *age_band,
                estimated_age: *estimated_age,
                stated_group,
                occurred_at: occurred_at.map(|at| at.with_timezone(&Utc)),
            })?;
            out.print(&json!({"id": id}), || {
                format!("Started incident record {id}")
            })
        }
        IncidentCommand::Withdraw { id } => {
            session.withdraw_identification(*id)?;
            out.print(&json!({"id": id, "nhs_number": null}), || {
                format!("Identification withdrawn: incident record {id} is not identified")
            })
        }
        IncidentCommand::Identify {
            id,
            nhs_number,
            source,
        } => {
            // Whose record the number links to, and where it disagrees with the scene, as the
            // desktop shows before its clinician confirms.
            let linked = doorstep_core::view::identify_preview_json(session, *id, *nhs_number)?;
            session.identify_incident(*id, *nhs_number, *source)?;
            let value = json!({"id": id, "nhs_number": nhs_number, "linked_to": linked});
            out.print(&value, || {
                if linked.is_empty() {
                    return format!(
                        "Identified as NHS {nhs_number}: no record with that number on this device"
                    );
                }
                let mut lines = Vec::new();
                for held in &linked {
                    lines.push(format!(
                        "Identified as NHS {nhs_number}: now read as one with {}, born {}",
                        held["display_name"].as_str().unwrap_or_default(),
                        held["birth_date"].as_str().unwrap_or("not known")
                    ));
                    for mismatch in held["mismatches"].as_array().into_iter().flatten() {
                        lines.push(format!(
                            "  CHECK {}: if this is not the patient, identify again with the right number",
                            mismatch.as_str().unwrap_or_default()
                        ));
                    }
                }
                lines.join("\n")
            })
        }
        IncidentCommand::List => {
            let incidents = session.incidents()?;
            let rows = doorstep_core::view::incidents_json(session, Utc::now())?;
            out.print(&Value::Array(rows), || {
                if incidents.is_empty() {
                    return "No incident records on this device.".to_owned();
                }
                incidents
                    .iter()
                    .map(|summary| {
                        let incident = summary.incident.as_ref();
                        format!(
                            "{}  {}  {:<20} {:<40} NHS {}",
                            summary.id,
                            incident.map_or_else(String::new, |incident| report::local_time(
                                incident.started
                            )),
                            incident.map_or("", |incident| incident.reference.as_str()),
                            summary.display_name(),
                            nhs_text(summary.nhs_number),
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
    }
}
