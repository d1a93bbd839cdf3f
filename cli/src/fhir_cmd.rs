//! `doorstep fhir`: FHIR R4 UK Core in and out of the device store (the `doorstep-fhir` crate
//! does the conversion; this reads the record, audited as an export, and writes the file, or
//! reads a file and imports it in one transaction).

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand, ValueEnum};
use doorstep_core::PatientId;
use doorstep_core::store::{NewPatients, Session};
use doorstep_fhir::{
    ExportOptions, HandoverOptions, handover_document, handover_text, observations_bundle,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::output::Output;

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
    /// Imports a Bundle (collection, searchset, transaction or document) of UK Core Patient,
    /// AllergyIntolerance, MedicationStatement, Condition and Flag resources from the GP record
    /// or the shared care record. Patients are matched by NHS number; the whole file is checked
    /// first and applied in one transaction, so a bad file changes nothing. Prints counts of
    /// what changed and which entries were left out.
    Import {
        file: std::path::PathBuf,
        /// Where the file came from, for the audit trail and the lists' source (default: the
        /// bundle's Organization).
        #[arg(long)]
        source: Option<String>,
        /// Update only patients already on this device; report the others. For a feed that
        /// covers more people than the team cares for (a whole practice list).
        #[arg(long)]
        existing_only: bool,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum HandoverFormat {
    /// A FHIR document (Bundle of type document, a Composition first).
    Fhir,
    /// The same headings as words, to read aloud or print.
    Text,
    /// A crew's handover at the door in ATMIST(ER) order, read aloud in under a minute; with
    /// --json, its lines and how long it takes to say.
    Atmist,
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
    /// ATMIST: injuries or illness in the crew's words (else the latest note since the incident).
    #[arg(long)]
    injuries: Option<String>,
    /// ATMIST: treatment so far (oxygen and calls made are taken from the record).
    #[arg(long)]
    treatment: Option<String>,
    /// ATMIST: expected time of arrival.
    #[arg(long)]
    eta: Option<String>,
    /// ATMIST: what the receiving team should have ready.
    #[arg(long)]
    requirements: Option<String>,
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
pub fn handover(session: &Session, args: &HandoverArgs, json: bool) -> anyhow::Result<ExitCode> {
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
        HandoverFormat::Atmist => {
            let handover = doorstep_fhir::atmist(
                &record,
                &doorstep_fhir::AtmistOptions {
                    at: options.at,
                    injuries: args.injuries.clone(),
                    treatment: args.treatment.clone(),
                    eta: args.eta.clone(),
                    requirements: args.requirements.clone(),
                },
            );
            if json {
                serde_json::to_writer_pretty(&mut stdout, &handover)?;
                writeln!(stdout)?;
            } else {
                write!(stdout, "{}", handover.text())?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn fhir(session: &Session, command: &FhirCommand, out: &Output) -> anyhow::Result<ExitCode> {
    match command {
        FhirCommand::Import {
            file,
            source,
            existing_only,
        } => {
            let new_patients = if *existing_only {
                NewPatients::LeaveOut
            } else {
                NewPatients::Register
            };
            import(session, file, source.as_deref(), new_patients, out)
        }
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

fn import(
    session: &Session,
    file: &std::path::Path,
    source: Option<&str>,
    new_patients: NewPatients,
    out: &Output,
) -> anyhow::Result<ExitCode> {
    // The file's name is the user's, and may name a patient: it stays out of the message.
    let text = std::fs::read_to_string(file)
        .map_err(|error| anyhow::anyhow!("could not read the file: {}", error.kind()))?;
    let plan = doorstep_fhir::read_bundle(&text)?;
    let bar = ProgressBar::new(plan.records.len() as u64);
    if out.is_json() || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} patients")
            .context("progress bar template")?
            .progress_chars("=> "),
    );
    bar.set_message("Importing");
    let report = doorstep_fhir::apply(session, &plan, source, new_patients, |done| {
        bar.set_position(done as u64);
    })?;
    bar.finish_and_clear();
    let outcome = &report.outcome;
    let list = |entries: &[usize]| {
        entries
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    out.print(&serde_json::to_value(&report)?, || {
        let mut text = format!(
            "Imported {} patients: {} new, {} updated, {} unchanged.\nAllergies and alerts: {} added, {} updated, {} left as they are on this device (recorded here, or closed here or by an earlier import).\nMedicines and problem lists: {} updated from this file, {} older than the list already held and not used.",
            plan.records.len(),
            outcome.patients_created,
            outcome.patients_updated,
            outcome.patients_unchanged,
            outcome.entries_added,
            outcome.entries_updated,
            outcome.entries_kept,
            outcome.snapshots_applied,
            outcome.snapshots_stale,
        );
        if outcome.no_known_allergies_recorded > 0 {
            text.push_str(&format!(
                "\n\"No known allergies\" recorded for {} patients.",
                outcome.no_known_allergies_recorded
            ));
        }
        if !report.refused_entries.is_empty() {
            text.push_str(&format!(
                "\nNOT IMPORTED, entries {}: the NHS number is held on this device for a patient with another date of birth or first name. Check with the source which patient this is.",
                list(&report.refused_entries)
            ));
        }
        if !report.demographics_differ_entries.is_empty() {
            text.push_str(&format!(
                "\nCheck the patients in entries {}: name, sex, address or GP practice differ from the record on this device (the record was not changed).",
                list(&report.demographics_differ_entries)
            ));
        }
        if !report.not_held_entries.is_empty() {
            text.push_str(&format!(
                "\n{} patients not on this device were left out (--existing-only).",
                report.not_held_entries.len()
            ));
        }
        for skipped in &report.skipped {
            text.push_str(&format!(
                "\nEntry {} ({}) not imported: {}.",
                skipped.entry, skipped.resource, skipped.reason
            ));
        }
        text
    })
}
