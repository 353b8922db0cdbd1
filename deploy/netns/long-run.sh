#!/usr/bin/env bash
# The long fault run: every fault, several seeds, a minute each (about 20 minutes with
# the defaults), then a summary table in bench/results/<date>-faults.md. Needs root.
# SEEDS and DURATION override the defaults.
set -euo pipefail
cd "$(dirname "$0")/../.."
seeds="${SEEDS:-2}"
duration="${DURATION:-60}"
bash scripts/install-deps.sh
swift build --product ringstore
results="bench/results/$(date +%F)-faults.json"
status=0
python3 deploy/netns/faultbench.py run --faults all --seeds "$seeds" --duration "$duration" \
    --results "$results" || status=$?
report="bench/results/$(date +%F)-faults.md"
{
    echo "# Fault bench, $(date +%F)"
    echo
    echo "\`deploy/netns/long-run.sh\` (SEEDS=$seeds DURATION=$duration): a 3-node cluster and etcd in"
    echo "network namespaces on $(nproc) cores, four clients writing unique values, reading and deleting"
    echo "in a strict vv keyspace (N=3), an lww keyspace (N=3) and a sloppy vv keyspace (N=2);"
    echo "each fault injected repeatedly for 5-8 s with 3-5 s heals between. Checks: no"
    echo "acknowledged write lost, nothing an acknowledged delete removed comes back, strict"
    echo "read-your-writes, replicas equal after anti-entropy, no crash (deploy/netns/faultbench.py)."
    echo
    python3 deploy/netns/faultbench.py summary "$results"
} >"$report"
echo "wrote $report"
exit "$status"
