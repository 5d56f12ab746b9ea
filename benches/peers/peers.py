#!/usr/bin/env python3
"""Side by side, in one run: clearance deciding and recording `POST /v1/requests`, and two
policy decision points that record nothing (cedar-agent, Cerbos), over the same directory
(1,000 users, 100 tools) and the default pack's rules, driven by wrk at 1 and 64
connections. Prints throughput, p50/p99/max latency and server CPU per decision for each,
and clearance's ratios to the best peer. With `--rounds N` the three take turns N times at
each level (the VM's speed drifts over minutes; each round's ratio compares figures taken
minutes apart at most), and the table shows medians. Then takes a backup of clearance while
wrk drives it at 16 connections, and checks the backup holds every decision answered before
it began.

Run through `benches/peers/run`, which installs the peers and wrk under target/peers/.
"""

import argparse
import http.client
import json
import os
import pathlib
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
PEERS = ROOT / "target" / "peers"
WRK = PEERS / "wrk" / "usr" / "bin" / "wrk"
WRK_LIBS = PEERS / "wrk" / "usr" / "lib" / "x86_64-linux-gnu"
LUA = ROOT / "benches" / "peers" / "decide.lua"
CLEARANCE = ROOT / "target" / "release" / "clearance"
CEDAR_AGENT = PEERS / "cedar-agent" / "bin" / "cedar-agent"
CERBOS = PEERS / "npm" / "node_modules" / "@cerbos" / "cerbos-linux-x64" / "cerbos-linux-x64"
TOKEN = "bench-admin-token-0123456789abcdef"
USERS, TOOLS = 1000, 100
RISKS = ["low", "medium", "high", "critical"]
TICK = os.sysconf("SC_CLK_TCK")
# clearance's writer thread as /proc names it (a thread's name is cut to 15 bytes there).
WRITER = "clearance-write"


def user(i):
    return f"user{i:04d}@bench.example"


def tool(t):
    return f"tool-{t:03d}"


def manager(u):
    """Everyone but the first user reports to one of the first ten."""
    return {"manager": user(u % 10)} if u >= 10 else {}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(port, method, path, body=None, conn=None):
    """One HTTP call; returns (status, parsed JSON or text)."""
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    data = None
    if body is not None:
        data = json.dumps(body)
        headers["Content-Type"] = "application/json"
    conn.request(method, path, data, headers)
    response = conn.getresponse()
    text = response.read().decode()
    if own:
        conn.close()
    try:
        return response.status, json.loads(text)
    except ValueError:
        return response.status, text


def stat_cpu(path):
    """The name and the seconds of CPU (user + system) in a `/proc` `stat` file."""
    name, fields = path.read_text().split("(", 1)[1].rsplit(")", 1)
    fields = fields.split()
    return name, (int(fields[11]) + int(fields[12])) / TICK


class Server:
    """A server process on a port of its own, stopped when done."""

    def __init__(self, name, cmd, port, ready, env=None, cwd=None):
        self.name, self.port = name, port
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            cmd, stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
            cwd=cwd)
        for _ in range(600):
            if self.proc.poll() is not None:
                self.fail("exited")
            try:
                if call(port, "GET", ready)[0] < 500:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.fail("did not answer")

    def fail(self, what):
        self.proc.kill()  # one that never answered would outlive the script otherwise
        self.proc.wait()
        self.log.seek(0)
        sys.exit(f"{self.name} {what}:\n{self.log.read().decode(errors='replace')[-4000:]}")

    def cpu(self):
        """Seconds of CPU the server has used (user + system)."""
        return stat_cpu(pathlib.Path(f"/proc/{self.proc.pid}/stat"))[1]

    def thread_cpu(self, prefix):
        """Seconds of CPU used by the server's threads whose name starts with `prefix`."""
        total = 0.0
        for task in pathlib.Path(f"/proc/{self.proc.pid}/task").iterdir():
            try:
                name, seconds = stat_cpu(task / "stat")
            except OSError:
                continue  # the thread ended meanwhile
            if name.startswith(prefix):
                total += seconds
        return total

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start_clearance(data, extra=()):
    port = free_port()
    server = Server("clearance", [
        str(CLEARANCE), "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", str(data),
        "--sweep-interval-secs", "0", "--policies", str(ROOT / "policies"),
        "--schema", str(ROOT / "schemas" / "clearance.cedarschema"), *extra,
    ], port, "/readyz", env={"CLEARANCE_ADMIN_TOKEN": TOKEN, "RUST_LOG": "warn"})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for t in range(TOOLS):
        body = {"name": tool(t), "provider": "Vendor", "status": "approved",
                "risk": RISKS[t % 4], "default_duration_days": 30}
        expect(call(port, "PUT", f"/v1/tools/{tool(t)}", body, conn), 200)
    for u in range(USERS):
        body = {"groups": ["employees"], **manager(u)}
        expect(call(port, "PUT", f"/v1/users/{user(u)}", body, conn), 200)
    return server, f"http://127.0.0.1:{port}/v1/requests"


