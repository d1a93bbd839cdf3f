#!/usr/bin/env bash
# Sets up a fresh machine, builds Doorstep and shows it at work: a local sync server, an
# organisation with one team, two enrolled devices (a community nurse and a colleague), a synthetic
# caseload on the first, a bedside observation, and the record arriving end-to-end encrypted on the
# second; then opens the desktop app on the first device. Everything stays under .doorstep-demo/;
# the demo PIN is 246810.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

cargo build --release --locked -p doorstep-cli -p doorstep-sync-server -p doorstep-desktop
bin=$PWD/target/release
demo=$PWD/.doorstep-demo
export DOORSTEP_PIN="${DOORSTEP_PIN:-246810}"
export DOORSTEP_ADMIN_PASSPHRASE="${DOORSTEP_ADMIN_PASSPHRASE:-ambridge demo admin}"
rm -rf "$demo"
mkdir -p "$demo"

"$bin/doorstep-sync-server" --listen 127.0.0.1:0 --database "sqlite:$demo/server.db" \
  > "$demo/server.out" 2> "$demo/server.log" &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  url=$(sed -n 's/^listening on //p' "$demo/server.out")
  [ -n "$url" ] && break
  sleep 0.1
done
doorstep() { "$bin/doorstep" "$@"; }
code() { doorstep --json admin --admin-dir "$demo/admin" enrol-code --team north --user-name "$1" --role nurse \
  | sed -n 's/.*"code": "\(.*\)".*/\1/p'; }

echo "== A local sync server at $url; an organisation and a team"
doorstep admin --admin-dir "$demo/admin" init --server "$url" --org "Ambridge Community Health"
doorstep admin --admin-dir "$demo/admin" team create north
echo
echo "== Two tablets enrolled with one-time codes (demo PIN $DOORSTEP_PIN)"
doorstep --data-dir "$demo/nell" enrol --server "$url" --code "$(code "Nell Nightingale")"
doorstep --data-dir "$demo/bea" enrol --server "$url" --code "$(code "Bea Birchall")"
echo
echo "== Nell's caseload: 40 synthetic patients, most urgent first"
doorstep --data-dir "$demo/nell" fixtures load --patients 40 --seed 2026
doorstep --data-dir "$demo/nell" patient list --by-risk | head -8
first=$(doorstep --data-dir "$demo/nell" --json patient list --by-risk | sed -n 's/^    "id": "\(.*\)",$/\1/p' | head -1)
echo
echo "== A bedside set for the most urgent patient, recorded offline"
doorstep --data-dir "$demo/nell" obs add --patient "$first" --respiration-rate 26 --spo2 92 --on-oxygen \
  --systolic-bp 92 --pulse 124 --consciousness C --temperature 39.2
echo
echo "== NEWS2 is not used for a child, or in pregnancy: the vitals are kept, the chart to use named"
child=$(doorstep --json --data-dir "$demo/nell" patient add --nhs-number 9990990018 --given Pip \
  --family Quillby --birth-date "$(date -d '4 years ago' +%F)" --sex male | sed -n 's/.*"id": "\(.*\)".*/\1/p')
doorstep --data-dir "$demo/nell" obs add --patient "$child" --respiration-rate 34 --spo2 97 --on-air \
  --systolic-bp 95 --pulse 130 --consciousness A --temperature 37.0 | head -3
mother=$(doorstep --json --data-dir "$demo/nell" patient add --nhs-number 9990990026 --given Rosa \
  --family Marlowe --birth-date 1994-05-01 --sex female | sed -n 's/.*"id": "\(.*\)".*/\1/p')
doorstep --data-dir "$demo/nell" patient maternity "$mother" --status pregnant --date "$(date -d '70 days' +%F)"
doorstep --data-dir "$demo/nell" status
echo
echo "== Back in signal: Nell syncs, then Bea's tablet receives the caseload"
doorstep --data-dir "$demo/nell" sync
doorstep --data-dir "$demo/bea" sync
doorstep --data-dir "$demo/bea" patient show "$first" | head -12
echo
echo "== What the server holds: sealed units only"
family=$(doorstep --data-dir "$demo/bea" --json patient show "$first" | sed -n 's/^  "family": "\(.*\)",$/\1/p')
hits=$(cat "$demo"/server.db* | grep -a -o "$family" | wc -l || true)
echo "The patient's family name appears $hits times in the server's files."
doorstep --data-dir "$demo/bea" audit verify
echo
echo "Demo data is in $demo (PIN $DOORSTEP_PIN). Try: $bin/doorstep --data-dir $demo/bea patient list --by-risk"
echo
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "No display here, so the desktop app cannot open. On a machine with a screen, run:"
  echo "  $bin/doorstep-desktop --data-dir $demo/nell    (PIN $DOORSTEP_PIN; the sync server must be running)"
  exit 0
fi
echo "== The desktop app, on Nell's tablet (PIN $DOORSTEP_PIN). The sync server runs until you close it."
"$bin/doorstep-desktop" --data-dir "$demo/nell"
