#!/usr/bin/env bash
# Builds Ringstore and starts a node on http://127.0.0.1:8080 with its data in ./data.
# Today a node runs alone; the cluster issue turns this into a local multi-node cluster.
# Ctrl-C (SIGINT) or SIGTERM stops it gracefully.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build -c release --product ringstore
exec .build/release/ringstore serve --data-dir "${RINGSTORE_DATA:-./data}" --http "${RINGSTORE_HTTP:-127.0.0.1:8080}" "$@"
