//! `doorstep-desktop [--data-dir DIR]` (or `DOORSTEP_DATA_DIR`).

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::path::PathBuf;

use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "doorstep-desktop",
    version,
    about = "Doorstep for laptops and tablets"
)]
struct Args {
    /// The device store's folder; the platform's app-data folder when not given.
    #[arg(long, env = "DOORSTEP_DATA_DIR")]
    data_dir: Option<PathBuf>,
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    match doorstep_desktop::run(args.data_dir) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("doorstep-desktop could not start: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
