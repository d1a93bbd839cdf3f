//! `doorstep admin …`, `enrol`, `status` and `sync`: the organisation and end-to-end encrypted sync.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use doorstep_core::DeviceId;
use doorstep_core::observation::Role;
use doorstep_transport::{AdminClient, SyncProgress, TransportError};
use indicatif::{ProgressBar, ProgressDrawTarget};
use serde_json::json;

use crate::output::Output;
use crate::session;

#[derive(Debug, Args)]
pub struct AdminArgs {
    /// The administrator's directory (holds the organisation's keys, sealed under the admin
    /// passphrase from DOORSTEP_ADMIN_PASSPHRASE or asked for on a terminal).
    #[arg(long, value_name = "DIR")]
    admin_dir: PathBuf,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create the organisation's admin key and register it with a sync server.
    Init {
        #[arg(long)]
        server: String,
        #[arg(long)]
        org: String,
    },
    /// Teams (caseload groups) that share records.
    #[command(subcommand)]
    Team(TeamCommand),
    /// A one-time code that enrols one device into a team.
    EnrolCode {
        #[arg(long)]
        team: String,
        #[arg(long)]
        user_name: String,
        #[arg(long)]
        role: Role,
    },
    /// The organisation's enrolled devices.
    Devices,
    /// Revoke a device: the server refuses it, the team key is rotated, and the device wipes itself
    /// when it next connects.
    Revoke { device: DeviceId },
    /// The organisation's view of every device's synced audit trail.
    Audit,
    /// The team's NEWS2 response protocol: the words and monitoring intervals its devices show.
    #[command(subcommand)]
    Protocol(ProtocolCommand),
}

#[derive(Debug, Subcommand)]
enum ProtocolCommand {
    /// Sign a protocol (a TOML file, see docs/response-protocol.example.toml) for a team; its
    /// devices use it from their next sync.
    Set {
        #[arg(long)]
        team: String,
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
    },
    /// The team's protocol as its devices receive it.
    Show {
        #[arg(long)]
        team: String,
    },
}

#[derive(Debug, Subcommand)]
enum TeamCommand {
    Create {
        name: String,
    },
    /// Publish the team's membership again (no new key): folds in devices enrolled since, and
    /// seals every epoch's key to every member, so devices enrolled after a revocation can read
    /// records written before it.
    Publish {
        name: String,
    },
}

