#!/usr/bin/env bash
# The long runs CI cannot afford on every submission: 5,000 simulation seeds, 2,000 kill -9
# cycles, and the benchmarks. Run nightly (about an hour on the 2-core machine); the last line is
# the test summary.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
export DOORSTEP_SIM_SEEDS="${DOORSTEP_SIM_SEEDS:-5000}"
export DOORSTEP_DURABILITY_CYCLES="${DOORSTEP_DURABILITY_CYCLES:-2000}"
cargo bench -p doorstep-tests --bench store
cargo bench -p doorstep-tests --bench sync
cargo bench -p doorstep-tests --bench load -- --devices 2000 --rounds 3
exec bash scripts/test.sh
