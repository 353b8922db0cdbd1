#!/usr/bin/env bash
# A local Ringstore cluster on 127.0.0.1: one etcd member and N nodes, their data and
# logs under one directory.
#
#   deploy/local/cluster.sh up [N]   start etcd and N nodes (default 3), wait until ready
#   deploy/local/cluster.sh status   show the processes and `ringstore cluster status`
#   deploy/local/cluster.sh add      start one more node, join it and commit the plan
#   deploy/local/cluster.sh remove NODE   make NODE leave, wait until it holds nothing, stop it
#   deploy/local/cluster.sh down     stop exactly the processes `up` and `add` started
#
# Environment: RINGSTORE_LOCAL_DIR (default ./local-cluster), RINGSTORE_HTTP_BASE (8081:
# node i listens on HTTP 8080+i and peers on 9080+i), RINGSTORE_ETCD_PORT (2379),
# RINGSTORE_NODE_ARGS (more `ringstore serve` options for every node), RINGSTORE_BIN (a
# ringstore binary to run instead of building one).
# Installs etcd-server and builds the release binary when missing.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dir="${RINGSTORE_LOCAL_DIR:-$root/local-cluster}"
http_base="${RINGSTORE_HTTP_BASE:-8080}"
peer_base=$((http_base + 1000))
etcd_port="${RINGSTORE_ETCD_PORT:-2379}"
etcd_url="http://127.0.0.1:${etcd_port}"
cluster="local"
bin="${RINGSTORE_BIN:-$root/.build/release/ringstore}"

need_tools() {
    # liblz4, etcd-server and the rest, when missing.
    "$root/scripts/install-deps.sh"
    [[ -n "${RINGSTORE_BIN:-}" ]] && return 0  # a binary named by the caller is used as it is
    if [[ ! -x "$bin" ]] || [[ -n "$(find "$root/Sources" "$root/Package.swift" -newer "$bin" -print -quit)" ]]; then
        echo "building the release binary" >&2
        (cd "$root" && swift build -c release --product ringstore >&2)
    fi
}

# Waits up to $2 seconds for a URL to answer 200.
wait_for() {
    local url=$1 seconds=$2
    for _ in $(seq 1 $((seconds * 10))); do
        curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "no answer from $url after ${seconds}s" >&2
    return 1
}

up() {
    local n=${1:-3}
    [[ -f "$dir/pids" ]] && { echo "a cluster is already up in $dir (run down first)" >&2; exit 1; }
    need_tools
    mkdir -p "$dir"
    : >"$dir/pids"
    etcd --name local --data-dir "$dir/etcd" \
        --listen-client-urls "$etcd_url" --advertise-client-urls "$etcd_url" \
        --listen-peer-urls "http://127.0.0.1:$((etcd_port + 1))" \
        --initial-advertise-peer-urls "http://127.0.0.1:$((etcd_port + 1))" \
        --initial-cluster "local=http://127.0.0.1:$((etcd_port + 1))" \
        >"$dir/etcd.log" 2>&1 &
    echo "etcd $!" >>"$dir/pids"
    wait_for "$etcd_url/health" 20
    local nodes=""
    for i in $(seq 1 "$n"); do nodes+="${nodes:+,}n$i"; done
    "$bin" cluster init --etcd "$etcd_url" --cluster "$cluster" --nodes "$nodes" >/dev/null 2>&1 || true
    for i in $(seq 1 "$n"); do start_node "$i"; done
    for i in $(seq 1 "$n"); do wait_for "http://127.0.0.1:$((http_base + i))/readyz" 60; done
    echo "cluster '$cluster' is up; data and logs in $dir"
    echo "etcd:  $etcd_url"
    for i in $(seq 1 "$n"); do echo "n$i:    http://127.0.0.1:$((http_base + i))"; done
    echo "try:   curl -X PUT --data hello http://127.0.0.1:$((http_base + 1))/v1/kv/default/greeting"
}

start_node() {
    local i=$1
    "$bin" serve --node-id "n$i" --http "127.0.0.1:$((http_base + i))" --peer "127.0.0.1:$((peer_base + i))" \
        --data-dir "$dir/n$i" --etcd "$etcd_url" --cluster "$cluster" ${RINGSTORE_NODE_ARGS:-} \
        >>"$dir/n$i.log" 2>&1 &
    echo "n$i $!" >>"$dir/pids"
}

# The number of the highest node `up` or `add` started.
last_node() {
    sed -n 's/^n\([0-9]*\) .*/\1/p' "$dir/pids" | sort -n | tail -1
}

# Waits until `cluster status` says no partition moves any more (up to 10 minutes).
wait_for_transfers() {
    for _ in $(seq 1 1200); do
        "$bin" cluster status --etcd "$etcd_url" --cluster "$cluster" 2>/dev/null |
            grep -q "transfers: none in progress" && return 0
        sleep 0.5
    done
    echo "partitions still move after 10 minutes; see \`$0 status\`" >&2
    return 1
}

add() {
    [[ -f "$dir/pids" ]] || { echo "no cluster is up in $dir (run up first)" >&2; exit 1; }
    need_tools
    local i=$(($(last_node) + 1))
    start_node "$i"
    wait_for "http://127.0.0.1:$((http_base + i))/readyz" 60
    "$bin" cluster join "n$i" --etcd "$etcd_url" --cluster "$cluster"
    "$bin" cluster plan --etcd "$etcd_url" --cluster "$cluster"
    "$bin" cluster commit --etcd "$etcd_url" --cluster "$cluster"
    wait_for_transfers
    echo "n$i:    http://127.0.0.1:$((http_base + i)) joined"
}

remove() {
    local node=${1:?usage: $0 remove NODE}
    [[ -f "$dir/pids" ]] || { echo "no cluster is up in $dir" >&2; exit 1; }
    local pid
    pid=$(awk -v n="$node" '$1 == n { print $2 }' "$dir/pids")
    [[ -n "$pid" ]] || { echo "$node was not started by this script" >&2; exit 1; }
    "$bin" cluster leave "$node" --etcd "$etcd_url" --cluster "$cluster"
    "$bin" cluster commit --etcd "$etcd_url" --cluster "$cluster"
    wait_for_transfers
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    awk -v n="$node" '$1 != n' "$dir/pids" >"$dir/pids.new" && mv "$dir/pids.new" "$dir/pids"
    echo "$node left the ring and was stopped"
}

status() {
    [[ -f "$dir/pids" ]] || { echo "no cluster is up in $dir"; return 0; }
    while read -r name pid; do
        if kill -0 "$pid" 2>/dev/null; then echo "$name pid $pid running"; else echo "$name pid $pid stopped"; fi
    done <"$dir/pids"
    "$bin" cluster status --etcd "$etcd_url" --cluster "$cluster" || true
}

down() {
    [[ -f "$dir/pids" ]] || { echo "no cluster is up in $dir"; return 0; }
    # Nodes first, etcd last, each by the pid recorded at start.
    tac "$dir/pids" | while read -r name pid; do
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
        echo "stopped $name"
    done
    rm -f "$dir/pids"
}

case "${1:-}" in
up) up "${2:-3}" ;;
status) status ;;
add) add ;;
remove) remove "${2:-}" ;;
down) down ;;
*) echo "usage: $0 up [N] | status | add | remove NODE | down" >&2; exit 64 ;;
esac
