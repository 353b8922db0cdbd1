#!/usr/bin/env python3
"""Ringstore's fault bench: a Jepsen-style run of a real cluster under real faults.

One network namespace per host (etcd, three ringstore nodes, the clients) joined by a
bridge in a hub namespace, on a private subnet that exists only between them. Clients
write unique values, read and delete through every node while faults are injected
(kill -9 and restart, SIGSTOP/SIGCONT, an isolated node, a minority split, a
non-transitive bridge, packet loss, a slow link, 150 ms of added latency on a node's
peer links through a user-space proxy, clock skew, an etcd kill, a node cut from etcd
only or from its peers only). Every
operation is logged as a JSON-lines history (invoke, then ok / fail / info). After the
last heal the bench waits until anti-entropy reports every partition replica converged
and every hint handed over, compares every replica of every key, reads every key at
r=all, and checks the history:

- no acknowledged write is lost: `vv` keyspaces keep every acknowledged value as a
  sibling unless a delete that saw it removed it; `lww` loses a write only to a higher
  version;
- nothing an acknowledged delete removed comes back;
- strict quorums (vv keyspace, r=w=quorum): a read that started after a write was
  acknowledged sees it (or a delete that saw it);
- every replica of every key holds the same object within 30 s of the last write;
- no node crashed.

Everything is bounded in time and torn down on exit (also after a failure). Needs root
(namespaces), iproute2 and nftables. `run` runs one or more faults; `summary` turns the
JSON results into a Markdown table.
"""
import argparse
import base64
import ctypes
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FAULTS = ["kill", "pause", "isolate", "split", "bridge", "loss", "slow", "latency", "clock", "etcd", "etcdcut", "peercut"]
KEYSPACES = {
    # name: (definition, strict quorum read-your-writes promised)
    "fbvv": ({"conflict": "vv"}, True),
    "fblww": ({"conflict": "lww"}, False),
    "fbsloppy": ({"conflict": "vv", "replication_factor": 2, "sloppy": True}, False),
}


def sh(*args, check=True, quiet=True):
    """Runs a command; returns its stdout."""
    done = subprocess.run(list(args), capture_output=True, text=True)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


