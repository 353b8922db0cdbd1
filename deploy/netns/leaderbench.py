#!/usr/bin/env python3
"""Ringstore's leader-mode fault bench: a real cluster in network namespaces under faults.

The same network and processes as faultbench.py (a namespace per host on a private
bridge; etcd and three `ringstore serve` members), with two leader-mode keyspaces:
`fbsync` (`ack=all`, `min_in_sync` 2) and `fbasync` (`ack=leader`). Four clients write
unique values, compare-and-set with the version they last read (If-Match) and read
`linearizable`, through every node, while one fault is injected again and again on a
random node (each node leads about a third of the partitions), while one more client
writes `ack=leader` through the victim alone to the keys it led: kill -9 and restart,
SIGSTOP past the 2 s leadership lease and SIGCONT, isolation from peers and etcd, from
etcd only, from peers only, or an etcd kill. After the last heal every key is read
again through every node, and the run is checked:

- `fbsync`: the history of writes, compare-and-sets and linearizable reads is
  linearizable (`ringstore-check`, the Wing & Gong search), and every acknowledged
  write's token is still in every replica's log (a follower read with `after=TOKEN`
  never answers 410);
- `fbasync`: acknowledged writes whose token is gone are counted as lost, with the time
  window of their acknowledgements; they must be a suffix of one leader's epoch (no
  surviving write of that epoch after a lost one), and no read ever returns a lost value
  (reads are linearizable: they see committed entries only, which cannot be lost);
- the servers' own failover loss report (`leader_losses` in `/v1/cluster`) never lists
  an acknowledged `ack=all` write; how many of the lost `ack=leader` writes it lists is
  counted (a node restarted after its cut has forgotten it);
- no node crashed.

Needs root, iproute2 and nftables. Everything is bounded in time and torn down on exit.
"""
import json
import os
import random
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultbench  # noqa: E402
from faultbench import ROOT, command_line, forked, request, start_cluster, wait_ready  # noqa: E402

FAULTS = ["kill", "pause", "isolate", "etcdcut", "peercut", "etcd"]
KEYSPACES = {
    "fbsync": {"mode": "leader", "min_in_sync": 2, "ack": "all"},
    "fbasync": {"mode": "leader", "min_in_sync": 2, "ack": "leader"},
}


def problem_type(body):
    try:
        return json.loads(body).get("type", "").rsplit("/", 1)[-1]
    except (ValueError, AttributeError):
        return ""


class Workload:
    """Clients writing, compare-and-setting and reading; every operation recorded."""

    def __init__(self, net, keys, seed, started):
        self.net = net
        self.keys = keys
        self.seed = seed
        self.started = started
        self.lock = threading.Lock()
        self.ops = []
        self.stop_at = None

    def now(self):
        return int((time.monotonic() - self.started) * 1_000_000)

    def run(self, seconds):
        self.stop_at = time.monotonic() + seconds
        threads = [threading.Thread(target=self.client, args=(c,)) for c in range(4)]
        for thread in threads:
            thread.start()
        return threads

    def keys_led_by(self, node):
        """The `fbasync` keys whose last acknowledged write `node` led."""
        with self.lock:
            latest = {}
            for op in self.ops:
                if op["keyspace"] == "fbasync" and op.get("status") == 204 and op.get("leader"):
                    latest[op["key"]] = op["leader"]
        return sorted(key for key, leader in latest.items() if leader == node)

    def aim(self, node, keys, until):
        """Writes `ack=leader` to `keys` through `node` alone until `until`: what a client
        of a leader that is about to lose its partition sends (client 50)."""
        sequence = 0
        while time.monotonic() < until and keys:
            sequence += 1
            key = keys[sequence % len(keys)]
            value = f"aim-{node}-{sequence}"
            op = {"client": 50, "node": node, "keyspace": "fbasync", "key": key, "f": "write", "value": value}
            self.send(op, node, "PUT", f"/v1/kv/fbasync/{key}?timeout=2000", value.encode())
            time.sleep(0.02)

    def record(self, op):
        with self.lock:
            self.ops.append(op)

    def client(self, index):
        rng = random.Random(self.seed * 100 + index)
        sequence = 0
        last_read = {}
        while time.monotonic() < self.stop_at:
            node = rng.choice(self.net.nodes)
            keyspace = "fbsync" if rng.random() < 0.7 else "fbasync"
            key = f"k{rng.randrange(self.keys)}"
            path = f"/v1/kv/{keyspace}/{key}"
            op = {"client": index, "node": node, "keyspace": keyspace, "key": key}
            roll = rng.random()
            sequence += 1
            value = f"c{index}-{sequence}"
            seen = last_read.get((keyspace, key))
            if roll < 0.45:
                op |= {"f": "write", "value": value}
                self.send(op, node, "PUT", path + "?timeout=2000", value.encode())
            elif roll < 0.6 and seen and seen[1]:
                op |= {"f": "cas", "value": value, "expected": seen[0]}
                self.send(op, node, "PUT", path + "?timeout=2000", value.encode(), {"If-Match": seen[1]})
                last_read.pop((keyspace, key), None)
            else:
                op |= {"f": "read"}
                done = self.send(op, node, "GET", path + "?timeout=2000")
                if done and done["status"] in (200, 404):
                    last_read[(keyspace, key)] = (done.get("read"), done.get("version"))
            time.sleep(rng.uniform(0.002, 0.01))

    def send(self, op, node, method, path, body=None, headers=None):
        op["call"] = self.now()
        try:
            status, response_headers, content = request(self.net.ip[node], method, path, body, headers, timeout=4)
        except OSError as error:
            # A refused connection reached no node: the operation did not happen.
            op |= {"returned": None, "error": str(error), "unsent": isinstance(error, ConnectionRefusedError)}
            self.record(op)
            return None
        op |= {"returned": self.now(), "status": status, "version": response_headers.get("x-ringstore-version"),
               "leader": response_headers.get("x-ringstore-leader")}
        if status == 200:
            op["read"] = content.decode()
        elif status >= 400:
            op["problem"] = problem_type(content)
        self.record(op)
        return op


