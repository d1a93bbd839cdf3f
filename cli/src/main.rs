//! `doorstep`: Doorstep's command-line client.
//!
//! Each subcommand parses its arguments and delegates to `doorstep-core`; nothing clinical is
//! computed here. Output meant for scripts (`--json`, `--jsonl`) is a stable contract, described in
//! the README and tested in `cli/tests/`.

mod fhir_cmd;
mod incident_cmd;
mod news2_cmd;
mod output;
mod protocol_file;
mod record_cmd;
mod report;
mod session;
mod store_cmd;
mod sync_cmd;
mod triage;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "doorstep",
    version,
    about = "Doorstep: offline-first clinical toolkit"
)]
struct Cli {
    /// Print machine-readable JSON on stdout instead of text.
    #[arg(long, global = true)]
    json: bool,

    /// For `news2` and `triage`: use this wording of the NEWS2 responses (a TOML file; see
    /// docs/response-protocol.example.toml) instead of Doorstep's community protocol. A device
    /// store uses the protocol its organisation signed (`admin protocol set`). Risk bands and
    /// monitoring frequencies are never configurable.
    #[arg(long, global = true, value_name = "FILE")]
    response_protocol: Option<PathBuf>,

    /// The device store's directory.
    #[arg(long, global = true, value_name = "DIR", env = "DOORSTEP_DATA_DIR")]
    data_dir: Option<PathBuf>,

    /// Which of the device's users is unlocking (needed when it has several). The PIN comes from
    /// DOORSTEP_PIN, or is asked for on a terminal.
    #[arg(long, global = true, value_name = "NAME")]
    user: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Score vital signs with NEWS2 (RCP 2017): one set from flags, or JSON Lines from stdin.
    News2(news2_cmd::News2Args),
    /// Score a synthetic caseload's latest observations and list the patients at risk.
    Triage(triage::TriageArgs),
    /// Create an encrypted, stand-alone device store with its first user.
    Init(store_cmd::InitArgs),
    /// The users who can unlock this device; `users add` adds a colleague with their own PIN.
    Users {
        #[command(subcommand)]
        command: Option<store_cmd::UsersCommand>,
    },
    /// Patients on this device.
    #[command(subcommand)]
    Patient(record_cmd::PatientCommand),
    /// Records for patients no one has identified yet: start one, identify it with an NHS number,
    /// list them.
    #[command(subcommand)]
    Incident(incident_cmd::IncidentCommand),
    /// Observation sets.
    #[command(subcommand)]
    Obs(record_cmd::ObsCommand),
    /// Visit notes.
    #[command(subcommand)]
    Note(record_cmd::NoteCommand),
    /// Record an escalation: who was called about a patient, when, and what they said.
    Escalate(record_cmd::EscalateArgs),
    /// FHIR R4 UK Core: `fhir export` writes a patient's record and NEWS2 as a Bundle; `fhir
    /// import` brings in allergies, alerts, medicines and problems from the GP or shared record.
    #[command(subcommand)]
    Fhir(fhir_cmd::FhirCommand),
    /// A transfer of care: the record's essentials under UK Core headings, as words (SBAR order)
    /// or a FHIR document.
    Handover(fhir_cmd::HandoverArgs),
    /// The device's audit trail; `audit verify` checks it.
    Audit {
        #[command(subcommand)]
        command: Option<store_cmd::AuditCommand>,
    },
    /// Synthetic data for demos and benchmarks.
    #[command(subcommand)]
    Fixtures(store_cmd::FixturesCommand),
    /// The organisation administrator: org, teams, enrolment codes, devices, revocation.
    Admin(sync_cmd::AdminArgs),
    /// Enrol this device with a sync server using an administrator's code.
    Enrol(sync_cmd::EnrolArgs),
    /// This device's sync state.
    Status,
    /// Send this device's changes and receive the team's, end-to-end encrypted.
    Sync,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let protocol = match protocol_file::load(cli.response_protocol.as_deref()) {
        Ok(protocol) => protocol,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::from(2);
        }
    };
    let stateless = matches!(cli.command, Command::News2(_) | Command::Triage(_));
    if cli.response_protocol.is_some() && !stateless {
        eprintln!(
            "error: --response-protocol applies to `news2` and `triage` only; a device store uses the protocol its organisation signed (`doorstep admin protocol set`)"
        );
        return ExitCode::from(2);
    }
    let out = output::Output::new(cli.json);
    let dir = cli.data_dir.as_deref();
    let user = cli.user.as_deref();
    let outcome = match &cli.command {
        Command::News2(args) => news2_cmd::run(args, cli.json, &protocol),
        Command::Triage(args) => triage::run(args, cli.json, &protocol),
        Command::Init(args) => store_cmd::init(dir, args, &out),
        Command::Users { command } => store_cmd::users(dir, user, command.as_ref(), &out),
        Command::Audit { command } => store_cmd::audit(dir, user, command.as_ref(), &out),
        Command::Fixtures(command) => store_cmd::fixtures(dir, user, command, &out),
        Command::Patient(command) => record_cmd::with_session(dir, user, |session| {
            record_cmd::patient(session, command, &session.protocol()?, &out)
        }),
        Command::Incident(command) => record_cmd::with_session(dir, user, |session| {
            incident_cmd::incident(session, command, &out)
        }),
        Command::Obs(command) => record_cmd::with_session(dir, user, |session| {
            record_cmd::obs(session, command, &session.protocol()?, &out)
        }),
        Command::Note(command) => record_cmd::with_session(dir, user, |session| {
            record_cmd::note(session, command, &out)
        }),
        Command::Escalate(args) => record_cmd::with_session(dir, user, |session| {
            record_cmd::escalate(session, args, &out)
        }),
        Command::Fhir(command) => {
            record_cmd::with_session(dir, user, |session| fhir_cmd::fhir(session, command, &out))
        }
        Command::Handover(args) => record_cmd::with_session(dir, user, |session| {
            fhir_cmd::handover(session, args, cli.json)
        }),
        Command::Admin(args) => sync_cmd::admin(args, &out),
        Command::Enrol(args) => sync_cmd::enrol(dir, args, &out),
        Command::Status => sync_cmd::status(dir, user, &out),
        Command::Sync => sync_cmd::sync(dir, user, &out),
    };
    match outcome {
        Ok(code) => code,
        Err(error)
            if error
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            // The reader went away (`| head`): nothing left to say.
            ExitCode::SUCCESS
        }
        Err(error) => {
            // Errors name what went wrong and what to do; none carries patient data.
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
