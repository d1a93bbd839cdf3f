//! `doorstep fhir`: FHIR R4 UK Core out of the device store (the `doorstep-fhir` crate does the
//! conversion; this reads the record, audited as an export, and writes the file).

use std::io::Write;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::Subcommand;
use doorstep_core::PatientId;
use doorstep_core::store::Session;
use doorstep_fhir::{ExportOptions, observations_bundle};

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

pub fn fhir(session: &Session, command: &FhirCommand) -> anyhow::Result<ExitCode> {
    match command {
        FhirCommand::Export { patient, since } => {
            let record = session.export_record(*patient)?;
            let names = session
                .team_members()?
                .into_iter()
                .map(|member| (member.device, member.user))
                .collect();
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
