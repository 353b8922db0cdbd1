#!/usr/bin/env bash
# Installs what is missing, builds, checks the server against docs/openapi.yaml, runs
# every test (Swift Testing: unit, simulation, simulated-disk crash, HTTP, real-process
# kill -9), then a short fault bench (deploy/netns: four 45 s runs of a real cluster in
# network namespaces under kill -9, SIGSTOP, an isolated node and a split; needs root).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift format lint --strict --recursive Sources Tests bench Package.swift
swift build --build-tests
python3 scripts/check-openapi.py .build/debug/ringstore
swift test --skip-build
if [[ $(id -u) -eq 0 ]]; then
    python3 deploy/netns/faultbench.py run --faults kill,pause,isolate,split --duration 45
else
    echo "fault bench skipped: it needs root for network namespaces (sudo scripts/fault-bench.sh)" >&2
fi
