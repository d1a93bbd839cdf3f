//! The app embeds its built web UI; without it there would be a window with nothing in it.

fn main() {
    println!("cargo::rerun-if-changed=ui/dist");
    if !std::path::Path::new("ui/dist/index.html").exists() {
        eprintln!(
            "desktop/ui/dist is missing: build the UI first with `npm ci && npm run build` in desktop/ui (scripts/setup.sh does this)"
        );
        std::process::exit(1);
    }
    tauri_build::build();
}