class Network:
    """The namespaces, the bridge and the addresses of one run."""

    def __init__(self, tag, nodes):
        self.tag = tag
        self.hub = f"{tag}h"
        self.nodes = [f"n{i}" for i in range(1, nodes + 1)]
        octets = (random.randint(64, 127), random.randint(1, 254))
        self.prefix = f"10.{octets[0]}.{octets[1]}"
        self.ip = {name: f"{self.prefix}.{10 + i}" for i, name in enumerate(self.nodes, 1)}
        self.ip["etcd"] = f"{self.prefix}.5"
        self.ip["client"] = f"{self.prefix}.100"

    def ns(self, host):
        return f"{self.tag}{host}"

    @property
    def hosts(self):
        return self.nodes + ["etcd", "client"]

    def up(self):
        self.down()
        sh("ip", "netns", "add", self.hub)
        sh("ip", "-n", self.hub, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", self.hub, "link", "set", "br0", "up")
        for index, host in enumerate(self.hosts):
            ns = self.ns(host)
            veth = f"v{self.tag}{index}"
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", self.hub, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
            sh("ip", "-n", self.hub, "link", "set", veth, "master", "br0", "up")
            sh("ip", "-n", ns, "addr", "add", f"{self.ip[host]}/24", "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")

    def down(self):
        """Idempotent: kills what still runs in the namespaces, then deletes them."""
        for ns in [self.ns(h) for h in self.hosts] + [self.hub]:
            pids = sh("ip", "netns", "pids", ns, check=False).split()
            for pid in pids:
                if pid == str(os.getpid()):
                    continue  # this process, inside the client namespace
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            sh("ip", "netns", "del", ns, check=False)

    def enter(self, host):
        """Moves this process (before it starts threads) into `host`'s namespace."""
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        fd = os.open(f"/var/run/netns/{self.ns(host)}", os.O_RDONLY)
        if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
            raise OSError(ctypes.get_errno(), "setns failed")
        os.close(fd)

    # Faults, as nft rules and tc qdiscs inside a node's namespace.
    def drop(self, host, peers, percent=None):
        ns = self.ns(host)
        addresses = "{ " + ", ".join(self.ip[p] for p in peers) + " }"
        sh("ip", "netns", "exec", ns, "nft", "add", "table", "inet", "fault", check=False)
        for chain, hook, field in (("in", "input", "saddr"), ("out", "output", "daddr")):
            sh("ip", "netns", "exec", ns, "nft", "add", "chain", "inet", "fault", chain,
               f"{{ type filter hook {hook} priority 0 ; }}", check=False)
            rule = ["ip", field, addresses]
            if percent is not None:
                rule += ["numgen", "random", "mod", "100", "<", str(percent)]
            sh("ip", "netns", "exec", ns, "nft", "add", "rule", "inet", "fault", chain, *rule, "drop")

    def slow(self, host):
        sh("ip", "netns", "exec", self.ns(host), "tc", "qdisc", "replace", "dev", "eth0", "root", "tbf",
           "rate", "1mbit", "burst", "16kb", "latency", "200ms")

    def heal(self):
        for host in self.hosts:
            sh("ip", "netns", "exec", self.ns(host), "nft", "delete", "table", "inet", "fault", check=False)
            sh("ip", "netns", "exec", self.ns(host), "tc", "qdisc", "del", "dev", "eth0", "root", check=False)


class Cluster:
    """etcd and the ringstore processes of one run, each in its namespace."""

    def __init__(self, net, binary, directory):
        self.net = net
        self.binary = binary
        self.directory = directory
        self.procs = {}
        self.paused = set()
        self.offsets = {}
        self.proxies = {}

    def log(self, host):
        return open(os.path.join(self.directory, f"{host}.log"), "ab")

    def start_etcd(self):
        ip = self.net.ip["etcd"]
        self.procs["etcd"] = subprocess.Popen(
            ["ip", "netns", "exec", self.net.ns("etcd"), "etcd", "--name", "fb",
             "--data-dir", os.path.join(self.directory, "etcd"),
             "--listen-client-urls", f"http://{ip}:2379", "--advertise-client-urls", f"http://{ip}:2379",
             "--listen-peer-urls", f"http://{ip}:2380", "--initial-advertise-peer-urls", f"http://{ip}:2380",
             "--initial-cluster", f"fb=http://{ip}:2380"],
            stdout=self.log("etcd"), stderr=subprocess.STDOUT)

    def start_node(self, node, offset_ms=0):
        ip = self.net.ip[node]
        self.offsets[node] = offset_ms
        if node not in self.proxies:
            # Peers reach the node through a proxy that can add latency (SIGUSR1 on, SIGUSR2 off).
            self.proxies[node] = subprocess.Popen(
                ["ip", "netns", "exec", self.net.ns(node), sys.executable,
                 os.path.join(os.path.dirname(os.path.abspath(__file__)), "latency_proxy.py"),
                 f"{ip}:9090", f"{ip}:9080", "--delay-ms", "150"],
                stdout=self.log(f"{node}-proxy"), stderr=subprocess.STDOUT)
        self.procs[node] = subprocess.Popen(
            ["ip", "netns", "exec", self.net.ns(node), self.binary, "serve", "--node-id", node,
             "--http", f"{ip}:8080", "--peer", f"{ip}:9080", "--advertise-peer", f"{ip}:9090",
             "--etcd", f"http://{self.net.ip['etcd']}:2379",
             "--cluster", "fb", "--data-dir", os.path.join(self.directory, node),
             "--anti-entropy-interval-ms", "20", "--anti-entropy-keys-per-second", "500",
             "--tombstone-grace-ms", "5000", "--clock-offset-ms", str(offset_ms), "--log-level", "warning"],
            stdout=self.log(node), stderr=subprocess.STDOUT)

    def signal(self, host, sig):
        self.procs[host].send_signal(sig)
        if sig == signal.SIGKILL:
            self.procs[host].wait()
        if sig == signal.SIGSTOP:
            self.paused.add(host)
        if sig == signal.SIGCONT:
            self.paused.discard(host)

    def crashed(self):
        """Nodes whose process ended without the bench killing it."""
        return [n for n in self.net.nodes if self.procs[n].poll() is not None]

    def latency(self, node, on):
        self.proxies[node].send_signal(signal.SIGUSR1 if on else signal.SIGUSR2)

    def stop(self):
        for proc in list(self.procs.values()) + list(self.proxies.values()):
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
                proc.kill()
                proc.wait()


def request(ip, method, path, body=None, headers=None, timeout=3.0):
    """One HTTP request; (status, headers dict lowercased, body bytes) or raises OSError."""
    conn = http.client.HTTPConnection(ip, 8080, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def wait_ready(net, hosts, seconds=60):
    """Waits until every node in `hosts` answers /readyz."""
    end = time.monotonic() + seconds
    pending = set(hosts)
    while pending and time.monotonic() < end:
        for node in list(pending):
            try:
                if request(net.ip[node], "GET", "/readyz", timeout=1)[0] == 200:
                    pending.discard(node)
            except OSError:
                pass
        time.sleep(0.2)
    if pending:
        raise RuntimeError(f"not ready within {seconds} s: {sorted(pending)}")


def start_cluster(net, cluster, binary):
    """Brings the network up, moves this process into the client namespace, starts etcd,
    writes the ring, starts every node and waits until they are ready."""
    net.up()
    net.enter("client")
    cluster.start_etcd()
    etcd = f"http://{net.ip['etcd']}:2379"
    end = time.monotonic() + 30
    while subprocess.run([binary, "cluster", "init", "--etcd", etcd, "--cluster", "fb",
                          "--nodes", ",".join(net.nodes)], capture_output=True).returncode != 0:
        if time.monotonic() > end:
            raise RuntimeError("etcd did not answer within 30 s")
        time.sleep(0.3)
    for node in net.nodes:
        cluster.start_node(node)
    wait_ready(net, net.nodes)


def forked(name, fault, seed, limit_seconds, run):
    """`run()`'s result, computed in a child process (entering the client namespace must
    not leak into the next run) that an alarm ends after `limit_seconds`."""
    path = f"/tmp/{name}-{os.getpid()}-{fault}-{seed}.json"
    pid = os.fork()
    if pid == 0:
        def overrun(signum, frame):
            # An exception, not the default exit: the run reports it and tears its cluster
            # and namespaces down on the way out.
            raise TimeoutError(f"the run took longer than {limit_seconds} s")

        signal.signal(signal.SIGALRM, overrun)
        signal.alarm(limit_seconds)
        json.dump(run(), open(path, "w"))
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    try:
        result = json.load(open(path))
        os.unlink(path)
        return result
    except (OSError, ValueError):
        return {"fault": fault, "seed": seed, "problems": [f"the run died (status {status})"]}


def values_of(status, body):
    """The values a read returned: one for 200, every sibling for 300, none for 404."""
    if status == 200:
        return [body.decode()]
    if status == 300:
        return [base64.b64decode(s["value"]).decode() for s in json.loads(body)["siblings"]]
    return []


def parse_version(text):
    """`millis.logical@node` as a comparable tuple."""
    if not text:
        return None
    stamp, node = text.split("@", 1)
    millis, logical = stamp.split(".")
    return (int(millis), int(logical), node)


class Workload:
    """Clients that write unique values, read and delete, logging a history."""

    def __init__(self, net, history_path, clients, keys, seed):
        self.net = net
        self.history = open(history_path, "w")
        self.lock = threading.Lock()
        self.clients = clients
        self.keys = keys
        self.seed = seed
        self.stop_at = None

    def record(self, entry):
        entry["time"] = time.monotonic()
        with self.lock:
            self.history.write(json.dumps(entry) + "\n")

    def run(self, seconds):
        self.stop_at = time.monotonic() + seconds
        threads = [threading.Thread(target=self.client, args=(c,)) for c in range(self.clients)]
        for thread in threads:
            thread.start()
        return threads

    def client(self, index):
        rng = random.Random(self.seed * 100 + index)
        sequence = 0
        while time.monotonic() < self.stop_at:
            node = rng.choice(self.net.nodes)
            ip = self.net.ip[node]
            keyspace = rng.choice(list(KEYSPACES))
            key = f"k{rng.randrange(self.keys)}"
            path = f"/v1/kv/{keyspace}/{key}"
            roll = rng.random()
            base = {"process": index, "node": node, "keyspace": keyspace, "key": key}
            if roll < 0.65:
                sequence += 1
                value = f"c{index}-{sequence}"
                self.operation(base | {"f": "write", "value": value}, ip, "PUT", path + "?timeout=1000", value.encode())
            elif roll < 0.9:
                self.operation(base | {"f": "read"}, ip, "GET", path + "?timeout=1000")
            else:
                self.delete(base, ip, path)
            time.sleep(rng.uniform(0.005, 0.02))

    def operation(self, entry, ip, method, path, body=None, headers=None):
        self.record(entry | {"type": "invoke"})
        try:
            status, response_headers, content = request(ip, method, path, body, headers)
        except OSError as error:
            self.record(entry | {"type": "info", "error": str(error)})
            return None
        done = entry | {"status": status, "version": response_headers.get("x-ringstore-version")}
        if entry["f"] == "read":
            if status in (200, 300, 404):
                self.record(done | {"type": "ok", "values": values_of(status, content)})
            else:
                self.record(done | {"type": "fail"})
            return status, response_headers, content
        if status == 204:
            self.record(done | {"type": "ok"})
        elif status == 503:
            self.record(done | {"type": "info"})  # may be stored on the replicas that answered
        else:
            self.record(done | {"type": "fail"})
        return status, response_headers, content

    def delete(self, base, ip, path):
        """Reads the key, then deletes exactly what it saw (with the read's context)."""
        try:
            status, response_headers, content = request(ip, "GET", path + "?timeout=1000")
        except OSError:
            return
        if status not in (200, 300):
            return
        headers = {}
        if "x-ringstore-context" in response_headers:
            headers["X-Ringstore-Context"] = response_headers["x-ringstore-context"]
        self.operation(base | {"f": "delete", "saw": values_of(status, content)}, ip, "DELETE",
                       path + "?timeout=1000", headers=headers)


class Run:
    """One run: a cluster, a workload, one fault repeated, the heal and the checks."""

    def __init__(self, args, fault, seed, tag="fb", directory="ringstore-fault"):
        self.args = args
        self.fault = fault
        self.seed = seed
        self.rng = random.Random(seed)
        self.tag = f"{tag}{os.getpid() % 1000:03d}{FAULTS.index(fault)}"
        self.net = Network(self.tag, 3)
        self.directory = tempfile.mkdtemp(prefix=f"{directory}-{fault}-")
        self.cluster = Cluster(self.net, args.binary, self.directory)
        self.events = []

    def note(self, text):
        self.events.append((round(time.monotonic() - self.started, 1), text))

    def inject(self):
        nodes = self.net.nodes
        victim = self.rng.choice(nodes)
        others = [n for n in nodes if n != victim]
        if self.fault == "kill":
            self.cluster.signal(victim, signal.SIGKILL)
        elif self.fault == "pause":
            self.cluster.signal(victim, signal.SIGSTOP)
        elif self.fault == "isolate":  # from its peers and etcd; clients still reach it
            self.net.drop(victim, others + ["etcd"])
        elif self.fault == "split":  # a minority of one and the majority; etcd with the majority
            self.net.drop(victim, others + ["etcd"])
            for other in others:
                self.net.drop(other, [victim])
        elif self.fault == "bridge":  # the two others cannot reach each other; both reach the victim
            self.net.drop(others[0], [others[1]])
            self.net.drop(others[1], [others[0]])
        elif self.fault == "loss":
            for node in nodes:
                self.net.drop(node, [n for n in nodes if n != node], percent=20)
        elif self.fault == "slow":
            self.net.slow(victim)
        elif self.fault == "latency":
            self.cluster.latency(victim, True)
        elif self.fault == "clock":
            self.cluster.signal(victim, signal.SIGKILL)
            self.cluster.start_node(victim, offset_ms=self.rng.choice([-2000, 2000]))
        elif self.fault == "etcd":
            self.cluster.signal("etcd", signal.SIGKILL)
            victim = "etcd"
        elif self.fault == "etcdcut":  # from etcd only; peers and clients still reach it
            self.net.drop(victim, ["etcd"])
        elif self.fault == "peercut":  # from its peers only, both ways; etcd and clients still reach it
            self.net.drop(victim, others)
            for other in others:
                self.net.drop(other, [victim])
        self.note(f"{self.fault} {victim}")
        return victim

    def heal(self, victim):
        self.net.heal()
        for node in self.net.nodes:
            self.cluster.latency(node, False)
        if self.fault == "pause":
            self.cluster.signal(victim, signal.SIGCONT)
        if self.fault == "kill":
            self.cluster.start_node(victim)
        if self.fault == "etcd":
            self.cluster.start_etcd()
        if self.fault == "clock":
            self.cluster.signal(victim, signal.SIGKILL)
            self.cluster.start_node(victim)
        self.note("heal")

    def setup(self):
        start_cluster(self.net, self.cluster, self.args.binary)
        first = self.net.ip[self.net.nodes[0]]
        for name, (definition, _) in KEYSPACES.items():
            status = request(first, "PUT", f"/v1/keyspaces/{name}", json.dumps(definition).encode())[0]
            if status not in (200, 201):
                raise RuntimeError(f"creating keyspace {name} answered {status}")
        for node in self.net.nodes:
            for name in KEYSPACES:
                end = time.monotonic() + 20
                while request(self.net.ip[node], "GET", f"/v1/keyspaces/{name}")[0] != 200:
                    if time.monotonic() > end:
                        raise RuntimeError(f"{node} does not know keyspace {name}")
                    time.sleep(0.1)

    def cluster_views(self):
        views = {}
        for node in self.net.nodes:
            try:
                status, _, body = request(self.net.ip[node], "GET", "/v1/cluster", timeout=2)
                if status == 200:
                    views[node] = json.loads(body)
            except OSError:
                pass
        return views

    def execute(self):
        self.started = time.monotonic()
        history = os.path.join(self.directory, "history.jsonl")
        workload = Workload(self.net, history, clients=4, keys=self.args.keys, seed=self.seed)
        duration = self.args.duration
        threads = workload.run(duration)
        time.sleep(3)
        max_hints = 0
        fault_end = self.started + duration - 8
        while time.monotonic() + 11 < fault_end:
            victim = self.inject()
            until = time.monotonic() + self.rng.uniform(5, 8)
            while time.monotonic() < until:
                hints = sum(m.get("hints", 0) for v in self.cluster_views().values() for m in v["nodes"])
                max_hints = max(max_hints, hints)
                time.sleep(0.5)
            self.heal(victim)
            time.sleep(self.rng.uniform(3, 5))
        healed_at = time.monotonic()
        self.note("final heal")
        # The workload goes on after the heal; meanwhile, how long until every hint is handed over.
        drained_after = None
        while any(thread.is_alive() for thread in threads):
            if drained_after is None:
                views = self.cluster_views()
                if len(views) == len(self.net.nodes) and all(
                        m.get("hints", 0) == 0 for v in views.values() for m in v["nodes"]):
                    drained_after = time.monotonic() - healed_at
            time.sleep(0.25)
        wait_ready(self.net, self.net.nodes)
        workload.history.close()
        return self.settle(healed_at, drained_after, max_hints, history)

    def settle(self, healed_at, drained_after, max_hints, history):
        """Waits until every hint is handed over and every partition replica has converged
        in an exchange that began after the last write, then reads everything. The
        convergence time counts from the last write (the workload goes on after the heal)."""
        last_write = self.last_write(history)
        deadline = time.monotonic() + 60
        converged_after = None
        while time.monotonic() < deadline and (converged_after is None or drained_after is None):
            views = self.cluster_views()
            now = time.monotonic()
            if len(views) == len(self.net.nodes):
                if drained_after is None and all(m.get("hints", 0) == 0 for v in views.values() for m in v["nodes"]):
                    drained_after = now - healed_at
                since_write = (now - last_write) * 1000
                replicas = [r for v in views.values() for r in v.get("anti_entropy", [])]
                if converged_after is None and replicas and all(
                        r.get("converged_ms_ago") is not None and r["converged_ms_ago"] < since_write
                        for r in replicas):
                    converged_after = now - last_write
            time.sleep(0.25)
        return {
            "converged_after_s": converged_after, "hints_drained_after_s": drained_after, "max_hints": max_hints,
            "replicas": self.replica_copies(), "final": self.final_reads(),
        }

    def last_write(self, history):
        last = self.started
        with open(history) as f:
            for line in f:
                entry = json.loads(line)
                if entry["f"] != "read":
                    last = max(last, entry["time"])
        return last

    def replica_copies(self):
        """Each node's own copy of every key (r=1 on a node answers from its own copy first)."""
        copies = {}
        for keyspace, (definition, _) in KEYSPACES.items():
            if definition.get("replication_factor", 3) < 3:
                continue
            for k in range(self.args.keys):
                key = f"k{k}"
                answers = {}
                for node in self.net.nodes:
                    status, headers, body = request(self.net.ip[node], "GET", f"/v1/kv/{keyspace}/{key}?r=1")
                    answers[node] = (status, sorted(values_of(status, body)), headers.get("x-ringstore-replica-names"))
                copies[f"{keyspace}/{key}"] = answers
        return copies

    def final_reads(self):
        final = {}
        first = self.net.ip[self.net.nodes[0]]
        for keyspace in KEYSPACES:
            for k in range(self.args.keys):
                key = f"k{k}"
                status, headers, body = request(first, "GET", f"/v1/kv/{keyspace}/{key}?r=all&timeout=5000")
                final[f"{keyspace}/{key}"] = {
                    "status": status, "values": values_of(status, body),
                    "version": headers.get("x-ringstore-version"),
                }
        return final


def check(history_path, outcome, crashed):
    """Every broken promise of a run, as readable lines."""
    entries = [json.loads(line) for line in open(history_path)]
    invokes = {}
    ops = []
    for entry in entries:
        ident = (entry["process"], entry["keyspace"], entry["key"], entry["f"], entry.get("value"))
        if entry["type"] == "invoke":
            invokes[ident] = entry["time"]
        else:
            entry["invoked"] = invokes.pop(ident, entry["time"])
            ops.append(entry)
    problems = []
    final = outcome["final"]
    for name, read in final.items():
        if read["status"] not in (200, 300, 404):
            problems.append(f"{name}: the final r=all read answered {read['status']}")
    by_key = {}
    for op in ops:
        by_key.setdefault(f"{op['keyspace']}/{op['key']}", []).append(op)
    for name, key_ops in by_key.items():
        keyspace = name.split("/")[0]
        state = final.get(name)
        if state is None or state["status"] not in (200, 300, 404):
            continue
        deletes = [op for op in key_ops if op["f"] == "delete"]
        removed = {v for d in deletes for v in d.get("saw", [])}
        acked_removed = {v for d in deletes if d["type"] == "ok" for v in d.get("saw", [])}
        if KEYSPACES[keyspace][0]["conflict"] == "vv":
            for op in key_ops:
                if op["f"] == "write" and op["type"] == "ok" and op["value"] not in state["values"] \
                        and op["value"] not in removed:
                    problems.append(f"{name}: lost acknowledged write {op['value']}")
            for value in state["values"]:
                if value in acked_removed:
                    problems.append(f"{name}: {value} came back after an acknowledged delete removed it")
            if KEYSPACES[keyspace][1]:
                for read in key_ops:
                    if read["f"] != "read" or read["type"] != "ok":
                        continue
                    for op in key_ops:
                        if op["f"] == "write" and op["type"] == "ok" and op["time"] < read["invoked"] \
                                and op["value"] not in read["values"] and op["value"] not in removed:
                            problems.append(f"{name}: a read at {read['invoked']:.2f} missed {op['value']}, "
                                            f"acknowledged at {op['time']:.2f}")
        else:
            final_version = parse_version(state["version"])
            for op in key_ops:
                if op["type"] != "ok" or op["f"] == "read":
                    continue
                version = parse_version(op.get("version"))
                if version is None:
                    continue
                if final_version is None:
                    explained = op["f"] == "delete" or any(
                        d["type"] != "ok" or (parse_version(d.get("version")) or ()) > version for d in deletes)
                    if not explained:
                        problems.append(f"{name}: the key is gone, yet {op.get('value')} ({op['version']}) "
                                        "was acknowledged and no newer delete is known")
                elif final_version < version:
                    problems.append(f"{name}: final version {state['version']} is older than acknowledged "
                                    f"{op['f']} {op['version']}")
    for name, answers in outcome["replicas"].items():
        distinct = {(a[0], tuple(a[1])) for a in answers.values()}
        if len(distinct) > 1:
            problems.append(f"{name}: replicas differ after convergence: {answers}")
    if outcome["converged_after_s"] is None:
        problems.append("anti-entropy did not report convergence within 60 s of the last write")
    elif outcome["converged_after_s"] > 30:
        problems.append(f"convergence took {outcome['converged_after_s']:.1f} s (> 30 s)")
    if outcome["hints_drained_after_s"] is None:
        problems.append("hints were not drained within 60 s of the heal")
    for node in crashed:
        problems.append(f"{node} crashed")
    counts = {t: sum(1 for op in ops if op["type"] == t) for t in ("ok", "fail", "info")}
    return problems, counts


def run_one(args, fault, seed):
    run = Run(args, fault, seed)
    result = {"fault": fault, "seed": seed, "duration_s": args.duration}
    try:
        run.setup()
        outcome = run.execute()
        crashed = run.cluster.crashed()
        problems, counts = check(os.path.join(run.directory, "history.jsonl"), outcome, crashed)
        result |= {
            "operations": counts, "problems": problems, "events": run.events,
            "converged_after_s": outcome["converged_after_s"],
            "hints_drained_after_s": outcome["hints_drained_after_s"], "max_hints": outcome["max_hints"],
        }
    except Exception as error:  # a run that could not finish is a failed run, with its reason
        result |= {"problems": [f"the run did not finish: {error}"], "operations": {}, "events": run.events}
    finally:
        run.cluster.stop()
        run.net.down()
    result["directory"] = run.directory
    return result


def summary(results):
    lines = [
        "| fault | seed | ok | fail | info | converged after the last write (s) | hints drained after the heal (s) | max hint backlog | violations |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        ops = r.get("operations", {})

        def seconds(value):
            return "-" if value is None else f"{value:.1f}"

        lines.append(
            f"| {r['fault']} | {r['seed']} | {ops.get('ok', '-')} | {ops.get('fail', '-')} | {ops.get('info', '-')} "
            f"| {seconds(r.get('converged_after_s'))} | {seconds(r.get('hints_drained_after_s'))} "
            f"| {r.get('max_hints', '-')} | {len(r['problems'])} |")
    return "\n".join(lines)


def command_line(name, doc, faults, default_faults, duration, keys, summary, extra=lambda run: None):
    """A bench's command line: `run` (its arguments) or `summary`. Returns (args, the
    faults to run), or (None, exit status) when there is nothing to run."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run faults, print a summary, write results as JSON")
    run.add_argument("--binary", default=os.path.join(ROOT, ".build", "debug", "ringstore"))
    run.add_argument("--faults", default=default_faults, help=f"comma-separated, of {','.join(faults)} (or all)")
    run.add_argument("--seeds", type=int, default=1, help="runs per fault")
    run.add_argument("--duration", type=int, default=duration, help="seconds of workload per run")
    run.add_argument("--keys", type=int, default=keys)
    run.add_argument("--results", help="write every run's result here (JSON)")
    extra(run)
    table = sub.add_parser("summary", help="a Markdown table from a results file")
    table.add_argument("results")
    args = parser.parse_args()
    if args.command == "summary":
        print(summary(json.load(open(args.results))))
        return None, 0
    if os.geteuid() != 0:
        print(f"{name}: needs root (network namespaces)", file=sys.stderr)
        return None, 2
    chosen = faults if args.faults == "all" else args.faults.split(",")
    unknown = [f for f in chosen if f not in faults]
    if unknown:
        print(f"{name}: unknown fault(s) {unknown}; known: {faults}", file=sys.stderr)
        return None, 2
    return args, chosen


def main():
    args, faults = command_line("faultbench", __doc__, FAULTS, "kill,pause,isolate,split", 45, 20, summary)
    if args is None:
        return faults
    results = []
    for fault in faults:
        for seed in range(1, args.seeds + 1):
            result = forked("faultbench", fault, seed, args.duration + 180, lambda: run_one(args, fault, seed))
            results.append(result)
            verdict = "ok" if not result["problems"] else "VIOLATIONS"
            ops = result.get("operations", {})
            print(f"faultbench: {fault} seed {seed}: {ops.get('ok', 0)} ok, {ops.get('fail', 0)} fail, "
                  f"{ops.get('info', 0)} info; converged {result.get('converged_after_s')} s after the last write: {verdict}",
                  flush=True)
            for problem in result["problems"][:20]:
                print(f"  {problem}", flush=True)
    if args.results:
        json.dump(results, open(args.results, "w"), indent=1)
    print(summary(results))
    checked = sum(sum(r.get("operations", {}).values()) for r in results)
    bad = [r for r in results if r["problems"]]
    print(f"faultbench: {len(results)} runs, {checked} operations checked, {len(bad)} runs with violations")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
