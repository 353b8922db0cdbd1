#!/usr/bin/env bash
# Two builds side by side: quorum PUTs against a local 3-node cluster (deploy/local,
# sync=always) running OLD_BIN, then NEW_BIN, alternately for ROUNDS rounds (wrk -t2 -c64,
# DURATION s, VALUE_BYTES-byte values (100), 1000 keys, lww N=3). DEFINITION and PARAMS
# change the keyspace and the PUTs' query, e.g. a leader keyspace:
#   DEFINITION='{"mode":"leader","replication_factor":3,"min_in_sync":2}' PARAMS=ack=all
# Build the old one from a worktree:
#   git worktree add /tmp/old <commit> && (cd /tmp/old && swift build -c release --product ringstore)
#   OLD_BIN=/tmp/old/.build/release/ringstore NEW_BIN=.build/release/ringstore bench/ab.sh
set -euo pipefail
cd "$(dirname "$0")/.."
: "${OLD_BIN:?set OLD_BIN to the old ringstore binary}" "${NEW_BIN:?set NEW_BIN to the new one}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
DURATION=${DURATION:-8}
ROUNDS=${ROUNDS:-4}
WORK=$(mktemp -d /tmp/ringstore-ab-XXXX)
export RINGSTORE_LOCAL_DIR="$WORK/cluster" RINGSTORE_HTTP_BASE=18580 RINGSTORE_ETCD_PORT=24090
trap 'RINGSTORE_BIN=$NEW_BIN deploy/local/cluster.sh down >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
DEFINITION=${DEFINITION:-'{"conflict":"lww","replication_factor":3}'}
PARAMS=${PARAMS:-w=quorum}
VALUE=$(head -c "${VALUE_BYTES:-100}" /dev/zero | tr '\0' 'v')
cat >"$WORK/put.lua" <<LUA
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("PUT", "/v1/kv/bench/k" .. (counter % 1000) .. "?$PARAMS", nil, "$VALUE")
end
LUA
echo "| round | build | requests/s | p99 | non-2xx |"
echo "|---|---|---|---|---|"
for round in $(seq 1 "$ROUNDS"); do
  for name in old new; do
    bin=$NEW_BIN
    [[ $name == old ]] && bin=$OLD_BIN
    RINGSTORE_BIN=$bin deploy/local/cluster.sh down >/dev/null 2>&1 || true
    rm -rf "$RINGSTORE_LOCAL_DIR"
    RINGSTORE_BIN=$bin deploy/local/cluster.sh up 3 >/dev/null 2>&1
    curl -sf -X PUT -d "$DEFINITION" http://127.0.0.1:18581/v1/keyspaces/bench >/dev/null
    sleep 1
    # A leader keyspace answers once its partitions elected leaders.
    for _ in $(seq 1 100); do
        curl -sf -o /dev/null -X PUT -d v "http://127.0.0.1:18581/v1/kv/bench/warm?$PARAMS" && break
        sleep 0.2
    done
    out=$(wrk -t2 -c64 -d"${DURATION}s" --latency -s "$WORK/put.lua" http://127.0.0.1:18581)
    echo "| $round | $name | $(awk '/Requests\/sec/ {print int($2)}' <<<"$out") | $(awk '/ 99%/ {print $2}' <<<"$out") | $(awk '/Non-2xx/ {print $5}' <<<"$out") |"
  done
done
