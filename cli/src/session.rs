//! Opening the device store from the command line: where it is, who is unlocking, and the PIN.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use doorstep_core::store::{Device, Session};

pub const PIN_ENV: &str = "DOORSTEP_PIN";
/// The organisation administrator's passphrase (at least 12 characters): a separate variable, so
/// a script that runs admin and device commands does not give both the same secret.
pub const ADMIN_PASSPHRASE_ENV: &str = "DOORSTEP_ADMIN_PASSPHRASE";

/// The data directory the global `--data-dir` names.
pub fn data_dir(dir: Option<&Path>) -> anyhow::Result<PathBuf> {
    match dir {
        Some(dir) => Ok(dir.to_owned()),
        None => bail!("say which device store to use with --data-dir DIR (or DOORSTEP_DATA_DIR)"),
    }
}

/// The PIN from `DOORSTEP_PIN`, or asked for without echo on a terminal.
pub fn pin(prompt: &str) -> anyhow::Result<String> {
    if let Ok(pin) = std::env::var(PIN_ENV) {
        return Ok(pin);
    }
    if !std::io::stdin().is_terminal() {
        bail!("no PIN: set {PIN_ENV}, or run on a terminal to be asked for it");
    }
    rpassword::prompt_password(prompt).context("could not read the PIN from the terminal")
}

/// The admin passphrase from `DOORSTEP_ADMIN_PASSPHRASE`, or asked for without echo on a terminal.
pub fn admin_passphrase() -> anyhow::Result<String> {
    if let Ok(passphrase) = std::env::var(ADMIN_PASSPHRASE_ENV) {
        return Ok(passphrase);
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "no admin passphrase: set {ADMIN_PASSPHRASE_ENV}, or run on a terminal to be asked for it"
        );
    }
    rpassword::prompt_password("Admin passphrase: ")
        .context("could not read the passphrase from the terminal")
}

/// Opens and unlocks the store for `user` (or its only user).
pub fn unlock(dir: Option<&Path>, user: Option<&str>) -> anyhow::Result<Session> {
    let dir = data_dir(dir)?;
    let device = Device::open_in(&dir, &doorstep_keystore::OsKeyStore)?;
    let user = device.find_user(user)?;
    let pin = pin(&format!("PIN for {}: ", user.name))?;
    Ok(device.unlock(user.id, &pin)?)
}
