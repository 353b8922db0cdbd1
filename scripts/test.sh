#!/usr/bin/env bash
# Installs what is missing, builds, checks the server against docs/openapi.yaml, runs
# every test (Swift Testing: unit, simulation, simulated-disk crash, HTTP, real-process
# kill -9), a short pass of bench/compare against real etcd and Redis (every driver and
# the report, debug binaries, figures thrown away), then a short fault bench (deploy/netns: four 45 s runs of a real cluster in
# network namespaces under kill -9, SIGSTOP, an isolated node and a split, and three 30 s
# leader-mode runs under kill -9, SIGSTOP and an isolated node, checked linearizable; needs root).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift format lint --strict --recursive Sources Tests bench Package.swift
swift build --build-tests
python3 scripts/check-openapi.py .build/debug/ringstore
swift test --skip-build
smoke=$(mktemp -d /tmp/ringstore-compare-smoke-XXXX)
bench/compare --smoke --config all --workloads write,d,f --duration 1 --warmup 0 --rounds 1 --records 200 \
    --bin-dir .build/debug --out-dir "$smoke"
rm -rf "$smoke"
if [[ $(id -u) -eq 0 ]]; then
    python3 deploy/netns/faultbench.py run --faults kill,pause,isolate,split --duration 45
    python3 deploy/netns/leaderbench.py run --faults kill,pause,isolate --duration 30
else
    echo "fault bench skipped: it needs root for network namespaces (sudo scripts/fault-bench.sh)" >&2
fi
