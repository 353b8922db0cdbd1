#!/usr/bin/python3
"""Leader mode over time: bounded disk and memory under endless overwrites, the restart of
a node holding many keys, and a follower catching up through snapshots.

    bench/leader-long-run.py [--parts overwrite,restart,snapshot] [--minutes 10]
        [--keys 1000] [--value-bytes 1024] [--sample-seconds 10] [--segment-bytes 16777216]
        [--load-records 1000000] [--load-value-bytes 1024] [--retain-bytes 1048576]
        [--baseline-bin OLD/ringstore] [--baseline-minutes 3] [--bin-dir .build/release]
        [--name leader-long-run] [--out-dir bench/results]

overwrite  a 3-node cluster (etcd and three `ringstore serve`, deploy/local) with a leader
           keyspace (N=3, min_in_sync 2, ack=all); ringstore-bench overwrites --keys keys
           of --value-bytes at full speed (32 connections over the nodes) for --minutes,
           while every node's data directory size and RSS are sampled every
           --sample-seconds; plotted. With --baseline-bin the same run (for
           --baseline-minutes) with that build comes first, for the figures side by side.
restart    on a fresh cluster, with one follower (n3) down, --load-records keys of
           --load-value-bytes are written; then n1 is killed (kill -9) and started again:
           how long until it answers /readyz, until it hosts all its partition replicas, and
           until follower reads of the loaded keys are served from its state. With
           --baseline-bin the same load and restart with that build.
snapshot   (after restart, same cluster) n3 starts again, now far behind a log trimmed to
           --retain-bytes per partition: how long until every replica it holds installed
           a snapshot and caught up, and the rate from the bytes its counters say it received.

Writes <out-dir>/<date>-<name>.md (labelled with the measured commit), a PNG plot and the
samples as JSON. Build first (swift build -c release); do not build while it runs. Run it
as it is (its first line names Debian's python3, where python3-matplotlib installs).
"""

import argparse
import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLUSTER = os.path.join(ROOT, "deploy", "local", "cluster.sh")
HTTP_BASE = 18680
ETCD_PORT = 24190
DEFINITION = '{"mode":"leader","replication_factor":3,"min_in_sync":2,"ack":"all"}'


def log(message):
    print(f"[leader-long-run] {message}", file=sys.stderr, flush=True)


