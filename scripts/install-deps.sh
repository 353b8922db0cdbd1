#!/usr/bin/env bash
# Installs the system packages Ringstore needs to build and test, if they are missing.
# Debian/Ubuntu; runs apt-get as root (or through sudo).
set -euo pipefail

need=()
pkg-config --exists liblz4 2>/dev/null || need+=(liblz4-dev pkg-config)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v python3 >/dev/null 2>&1 || need+=(python3)
python3 -c 'import yaml' 2>/dev/null || need+=(python3-yaml)
# etcd keeps a cluster's metadata; the cluster tests and deploy/local start real ones.
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
# The fault bench (deploy/netns) builds test hosts from network namespaces and nft rules.
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v nft >/dev/null 2>&1 || need+=(nftables)

if ((${#need[@]})); then
    SUDO=""
    [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    echo "installing: ${need[*]}" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
    echo "swift is not on PATH: install Swift 6.1 or later (https://www.swift.org/install)" >&2
    exit 1
fi
