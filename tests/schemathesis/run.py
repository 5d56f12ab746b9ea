#!/usr/bin/env python3
"""Fuzzes the real server against its own OpenAPI document with schemathesis.

Starts `clearance serve` (the debug build `cargo test` makes) on a free loopback port with a
temporary data folder, seeds it, then runs schemathesis with every check and every phase
(examples, coverage, fuzzing, stateful) once with an admin token and once with an auditor
token. The seed and the number of examples are fixed, so a run is repeatable; `--seed` and
`--examples` change them for a longer hunt. schemathesis is installed, pinned, into a virtual
environment under `target/`. Exits non-zero on any failure.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

SCHEMATHESIS = "schemathesis==4.32.5"
ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
VENV = ROOT / "target" / "schemathesis-venv"
REPORTS = ROOT / "target" / "schemathesis-report"


def install() -> Path:
    st = VENV / "bin" / "st"
    marker = VENV / "installed.txt"
    if st.exists() and marker.exists() and marker.read_text() == SCHEMATHESIS:
        return st
    shutil.rmtree(VENV, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(VENV / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run(pip + [SCHEMATHESIS], check=True)
    marker.write_text(SCHEMATHESIS)
    return st


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, binary: Path, data: Path, admin: str):
        self.base = f"http://127.0.0.1:{free_port()}"
        env = dict(os.environ, CLEARANCE_ADMIN_TOKEN=admin, RUST_LOG="warn")
        self.log = open(data / "server.log", "w")
        self.process = subprocess.Popen(
            [str(binary), "serve", "--listen", self.base.removeprefix("http://"),
             "--data-dir", str(data / "db"), "--sweep-interval-secs", "0",
             # Connectors may call only this machine, quickly; nothing runs by itself.
             "--connector-hosts", "127.0.0.1,localhost", "--connector-timeout-secs", "1",
             "--job-poll-ms", "0", "--drift-interval-secs", "0",
             "--policies", str(ROOT / "policies"),
             "--schema", str(ROOT / "schemas" / "clearance.cedarschema")],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT)
        self.admin = admin
        for _ in range(300):
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("the server did not start; see " + str(data / "server.log"))

    def call(self, method: str, path: str, body=None, token=None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Authorization", "Bearer " + (token or self.admin))
        if data is not None:
            request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        self.log.close()


def seed(server: Server) -> dict:
    """A catalog, a small directory, some requests in every state, and the two tokens."""
    server.call("POST", "/v1/tools/seed")
    for group, parents in [("employees", []), ("approvers", ["employees"]),
                           ("security", ["employees"]), ("admins", ["employees"])]:
        server.call("PUT", f"/v1/groups/{group}", {"parents": parents})
    users = {
        "admin@example.com": {"groups": ["admins"]},
        "auditor@example.com": {"groups": ["employees"]},
        "bob@example.com": {"groups": ["approvers", "security"]},
        "alice@example.com": {"groups": ["employees"], "manager": "bob@example.com"},
        "carol@example.com": {"groups": ["employees"], "manager": "bob@example.com"},
    }
    for email, body in users.items():
        server.call("PUT", f"/v1/users/{email}", body)
    for n, (who, tool) in enumerate([("alice", "grammarly"), ("alice", "otter-ai"),
                                     ("carol", "chatgpt-enterprise"), ("carol", "cursor")], 1):
        server.call("POST", "/v1/requests", {
            "issue_key": f"AIR-{n}", "requester": f"{who}@example.com", "tool": tool,
            "purpose": "Seeded for the API fuzz run", "duration_days": 14})
    tokens = {}
    for role, subject in [("admin", "admin@example.com"), ("auditor", "auditor@example.com")]:
        tokens[role] = server.call("POST", "/v1/tokens", {"role": role, "subject": subject})["token"]
    return tokens


def run(st: Path, server: Server, role: str, token: str, args) -> int:
    REPORTS.mkdir(parents=True, exist_ok=True)
    command = [
        str(st), "--config-file", str(HERE / "schemathesis.toml"), "--no-color",
        "run", server.base + "/openapi.json",
        "--checks", "all",
        "--phases", "examples,coverage,fuzzing,stateful",
        "--seed", str(args.seed),
        "--max-examples", str(args.examples),
        "--workers", "1",
        "--header", f"Authorization: Bearer {token}",
        "--report", "junit",
        "--report-junit-path", str(REPORTS / f"{role}.xml"),
    ]
    print(f"== schemathesis as {role}", flush=True)
    return subprocess.run(command + args.extra, cwd=REPORTS).returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20261203)
    parser.add_argument("--examples", type=int, default=25)
    parser.add_argument("--binary", default=str(ROOT / "target" / "debug" / "clearance"))
    parser.add_argument("--role", choices=["admin", "auditor"], action="append")
    parser.add_argument("extra", nargs="*", help="more arguments for `st run`")
    args = parser.parse_args()
    st = install()
    binary = Path(args.binary)
    if not binary.exists():
        subprocess.run(["cargo", "build", "--bin", "clearance"], cwd=ROOT, check=True)
    failed = []
    for role in args.role or ["admin", "auditor"]:
        with tempfile.TemporaryDirectory(prefix="clearance-st-") as tmp:
            server = Server(binary, Path(tmp), admin=os.urandom(16).hex())
            try:
                tokens = seed(server)
                if run(st, server, role, tokens[role], args) != 0:
                    failed.append(role)
            finally:
                server.stop()
    if failed:
        print("schemathesis failed as: " + ", ".join(failed), file=sys.stderr)
        return 1
    print("schemathesis: no failures as admin or auditor")
    return 0


if __name__ == "__main__":
    sys.exit(main())
