#!/usr/bin/env bash
# Sets up a fresh machine, builds Doorstep and shows it at work: a synthetic community caseload
# scored with NEWS2, the patients at risk first, then one bedside set scored in full.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

cargo build --release --locked -p doorstep-cli
doorstep=target/release/doorstep

echo
"$doorstep" triage --patients 40 --seed 2026
echo
echo "One bedside set (COPD patient on Scale 2, on oxygen):"
"$doorstep" news2 --respiration-rate 22 --spo2 93 --spo2-scale 2 --on-oxygen \
  --systolic-bp 104 --pulse 112 --consciousness A --temperature 38.4