class Run(faultbench.Run):
    """One run: faultbench's cluster, faults and heals, with leader-mode keyspaces and
    workload."""

    def __init__(self, args, fault, seed):
        super().__init__(args, fault, seed, tag="lb", directory="ringstore-leader")
        self.started = time.monotonic()

    def setup(self):
        start_cluster(self.net, self.cluster, self.args.binary)
        first = self.net.ip[self.net.nodes[0]]
        for name, definition in KEYSPACES.items():
            status = request(first, "PUT", f"/v1/keyspaces/{name}", json.dumps(definition).encode())[0]
            if status not in (200, 201):
                raise RuntimeError(f"creating keyspace {name} answered {status}")
        # Every key of both keyspaces writable through every node before the clock starts.
        end = time.monotonic() + 40
        for keyspace in KEYSPACES:
            for k in range(self.args.keys):
                while request(first, "PUT", f"/v1/kv/{keyspace}/k{k}", b"init")[0] != 204:
                    if time.monotonic() > end:
                        raise RuntimeError(f"{keyspace}/k{k} never got a leader")
                    time.sleep(0.2)

    def execute(self):
        self.started = time.monotonic()
        workload = Workload(self.net, self.args.keys, self.seed, self.started)
        threads = workload.run(self.args.duration)
        time.sleep(3)
        fault_end = self.started + self.args.duration - 6
        while time.monotonic() + 10 < fault_end:
            victim = self.inject()
            until = time.monotonic() + self.rng.uniform(4, 6)
            # A client keeps writing ack=leader through the victim to keys it led.
            aimed = threading.Thread(target=workload.aim, args=(victim, workload.keys_led_by(victim), until))
            aimed.start()
            threads.append(aimed)  # it may still wait on a request to the victim after the heal
            time.sleep(max(0.0, until - time.monotonic()))
            self.heal(victim)
            time.sleep(self.rng.uniform(3, 5))
        self.note("final heal")
        for thread in threads:
            thread.join()
        wait_ready(self.net, self.net.nodes)
        return workload

    def final_reads(self, workload):
        """A linearizable read of every key through every node, each retried for up to 20 s."""
        end = time.monotonic() + 20
        for keyspace in KEYSPACES:
            for k in range(self.args.keys):
                for node in self.net.nodes:
                    op = {"client": 99, "node": node, "keyspace": keyspace, "key": f"k{k}", "f": "read"}
                    while True:
                        done = workload.send(dict(op), node, "GET", f"/v1/kv/{keyspace}/k{k}?timeout=2000")
                        if (done and done["status"] in (200, 404)) or time.monotonic() > end:
                            break
                        time.sleep(0.2)

    def fill(self, ops):
        """Writes to each `fbasync` key until its partition's log passes every sequence
        acknowledged for it: a replica tells whether a token's write survived only once
        that sequence is committed, and an `ack=leader` write lost with an isolated leader
        may lie beyond the new leader's log end."""
        need = {}
        for op in ops:
            if op["keyspace"] == "fbasync" and op.get("status") == 204 and op.get("version"):
                need[op["key"]] = max(need.get(op["key"], 0), epoch_sequence(op["version"])[1])
        first = self.net.ip[self.net.nodes[0]]
        for key, target in need.items():
            end = time.monotonic() + 30
            while time.monotonic() < end:
                try:
                    status, headers, _ = request(first, "PUT", f"/v1/kv/fbasync/{key}?ack=all", b"fill")
                except OSError:
                    continue
                if status == 204 and epoch_sequence(headers["x-ringstore-version"])[1] >= target:
                    break

    def token_states(self, ops):
        """For every acknowledged write: whether each node still has its token (200/404),
        lost it (410), or could not say."""
        states = {}
        for op in ops:
            if op["f"] == "read" or op.get("status") != 204 or not op.get("version"):
                continue
            answers = {}
            for node in self.net.nodes:
                path = f"/v1/kv/{op['keyspace']}/{op['key']}?read=follower&after={op['version']}&timeout=3000"
                try:
                    answers[node] = request(self.net.ip[node], "GET", path, timeout=5)[0]
                except OSError:
                    answers[node] = None
            states[(op["keyspace"], op["key"], op["version"])] = answers
        return states


