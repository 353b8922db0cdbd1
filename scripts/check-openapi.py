#!/usr/bin/env python3
"""Checks a real node against docs/openapi.yaml.

Starts the given `ringstore` binary on a free 127.0.0.1 port with a temporary data
directory, sends a request for every documented operation (good and bad input), and
checks that each answer's status is documented for that operation, that its
Content-Type is one the operation documents, and that JSON bodies match their schemas.
Also fails when the spec documents an operation no probe reached.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPEC_PATH = os.path.join(ROOT, "docs", "openapi.yaml")


def load_spec():
    with open(SPEC_PATH) as f:
        spec = yaml.safe_load(f)
    try:
        from openapi_spec_validator import validate
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "openapi-spec-validator"], check=False)
        try:
            from openapi_spec_validator import validate
        except ImportError:
            validate = None
    if validate is not None:
        validate(spec)
        print("openapi: the spec is valid OpenAPI 3.1")
    else:
        print("openapi: openapi-spec-validator unavailable; checking responses only")
    return spec


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port, method, path, body=None, headers=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def template_regex(template):
    if template.startswith("/v1/kv/"):
        return re.compile("^/v1/kv/[^/]+/.+$")
    return re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$")


def find_operation(spec, method, path):
    bare = path.split("?")[0]
    for template, item in spec["paths"].items():
        if template_regex(template).match(bare) and method.lower() in item:
            return template, item[method.lower()]
    return None, None


def resolve(spec, node):
    while isinstance(node, dict) and "$ref" in node:
        target = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def media_matches(documented, actual):
    actual = (actual or "").split(";")[0].strip()
    return any(d == "*/*" or d == actual for d in documented)


def check_schema(spec, schema, body):
    try:
        import jsonschema
    except ImportError:
        return None
    root = {"$schema": "https://json-schema.org/draft/2020-12/schema", "components": spec["components"]}
    root.update(schema)
    try:
        jsonschema.validate(json.loads(body), root)
        return None
    except Exception as error:  # noqa: BLE001 - report any validation failure
        return str(error).splitlines()[0]


def main():
    binary = sys.argv[1]
    spec = load_spec()
    data = tempfile.mkdtemp(prefix="ringstore-openapi-")
    port = free_port()
    log = open(os.path.join(data, "node.log"), "w")
    node = subprocess.Popen([binary, "serve", "--data-dir", os.path.join(data, "d"), "--http", f"127.0.0.1:{port}",
                             "--key-bytes-max", "64", "--value-bytes-max", "4096"], stdout=log, stderr=log)
    passed, failed, reached = 0, 0, set()
    try:
        deadline = time.time() + 60
        while True:
            try:
                if request(port, "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline or node.poll() is not None:
                raise SystemExit("openapi: the node did not start")
            time.sleep(0.1)
        probes = [
            ("PUT", "/v1/kv/default/k1", b'{"a":1}', {"Content-Type": "application/json"}),
            ("GET", "/v1/kv/default/k1", None, {}),
            ("HEAD", "/v1/kv/default/k1", None, {}),
            ("GET", "/v1/kv/default/k1?r=one", None, {}),
            ("PUT", "/v1/kv/default/k1?w=quorum", b"v2", {"X-Ringstore-Context": "bad!"}),
            ("PUT", "/v1/kv/default/k1?w=3", b"v2", {}),
            ("PUT", "/v1/kv/default/big", b"x" * 5000, {}),
            ("GET", "/v1/kv/default/" + "k" * 65, None, {}),
            ("GET", "/v1/kv/missing/k1", None, {}),
            ("GET", "/v1/kv/default/never-written", None, {}),
            ("GET", "/v1/kv/default/k1?colour=red", None, {}),
            ("HEAD", "/v1/kv/default/never-written", None, {}),
            ("DELETE", "/v1/kv/default/k1", None, {}),
            ("DELETE", "/v1/kv/default/k1?w=all", None, {}),
            ("DELETE", "/v1/kv/default/k1?w=9", None, {}),
            ("GET", "/v1/keyspaces", None, {}),
            ("PUT", "/v1/keyspaces/users", b'{"mode":"leaderless","conflict":"lww"}', {"Content-Type": "application/json"}),
            ("PUT", "/v1/keyspaces/users", b'{"conflict":"lww"}', {"Content-Type": "application/json"}),
            ("PUT", "/v1/keyspaces/users", b'{"conflict":"vv"}', {"Content-Type": "application/json"}),
            ("PUT", "/v1/keyspaces/bad", b'{"mode":"raft"}', {"Content-Type": "application/json"}),
            ("GET", "/v1/keyspaces/users", None, {}),
            ("GET", "/v1/keyspaces/nothing", None, {}),
            ("PUT", "/v1/keyspaces/carts", b'{"conflict":"vv","read":"one","write":"all"}', {}),
            ("PUT", "/v1/keyspaces/odd", b'{"read":"two"}', {}),
            ("PUT", "/v1/kv/carts/c1", b"apple", {}),
            ("PUT", "/v1/kv/carts/c1?timeout=500", b"pear", {}),
            ("PUT", "/v1/kv/carts/c1?sloppy=true&w=1", b"plum", {}),
            ("PUT", "/v1/kv/carts/c1?sloppy=maybe", b"plum", {}),
            ("GET", "/v1/kv/carts/c1?sloppy=true", None, {}),
            ("PUT", "/v1/keyspaces/loose", b'{"sloppy":true}', {}),
            ("PUT", "/v1/keyspaces/looser", b'{"sloppy":"yes"}', {}),
            ("GET", "/v1/kv/carts/c1", None, {}),
            ("GET", "/v1/kv/carts/c1?timeout=0", None, {}),
            ("PUT", "/v1/keyspaces/orders", b'{"mode":"leader","min_in_sync":1}', {}),
            ("PUT", "/v1/keyspaces/lax", b'{"ack":"leader"}', {}),
            ("GET", "/v1/kv/default/k1?read=linearizable", None, {}),
            ("PUT", "/v1/kv/default/k1?ack=all", b"v", {}),
            ("GET", "/v1/cluster", None, {}),
            ("GET", "/healthz", None, {}),
            ("GET", "/readyz", None, {}),
            ("GET", "/metrics", None, {}),
        ]
        for method, path, body, headers in probes:
            status, response_headers, content = request(port, method, path, body, headers)
            template, operation = find_operation(spec, method, path)
            problems = []
            if operation is None:
                problems.append("no documented operation")
            else:
                reached.add((template, method.lower()))
                documented = operation.get("responses", {})
                response = resolve(spec, documented.get(str(status)))
                if response is None:
                    problems.append(f"status {status} not documented (documented: {sorted(documented)})")
                else:
                    content_spec = response.get("content", {})
                    actual_type = response_headers.get("Content-Type")
                    if content_spec and method != "HEAD":
                        if not media_matches(content_spec.keys(), actual_type):
                            problems.append(f"Content-Type {actual_type} not in {sorted(content_spec)}")
                        else:
                            media = content_spec.get((actual_type or "").split(";")[0].strip())
                            schema = (media or {}).get("schema")
                            if schema and "json" in (actual_type or ""):
                                error = check_schema(spec, schema, content)
                                if error:
                                    problems.append("body does not match its schema: " + error)
                    elif not content_spec and content and method != "HEAD":
                        problems.append("undocumented body")
            label = f"{method} {path[:60]} -> {status}"
            if problems:
                failed += 1
                print(f"openapi: FAIL {label}: {'; '.join(problems)}")
            else:
                passed += 1
        for template, item in spec["paths"].items():
            for method in item:
                if method in ("get", "put", "delete", "head", "post", "patch") and (template, method) not in reached:
                    failed += 1
                    print(f"openapi: FAIL no probe reached {method.upper()} {template}")
    finally:
        node.terminate()
        node.wait(timeout=30)
        log.close()
        shutil.rmtree(data, ignore_errors=True)
    print(f"openapi: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
