#!/usr/bin/env bash
# Sets up a fresh machine, builds Doorstep and shows it at work: an encrypted device store with a
# synthetic community caseload, the patients at risk first, a bedside observation recorded and
# scored, and the audit trail verified.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

cargo build --release --locked -p doorstep-cli
doorstep=target/release/doorstep

export DOORSTEP_DATA_DIR=".doorstep-demo"
export DOORSTEP_PIN="${DOORSTEP_PIN:-2468}"
rm -rf "$DOORSTEP_DATA_DIR"
echo
echo "== An encrypted device store for a community nurse (demo PIN $DOORSTEP_PIN)"
"$doorstep" init --user-name "Nell Nightingale" --role nurse
"$doorstep" fixtures load --patients 40 --seed 2026
echo
echo "== Caseload, most urgent first"
"$doorstep" patient list --by-risk | head -12
echo
first=$("$doorstep" --json patient list --by-risk | sed -n 's/^    "id": "\(.*\)",$/\1/p' | head -1)
echo "== A bedside set for the most urgent patient"
"$doorstep" obs add --patient "$first" --respiration-rate 26 --spo2 92 --on-oxygen \
  --systolic-bp 92 --pulse 124 --consciousness C --temperature 39.2
echo
echo "== Audit"
"$doorstep" audit | tail -4
"$doorstep" audit verify
echo
family=$("$doorstep" --json patient show "$first" | sed -n 's/^  "family": "\(.*\)",$/\1/p')
hits=$(cat "$DOORSTEP_DATA_DIR"/* | grep -a -o "$family" | wc -l || true)
echo "== At rest: the patient's family name appears $hits times in the store's files (all sealed)"
echo "The demo store is in $DOORSTEP_DATA_DIR; run target/release/doorstep --help for more."
