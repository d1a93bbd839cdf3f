//! # doorstep-desktop
//!
//! **Not built yet.** This crate will hold the Tauri 2 app for laptops and tablets (the "Desktop
//! app" capability): commands that are thin wrappers over `doorstep-core`'s facade, with the web UI
//! (TypeScript, Vite) beside it under `desktop/ui/`. The same UI serves tablets through Tauri's
//! mobile targets.
//!
//! It will never compute NEWS2 or touch storage itself: every command delegates to the core.
//! Until then the crate exports nothing.
