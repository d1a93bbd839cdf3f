//! # doorstep-desktop
//!
//! The Tauri 2 app for laptops and tablets. Commands (`commands.rs`) are thin wrappers over
//! `doorstep-core`'s facade; the web UI (TypeScript, React, Vite) lives beside the crate in
//! `desktop/ui/` and is embedded at build time. The app never computes NEWS2 or touches storage
//! itself: scoring, validation, audit and sealing happen in the core, network I/O in
//! `doorstep-transport`. Sync runs in the background (`sync_engine.rs`).

mod commands;
mod error;
mod state;
mod sync_engine;

use std::path::PathBuf;
use std::sync::Arc;

use tauri::Manager;

pub use error::CommandError;

/// The key store that wraps the device's data key. On desktop the operating system's; on
/// Android and iOS the `keyring` crate has no backend (it would fall back to memory and lose the
/// key at the next start), so the software sealer until the platform key store is wired in
/// through a Tauri plugin (the native apps use `doorstep-mobile`'s `KeyStore` hook).
pub(crate) fn key_store() -> &'static dyn doorstep_core::crypto::KeyStore {
    #[cfg(mobile)]
    {
        &doorstep_core::crypto::NoKeyStore
    }
    #[cfg(not(mobile))]
    {
        &doorstep_keystore::OsKeyStore
    }
}

/// The entry point on Android and iOS: the app on the device store in the app's private data
/// folder. (On desktop, `main.rs` calls [`run`] with the folder it is given.)
#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn mobile_main() {
    if let Err(error) = run(None) {
        tracing::error!(%error, "the app could not start");
    }
}

/// Runs the app on the device store in `data_dir`, or in the platform's app-data folder.
pub fn run(data_dir: Option<PathBuf>) -> Result<(), tauri::Error> {
    doorstep_transport::install_crypto_provider();
    tauri::Builder::default()
        .setup(move |app| {
            let dir = match data_dir {
                Some(dir) => dir,
                None => app.path().app_data_dir()?,
            };
            let state = Arc::new(state::AppState::new(dir));
            app.manage(Arc::clone(&state));
            sync_engine::start(app.handle(), state);
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::device,
            commands::unlock,
            commands::lock,
            commands::user_activity,
            commands::enrol,
            commands::caseload,
            commands::incidents,
            commands::start_incident,
            commands::identify_preview,
            commands::identify_incident,
            commands::withdraw_identification,
            commands::record,
            commands::emergency_access,
            commands::restriction_candidates,
            commands::handover,
            commands::save_handover,
            commands::import_fhir,
            commands::restrict_record,
            commands::lift_restriction,
            commands::preview_observation,
            commands::record_observation,
            commands::set_maternity,
            commands::escalate,
            commands::entered_in_error,
            commands::add_note,
            commands::set_care_plan,
            commands::resolve_conflict,
            commands::confirm_no_known_allergies,
            commands::decide_scale,
            commands::save_draft,
            commands::draft,
            commands::discard_draft,
            commands::sync_status,
            commands::sync_now,
            commands::chart_bands,
        ])
        .run(tauri::generate_context!())
}