def pack_policies():
    """The default pack's `request` and `auto_approve` policies, one per entry."""
    out = []
    for name in ["request.cedar", "duration.cedar", "review.cedar"]:
        text = (ROOT / "policies" / name).read_text()
        text = "\n".join(l for l in text.splitlines() if not l.startswith("//"))
        for block in re.split(r"(?m)^(?=@id\()", text):
            found = re.search(r'@id\("([^"]+)"\)', block)
            if found and re.search(r'Action::"(request|auto_approve)"', block):
                out.append({"id": found.group(1), "content": block.strip()})
    return out


def start_cedar_agent(folder):
    entity = lambda kind, id: {"type": f"Clearance::{kind}", "id": id}
    entities = [{"uid": entity("Group", "employees"), "attrs": {}, "parents": []}]
    for u in range(USERS):
        attrs = {"email": user(u)}
        attrs.update({k: {"__entity": entity("User", v)} for k, v in manager(u).items()})
        entities.append({"uid": entity("User", user(u)), "parents": [entity("Group", "employees")],
                         "attrs": attrs})
    for t in range(TOOLS):
        entities.append({"uid": entity("Tool", tool(t)), "parents": [],
                         "attrs": {"risk": RISKS[t % 4], "status": "approved", "in_catalog": True}})
    (folder / "data.json").write_text(json.dumps(entities))
    (folder / "policies.json").write_text(json.dumps(pack_policies()))
    port = free_port()
    server = Server("cedar-agent", [
        str(CEDAR_AGENT), "--addr", "127.0.0.1", "--port", str(port), "--log-level", "error",
        "--data", str(folder / "data.json"), "--policies", str(folder / "policies.json"),
    ], port, "/v1/policies")
    probe = {"principal": f'Clearance::User::"{user(0)}"',
             "action": 'Clearance::Action::"request"', "resource": f'Clearance::Tool::"{tool(2)}"',
             "context": {"duration_days": 60, "has_open_request": False, "has_open_grant": False,
                         "active_grants_for_tool": 0}}
    answer = expect(call(port, "POST", "/v1/is_authorized", probe), 200)
    if answer.get("decision") != "Deny":  # high risk, 60 days: over the 30-day limit
        sys.exit(f"cedar-agent does not apply the pack: {answer}")
    return server, f"http://127.0.0.1:{port}/v1/is_authorized"


def start_cerbos(folder):
    policies = ROOT / "benches" / "peers" / "cerbos"
    port = free_port()
    config = folder / "cerbos.yaml"
    config.write_text(json.dumps({
        "server": {"httpListenAddr": f"127.0.0.1:{port}",
                   "grpcListenAddr": f"127.0.0.1:{free_port()}"},
        "storage": {"driver": "disk", "disk": {"directory": str(policies),
                                               "watchForChanges": False}},
        "audit": {"enabled": False},
        "telemetry": {"disabled": True},
    }))
    server = Server("cerbos", [str(CERBOS), "server", f"--config={config}", "--log-level=error"],
                    port, "/_cerbos/health")
    probe = {"requestId": "probe", "principal": {"id": user(0), "roles": ["employees"]},
             "resources": [{"actions": ["request"], "resource": {"kind": "tool", "id": tool(2),
                            "attr": {"risk": "high", "status": "approved", "in_catalog": True,
                                     "duration_days": 60, "has_open_request": False,
                                     "has_open_grant": False, "active_grants_for_tool": 0}}}]}
    answer = expect(call(port, "POST", "/api/check/resources", probe), 200)
    if answer["results"][0]["actions"]["request"] != "EFFECT_DENY":
        sys.exit(f"cerbos does not apply the pack: {answer}")
    return server, f"http://127.0.0.1:{port}/api/check/resources"


