#!/usr/bin/env bash
# Runs the foundation benchmarks (storage engine, HTTP data path) on this machine and
# writes bench/results/<date>-foundation.md. Takes about two minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build -c release --product ringstore-storage-bench >/dev/null
out="bench/results/$(date +%Y-%m-%d)-foundation.md"
{
  .build/release/ringstore-storage-bench --seconds "${SECONDS_PER_RUN:-3}" 2>/dev/null
  echo
  DURATION="${DURATION:-8}" bash bench/http.sh 2>/dev/null
} > "$out"
echo "wrote $out"
