//! `doorstep`: Doorstep's command-line client.
//!
//! Each subcommand parses its arguments and delegates to `doorstep-core`; nothing clinical is
//! computed here. Output meant for scripts (`--json`, `--jsonl`) is a stable contract, described in
//! the README and tested in `cli/tests/`.

mod news2_cmd;
mod protocol_file;
mod report;
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

    /// Use this organisation's wording of the NEWS2 responses (a TOML file; see
    /// docs/response-protocol.example.toml). Risk bands are never configurable.
    #[arg(long, global = true, value_name = "FILE")]
    response_protocol: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Score vital signs with NEWS2 (RCP 2017): one set from flags, or JSON Lines from stdin.
    News2(news2_cmd::News2Args),
    /// Score a synthetic caseload's latest observations and list the patients at risk.
    Triage(triage::TriageArgs),
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
    let outcome = match &cli.command {
        Command::News2(args) => news2_cmd::run(args, cli.json, &protocol),
        Command::Triage(args) => triage::run(args, cli.json, &protocol),
    };
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}