def epoch_sequence(token):
    epoch, sequence = token.split(".")
    return int(epoch), int(sequence)


def check(run, workload, checker):
    """Every broken promise, readable; and the figures of the run."""
    problems = []
    ops = workload.ops
    json.dump({"events": run.events, "operations": ops}, open(os.path.join(run.directory, "history.json"), "w"))
    # fbsync: linearizable.
    history = {}
    for op in ops:
        if op["keyspace"] != "fbsync":
            continue
        entry = {"client": op["client"], "call": op["call"], "returned": op.get("returned")}
        status, problem = op.get("status"), op.get("problem")
        if op["f"] == "read":
            if status not in (200, 404):
                continue  # a read without an answer tells nothing
            entry |= {"f": "read", "value": op.get("read")}
        else:
            if (status == 503 and problem == "unavailable") or op.get("unsent"):
                continue  # refused before it was stored, or never sent: it did not happen
            known = status in (204, 412)
            if not known:
                entry["returned"] = None  # no answer, or it may have been stored
            if op["f"] == "write":
                if status == 412:
                    continue
                entry |= {"f": "write", "value": op["value"]}
            else:
                entry |= {"f": "cas", "value": op["value"], "expected": op["expected"],
                          "succeeded": {204: True, 412: False}.get(status)}
        history.setdefault(op["key"], []).append(entry)
    for key in history:  # the writes of `init` before the clock started
        history[key].insert(0, {"client": 98, "f": "write", "value": "init", "call": -2, "returned": -1})
    path = os.path.join(run.directory, "fbsync-history.json")
    json.dump(history, open(path, "w"))
    checked = subprocess.run([checker, path], capture_output=True, text=True, timeout=600)
    if checked.returncode != 0:
        problems.append(f"fbsync history: {checked.stdout.strip()} {checked.stderr.strip()}")
    # Tokens of acknowledged writes.
    run.fill(ops)
    states = run.token_states(ops)
    lost = {}
    for (keyspace, key, token), answers in states.items():
        if any(status == 410 for status in answers.values()):
            lost[(keyspace, key, token)] = answers
        if None in answers.values() or 503 in answers.values():
            problems.append(f"{keyspace}/{key}@{token}: a replica could not say whether it has it: {answers}")
    for (keyspace, key, token) in lost:
        if keyspace == "fbsync":
            problems.append(f"fbsync/{key}: acknowledged ack=all write {token} was lost")
    acked = {op["version"]: op for op in ops if op.get("status") == 204 and op.get("version")}
    lost_async = [acked[token] for (keyspace, _, token) in lost if keyspace == "fbasync"]
    # ack=leader losses are a suffix of one epoch: no surviving write of that epoch after a lost one.
    surviving = [epoch_sequence(t) for (ks, _, t) in states if ks == "fbasync" and (ks, _, t) not in lost]
    for op in lost_async:
        epoch, sequence = epoch_sequence(op["version"])
        later = [s for (e, s) in surviving if e == epoch and s > sequence]
        if later:
            problems.append(f"fbasync: lost {op['version']} but {epoch}.{max(later)} of the same epoch survived")
    # A lost value is never read: linearizable reads see committed entries only, and a
    # committed entry is on every in-sync replica, so it cannot be lost.
    lost_values = {op["value"]: op for op in lost_async}
    for op in ops:
        if op["f"] == "read" and op.get("read") in lost_values:
            problems.append(f"fbasync/{op['key']}: lost value {op['read']} was read through {op['node']}")
    # The servers' own failover loss report (`leader_losses` in /v1/cluster): an ack=all
    # write listed there is a bug; lost ack=leader writes should be (a node restarted since
    # its cut has forgotten it, so those are counted, not required).
    reported = set()
    for node in run.net.nodes:
        try:
            status, _, body = request(run.net.ip[node], "GET", "/v1/cluster", timeout=5)
            view = json.loads(body) if status == 200 else None
        except (OSError, ValueError):
            view = None
        if view is None:
            problems.append(f"{node}: /v1/cluster did not answer")
            continue
        for loss in view.get("leader_losses", []):
            for write in loss.get("writes", []):
                reported.add((loss["keyspace"], write["version"]))
    for token, op in acked.items():
        if op["keyspace"] == "fbsync" and ("fbsync", token) in reported:
            problems.append(f"fbsync/{op['key']}: acknowledged ack=all write {token} was reported cut from a log")
    reported_async = sum(1 for op in lost_async if ("fbasync", op["version"]) in reported)
    for node in run.cluster.crashed():
        problems.append(f"{node} crashed")
    window = None
    if lost_async:
        times = [op["returned"] / 1e6 for op in lost_async]
        window = [round(min(times), 2), round(max(times), 2)]
    counts = {
        "operations": len(ops),
        "acknowledged_sync": sum(1 for op in ops if op["keyspace"] == "fbsync" and op.get("status") == 204),
        "acknowledged_async": sum(1 for op in ops if op["keyspace"] == "fbasync" and op.get("status") == 204),
        "unknown": sum(1 for op in ops if op["f"] != "read" and op.get("status") not in (204, 412, 400)
                       and not (op.get("status") == 503 and op.get("problem") == "unavailable")
                       and not op.get("unsent")),
        "refused": sum(1 for op in ops if op.get("status") == 503 and op.get("problem") == "unavailable"),
        "lost_async": len(lost_async), "lost_async_window_s": window, "lost_async_reported": reported_async,
    }
    return problems, counts


