#!/usr/bin/env bash
# The fault bench on its own: installs what it needs, builds `ringstore`, and runs
# deploy/netns/faultbench.py with the given options (default: the four main faults, one
# 45 s run each). Needs root. `--faults all --seeds 2 --duration 60` is the long run;
# deploy/netns/long-run.sh does that and writes the table to bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build --product ringstore
exec python3 deploy/netns/faultbench.py run "$@"
