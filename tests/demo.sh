#!/bin/sh
# make demo: start the simulated services, run bridge against them with config/demo.yaml,
# and stop everything it started. Usage: tests/demo.sh BRIDGE_BINARY
set -eu
bin=${1:-build/bridge}
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$root/build/demo"
ready="$root/build/demo/ready"
rm -f "$ready"

python3 "$root/tests/sim/sim.py" --port 18443 --cert-dir "$root/build/test-certs" \
    --gdmf "$root/tests/fixtures/gdmf/pmv-2026-03-17.json" --gdmf-shift-dates \
    --fleet-computers 500 --fleet-mobile 200 \
    --ready-file "$ready" --exit-with-parent 2>"$root/build/demo/sim.log" &
sim=$!
trap 'kill $sim 2>/dev/null; wait $sim 2>/dev/null || true' EXIT INT TERM
i=0
while [ ! -s "$ready" ]; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 $sim 2>/dev/null; then
		echo "demo: the simulator did not start:" >&2
		cat "$root/build/demo/sim.log" >&2
		exit 1
	fi
	sleep 0.1
done

# show: run bridge with the rest of the arguments, print the lines of its output that match
# the pattern $1 (all: ''), and stop the demo if bridge failed
out="$root/build/demo/out"
show() {
	pattern=$1
	shift
	if ! "$bin" "$@" >"$out"; then
		cat "$out"
		echo "demo: bridge $* failed" >&2
		exit 1
	fi
	grep -E "${pattern:-.}" "$out" || true
}

export BRIDGE_DEMO_SECRET=bridge-test-secret-3f9a7c  # the simulator's default client
export BRIDGE_DEMO_WEBHOOK=https://127.0.0.1:18443/webhook/demo
echo "== bridge check -c config/demo.yaml"
show '' check -c "$root/config/demo.yaml"
echo
echo "== bridge feed --bsi -c config/demo.yaml (BSIs in the simulated GDMF feed)"
show '' feed --bsi --refresh -c "$root/config/demo.yaml"
echo
echo "== bridge doctor --send-test-alert -c config/demo.yaml (the simulated Jamf Pro)"
show '' doctor --send-test-alert -c "$root/config/demo.yaml"
echo
echo "== bridge plan -c config/demo.yaml (what sync will do; nothing is sent)"
show '^(tenant|  counts)' plan -c "$root/config/demo.yaml"
echo
echo "== bridge sync -c config/demo.yaml (plans created in the simulated Jamf Pro)"
rm -rf "$root/build/demo/state"
show '' sync -c "$root/config/demo.yaml"
echo
echo "== a week passes in the simulated Jamf Pro: devices install their updates"
python3 - "$root/build/test-certs/ca.pem" <<'PY'
import json, ssl, sys, urllib.request
req = urllib.request.Request("https://127.0.0.1:18443/_sim/clock",
                             json.dumps({"advance": 8 * 86400}).encode(),
                             {"Content-Type": "application/json"}, method="POST")
urllib.request.urlopen(req, context=ssl.create_default_context(cafile=sys.argv[1])).read()
PY
echo
echo "== bridge sync: follows the plans (and sends the BSIs to the devices now on the base)"
show '^(tenant|  plans|  watch)' sync -c "$root/config/demo.yaml"
echo
echo "== bridge status -c config/demo.yaml"
show '' status -c "$root/config/demo.yaml"
echo
echo "== bridge version"
show '' version
