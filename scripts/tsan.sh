#!/usr/bin/env bash
# Runs every test under ThreadSanitizer (the child `ringstore` processes of the process
# tests are built with it too, and a reported race makes them exit 66, failing the test).
# Separate from scripts/test.sh because it doubles the build time.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build --build-tests --sanitize=thread --scratch-path .build-tsan
swift test --skip-build --sanitize=thread --scratch-path .build-tsan
