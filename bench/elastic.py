#!/usr/bin/python3
"""An elastic cluster under load (issue 16): YCSB-A on a 3-node leaderless cluster while a
fourth node joins and one of the first three leaves, and the transfer rate of a join with
an unlimited budget.

    bench/elastic.py [--minutes 5] [--join-at 60] [--leave-at 180] [--records 200000]
        [--value-bytes 1024] [--connections 32] [--transfer-budget BYTES_PER_SECOND]
        [--bin-dir .build/release] [--name elastic] [--out-dir bench/results]

run        etcd and three `ringstore serve` (deploy/local/cluster.sh; every node with
           --transfer-bytes-per-second from --transfer-budget, default the server's), a keyspace `bench` (N=3, w=quorum, r=quorum); ringstore-bench loads
           --records records, then runs YCSB-A for --minutes through n1 and n2 (the nodes
           that stay: a client of a leaving node would be moved off it by its load
           balancer). At --join-at seconds `cluster.sh add` starts n4, joins it and commits
           the plan; at --leave-at `cluster.sh remove n3` makes n3 leave and stops it once
           it holds nothing. /v1/cluster is polled every 0.5 s for the transfer windows.
unlimited  afterwards, with the load stopped, `cluster.sh add` starts n5 with
           --transfer-bytes-per-second 0: the bytes it received over the time its
           partitions moved.

Reports failed requests, the median throughput of the 1 s buckets inside each transfer
window against the minute before it (the dip), partition replicas moved against the least
any balanced claim needs (from `cluster plan`), and the transfer rates. Writes
<out-dir>/<date>-<name>.md (labelled with the measured commit), a PNG plot (throughput and
p99 per second, transfer windows shaded) and the samples as JSON. Build first
(swift build -c release); do not build while it runs. Run it as it is (its first line
names Debian's python3, where python3-matplotlib installs).
"""

import argparse
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLUSTER = os.path.join(ROOT, "deploy", "local", "cluster.sh")
HTTP_BASE = 18780
ETCD_PORT = 24290


def log(message):
    print(f"[elastic] {message}", file=sys.stderr, flush=True)


def get_json(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def metric(url, name, labels):
    """The sum of a Prometheus counter's samples whose labels include `labels`."""
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.split()[-1])
    return total


class Environment:
    def __init__(self, bin_dir, directory):
        self.env = dict(os.environ)
        self.env.update(
            RINGSTORE_LOCAL_DIR=directory, RINGSTORE_HTTP_BASE=str(HTTP_BASE), RINGSTORE_ETCD_PORT=str(ETCD_PORT),
            RINGSTORE_BIN=os.path.join(bin_dir, "ringstore"))
        self.bin_dir = bin_dir
        self.node_args = ""

    def cluster(self, *arguments, node_args=None):
        env = dict(self.env, RINGSTORE_NODE_ARGS=self.node_args if node_args is None else node_args)
        result = subprocess.run([CLUSTER, *arguments], env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"cluster.sh {' '.join(arguments)}: {result.stdout}{result.stderr}")
        return result.stdout

    def url(self, node):
        return f"http://127.0.0.1:{HTTP_BASE + node}"


class TransferWatch(threading.Thread):
    """Polls /v1/cluster on n1: when transfers were in progress, and the ring version."""

    def __init__(self, url, start):
        super().__init__(daemon=True)
        self.url, self.start_time = url, start
        self.samples = []  # (seconds since start, transfers, ring version)
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.is_set():
            try:
                view = get_json(self.url + "/v1/cluster", timeout=2)
                self.samples.append(
                    (time.monotonic() - self.start_time, len(view.get("transfers", [])), view.get("ring_version")))
            except Exception:
                pass
            time.sleep(0.5)

    def windows(self):
        """(start, end) seconds of each stretch with transfers in progress."""
        found, opened = [], None
        for at, transfers, _ in self.samples:
            if transfers > 0 and opened is None:
                opened = at
            elif transfers == 0 and opened is not None:
                found.append((opened, at))
                opened = None
        if opened is not None:
            found.append((opened, self.samples[-1][0]))
        return found