def http(method, url, body=None, timeout=10):
    request = urllib.request.Request(url, data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError:
        return None, b""


def node_url(i):
    return f"http://127.0.0.1:{HTTP_BASE + i}"


class Cluster:
    """A deploy/local cluster in a temporary directory, run with one ringstore binary."""

    def __init__(self, binary, work, node_args):
        self.binary = binary
        self.dir = os.path.join(work, f"cluster-{int(time.time() * 1000)}")
        self.env = dict(
            os.environ,
            RINGSTORE_BIN=binary,
            RINGSTORE_LOCAL_DIR=self.dir,
            RINGSTORE_HTTP_BASE=str(HTTP_BASE),
            RINGSTORE_ETCD_PORT=str(ETCD_PORT),
            RINGSTORE_NODE_ARGS=node_args,
        )

    def up(self):
        subprocess.run([CLUSTER, "up", "3"], env=self.env, check=True, stdout=subprocess.DEVNULL)

    def down(self):
        subprocess.run([CLUSTER, "down"], env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(self.dir, ignore_errors=True)

    def pids(self):
        found = {}
        with open(os.path.join(self.dir, "pids")) as file:
            for line in file:
                name, pid = line.split()
                found[name] = int(pid)
        return found

    def set_pid(self, name, pid):
        lines = []
        with open(os.path.join(self.dir, "pids")) as file:
            for line in file:
                old, _ = line.split()
                lines.append(f"{name} {pid}\n" if old == name else line)
        with open(os.path.join(self.dir, "pids"), "w") as file:
            file.writelines(lines)

    def data_dir(self, name):
        return os.path.join(self.dir, name)

    def kill9(self, name):
        pid = self.pids()[name]
        with open(f"/proc/{pid}/cmdline", "rb") as file:
            command = [part.decode() for part in file.read().split(b"\0") if part]
        os.kill(pid, signal.SIGKILL)
        for _ in range(100):
            if not os.path.exists(f"/proc/{pid}"):
                break
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            time.sleep(0.05)
        return command

    def start(self, name, command):
        log_file = open(os.path.join(self.dir, f"{name}.log"), "a")
        process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
        self.set_pid(name, process.pid)
        return process


def bench(bin_dir, arguments, json_path):
    command = [os.path.join(bin_dir, "ringstore-bench"), "--target", "ringstore", "--keyspace", "orders",
               "--keyspace-definition", DEFINITION, "--json", json_path, *arguments]
    log(" ".join(command))
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def directory_bytes(path):
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                total += os.stat(os.path.join(folder, name)).st_blocks * 512
            except OSError:
                pass
    return total


def rss_bytes(pid):
    try:
        with open(f"/proc/{pid}/status") as file:
            for line in file:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def overwrite(label, binary, bin_dir, work, args, minutes):
    cluster = Cluster(binary, work, f"--segment-bytes-max {args.segment_bytes}")
    try:
        cluster.up()
        pids = cluster.pids()
        json_path = os.path.join(work, f"overwrite-{label}.json")
        endpoints = ",".join(f"127.0.0.1:{HTTP_BASE + i}" for i in (1, 2, 3))
        runner = bench(bin_dir, ["--endpoints", endpoints, "--workload", "write", "--distribution", "uniform",
                                 "--records", str(args.keys), "--value-bytes", str(args.value_bytes),
                                 "--connections", "32", "--warmup", "0", "--duration", str(int(minutes * 60))],
                       json_path)
        start = time.time()
        samples = []
        while runner.poll() is None:
            sample = {"seconds": round(time.time() - start, 1)}
            for name in ("n1", "n2", "n3"):
                sample[f"{name}_disk"] = directory_bytes(cluster.data_dir(name))
                sample[f"{name}_rss"] = rss_bytes(pids[name])
            samples.append(sample)
            log(f"{label} {sample['seconds']:.0f}s disk MiB " + " ".join(
                f"{sample[f'{n}_disk'] / 2**20:.1f}" for n in ("n1", "n2", "n3")) + " rss MiB " + " ".join(
                f"{sample[f'{n}_rss'] / 2**20:.1f}" for n in ("n1", "n2", "n3")))
            deadline = time.time() + args.sample_seconds
            while runner.poll() is None and time.time() < deadline:
                time.sleep(0.2)
        errors = runner.stderr.read().decode()
        result = json.load(open(json_path)) if os.path.exists(json_path) else {"error": errors[-2000:]}
        return {"label": label, "binary": binary, "samples": samples, "bench": result}
    finally:
        cluster.down()


def replicas_view(i):
    status, body = http("GET", node_url(i) + "/v1/cluster")
    if status != 200:
        return None
    return json.loads(body).get("leader_partitions", [])


def metric(i, name, labels):
    status, body = http("GET", node_url(i) + "/metrics")
    if status != 200:
        return 0.0
    total = 0.0
    for line in body.decode().splitlines():
        if line.startswith(name) and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.split()[-1])
    return total


def restart_and_snapshot(label, binary, bin_dir, work, args, parts):
    node_args = f"--segment-bytes-max {args.segment_bytes}"
    if "snapshot" in parts:  # (a baseline build may predate the option; it only restarts)
        node_args += f" --leader-log-retain-bytes {args.retain_bytes}"
    cluster = Cluster(binary, work, node_args)
    figures = {"label": label, "binary": binary}
    try:
        cluster.up()
        n3_command = cluster.kill9("n3")
        json_path = os.path.join(work, f"load-{label}.json")
        endpoints = ",".join(f"127.0.0.1:{HTTP_BASE + i}" for i in (1, 2))
        loaded_at = time.time()
        # The load phase writes every record once; then one second of reads.
        runner = bench(bin_dir, ["--endpoints", endpoints, "--workload", "c", "--records", str(args.load_records),
                                 "--value-bytes", str(args.load_value_bytes), "--connections", "32",
                                 "--warmup", "0", "--duration", "1"], json_path)
        runner.wait()
        figures["load_seconds"] = round(time.time() - loaded_at, 1)
        figures["n1_disk"] = directory_bytes(cluster.data_dir("n1"))
        log(f"{label}: loaded {args.load_records} keys in {figures['load_seconds']} s; n1 holds "
            f"{figures['n1_disk'] / 2**20:.0f} MiB")

        if "restart" in parts:
            command = cluster.kill9("n1")
            started = time.time()
            cluster.start("n1", command)
            ready = hosted = served = None
            probes = [f"user{i}" for i in range(0, args.load_records, max(1, args.load_records // 50))]
            while time.time() - started < 120 and served is None:
                now = time.time() - started
                if ready is None and http("GET", node_url(1) + "/readyz", timeout=1)[0] == 200:
                    ready = now
                if ready is not None and hosted is None:
                    view = replicas_view(1)
                    if view is not None and len(view) >= args.partitions:
                        hosted = now
                if hosted is not None:
                    answers = [http("GET", node_url(1) + f"/v1/kv/orders/{key}?read=follower", timeout=2)[0]
                               for key in probes]
                    if all(status == 200 for status in answers):
                        served = time.time() - started
                time.sleep(0.02)
            figures["restart"] = {"ready": ready and round(ready, 3), "hosted": hosted and round(hosted, 3),
                                  "served": served and round(served, 3), "probes": len(probes)}
            log(f"{label}: restart of n1: ready {ready}, all replicas hosted {hosted}, follower reads {served}")

        if "snapshot" in parts:
            started = time.time()
            cluster.start("n3", n3_command)
            caught_up = None
            while time.time() - started < 900 and caught_up is None:
                mine = replicas_view(3)
                leaders = {}
                for i in (1, 2):
                    for replica in replicas_view(i) or []:
                        if replica.get("role") == "leader":
                            leaders[(replica["keyspace"], replica["partition"])] = replica
                if mine and len(mine) >= args.partitions and len(leaders) >= args.partitions and all(
                        not replica["installing_snapshot"]
                        and replica["last"] >= leaders.get((replica["keyspace"], replica["partition"]), {}).get(
                            "last", 1 << 62)
                        for replica in mine):
                    caught_up = round(time.time() - started, 1)
                time.sleep(0.5)
            received = metric(3, "ringstore_leader_snapshot_bytes_total", {"direction": "received"})
            installed = metric(3, "ringstore_leader_snapshots_total", {"outcome": "installed"})
            begun = metric(3, "ringstore_leader_snapshots_total", {"outcome": "begun"})
            figures["snapshot"] = {"seconds": caught_up, "bytes_received": received, "installed": installed,
                                   "begun": begun}
            log(f"{label}: n3 caught up in {caught_up} s, {installed:.0f} snapshots, {received / 2**20:.0f} MiB")
        return figures
    finally:
        cluster.down()


def plot(runs, path):
    try:
        import matplotlib
    except ImportError:
        log("installing python3-matplotlib")
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run([*sudo, "apt-get", "update", "-qq"], env=env, check=True)
        subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "python3-matplotlib"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    figure, (disk, rss) = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
    for run in runs:
        for name, style in (("n1", "-"), ("n2", "--"), ("n3", ":")):
            minutes = [s["seconds"] / 60 for s in run["samples"]]
            disk.plot(minutes, [s[f"{name}_disk"] / 2**20 for s in run["samples"]], style,
                      label=f"{run['label']} {name}")
            rss.plot(minutes, [s[f"{name}_rss"] / 2**20 for s in run["samples"]], style,
                     label=f"{run['label']} {name}")
    disk.set_ylabel("data directory (MiB)")
    rss.set_ylabel("RSS (MiB)")
    rss.set_xlabel("minutes of overwrites")
    disk.legend(fontsize=7)
    rss.legend(fontsize=7)
    disk.set_title("Leader keyspace, 3 nodes: overwriting the same keys")
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def summary(run, args, minutes):
    samples = run["samples"]
    lines = []
    phase = run["bench"].get("run", {})
    latency = phase.get("latency", {}).get("write", {}) or next(iter(phase.get("latency", {}).values()), {})
    lines.append(f"- overwrites: {phase.get('operations', 0)} in {phase.get('seconds', 0):.0f} s, "
                 f"{phase.get('throughput', 0):.0f}/s; errors {phase.get('errors', {})}; latency (µs) "
                 f"{json.dumps(latency)[:200]}")
    end = samples[-1] if samples else {}
    two = next((s for s in samples if s["seconds"] >= 120), None)
    live = args.keys * args.value_bytes
    for name in ("n1", "n2", "n3"):
        disk_end = end.get(f"{name}_disk", 0)
        peak = max((s[f"{name}_disk"] for s in samples), default=0)
        late_peak = max((s[f"{name}_disk"] for s in samples if s["seconds"] >= 60), default=0)
        rss_two = two[f"{name}_rss"] if two else 0
        rss_end = end.get(f"{name}_rss", 0)
        growth = (rss_end / rss_two - 1) * 100 if rss_two else float("nan")
        lines.append(
            f"- {name}: disk at the end {disk_end / 2**20:.1f} MiB (peak {peak / 2**20:.1f}, peak after minute 1 "
            f"{late_peak / 2**20:.1f}; live data {live / 2**20:.1f} MiB); RSS {rss_two / 2**20:.1f} MiB at minute 2, "
            f"{rss_end / 2**20:.1f} MiB at the end ({growth:+.1f}%)")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", default="overwrite,restart,snapshot")
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--value-bytes", type=int, default=1024)
    parser.add_argument("--sample-seconds", type=float, default=10)
    parser.add_argument("--segment-bytes", type=int, default=16 << 20)
    parser.add_argument("--load-records", type=int, default=1_000_000)
    parser.add_argument("--load-value-bytes", type=int, default=1024)
    parser.add_argument("--retain-bytes", type=int, default=1 << 20)
    parser.add_argument("--partitions", type=int, default=64, help="partitions of the ring (cluster init's default)")
    parser.add_argument("--baseline-bin")
    parser.add_argument("--baseline-minutes", type=float, default=3)
    parser.add_argument("--bin-dir", default=os.path.join(ROOT, ".build", "release"))
    parser.add_argument("--name", default="leader-long-run")
    parser.add_argument("--out-dir", default=os.path.join(ROOT, "bench", "results"))
    args = parser.parse_args()
    parts = args.parts.split(",")
    subprocess.run([os.path.join(ROOT, "scripts", "install-deps.sh")], check=True, stdout=subprocess.DEVNULL)
    binary = os.path.join(args.bin_dir, "ringstore")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    work = tempfile.mkdtemp(prefix="leader-long-run-")
    date = datetime.date.today().isoformat()
    os.makedirs(args.out_dir, exist_ok=True)
    base = os.path.join(args.out_dir, f"{date}-{args.name}")
    report = [f"# Leader mode over time ({date}, commit {commit})", "",
              f"`bench/leader-long-run.py {' '.join(sys.argv[1:])}` on {os.cpu_count()} cores; three nodes and etcd "
              f"on 127.0.0.1 (deploy/local), `--sync always`, segments of {args.segment_bytes >> 20} MiB.", ""]
    raw = {"commit": commit, "arguments": sys.argv[1:]}
    try:
        if "overwrite" in parts:
            runs = []
            if args.baseline_bin:
                runs.append(overwrite("baseline", args.baseline_bin, args.bin_dir, work, args, args.baseline_minutes))
            runs.append(overwrite(commit, binary, args.bin_dir, work, args, args.minutes))
            raw["overwrite"] = runs
            plot(runs, base + ".png")
            report += [f"## Overwrites: {args.keys} keys of {args.value_bytes} bytes, ack=all, 32 connections", "",
                       f"![disk and RSS]({os.path.basename(base)}.png)", ""]
            for run in runs:
                report.append(f"### {run['label']} (`{run['binary']}`)")
                report += summary(run, args, args.minutes)
                report.append("")
        if "restart" in parts or "snapshot" in parts:
            figures = []
            if args.baseline_bin and "restart" in parts:
                figures.append(restart_and_snapshot("baseline", args.baseline_bin, args.bin_dir, work, args,
                                                    ["restart"]))
            figures.append(restart_and_snapshot(commit, binary, args.bin_dir, work, args, parts))
            raw["restart_snapshot"] = figures
            report += [f"## {args.load_records} keys of {args.load_value_bytes} bytes loaded with n3 down "
                       f"(log retention {args.retain_bytes >> 10} KiB per partition)", ""]
            for figure in figures:
                report.append(f"### {figure['label']} (`{figure['binary']}`)")
                report.append(f"- load: {figure.get('load_seconds')} s; n1's data directory "
                              f"{figure.get('n1_disk', 0) / 2**20:.0f} MiB")
                if "restart" in figure:
                    r = figure["restart"]
                    report.append(f"- restart of n1 after kill -9: /readyz after {r['ready']} s, all replicas "
                                  f"hosted after {r['hosted']} s, follower reads of {r['probes']} loaded keys "
                                  f"served after {r['served']} s")
                if "snapshot" in figure:
                    s = figure["snapshot"]
                    rate = s["bytes_received"] / s["seconds"] / 2**20 if s["seconds"] else 0
                    report.append(f"- n3 back: every replica caught up after {s['seconds']} s; "
                                  f"{s['installed']:.0f} snapshots installed ({s['begun']:.0f} begun), "
                                  f"{s['bytes_received'] / 2**20:.0f} MiB received: {rate:.1f} MiB/s")
                report.append("")
    finally:
        with open(base + ".json", "w") as file:
            json.dump(raw, file, indent=1)
        with open(base + ".md", "w") as file:
            file.write("\n".join(report) + "\n")
        shutil.rmtree(work, ignore_errors=True)
        log(f"wrote {base}.md")


if __name__ == "__main__":
    main()
