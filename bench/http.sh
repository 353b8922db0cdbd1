#!/usr/bin/env bash
# Measures the HTTP data path with wrk: GET of a 100-byte value from a Ringstore node next
# to the plain-NIO floor (ringstore-http-floor), and PUT with sync=always, in one run,
# alternating A B A B. Prints Markdown.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
swift build -c release --product ringstore >/dev/null
swift build -c release --product ringstore-http-floor >/dev/null
DURATION=${DURATION:-10}
DATA=$(mktemp -d /tmp/ringstore-http-bench-XXXX)
cleanup() { kill "$NODE" "$FLOOR" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$DATA"; }
trap cleanup EXIT
.build/release/ringstore serve --data-dir "$DATA" --http 127.0.0.1:18180 --log-level error &
NODE=$!
.build/release/ringstore-http-floor 18190 >/dev/null &
FLOOR=$!
for _ in $(seq 100); do curl -sf http://127.0.0.1:18180/healthz >/dev/null && break; sleep 0.1; done
head -c 100 /dev/zero | tr '\0' 'v' | curl -sf -X PUT --data-binary @- http://127.0.0.1:18180/v1/kv/default/bench >/dev/null
cat > "$DATA/put.lua" <<'LUA'
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("PUT", "/v1/kv/default/k" .. (counter % 10000), nil, string.rep("v", 100))
end
LUA
rps() { wrk -t2 -c64 -d"${DURATION}s" --latency "$@" | awk '/Requests\/sec/ {print int($2)} / 99%/ {print $2}' | paste -sd' '; }
echo "# HTTP data path, wrk -t2 -c64, ${DURATION}s each, 100-byte values"
echo
echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- wrk runs on the same 2 cores as the server"
echo
echo "| run | target | requests/s | p99 |"
echo "|---|---|---|---|"
declare -a floor node
for round in 1 2; do
  read -r fp f <<<"$(rps http://127.0.0.1:18190/)"; floor+=("$f"); echo "| $round | plain NIO floor, GET | $f | $fp |"
  read -r np n <<<"$(rps http://127.0.0.1:18180/v1/kv/default/bench)"; node+=("$n"); echo "| $round | ringstore GET | $n | $np |"
done
read -r pp p <<<"$(rps -s "$DATA/put.lua" http://127.0.0.1:18180)"; echo "| 1 | ringstore PUT (sync=always) | $p | $pp |"
echo
awk -v f1="${floor[0]}" -v f2="${floor[1]}" -v n1="${node[0]}" -v n2="${node[1]}" \
  'BEGIN { printf "floor / ringstore GET: %.2f (goal: at most 1.5)\n", (f1+f2)/(n1+n2) }'