def expect(answer, status):
    if answer[0] != status:
        sys.exit(f"expected {status}, got {answer}")
    return answer[1]


def wrk(url, conns, seconds, target, run, marker=None):
    threads = min(conns, 2)
    cmd = [str(WRK), f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--timeout", "10s",
           "-s", str(LUA), url, "--", target, run, TOKEN]
    if marker:
        cmd.append(str(marker))
    env = {**os.environ, "LD_LIBRARY_PATH": str(WRK_LIBS)}
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env)


def result(proc):
    out = proc.communicate()[0]
    for line in out.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    sys.exit(f"wrk failed:\n{out}")


def measure(server, url, target, conns, seconds, warmup, tag=""):
    """One level: a warm-up, then the measured run; `tag` keeps issue keys of runs apart."""
    result(wrk(url, conns, warmup, target, f"W{conns}{tag}"))
    before, load_before = server.cpu(), children_cpu()
    writer_before = server.thread_cpu(WRITER)
    row = result(wrk(url, conns, seconds, target, f"M{conns}{tag}"))
    row["cpu_us"] = (server.cpu() - before) * 1e6 / max(row["requests"], 1)
    row["writer_cpu_us"] = (server.thread_cpu(WRITER) - writer_before) * 1e6 / max(
        row["requests"], 1)
    row["load_cpu_us"] = (children_cpu() - load_before) * 1e6 / max(row["requests"], 1)
    row["per_s"] = row["requests"] * 1e6 / row["duration_us"]
    if row["non2xx"] or row["errors"]:
        sys.exit(f"{target} at {conns}: {row['non2xx']} non-2xx, {row['errors']} errors")
    return row


