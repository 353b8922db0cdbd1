#!/usr/bin/env bash
# Foreground latency while anti-entropy repairs, against the same cluster with
# anti-entropy off, alternately (A B A B). Each round: a local 3-node cluster
# (deploy/local, sync=always); n3 is killed, 20 s of writes land on n1 and n2 only
# (~100k keys n3 misses), n3 restarts; then wrk measures quorum PUTs and GETs on another
# keyspace for DURATION seconds while (A) anti-entropy repairs n3 at 1000 keys/s with an
# exchange every 10 ms, or (B) anti-entropy is off. Also reports how many keys were
# repaired during the measurement. AE_INTERVAL and AE_KEYS set A (default 10 ms and
# 1000 keys/s per node). Prints Markdown:
# `bench/anti-entropy.sh > bench/results/$(date +%F)-anti-entropy.md`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-2}
AE_INTERVAL=${AE_INTERVAL:-10}
AE_KEYS=${AE_KEYS:-1000}
BIN=${RINGSTORE_BIN:-$(swift build -c release --product ringstore >/dev/null && swift build -c release --show-bin-path)/ringstore}
WORK=$(mktemp -d /tmp/ringstore-ae-bench-XXXX)
export RINGSTORE_LOCAL_DIR="$WORK/cluster" RINGSTORE_HTTP_BASE=18380 RINGSTORE_ETCD_PORT=23890 RINGSTORE_BIN="$BIN"
cleanup() {
  deploy/local/cluster.sh down >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
VALUE=$(head -c 100 /dev/zero | tr '\0' 'v')
cat >"$WORK/fill.lua" <<LUA
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("PUT", "/v1/kv/fill/" .. math.random(1, 1000000000) .. "?w=2", nil, "$VALUE")
end
LUA
cat >"$WORK/mixed.lua" <<LUA
counter = 0
request = function()
  counter = counter + 1
  if counter % 2 == 0 then
    return wrk.format("PUT", "/v1/kv/fg/k" .. (counter % 1000) .. "?w=quorum", nil, "$VALUE")
  end
  return wrk.format("GET", "/v1/kv/fg/k" .. (counter % 1000) .. "?r=quorum")
end
LUA
metric() { curl -sf "$1/metrics" | awk -v m="$2" '$1 == m {print int($2)}'; }

# One round: "rps p99 repaired" for anti-entropy settings $1 (interval ms, 0 = off).
round() {
  local interval=$1
  deploy/local/cluster.sh down >/dev/null 2>&1 || true
  rm -rf "$RINGSTORE_LOCAL_DIR"
  RINGSTORE_NODE_ARGS="--anti-entropy-interval-ms $interval --anti-entropy-keys-per-second $AE_KEYS" \
    deploy/local/cluster.sh up 3 >/dev/null
  local n1=http://127.0.0.1:18381 n3=http://127.0.0.1:18383
  curl -sf -X PUT -d '{"conflict":"lww"}' "$n1/v1/keyspaces/fill" >/dev/null
  curl -sf -X PUT -d '{"conflict":"lww"}' "$n1/v1/keyspaces/fg" >/dev/null
  sleep 1
  kill -9 "$(awk '$1 == "n3" {print $2}' "$RINGSTORE_LOCAL_DIR/pids")"
  wrk -t2 -c32 -d20s -s "$WORK/fill.lua" "$n1" >/dev/null
  "$BIN" serve --node-id n3 --http 127.0.0.1:18383 --peer 127.0.0.1:19383 --data-dir "$RINGSTORE_LOCAL_DIR/n3" \
    --etcd "http://127.0.0.1:23890" --cluster local --anti-entropy-interval-ms "$interval" \
    --anti-entropy-keys-per-second "$AE_KEYS" >>"$RINGSTORE_LOCAL_DIR/n3.log" 2>&1 &
  echo "n3 $!" >>"$RINGSTORE_LOCAL_DIR/pids"
  for _ in $(seq 300); do curl -sf "$n3/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
  local before after out
  before=$(( $(metric "$n3" ringstore_anti_entropy_repaired_keys_total || echo 0) + 0 ))
  out=$(wrk -t2 -c64 -d"${DURATION}s" --latency -s "$WORK/mixed.lua" "$n1")
  after=$(( $(metric "$n3" ringstore_anti_entropy_repaired_keys_total || echo 0) + 0 ))
  for node in 1 2; do
    after=$(( after + $(metric "http://127.0.0.1:1838$node" ringstore_anti_entropy_repaired_keys_total || echo 0) ))
  done
  echo "$(awk '/Requests\/sec/ {print int($2)}' <<<"$out") $(awk '/ 99%/ {print $2}' <<<"$out") $((after - before))"
}

echo "# Foreground latency with anti-entropy repairing vs off"
echo
echo "- machine: $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- 3 nodes (deploy/local, sync=always); n3 missed ~20 s of w=2 writes; foreground: wrk -t2 -c64"
echo "  -d${DURATION}s, half PUT w=quorum, half GET r=quorum, 100-byte values, 1000 keys, all to n1"
echo "- A: --anti-entropy-interval-ms $AE_INTERVAL --anti-entropy-keys-per-second $AE_KEYS (per node); B: anti-entropy off"
echo "- command: bench/anti-entropy.sh (DURATION=$DURATION ROUNDS=$ROUNDS)"
echo
echo "| round | anti-entropy | requests/s | p99 | keys repaired meanwhile |"
echo "|---|---|---|---|---|"
declare -A rps
for r in $(seq 1 "$ROUNDS"); do
  for setting in "$AE_INTERVAL" 0; do
    read -r q p k <<<"$(round "$setting")"
    name=$([[ $setting == 0 ]] && echo off || echo "on ($AE_INTERVAL ms, $AE_KEYS keys/s)")
    echo "| $r | $name | $q | $p | $k |"
    rps[$setting]=$(( ${rps[$setting]:-0} + q ))
  done
done
echo
awk -v a="${rps[$AE_INTERVAL]}" -v b="${rps[0]}" 'BEGIN { printf "Throughput with anti-entropy repairing / off: %.2f\n", a/b }'
echo
echo "- load after: $(cut -d' ' -f1-3 /proc/loadavg)"
