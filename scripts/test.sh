#!/usr/bin/env bash
# Installs what is missing, builds, checks the server against docs/openapi.yaml, and runs
# every test (Swift Testing: unit, simulated-disk crash, HTTP, real-process kill -9).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift format lint --strict --recursive Sources Tests bench Package.swift
swift build --build-tests
python3 scripts/check-openapi.py .build/debug/ringstore
swift test --skip-build
