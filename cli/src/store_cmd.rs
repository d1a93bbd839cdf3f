//! `doorstep init`, `users`, `audit`, `fixtures load`: the device store itself.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use doorstep_core::observation::Role;
use doorstep_core::store::{Device, UnlockPolicy};
use doorstep_fixtures::caseload;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::output::Output;
use crate::session;
use crate::triage::{SyntheticCaseload, this_hour};

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The first user's name, as the unlock screen will list it.
    #[arg(long)]
    user_name: String,
    /// nurse, midwife, paramedic, healthcare-assistant or administrator.
    #[arg(long)]
    role: Role,
    /// Wrong PINs in a row after which the device wipes its data (organisation policy).
    #[arg(long, default_value_t = UnlockPolicy::default().wipe_after)]
    wipe_after: u32,
    /// Lock after this many seconds without use.
    #[arg(long, default_value_t = UnlockPolicy::default().idle_lock_seconds)]
    idle_lock_seconds: u64,
}

pub fn init(dir: Option<&Path>, args: &InitArgs, out: &Output) -> anyhow::Result<ExitCode> {
    let dir = session::data_dir(dir)?;
    let pin = session::pin("Choose a PIN: ")?;
    let policy = UnlockPolicy {
        wipe_after: args.wipe_after.max(1),
        idle_lock_seconds: args.idle_lock_seconds,
        ..UnlockPolicy::default()
    };
    let session = Device::create_in(
        &dir,
        &args.user_name,
        args.role,
        &pin,
        policy,
        &doorstep_keystore::OsKeyStore,
    )?;
    let device = session.sync_status()?.device_id;
    out.print(
        &json!({"device_id": device, "user_id": session.user().id}),
        || {
            format!(
                "Created an encrypted device store in {} for {}.",
                dir.display(),
                session.user().name
            )
        },
    )
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Add a colleague who will unlock this device with their own PIN (taken from
    /// DOORSTEP_NEW_PIN, or asked for on a terminal). Unlock as a nurse or administrator first.
    Add {
        #[arg(long)]
        user_name: String,
        #[arg(long)]
        role: Role,
    },
}

pub fn users(
    dir: Option<&Path>,
    user: Option<&str>,
    command: Option<&UsersCommand>,
    out: &Output,
) -> anyhow::Result<ExitCode> {
    if let Some(UsersCommand::Add { user_name, role }) = command {
        let session = session::unlock(dir, user)?;
        let pin = match std::env::var("DOORSTEP_NEW_PIN") {
            Ok(pin) => pin,
            Err(_) if std::io::IsTerminal::is_terminal(&std::io::stdin()) => {
                rpassword::prompt_password(format!("PIN for {user_name}: "))?
            }
            Err(_) => {
                anyhow::bail!("no PIN for the new user: set DOORSTEP_NEW_PIN, or run on a terminal")
            }
        };
        let added = session.add_user(user_name, *role, &pin)?;
        return out.print(&json!(added), || {
            format!("Added {} ({}).", added.name, added.role.key())
        });
    }
    let device = Device::open_in(&session::data_dir(dir)?, &doorstep_keystore::OsKeyStore)?;
    let users = device.users()?;
    out.print(&json!(users), || {
        users
            .iter()
            .map(|user| format!("{}  ({})", user.name, user.role.key()))
            .collect::<Vec<_>>()
            .join("\n")
    })
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain; exit 0 only if every entry is intact.
    Verify,
}

pub fn audit(
    dir: Option<&Path>,
    user: Option<&str>,
    command: Option<&AuditCommand>,
    out: &Output,
) -> anyhow::Result<ExitCode> {
    let session = session::unlock(dir, user)?;
    match command {
        Some(AuditCommand::Verify) => match session.verify_audit()? {
            Ok(entries) => out.print(&json!({"intact": true, "entries": entries}), || {
                format!("Audit trail intact: {entries} entries.")
            }),
            Err(broken) => {
                out.print(
                    &json!({"intact": false, "error": broken.to_string()}),
                    || format!("AUDIT TRAIL BROKEN: {broken}"),
                )?;
                Ok(ExitCode::FAILURE)
            }
        },
        None => {
            let entries = session.audit_entries()?;
            let list: Vec<_> = entries
                .iter()
                .map(|entry| {
                    json!({
                        "seq": entry.seq,
                        "at": entry.at,
                        "user": entry.user,
                        "role": entry.role,
                        "device": entry.device,
                        "patient": entry.patient,
                        "action": entry.action,
                        "reason": entry.reason,
                    })
                })
                .collect();
            out.print(&json!(list), || {
                entries
                    .iter()
                    .map(|entry| {
                        format!(
                            "{:>5}  {}  {:<20} {:<12} patient {}{}",
                            entry.seq,
                            entry.at.format("%Y-%m-%d %H:%M:%S"),
                            serde_json::to_value(entry.action)
                                .ok()
                                .and_then(|v| v.as_str().map(str::to_owned))
                                .unwrap_or_default(),
                            entry.role.key(),
                            entry
                                .patient
                                .map(|p| p.to_string())
                                .unwrap_or_else(|| "-".to_owned()),
                            entry
                                .reason
                                .as_ref()
                                .map(|r| format!("  reason: {r}"))
                                .unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum FixturesCommand {
    /// Load a synthetic caseload (NHS numbers in the never-issued 999 range) into the store.
    Load(SyntheticCaseload),
}

pub fn fixtures(
    dir: Option<&Path>,
    user: Option<&str>,
    command: &FixturesCommand,
    out: &Output,
) -> anyhow::Result<ExitCode> {
    let FixturesCommand::Load(wanted) = command;
    let session = session::unlock(dir, user)?;
    let spec = wanted.spec(this_hour());
    let generated: Vec<_> = caseload(&spec).iter().map(|p| p.to_new_patient()).collect();
    let bar = ProgressBar::new(generated.len() as u64);
    if out.is_json() || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} patients ({eta} left)")
            .context("progress bar template")?
            .progress_chars("=> "),
    );
    bar.set_message("Sealing records");
    let started = std::time::Instant::now();
    let ids = session.import_patients(&generated, |done| bar.set_position(done as u64))?;
    bar.finish_and_clear();
    out.print(
        &json!({"loaded": ids.len(), "seed": spec.seed, "seconds": started.elapsed().as_secs_f64()}),
        || {
            format!(
                "Loaded {} synthetic patients ({} observation sets each) in {:.1} s.",
                ids.len(),
                spec.observations_per_patient,
                started.elapsed().as_secs_f64()
            )
        },
    )
}