def run_one(args, fault, seed):
    run = Run(args, fault, seed)
    result = {"fault": fault, "seed": seed, "duration_s": args.duration}
    try:
        run.setup()
        workload = run.execute()
        run.final_reads(workload)
        problems, counts = check(run, workload, args.checker)
        result |= {"problems": problems, "counts": counts, "events": run.events}
    except Exception as error:  # a run that could not finish is a failed run, with its reason
        result |= {"problems": [f"the run did not finish: {error}"], "counts": {}, "events": run.events}
    finally:
        run.cluster.stop()
        run.net.down()
    result["directory"] = run.directory
    return result


def summary(results):
    lines = [
        "| fault | seed | operations | ack=all acknowledged | ack=leader acknowledged | unknown outcome | refused (503) "
        "| ack=leader lost (window, s) | violations |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        c = r.get("counts", {})
        window = c.get("lost_async_window_s")
        lost = f"{c.get('lost_async', '-')}" + (
            f" ({window[0]}-{window[1]}; {c.get('lost_async_reported', 0)} reported by the servers)" if window else "")
        lines.append(
            f"| {r['fault']} | {r['seed']} | {c.get('operations', '-')} | {c.get('acknowledged_sync', '-')} "
            f"| {c.get('acknowledged_async', '-')} | {c.get('unknown', '-')} | {c.get('refused', '-')} | {lost} "
            f"| {len(r['problems'])} |")
    return "\n".join(lines)


def main():
    def checker(run):
        run.add_argument("--checker", default=os.path.join(ROOT, ".build", "debug", "ringstore-check"))

    args, faults = command_line("leaderbench", __doc__, FAULTS, "kill,pause,isolate", 40, 20, summary, checker)
    if args is None:
        return faults
    results = []
    for fault in faults:
        for seed in range(1, args.seeds + 1):
            result = forked("leaderbench", fault, seed, args.duration + 300, lambda: run_one(args, fault, seed))
            results.append(result)
            c = result.get("counts", {})
            verdict = "ok" if not result["problems"] else "VIOLATIONS"
            print(f"leaderbench: {fault} seed {seed}: {c.get('operations', 0)} operations, "
                  f"{c.get('acknowledged_sync', 0)} ack=all and {c.get('acknowledged_async', 0)} ack=leader "
                  f"acknowledged, {c.get('lost_async', 0)} ack=leader lost: {verdict}", flush=True)
            for problem in result["problems"][:20]:
                print(f"  {problem}", flush=True)
    if args.results:
        json.dump(results, open(args.results, "w"), indent=1)
    print(summary(results))
    bad = [r for r in results if r["problems"]]
    print(f"leaderbench: {len(results)} runs, {len(bad)} runs with violations")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
