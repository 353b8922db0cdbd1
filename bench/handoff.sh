#!/usr/bin/env bash
# How fast a hint backlog drains. A local 3-node cluster (deploy/local, sync=always), a
# keyspace with N=2 and sloppy writes; n3 is killed, wrk writes WRITE_SECONDS of PUTs at
# w=2 to n1 (writes whose owners include n3 land on a fallback as hints), n3 restarts,
# and the bench polls /v1/cluster until no node keeps a hint for it. Once with the
# default replay limits (1 MiB/s, 8 in flight) and once with 16 MiB/s and 64 in flight.
# Prints Markdown: `bench/handoff.sh > bench/results/$(date +%F)-handoff.md`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
WRITE_SECONDS=${WRITE_SECONDS:-10}
BIN=${RINGSTORE_BIN:-$(swift build -c release --product ringstore >/dev/null && swift build -c release --show-bin-path)/ringstore}
WORK=$(mktemp -d /tmp/ringstore-handoff-bench-XXXX)
export RINGSTORE_LOCAL_DIR="$WORK/cluster" RINGSTORE_HTTP_BASE=18480 RINGSTORE_ETCD_PORT=23990 RINGSTORE_BIN="$BIN"
cleanup() {
  deploy/local/cluster.sh down >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
VALUE=$(head -c 100 /dev/zero | tr '\0' 'v')
cat >"$WORK/fill.lua" <<LUA
request = function()
  return wrk.format("PUT", "/v1/kv/h/" .. math.random(1, 1000000000) .. "?w=2", nil, "$VALUE")
end
LUA
backlog() {
  local total=0 n
  for node in 1 2; do
    n=$(curl -sf "http://127.0.0.1:1848$node/v1/cluster" | python3 -c 'import json,sys; print(sum(m.get("hints",0) for m in json.load(sys.stdin)["nodes"] if m["id"]=="n3"))')
    total=$((total + n))
  done
  echo "$total"
}
replayed_bytes() {
  local total=0 n
  for node in 1 2; do
    n=$(curl -sf "http://127.0.0.1:1848$node/metrics" | awk '$1 == "ringstore_hint_bytes_replayed_total" {print int($2)}')
    total=$((total + ${n:-0}))
  done
  echo "$total"
}

# One round: "hints seconds bytes" with serve options $1.
round() {
  deploy/local/cluster.sh down >/dev/null 2>&1 || true
  rm -rf "$RINGSTORE_LOCAL_DIR"
  RINGSTORE_NODE_ARGS="$1" deploy/local/cluster.sh up 3 >/dev/null
  local n1=http://127.0.0.1:18481
  curl -sf -X PUT -d '{"conflict":"lww","replication_factor":2,"sloppy":true}' "$n1/v1/keyspaces/h" >/dev/null
  sleep 1
  kill -9 "$(awk '$1 == "n3" {print $2}' "$RINGSTORE_LOCAL_DIR/pids")"
  wrk -t2 -c32 -d"${WRITE_SECONDS}s" -s "$WORK/fill.lua" "$n1" >/dev/null
  sleep 1
  local hints
  hints=$(backlog)
  # shellcheck disable=SC2086
  "$BIN" serve --node-id n3 --http 127.0.0.1:18483 --peer 127.0.0.1:19483 --data-dir "$RINGSTORE_LOCAL_DIR/n3" \
    --etcd "http://127.0.0.1:23990" --cluster local $1 >>"$RINGSTORE_LOCAL_DIR/n3.log" 2>&1 &
  echo "n3 $!" >>"$RINGSTORE_LOCAL_DIR/pids"
  local start end
  start=$(date +%s.%N)
  for _ in $(seq 6000); do
    [[ $(backlog) == 0 ]] && break
    sleep 0.1
  done
  end=$(date +%s.%N)
  echo "$hints $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }') $(replayed_bytes)"
}

echo "# Hint backlog drain"
echo
echo "- machine: $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- 3 nodes (deploy/local, sync=always), keyspace lww N=2 sloppy; n3 killed during ${WRITE_SECONDS} s of"
echo "  wrk -t2 -c32 PUT w=2 (100-byte values, random keys) to n1; time from n3's restart until"
echo "  n1 and n2 keep no hint for it (includes n3's start and its first failure-detector trust)"
echo "- command: bench/handoff.sh (WRITE_SECONDS=$WRITE_SECONDS)"
echo
echo "| replay limits | hints for n3 | drained in (s) | hints/s | bytes replayed |"
echo "|---|---|---|---|---|"
for options in "" "--hint-replay-bytes-per-second 16777216 --hint-replay-in-flight 64"; do
  read -r h s b <<<"$(round "$options")"
  name=${options:-"defaults (1 MiB/s, 8 in flight)"}
  echo "| $name | $h | $s | $(awk -v h="$h" -v s="$s" 'BEGIN { printf "%d", h / (s > 0 ? s : 1) }') | $b |"
done
echo
echo "- load after: $(cut -d' ' -f1-3 /proc/loadavg)"