def children_cpu():
    """Seconds of CPU the finished child processes (wrk runs) have used."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def backup_under_load(server, url, folder, seconds):
    """wrk at 16 connections; a backup midway; every decision answered before it is in it."""
    marker = folder / "began"
    out = folder / "backup"
    load = wrk(url, 16, seconds, "clearance", "B16", marker)
    time.sleep(seconds / 3)
    marker.touch()
    started = time.monotonic()
    backup = subprocess.run(
        [str(CLEARANCE), "backup", str(out), "--secrets-key", str(folder / "clearance" / "secrets.key")],
        capture_output=True, text=True,
        env={**os.environ, "CLEARANCE_URL": f"http://127.0.0.1:{server.port}",
             "CLEARANCE_TOKEN": TOKEN})
    took = time.monotonic() - started
    row = result(load)
    if backup.returncode != 0:
        sys.exit(f"clearance backup failed:\n{backup.stdout}\n{backup.stderr}")
    report = json.loads(backup.stdout)
    keys = []
    for f in folder.glob("began.*"):
        keys.extend(f.read_text().split())
    port = free_port()
    restored = Server("clearance on the backup", [
        str(CLEARANCE), "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", str(out),
        "--sweep-interval-secs", "0", "--policies", str(ROOT / "policies"),
        "--schema", str(ROOT / "schemas" / "clearance.cedarschema"),
    ], port, "/readyz", env={"CLEARANCE_ADMIN_TOKEN": TOKEN, "RUST_LOG": "warn"})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    missing = [k for k in keys if call(port, "GET", f"/v1/requests/{k}", conn=conn)[0] != 200]
    verify = expect(call(port, "GET", "/v1/audit/verify", conn=conn), 200)
    restored.stop()
    return {"decisions_during_run": row["requests"], "backup_s": took,
            "answered_before": len(keys), "missing": len(missing), "missing_keys": missing[:5],
            "threads_reporting": len(list(folder.glob("began.*"))), "report_ok": report["ok"],
            "audit_ok": verify["ok"], "audit_entries": verify["entries"]}


def fmt_ms(us):
    return f"{us / 1000:.2f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=20, help="each measured run")
    parser.add_argument("--warmup", type=int, default=5, help="each warm-up run")
    parser.add_argument("--rounds", type=int, default=1,
                        help="rounds of all three at each level, in turn (figures: medians)")
    parser.add_argument("--no-backup", action="store_true", help="skip the backup check")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds: at least 1")

    rounds, servers = [], {}
    with tempfile.TemporaryDirectory(prefix="clearance-peers-") as tmp:
        folder = pathlib.Path(tmp)
        # Started inside `try`: a server that fails to start stops those started before it.
        try:
            for name, start in [("clearance", lambda: start_clearance(folder / "clearance")),
                                ("cedar-agent", lambda: start_cedar_agent(folder)),
                                ("cerbos", lambda: start_cerbos(folder))]:
                servers[name] = start()
            for n in range(args.rounds):
                rounds.append(one_round(servers, n, args))
            if not args.no_backup:
                check_backup(servers["clearance"], folder, args.seconds)
        finally:
            for server, _ in servers.values():
                server.stop()
    print_table(rounds)


def one_round(servers, n, args):
    """Each server at one connection, then each at 64, the order turned each round so that
    no server is always measured first; the figures by (server, connections)."""
    order = list(servers)
    order = order[n % len(order):] + order[:n % len(order)]
    rows = {}
    for conns in (1, 64):
        for target in order:
            server, url = servers[target]
            r = rows[(target, conns)] = measure(server, url, target, conns, args.seconds,
                                                args.warmup, f"R{n}")
            print(f"round {n} {target:12} c={conns:<3} {r['per_s']:9.0f}/s"
                  f"  p50 {fmt_ms(r['p50_us'])} ms  p99 {fmt_ms(r['p99_us'])} ms"
                  f"  max {fmt_ms(r['max_us'])} ms"
                  f"  cpu {r['cpu_us']:.0f} µs/decision (wrk {r['load_cpu_us']:.0f})"
                  + (f", its writer thread {r['writer_cpu_us']:.0f}" if target == "clearance"
                     else ""), flush=True)
    return rows


def check_backup(clearance, folder, seconds):
    server, url = clearance
    backup = backup_under_load(server, url, folder, seconds)
    print(f"backup under load: {json.dumps(backup)}", flush=True)
    if backup["missing"] or not backup["report_ok"] or not backup["audit_ok"]:
        sys.exit("the backup does not hold every decision answered before it")


SERVERS = ("clearance", "cedar-agent", "cerbos")
FIGURES = [("decisions/s", "per_s", lambda v: f"{v:,.0f}", max),
           ("p50 ms", "p50_us", fmt_ms, min),
           ("p99 ms", "p99_us", fmt_ms, min),
           ("max ms", "max_us", fmt_ms, min),
           ("server CPU µs/decision", "cpu_us", lambda v: f"{v:.0f}", min),
           ("wrk CPU µs/decision", "load_cpu_us", lambda v: f"{v:.0f}", None)]


def print_table(rounds):
    """Each figure (its median over the rounds), and clearance's ratio to the best peer: the
    median of each round's ratio, so that the machine's drift between rounds cancels; with
    more than one round, every round's ratio too."""
    print()
    print("| | clearance | cedar-agent | Cerbos | clearance ÷ best peer |")
    print("|---|---:|---:|---:|---:|")
    for conns in (1, 64):
        for label, key, f, better in FIGURES:
            figures = [median([r[(t, conns)][key] for r in rounds]) for t in SERVERS]
            shown = "—"
            if better is not None:
                ratios = [ratio(*(r[(t, conns)][key] for t in SERVERS), better)
                          for r in rounds]
                shown = f"{median(ratios):.2f}×"
                if len(rounds) > 1:
                    shown += " (" + ", ".join(f"{x:.2f}" for x in ratios) + ")"
            print(f"| {label} at {conns} | " + " | ".join(f(v) for v in figures)
                  + f" | {shown} |")


def median(values):
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def ratio(mine, a, b, better):
    """How clearance compares with the best peer: above 1 is better for clearance."""
    best = better(a, b)
    return mine / best if better is max else best / mine


if __name__ == "__main__":
    main()
