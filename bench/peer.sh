#!/usr/bin/env bash
# What the peer transport sustains between two processes on loopback: a PeerListener
# over a node with in-memory storage, and a PeerClient keeping 1, 16, 64 or 256 `read`
# requests in flight (100-byte value in each reply), two rounds. Prints Markdown.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build -c release --product ringstore-peer-bench >/dev/null
SECONDS_EACH=${SECONDS_EACH:-5}
PORT=19555
.build/release/ringstore-peer-bench serve $PORT >/dev/null &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
sleep 1
echo "# Peer transport between two processes"
echo
echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- request: a peer \`read\` of one key; reply: the key's object with a 100-byte value (~150-byte frames)"
echo "- command: bench/peer.sh (SECONDS_EACH=$SECONDS_EACH)"
echo
echo "| round | requests in flight | replies/s |"
echo "|---|---|---|"
for round in 1 2; do
  for window in 1 16 64 256; do
    line=$(.build/release/ringstore-peer-bench load $PORT "$window" "$SECONDS_EACH")
    echo "| $round | $window | $(sed -E 's/.*: ([0-9]+) replies.*/\1/' <<<"$line") |"
  done
done
echo
echo "- load after: $(cut -d' ' -f1-3 /proc/loadavg)"
