//! `doorstep fhir`: FHIR R4 UK Core out of the device store (the `doorstep-fhir` crate does the
//! conversion; this reads the record, audited as an export, and writes the file).

use std::io::Write;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand, ValueEnum};
use doorstep_core::PatientId;
use doorstep_core::store::Session;
use doorstep_fhir::{
    ExportOptions, HandoverOptions, handover_document, handover_text, observations_bundle,
};

#[derive(Debug, Subcommand)]
pub enum FhirCommand {
    /// A patient's observations and NEWS2 scores as a UK Core collection Bundle (JSON on stdout):
    /// per set, its vital signs, ACVPU, inspired oxygen and, for a complete set where NEWS2
    /// applies, the total with its sub-scores. Audited as an export.
    Export {
        #[arg(long)]
        patient: PatientId,
        /// Only sets taken at or after this time (RFC 3339, e.g. 2026-11-30T08:00:00Z).
        #[arg(long)]
        since: Option<DateTime<Utc>>,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum HandoverFormat {
    /// A FHIR document (Bundle of type document, a Composition first).
    Fhir,
    /// The same headings as words, to read aloud or print.
    Text,
}

#[derive(Debug, Args)]
pub struct HandoverArgs {
    #[arg(long)]
    patient: PatientId,
    /// Who receives the patient ("ED majors, Borsetshire General").
    #[arg(long)]
    to: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    format: HandoverFormat,
}

/// The team's names for its devices' users, to say who took each set.
fn names(
    session: &Session,
) -> anyhow::Result<std::collections::HashMap<doorstep_core::DeviceId, String>> {
    Ok(session
        .team_members()?
        .into_iter()
        .map(|member| (member.device, member.user))
        .collect())
}

/// `doorstep handover`: the record's essentials for whoever takes the patient on, audited as an
/// export.
pub fn handover(session: &Session, args: &HandoverArgs) -> anyhow::Result<ExitCode> {
    let purpose = match &args.to {
        Some(to) => format!("handover to {to}"),
        None => "handover".to_owned(),
    };
    let record = session.export_record_for(args.patient, &purpose)?;
    let user = session.user();
    let options = HandoverOptions {
        by: format!("{} ({})", user.name, user.role.words()),
        to: args.to.clone(),
        at: Utc::now(),
        names: names(session)?,
        medicines_review_days: session.protocol()?.medicines_review_days,
    };
    let mut stdout = std::io::stdout().lock();
    match args.format {
        HandoverFormat::Fhir => {
            serde_json::to_writer_pretty(&mut stdout, &handover_document(&record, &options))?;
            writeln!(stdout)?;
        }
        HandoverFormat::Text => write!(stdout, "{}", handover_text(&record, &options))?,
    }
    Ok(ExitCode::SUCCESS)
}

pub fn fhir(session: &Session, command: &FhirCommand) -> anyhow::Result<ExitCode> {
    match command {
        FhirCommand::Export { patient, since } => {
            let record = session.export_record_for(*patient, "FHIR export")?;
            let names = names(session)?;
            let bundle = observations_bundle(
                &record,
                &ExportOptions {
                    since: *since,
                    names,
                },
            );
            let mut stdout = std::io::stdout().lock();
            serde_json::to_writer_pretty(&mut stdout, &bundle)?;
            writeln!(stdout)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
