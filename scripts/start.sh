#!/usr/bin/env bash
# Starts a local Ringstore cluster: etcd and 3 nodes on 127.0.0.1 (HTTP 8081-8083), data
# and logs in ./local-cluster. Installs what is missing (etcd-server, liblz4) and builds
# the release binary. `deploy/local/cluster.sh status` shows it, `... down` stops it.
# `./scripts/start.sh 5` starts 5 nodes.
set -euo pipefail
cd "$(dirname "$0")/.."
exec deploy/local/cluster.sh up "${1:-3}"