def moves_from_plan(output):
    match = re.search(r"partition replicas to move: (\d+) \(the least any balanced claim needs: (\d+)\)", output)
    return (int(match.group(1)), int(match.group(2))) if match else (None, None)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--join-at", type=float, default=60)
    parser.add_argument("--leave-at", type=float, default=180)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--value-bytes", type=int, default=1024)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--transfer-budget", type=int, default=None)
    parser.add_argument("--bin-dir", default=os.path.join(ROOT, ".build", "release"))
    parser.add_argument("--name", default="elastic")
    parser.add_argument("--out-dir", default=os.path.join(ROOT, "bench", "results"))
    args = parser.parse_args()

    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    commit = commit.stdout.strip()
    directory = tempfile.mkdtemp(prefix="ringstore-elastic-")
    environment = Environment(args.bin_dir, directory)
    if args.transfer_budget is not None:
        environment.node_args = f"--transfer-bytes-per-second {args.transfer_budget}"
    budget = "32 MiB/s (the default)" if args.transfer_budget is None else f"{args.transfer_budget / (1 << 20):g} MiB/s"
    bench = os.path.join(args.bin_dir, "ringstore-bench")
    endpoints = f"127.0.0.1:{HTTP_BASE + 1},127.0.0.1:{HTTP_BASE + 2}"
    common = [
        bench, "--target", "ringstore", "--endpoints", endpoints, "--keyspace", "bench", "--records",
        str(args.records), "--value-bytes", str(args.value_bytes), "--connections", str(args.connections),
        "--write-params", "w=quorum", "--read-params", "r=quorum", "--quiet",
    ]
    results = {"commit": commit, "arguments": vars(args)}
    try:
        log("starting etcd and 3 nodes")
        environment.cluster("up", "3")
        log(f"loading {args.records} records")
        subprocess.run(
            common + ["--workload", "a", "--duration", "1", "--warmup", "0", "--keyspace-definition",
                      '{"conflict":"lww","replication_factor":3}', "--json", os.path.join(directory, "load.json")],
            check=True, capture_output=True)
        run_json = os.path.join(directory, "run.json")
        seconds = int(args.minutes * 60)
        log(f"YCSB-A for {seconds} s; n4 joins at {args.join_at} s, n3 leaves at {args.leave_at} s")
        start = time.monotonic()
        running = subprocess.Popen(
            common + ["--workload", "a", "--no-load", "--duration", str(seconds), "--warmup", "0", "--json", run_json])
        watch = TransferWatch(environment.url(1), start)
        watch.start()
        events = {}
        time.sleep(max(0, args.join_at - (time.monotonic() - start)))
        events["join"] = time.monotonic() - start
        joined = environment.cluster("add")
        results["join_moves"], results["join_least"] = moves_from_plan(joined)
        events["join_done"] = time.monotonic() - start
        log(f"n4 joined: {results['join_moves']} replicas moved (least {results['join_least']})")
        join_bytes = metric(environment.url(4) + "/metrics", "ringstore_transfer_bytes_total", {"direction": "received"})
        time.sleep(max(0, args.leave_at - (time.monotonic() - start)))
        plan = subprocess.run(
            [environment.env["RINGSTORE_BIN"], "cluster", "leave", "n3", "--etcd", f"http://127.0.0.1:{ETCD_PORT}",
             "--cluster", "local"], capture_output=True, text=True)
        plan = subprocess.run(
            [environment.env["RINGSTORE_BIN"], "cluster", "plan", "--etcd", f"http://127.0.0.1:{ETCD_PORT}",
             "--cluster", "local"], capture_output=True, text=True).stdout
        subprocess.run(
            [environment.env["RINGSTORE_BIN"], "cluster", "unstage", "--etcd", f"http://127.0.0.1:{ETCD_PORT}",
             "--cluster", "local"], capture_output=True)
        results["leave_moves"], results["leave_least"] = moves_from_plan(plan)
        before_leave = {
            node: metric(environment.url(node) + "/metrics", "ringstore_transfer_bytes_total", {"direction": "received"})
            for node in (1, 2, 4)}
        events["leave"] = time.monotonic() - start
        environment.cluster("remove", "n3")
        events["leave_done"] = time.monotonic() - start
        leave_bytes = sum(
            metric(environment.url(node) + "/metrics", "ringstore_transfer_bytes_total", {"direction": "received"})
            - before_leave[node] for node in (1, 2, 4))
        log(f"n3 left: {results['leave_moves']} replicas moved (least {results['leave_least']})")
        running.wait()
        watch.stopped.set()
        watch.join()
        with open(run_json) as file:
            run = json.load(file)

        log("unlimited budget: n5 joins an idle cluster")
        unlimited_start = time.monotonic()
        environment.cluster("add", node_args="--transfer-bytes-per-second 0")
        unlimited_seconds = time.monotonic() - unlimited_start
        unlimited_bytes = metric(
            environment.url(5) + "/metrics", "ringstore_transfer_bytes_total", {"direction": "received"})
    finally:
        try:
            environment.cluster("down")
        except Exception as error:
            log(f"stopping the cluster: {error}")

    series = run["run"]["series"]
    throughput = [interval["operations"] for interval in series]
    p99 = [interval["p99"] / 1000 for interval in series]
    errors = sum(interval["errors"] for interval in series) + sum(run["run"]["errors"].values())
    windows = watch.windows()
    dips = []
    for begin, end in windows:
        inside = [throughput[s] for s in range(int(begin), min(len(throughput), int(end) + 1))]
        before = [throughput[s] for s in range(max(0, int(begin) - 60), int(begin))]
        if inside and before:
            dips.append({
                "window": [round(begin, 1), round(end, 1)], "median_inside": statistics.median(inside),
                "median_before": statistics.median(before),
                "ratio": round(statistics.median(inside) / statistics.median(before), 3)})
    results.update(
        events={k: round(v, 1) for k, v in events.items()}, windows=windows, dips=dips, errors=errors,
        operations=run["run"]["operations"], throughput=run["run"]["throughput"],
        join_bytes=join_bytes, leave_bytes=leave_bytes,
        join_seconds=round(events["join_done"] - events["join"], 1),
        leave_seconds=round(events["leave_done"] - events["leave"], 1),
        unlimited_bytes=unlimited_bytes, unlimited_seconds=round(unlimited_seconds, 1),
        series=series, transfer_samples=watch.samples)

    date = datetime.date.today().isoformat()
    base = os.path.join(args.out_dir, f"{date}-{args.name}")
    with open(base + ".json", "w") as file:
        json.dump(results, file, indent=1)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        figure, (top, bottom) = plt.subplots(2, 1, figsize=(11, 6), sharex=True)
        top.plot(range(len(throughput)), throughput, lw=0.8)
        top.set_ylabel("operations / s")
        bottom.plot(range(len(p99)), p99, lw=0.8, color="tab:red")
        bottom.set_ylabel("p99 (ms)")
        bottom.set_xlabel("seconds")
        for axis in (top, bottom):
            for begin, end in windows:
                axis.axvspan(begin, end, color="orange", alpha=0.3)
        top.set_title(f"YCSB-A, 3 nodes; n4 joins at {args.join_at:.0f} s, n3 leaves at {args.leave_at:.0f} s "
                      f"(shaded: partitions moving) - {commit}")
        figure.tight_layout()
        figure.savefig(base + ".png", dpi=110)
    except ImportError:
        log("no matplotlib: no plot")

    mib = 1 << 20
    lines = [
        f"# An elastic cluster under YCSB-A (commit {commit})", "",
        f"`bench/elastic.py --minutes {args.minutes} --records {args.records} --value-bytes {args.value_bytes} "
        f"--connections {args.connections}"
        + ("" if args.transfer_budget is None else f" --transfer-budget {args.transfer_budget}")
        + "` on this machine (2 cores shared by etcd, the nodes and the client).",
        "", f"![throughput and p99]({os.path.basename(base)}.png)", "",
        f"- operations: {results['operations']}, mean {results['throughput']:.0f}/s; failed requests: {errors}",
        f"- join of n4 at {events['join']:.0f} s: {results['join_moves']} partition replicas moved "
        f"(the least any balanced claim needs: {results['join_least']}), {join_bytes / mib:.1f} MiB received in "
        f"{results['join_seconds']} s (commit to no transfers, budget {budget})",
        f"- leave of n3 at {events['leave']:.0f} s: {results['leave_moves']} moved (least {results['leave_least']}), "
        f"{leave_bytes / mib:.1f} MiB received by n1, n2, n4 in {results['leave_seconds']} s",
        f"- unlimited budget, idle cluster: n5 received {unlimited_bytes / mib:.1f} MiB in {unlimited_seconds:.1f} s "
        f"({unlimited_bytes / mib / max(unlimited_seconds, 0.1):.1f} MiB/s, commit to no transfers)",
        "", "| transfer window (s) | median ops/s inside | median ops/s the minute before | ratio |",
        "|---|---|---|---|",
    ]
    for dip in dips:
        lines.append(f"| {dip['window'][0]}-{dip['window'][1]} | {dip['median_inside']} | {dip['median_before']} | "
                     f"{dip['ratio']} |")
    with open(base + ".md", "w") as file:
        file.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
