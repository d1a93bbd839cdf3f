#!/usr/bin/env bash
# Sets up a fresh machine and runs every test in the workspace. The last line is the total:
# "tests: N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
# The end-to-end tests launch the real desktop binary, which `cargo test` does not build. Building
# every target of the workspace in one invocation resolves features once, exactly as `cargo test`
# will, so the desktop's dependencies (tauri, tokio, ...) are compiled once, not twice.
cargo build --workspace --all-targets --locked
# The mobile library's Kotlin, Swift and Python bindings, from the library just built; the host
# tests (tests/tests/mobile_python.rs) drive it through the Python ones.
bash scripts/bindings.sh --prebuilt
cargo test --workspace --locked --no-fail-fast 2>&1 | tee "$log" || status=$?

# The UI's own unit tests (Vitest): entry validation, chart geometry, sync status words.
ui_log=$(mktemp)
(cd desktop/ui && NO_COLOR=1 FORCE_COLOR=0 npx vitest run 2>&1) | tee "$ui_log" || status=$?
ui_summary=$(sed 's/\x1b\[[0-9;]*m//g' "$ui_log" | grep -E '^ *Tests ' | tail -1 || true)
ui_passed=$(echo "$ui_summary" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' || true)
ui_failed=$(echo "$ui_summary" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+' || true)
echo "test result: ui (vitest). ${ui_passed:-0} passed; ${ui_failed:-0} failed" >> "$log"
rm -f "$ui_log"

# cargo prints one "test result:" line per test binary; add them up into the one closing line.
read -r passed failed < <(awk '/^test result:/ {
    for (i = 1; i <= NF; i++) {
      if ($(i) ~ /^passed;?$/) p += $(i-1);
      if ($(i) ~ /^failed;?$/) f += $(i-1);
    }
  } END { print p + 0, f + 0 }' "$log")
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "cargo test exited with status $status before all tests ran (see above)"
  failed=1
fi
echo "tests: $passed passed, $failed failed"
exit "$status"
