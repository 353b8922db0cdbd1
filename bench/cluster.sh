#!/usr/bin/env bash
# The leaderless cluster next to etcd on this machine, in one run: a local 3-node
# Ringstore cluster (deploy/local, sync=always) and a 3-member etcd cluster (fsync per
# commit, its default), each on 127.0.0.1, measured with wrk (-t2 -c64, 100-byte values)
# alternately, two rounds. Writes: Ringstore PUT at w=one/quorum/all against etcd's
# /v3/kv/put; reads: GET at r=one/quorum/all against etcd's linearizable and
# serializable /v3/kv/range. All requests go to one node / one member, over HTTP/1.1
# keep-alive. Prints Markdown; `bench/cluster.sh > bench/results/$(date +%F)-cluster.md`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-2}
WORK=$(mktemp -d /tmp/ringstore-cluster-bench-XXXX)
export RINGSTORE_LOCAL_DIR="$WORK/ringstore" RINGSTORE_HTTP_BASE=18280 RINGSTORE_ETCD_PORT=23790
ETCD_PIDS=()
cleanup() {
  deploy/local/cluster.sh down >/dev/null 2>&1 || true
  for pid in "${ETCD_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

deploy/local/cluster.sh up 3 >/dev/null
NODE=http://127.0.0.1:18281
# A 3-member etcd cluster for the comparison (separate from the one holding Ringstore's metadata).
members="e1=http://127.0.0.1:23811,e2=http://127.0.0.1:23812,e3=http://127.0.0.1:23813"
for i in 1 2 3; do
  etcd --name "e$i" --data-dir "$WORK/e$i" --listen-client-urls "http://127.0.0.1:2380$i" \
    --advertise-client-urls "http://127.0.0.1:2380$i" --listen-peer-urls "http://127.0.0.1:2381$i" \
    --initial-advertise-peer-urls "http://127.0.0.1:2381$i" --initial-cluster "$members" \
    --initial-cluster-state new --log-level error >"$WORK/e$i.log" 2>&1 &
  ETCD_PIDS+=($!)
done
ETCD=http://127.0.0.1:23801
for _ in $(seq 200); do curl -sf "$ETCD/health" 2>/dev/null | grep -q true && break; sleep 0.1; done

curl -sf -X PUT -d '{"conflict":"lww","replication_factor":3}' "$NODE/v1/keyspaces/bench" >/dev/null
VALUE=$(head -c 100 /dev/zero | tr '\0' 'v')
VALUE64=$(printf '%s' "$VALUE" | base64 -w0)
for k in $(seq 0 999); do
  curl -sf -X PUT --data-binary "$VALUE" "$NODE/v1/kv/bench/k$k?w=all" >/dev/null
done
cat >"$WORK/put.lua" <<LUA
counter = 0
params = os.getenv("LEVEL")
request = function()
  counter = counter + 1
  return wrk.format("PUT", "/v1/kv/bench/k" .. (counter % 1000) .. "?" .. params, nil, "$VALUE")
end
LUA
cat >"$WORK/get.lua" <<LUA
counter = 0
params = os.getenv("LEVEL")
request = function()
  counter = counter + 1
  return wrk.format("GET", "/v1/kv/bench/k" .. (counter % 1000) .. "?" .. params)
end
LUA
cat >"$WORK/etcd.lua" <<LUA
local chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function b64(s)
  return ((s:gsub(".", function(x)
    local r, b = "", x:byte()
    for i = 8, 1, -1 do r = r .. (b % 2 ^ i - b % 2 ^ (i - 1) > 0 and "1" or "0") end
    return r
  end) .. "0000"):gsub("%d%d%d?%d?%d?%d?", function(x)
    if #x < 6 then return "" end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == "1" and 2 ^ (6 - i) or 0) end
    return chars:sub(c + 1, c + 1)
  end) .. ({ "", "==", "=" })[#s % 3 + 1])
end
counter = 0
mode = os.getenv("MODE")
request = function()
  counter = counter + 1
  local key = b64("k" .. (counter % 1000))
  if mode == "put" then
    return wrk.format("POST", "/v3/kv/put", nil, '{"key":"' .. key .. '","value":"$VALUE64"}')
  elseif mode == "serializable" then
    return wrk.format("POST", "/v3/kv/range", nil, '{"key":"' .. key .. '","serializable":true}')
  end
  return wrk.format("POST", "/v3/kv/range", nil, '{"key":"' .. key .. '"}')
end
LUA
MODE=put wrk -t2 -c16 -d3s -s "$WORK/etcd.lua" "$ETCD" >/dev/null  # load etcd's keys

# wrk's output: "p99 rps non2xx" for one run.
run() {
  local out
  out=$(wrk -t2 -c64 -d"${DURATION}s" --latency "$@")
  local rps p99 bad
  rps=$(awk '/Requests\/sec/ {print int($2)}' <<<"$out")
  p99=$(awk '/ 99%/ {print $2}' <<<"$out")
  bad=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  echo "$rps $p99 ${bad:-0}"
}

echo "# Leaderless cluster vs etcd, 3 nodes each, one machine"
echo
echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- wrk -t2 -c64 -d${DURATION}s on the same cores; 100-byte values; 1000 keys; every request to one node/member"
echo "- Ringstore: 3 nodes, keyspace lww N=3, --sync always (fsync before a replica acknowledges)"
echo "- etcd $(etcd --version | head -1 | awk '{print $3}'): 3 members, default fsync of its WAL per commit, JSON gateway"
echo "- command: bench/cluster.sh (DURATION=$DURATION ROUNDS=$ROUNDS)"
echo
echo "| round | target | requests/s | p99 | non-2xx |"
echo "|---|---|---|---|---|"
declare -A sum
for round in $(seq 1 "$ROUNDS"); do
  for level in one quorum all; do
    read -r r p b <<<"$(LEVEL="w=$level" run -s "$WORK/put.lua" "$NODE")"
    echo "| $round | ringstore PUT w=$level | $r | $p | $b |"; sum["put-$level"]=$(( ${sum["put-$level"]:-0} + r ))
  done
  read -r r p b <<<"$(MODE=put run -s "$WORK/etcd.lua" "$ETCD")"
  echo "| $round | etcd put | $r | $p | $b |"; sum[etcd-put]=$(( ${sum[etcd-put]:-0} + r ))
  for level in one quorum all; do
    read -r r p b <<<"$(LEVEL="r=$level" run -s "$WORK/get.lua" "$NODE")"
    echo "| $round | ringstore GET r=$level | $r | $p | $b |"; sum["get-$level"]=$(( ${sum["get-$level"]:-0} + r ))
  done
  read -r r p b <<<"$(MODE=linearizable run -s "$WORK/etcd.lua" "$ETCD")"
  echo "| $round | etcd range (linearizable) | $r | $p | $b |"; sum[etcd-lin]=$(( ${sum[etcd-lin]:-0} + r ))
  read -r r p b <<<"$(MODE=serializable run -s "$WORK/etcd.lua" "$ETCD")"
  echo "| $round | etcd range (serializable) | $r | $p | $b |"; sum[etcd-ser]=$(( ${sum[etcd-ser]:-0} + r ))
done
echo
echo "Ratios of summed throughput over the rounds (goal: quorum writes at least 3x etcd's puts):"
echo
for level in one quorum all; do
  awk -v a="${sum["put-$level"]}" -v b="${sum[etcd-put]}" -v l="$level" 'BEGIN { printf "- PUT w=%s / etcd put: %.2f\n", l, a/b }'
done
for level in one quorum all; do
  awk -v a="${sum["get-$level"]}" -v b="${sum[etcd-lin]}" -v l="$level" 'BEGIN { printf "- GET r=%s / etcd linearizable range: %.2f\n", l, a/b }'
done
echo
echo "- load after: $(cut -d' ' -f1-3 /proc/loadavg)"
