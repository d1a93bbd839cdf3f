#!/usr/bin/env bash
# Installs what a fresh Debian or Ubuntu machine lacks to build and test Doorstep, and nothing it
# already has. Safe to run again. Sourced by demo.sh, test.sh and .ci/run.
set -euo pipefail

# System packages: the C toolchain for bundled SQLite and ring; PostgreSQL's server binaries, from
# which the sync server's conformance tests start throwaway clusters (initdb, pg_ctl); WebKitGTK
# for the Tauri desktop app, Xvfb, WebKitWebDriver and ImageMagick (screenshots) for its end-to-end
# tests; Node.js for its UI; libdbus for the OS key store (Secret Service), and a session bus with
# GNOME Keyring, which the key-store test starts for itself.
DOORSTEP_APT_PACKAGES=(build-essential pkg-config ca-certificates curl postgresql
  libwebkit2gtk-4.1-dev librsvg2-dev libssl-dev xvfb webkit2gtk-driver xauth imagemagick
  libdbus-1-dev dbus-daemon dbus-bin gnome-keyring)
if ! command -v node >/dev/null 2>&1; then
  DOORSTEP_APT_PACKAGES+=(nodejs npm)
fi
# Python 3 runs the mobile library's host tests through its generated Python bindings.
if ! command -v python3 >/dev/null 2>&1; then
  DOORSTEP_APT_PACKAGES+=(python3)
fi

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing_packages=()
for package in "${DOORSTEP_APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing_packages+=("$package")
  fi
done
if [ "${#missing_packages[@]}" -gt 0 ]; then
  echo "setup: installing ${missing_packages[*]}" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing_packages[@]}" >/dev/null
fi

# Rust: the workspace uses edition 2024, newer than any distribution's cargo, so use rustup.
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: installing the Rust toolchain with rustup" >&2
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component rustfmt,clippy
  export PATH="$HOME/.cargo/bin:$PATH"
fi
if command -v rustup >/dev/null 2>&1; then
  for component in rustfmt clippy; do
    if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
      rustup component add "$component"
    fi
  done
fi

# tauri-driver bridges WebDriver to the app's WebKitWebDriver for the end-to-end tests.
if ! command -v tauri-driver >/dev/null 2>&1; then
  echo "setup: installing tauri-driver" >&2
  cargo install tauri-driver --locked --quiet
fi

# The official FHIR R4 JSON schema, with which doorstep-fhir's tests validate what it exports.
(
  cd "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/fhir/schema"
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
    npm ci --no-audit --no-fund --loglevel=error
  fi
)

# The desktop app embeds its built UI, so the UI is built before any cargo build of the workspace.
doorstep_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
(
  cd "$doorstep_root/desktop/ui"
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
    npm ci --no-audit --no-fund --loglevel=error
  fi
  npm run build --silent >/dev/null
)