pub fn admin(args: &AdminArgs, out: &Output) -> anyhow::Result<ExitCode> {
    let dir = args.admin_dir.as_path();
    let pin = session::admin_passphrase()?;
    match &args.command {
        AdminCommand::Init { server, org } => {
            let admin = AdminClient::init(dir, &pin, server, org)?;
            out.print(&json!({"org": admin.org(), "server": server}), || {
                format!("Registered organisation {} with {server}.", admin.org())
            })
        }
        AdminCommand::Team(TeamCommand::Create { name }) => {
            let mut admin = AdminClient::open(dir, &pin)?;
            admin.create_team(dir, &pin, name)?;
            out.print(&json!({"team": name}), || format!("Created team {name}."))
        }
        AdminCommand::Team(TeamCommand::Publish { name }) => {
            let mut admin = AdminClient::open(dir, &pin)?;
            let version = admin.publish_team(dir, &pin, name)?;
            out.print(&json!({"team": name, "version": version}), || {
                format!("Published team {name} (membership version {version}).")
            })
        }
        AdminCommand::Protocol(ProtocolCommand::Set { team, file }) => {
            let protocol = crate::protocol_file::load(Some(file))?;
            let mut admin = AdminClient::open(dir, &pin)?;
            let version = admin.set_protocol(dir, &pin, team, protocol.clone())?;
            out.print(
                &json!({"team": team, "protocol": protocol.id, "version": protocol.version, "membership_version": version}),
                || {
                    format!(
                        "Team {team} now uses {} ({} v{}); devices take it at their next sync.",
                        protocol.name, protocol.id, protocol.version
                    )
                },
            )
        }
        AdminCommand::Protocol(ProtocolCommand::Show { team }) => {
            let admin = AdminClient::open(dir, &pin)?;
            let protocol = admin.protocol(team)?;
            out.print(&json!(protocol), || {
                crate::protocol_file::describe(&protocol)
            })
        }
        AdminCommand::EnrolCode {
            team,
            user_name,
            role,
        } => {
            let admin = AdminClient::open(dir, &pin)?;
            let issued = admin.enrolment_code(team, user_name, *role)?;
            out.print(&json!({"code": issued.code, "team": issued.team, "user": issued.user}), || {
                format!("Enrolment code for {user_name} ({}) in {team}:\n\n    {}\n\nIt works once.", role.key(), issued.code)
            })
        }
        AdminCommand::Devices => {
            let admin = AdminClient::open(dir, &pin)?;
            let devices = admin.devices()?;
            out.print(&devices, || {
                devices
                    .as_array()
                    .map(|list| {
                        list.iter()
                            .map(|d| {
                                format!(
                                    "{}  {:<10} {:<20} {}{}",
                                    d["device"].as_str().unwrap_or_default(),
                                    d["team"].as_str().unwrap_or_default(),
                                    d["user"].as_str().unwrap_or_default(),
                                    d["role"].as_str().unwrap_or_default(),
                                    if d["revoked"] == true {
                                        "  REVOKED"
                                    } else {
                                        ""
                                    }
                                )
                            })
                            .collect::<Vec<_>>()
                            .join("\n")
                    })
                    .unwrap_or_default()
            })
        }
        AdminCommand::Audit => {
            let admin = AdminClient::open(dir, &pin)?;
            let entries = admin.audit()?;
            // The listing is a contract; what does not hold together is said beside it.
            for found in doorstep_core::sync::payload::audit::trail_breaks(
                entries.iter().map(|(_, entry)| entry),
            ) {
                eprintln!("WARNING: {}", describe_break(&found));
            }
            let list: Vec<_> = entries
                .iter()
                .map(|(team, entry)| {
                    json!({
                        "team": team,
                        "seq": entry.seq,
                        "at": entry.at,
                        "device": entry.device,
                        "user": entry.user,
                        "role": entry.role,
                        "patient": entry.patient,
                        "action": entry.action,
                        "reason": entry.reason,
                    })
                })
                .collect();
            out.print(&json!(list), || {
                list.iter()
                    .map(|e| {
                        format!(
                            "{}  {}  device {} #{}  {}{}",
                            e["team"].as_str().unwrap_or_default(),
                            e["at"].as_str().unwrap_or_default(),
                            e["device"].as_str().unwrap_or_default(),
                            e["seq"],
                            e["action"].as_str().unwrap_or_default(),
                            e["reason"]
                                .as_str()
                                .map(|r| format!("  reason: {r}"))
                                .unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        AdminCommand::Revoke { device } => {
            let mut admin = AdminClient::open(dir, &pin)?;
            let team = admin.revoke(dir, &pin, *device)?;
            out.print(&json!({"revoked": device, "team": team}), || {
                format!("Revoked {device}; team {team} moved to a new key.")
            })
        }
    }
}

#[derive(Debug, Args)]
pub struct EnrolArgs {
    #[arg(long)]
    server: String,
    #[arg(long)]
    code: String,
}

pub fn enrol(dir: Option<&Path>, args: &EnrolArgs, out: &Output) -> anyhow::Result<ExitCode> {
    let dir = session::data_dir(dir)?;
    let pin = session::pin("Choose a PIN for this device: ")?;
    let session = doorstep_transport::enrol_in(
        &dir,
        &args.server,
        &args.code,
        &pin,
        &doorstep_keystore::OsKeyStore,
    )?;
    let status = session.sync_status()?;
    out.print(&json!(status), || {
        format!(
            "Enrolled as {} in team {} on {}.",
            status.user,
            status.team.clone().unwrap_or_default(),
            args.server
        )
    })
}

pub fn status(dir: Option<&Path>, user: Option<&str>, out: &Output) -> anyhow::Result<ExitCode> {
    let session = session::unlock(dir, user)?;
    let status = session.sync_status()?;
    out.print(&json!(status), || {
        let last = status
            .last_sync
            .map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_else(|| "never".to_owned());
        let skew = clock_skew_text(status.clock_skew_seconds)
            .map(|text| format!("\n{text}"))
            .unwrap_or_default();
        let sealer = if status.key_sealer == "software-v1" {
            "a key file beside the database (no operating-system key store was available when this device was set up)"
        } else {
            "the operating system's key store"
        };
        format!(
            "Device {} ({})\nTeam {} on {}\nLast synced: {last}\nRecords with changes waiting: {}\nColleagues' changes waiting for what they need: {}\nKeys sealed by: {sealer}\nNEWS2 responses: {} ({} v{}){skew}",
            status.device_id,
            status.user,
            status
                .team
                .clone()
                .unwrap_or_else(|| "none (not enrolled)".to_owned()),
            status
                .server
                .clone()
                .unwrap_or_else(|| "no server".to_owned()),
            status.pending,
            status.waiting,
            status.protocol.name,
            status.protocol.id,
            status.protocol.version,
        )
    })
}

/// A warning when this device's clock is more than five minutes from the server's.
fn clock_skew_text(seconds: Option<i64>) -> Option<String> {
    let seconds = seconds?;
    if seconds.abs() <= doorstep_core::store::CLOCK_SKEW_WARNING_SECONDS {
        return None;
    }
    let direction = if seconds > 0 { "ahead of" } else { "behind" };
    Some(format!(
        "WARNING: this device's clock is {} minutes {direction} the sync server's; observation and escalation times come from it. Correct the device's date and time settings.",
        seconds.abs() / 60
    ))
}

pub fn sync(dir: Option<&Path>, user: Option<&str>, out: &Output) -> anyhow::Result<ExitCode> {
    let session = session::unlock(dir, user)?;
    let bar = ProgressBar::new_spinner();
    if out.is_json() || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    let outcome = doorstep_transport::sync(&session, |progress| match progress {
        SyncProgress::Uploading { done, total } => {
            bar.set_message(format!("uploading {done}/{total} sealed units"))
        }
        SyncProgress::Downloading { received } => {
            bar.set_message(format!("received changes to {received} records"))
        }
    });
    bar.finish_and_clear();
    match outcome {
        Ok(report) => out.print(&json!(report), || {
            format!(
                "Synced in {:.1} s: {} sent, {} received, {} records with conflicts to review.",
                report.elapsed_ms as f64 / 1000.0,
                report.uploaded,
                report.downloaded,
                report.conflicts
            )
        }),
        Err(TransportError::Revoked) => {
            eprintln!("error: {}", TransportError::Revoked);
            Ok(ExitCode::from(3))
        }
        Err(error) => Err(error.into()),
    }
}

fn describe_break(found: &doorstep_core::sync::payload::audit::TrailBreak) -> String {
    use doorstep_core::sync::payload::audit::TrailBreak;
    match found {
        TrailBreak::Missing { device, from, to } => format!(
            "device {device}'s audit entries #{from} to #{to} have not reached the organisation (withheld by the server, refused as malformed, or not yet synced)"
        ),
        TrailBreak::Link { device, seq } => format!(
            "device {device}'s audit entry #{seq} does not follow from the one before: an entry was altered"
        ),
    }
}
