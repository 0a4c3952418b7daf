#!/usr/bin/python3
"""bench/run.py - strongmapd's benchmarks, each beside a baseline measured in the same run.

Run through bench/run.sh (which installs what is missing and builds). What it measures, and the
targets of issue 5 (docs/performance.md explains each and shows a run):

  http      GET /healthz, POST /v1/inspect (a 1.2 KB RSA-2048 certificate, PEM) and
            POST /v1/verdict with a warm directory cache (in both request forms: the JSON
            object, and the PEM body with options in the query string), each against nginx
            serving a static file holding the very reply strongmapd gave (same size, same
            Content-Type) to the same request, with the same wrk settings, rounds interleaved
            (nginx, strongmapd, nginx, ...).
  directory POST /v1/verdict with the cache off against bench/ldap_client, a minimal libldap
            client doing the same LDAP searches as one verdict (the account search: each
            directory handle keeps the NTAuth store), both against one slapd holding 10,000
            AD-like accounts, 1,250 certificates published on them (bench/gen_directory.py).
  wan       (issue 12) the directory a WAN away: slapd behind tests/lib/delayproxy.py, 20 ms
            each way. A cold verdict's latency (cache off, one connection, one request after
            the other: p50 from wrk) against the round trip, bench/ldap_client timing one
            search after the other through the same proxy; with the NTAuth store kept, and
            with it read for every verdict (ntauth_ttl 0: both searches in one round trip).
            Target: p50 <= 1.2 x the round trip + 2 ms. Also timed: the two searches one
            after the other, as verdicts made them before.
  latency   p50/p99 of inspect and warm verdicts at half of the peak measured above (wrk paced
            with a per-connection delay; the rate reached is reported).
  engine    bench/engine_bench (strongmapd's engine, one core) against bench/sss_peer (SSSD's
            libsss_certmap) making the same mapping strings for the same certificates.
  memory    RSS idle, and with 1,000 open keep-alive connections.
  startup   exec to READY=1 (sd_notify) with the LDIF demo directory.
  authz     (issue 12) GET /v1/authz with a warm cache and the certificate in the header
            (nginx's URL-encoded PEM) against nginx serving a file of the same body to the same
            request, rounds interleaved; its p99 at half of its peak; and nginx's auth_request
            end to end: nginx proxying to a static upstream, with an auth_request to strongmapd
            against the same nginx proxy without it (plain HTTP: wrk sends the certificate in a
            header, which nginx forwards, since it cannot present a client certificate).
  issuance  (issue 11) POST /v1/preissue (an RSA-2048 request for the benchmark account, PEM
            body, warm cache) against POST /v1/verdict with the same body form, rounds
            interleaved; and the p99 of step-ca's hooks (signed calls: enrich with the request,
            authorize with the certificate) at half of each one's peak against the p99 of that
            verdict at half of its peak.
  page      (issue 13) the self-service status page: its first paint in Debian's Chromium
            (bench/page_paint.js, playwright-core from tests/browser's package-lock.json, npm
            installs it into BUILD/bench/npm; no browser download), GET /status and its CSS and
            JS from strongmapd (the demo directory) against the very same bytes with the same
            Content-Type and headers served by nginx: a fresh browser context per load (no
            cache), the Paint Timing API's first-paint and first-contentful-paint, the median
            of many loads per round (4 per second of --duration unless --page-loads; the two
            servers' loads interleaved one by one); the page's bytes (HTML, CSS and JS, and
            with the headers each server sent); and POST /v1/self/check, the check
            behind the page, against POST /v1/verdict with the same certificate and body
            (PEM, warm cache; the page's per-client rate limit off: --page-rate 0), wrk,
            rounds interleaved. Needs /usr/bin/chromium, Node.js >= 20 and npm: the part
            fails without them.
  audit     (issue 14) strongmap audit over LDAP (JSON lines to a file) against ldapsearch's
            paged dump (-E pr=N/noprompt, LDIF to a file) of what the audit reads: the walk's
            filter with its second pass's attributes, a superset of the first pass's (both
            read from lib/dir_ldap_enum.c and lib/dir_internal.h), from the same slapd with
            the same page size; for reference also the two passes' dumps one after the other
            (the first pass's filter and attributes, then the second's).
            Rounds interleaved, after one unmeasured run of each (the outputs checked: the
            same accounts); wall time around each process, its CPU time and peak RSS
            (/usr/bin/time %U %S %M), and slapd's CPU time meanwhile. At the benchmark
            directory's size and again at --audit-large accounts (100,000: a directory
            generated and a slapd started for it, its MDB map larger than the tests'). Targets:
            the audit's speed >= 0.7 x the dump's, peak RSS <= 64 MiB + 200 B per account (also
            reported: the RSS's growth per account between the two sizes).

Usage: bench/run.py --build DIR [--smoke] [--duration S] [--rounds N] [--connections N]
                    [--json FILE] [--only PART,...] [--page-loads N] [--audit-large N]
                    [--audit-page N]
--smoke runs every part for about a second (CI keeps the harness working with it; the audit
part at 200 and 400 accounts); its numbers mean nothing. Exit status: 0 when every part ran (a
missed target is reported, not an error), 1 when a part failed.
"""

import argparse
import base64
import hashlib
import hmac
import http.client as httpclient
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "robust"))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
import robustlib as rl  # noqa: E402  (Daemon, http, spawn, free_ports: shared with the tests)
import slapd  # noqa: E402  (the tests' slapd harness)

EXAMPLES = os.path.join(ROOT, "examples")
TARGETS = {
    "healthz": 1.0,
    "inspect": 0.7,
    "verdict_warm": 0.6,
    "verdict_warm_pem": 0.6,
    "verdict_nocache": 0.8,
    "p99_ms": 5.0,
    "engine_per_s": 150000,
    "engine_vs_sss": 100,
    "rss_idle_mib": 8,
    "rss_1000_mib": 64,
    "start_ms": 50,
    "preissue": 0.7,
    "hook_p99_vs_verdict": 2.0,
    "authz": 0.6,
    "authz_p99_ms": 2.0,
    "auth_request": 0.5,
    "wan_rt_factor": 1.2,  # cold verdict p50 <= factor x round trip + wan_rt_plus_ms
    "wan_rt_plus_ms": 2.0,
    "page_paint": 1.2,  # strongmapd's first paint <= factor x nginx's
    "page_bytes": 50 * 1024,  # the page's HTML, CSS and JS, headers included
    "page_check": 1.0,  # POST /v1/self/check >= factor x POST /v1/verdict
    "audit": 0.7,  # strongmap audit's speed >= factor x ldapsearch's paged dump's
    "audit_rss_base_mib": 64,  # the audit's peak RSS <= this many MiB ...
    "audit_rss_per_account": 200,  # ... plus this many bytes per account of the directory
}
WAN_DELAY_MS = 20  # each way
PAGE_FILES = ("/status", "/static/status.css", "/static/status.js")  # what /status loads
CHROMIUM = "/usr/bin/chromium"  # Debian's, as tests/browser drives it


def log(msg):
    print(msg, flush=True)


# ---- load generator --------------------------------------------------------------------------


class WrkResult:
    def __init__(self, out):
        self.out = out
        m = re.search(r"Requests/sec:\s+([0-9.]+)", out)
        if not m:
            raise RuntimeError("wrk printed no rate:\n" + out)
        self.rps = float(m.group(1))
        m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
        self.non2xx = int(m.group(1)) if m else 0
        m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
        self.errors = sum(int(x) for x in m.groups()) if m else 0
        self.pct = {}
        for p, v, unit in re.findall(r"^\s+(50|75|90|99)%\s+([0-9.]+)(us|ms|s)\s*$", out, re.M):
            self.pct[int(p)] = round(float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit], 3)


def wrk(url, seconds, conns, threads=2, body=None, ctype=None, delay_ms=0, headers=None,
        method=None):
    cmd = ["wrk", "-t", str(min(threads, conns)), "-c", str(conns), "-d", f"{seconds}s",
           "--latency", "--timeout", "10s"]
    env = dict(os.environ)
    if body is not None or method is not None:
        cmd += ["-s", os.path.join(HERE, "post.lua")]
        env.update(BODY_FILE=body or "", CONTENT_TYPE=ctype or "application/json",
                   METHOD=method or "POST", DELAY_MS=str(delay_ms),
                   EXTRA_HEADERS="\n".join(f"{k}: {v}" for k, v in (headers or {}).items()))
    cmd.append(url)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, env=env)
    if r.returncode != 0:
        raise RuntimeError(f"wrk failed ({r.returncode}): {r.stderr[-500:]}")
    return WrkResult(r.stdout)


# ---- nginx, the HTTP ceiling -----------------------------------------------------------------


class Nginx:
    """nginx with its own configuration on a free loopback port, serving files from root/.
    POST to a static file is answered with the file (error_page 405 =200), so the same wrk
    script drives both servers."""

    def __init__(self, tmp, workers, name="nginx", extra=""):
        """@extra: more of the http block (servers of its own, on ports of its own)."""
        self.dir = os.path.join(tmp, name)
        self.root = os.path.join(self.dir, "root")
        os.makedirs(self.root)
        self.port = rl.free_ports(1)[0]
        d = self.dir
        conf = f"""worker_processes {workers};
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 100000000;
    keepalive_timeout 60s;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    default_type application/json;
    server {{
        listen 127.0.0.1:{self.port};
        root {self.root};
        location / {{ error_page 405 =200 $uri; }}
    }}
{extra}
}}
"""
        self.conf = os.path.join(d, "nginx.conf")
        with open(self.conf, "w", encoding="ascii") as f:
            f.write(conf)
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        for attempt in range(3):  # a port taken meanwhile: nginx exits, try another
            if attempt:
                self.port = rl.free_ports(1)[0]
                with open(self.conf, "w", encoding="ascii") as f:
                    f.write(re.sub(r"listen 127\.0\.0\.1:\d+;", f"listen 127.0.0.1:{self.port};",
                                   conf))
            self.proc = rl.spawn([nginx, "-e", f"{d}/error.log", "-c", self.conf],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                    return
                except OSError:
                    time.sleep(0.05)
            rl.stop_process(self.proc)
        raise RuntimeError("nginx did not start")

    def put(self, name, body):
        with open(os.path.join(self.root, name), "wb") as f:
            f.write(body)
        return f"http://127.0.0.1:{self.port}/{name}"

    def stop(self):
        rl.stop_process(self.proc, signal.SIGQUIT)


# ---- helpers ---------------------------------------------------------------------------------


def get(d, method, path, body=None, ctype=None, extra=None):
    headers = dict({"Content-Type": ctype} if ctype else {}, **(extra or {})) or None
    r = rl.http(d, method, path, body=body, headers=headers)
    if r.status != 200:
        raise RuntimeError(f"{method} {path}: HTTP {r.status}: {r.body[:300]!r}")
    return r.body


def run_tool(cmd, timeout):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"{os.path.basename(cmd[0])} failed: {r.stderr[-800:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def med(xs):
    return statistics.median(xs) if xs else 0.0


# ---- the browser (the page part) -------------------------------------------------------------


def browser_driver(build):
    """playwright-core for Debian's Chromium, installed as tests/browser/run.sh installs it:
    npm ci of tests/browser's package.json and package-lock.json (the pinned versions; no
    browser download), here into BUILD/bench/npm, again only when the lock changed. Returns the
    node_modules directory. Raises, saying what is missing, without Chromium, Node.js >= 20 or
    npm."""
    if not os.access(CHROMIUM, os.X_OK):
        raise RuntimeError(f"no {CHROMIUM} (Debian package chromium; scripts/deps.sh bench)")
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        raise RuntimeError("node and npm not found: the page part needs Node.js >= 20 and npm")
    v = subprocess.run([node, "-p", "process.versions.node"], capture_output=True, text=True,
                       timeout=30).stdout.strip()
    if not re.match(r"\d+", v) or int(v.split(".")[0]) < 20:
        raise RuntimeError(f"Node.js {v or '?'} is too old: playwright-core needs >= 20")
    src = os.path.join(ROOT, "tests", "browser")
    work = os.path.join(build, "bench", "npm")
    lock = os.path.join(src, "package-lock.json")
    marker = os.path.join(work, "installed.lock")
    mods = os.path.join(work, "node_modules")
    installed = False
    if os.path.exists(marker):
        with open(lock, "rb") as a, open(marker, "rb") as b:
            installed = a.read() == b.read()
    if not installed or not os.path.isdir(os.path.join(mods, "playwright-core")):
        os.makedirs(work, exist_ok=True)
        if os.path.exists(marker):
            os.unlink(marker)
        for f in ("package.json", "package-lock.json"):
            shutil.copyfile(os.path.join(src, f), os.path.join(work, f))
        r = subprocess.run([npm, "ci", "--prefer-offline", "--ignore-scripts", "--no-audit",
                            "--no-fund", "--loglevel=error"], cwd=work, capture_output=True,
                           text=True, timeout=600)
        if r.returncode != 0:
            raise RuntimeError("npm ci of tests/browser/package-lock.json failed: " +
                               (r.stderr or r.stdout)[-800:])
        shutil.copyfile(lock, marker)
    return mods


def run_node(script, spec, node_modules, timeout):
    """node @script with @spec (JSON) and playwright-core: its last line of output as JSON. After
    @timeout seconds it gets SIGTERM (playwright-core then kills its browser), then SIGKILL."""
    p = rl.spawn(["node", os.path.join(HERE, script), json.dumps(spec)],
                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                 text=True, env=dict(os.environ, NODE_PATH=node_modules))
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        rl.stop_process(p)
        p.communicate()
        raise RuntimeError(f"{script} was still running after {timeout} s: stopped")
    finally:
        if p.poll() is None:  # an exception in this thread (a signal): stop it anyway
            rl.stop_process(p)
    if p.returncode != 0:
        raise RuntimeError(f"{script} failed ({p.returncode}): {err[-1500:]}")
    return json.loads(out.strip().splitlines()[-1])


def fetch_raw(port, path):
    """GET @path from 127.0.0.1:@port on a fresh connection: (status, the headers as sent, in
    order, body, bytes of the status line and headers)."""
    conn = httpclient.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        headers = r.getheaders()
        head = len(f"HTTP/1.1 {r.status} {r.reason}\r\n\r\n") + \
            sum(len(k) + len(v) + 4 for k, v in headers)
        return r.status, headers, r.read(), head
    finally:
        conn.close()


def nginx_page_server(port, root, files):
    """An nginx server block on @port answering each of @files ({path: (headers, body)}) with
    that body, its Content-Type and every other header strongmapd sent, as constants (nginx adds
    Date and Content-Length itself; it also sends Server and Last-Modified, which it cannot be
    told not to). Writes the bodies under @root."""
    own = ("date", "content-length", "connection", "keep-alive", "transfer-encoding")
    locations = []
    for i, (path, (headers, body)) in enumerate(sorted(files.items())):
        name = os.path.join(root, f"file{i}")
        with open(name, "wb") as f:
            f.write(body)
        lines = []
        for k, v in headers:
            if not re.fullmatch(r"[A-Za-z0-9-]+", k) or re.search(r"[$\x00-\x1f]", v):
                raise RuntimeError(f"{path}: header {k}: {v!r}: not written as an nginx constant")
            v = v.replace("\\", "\\\\").replace('"', '\\"')  # a quoted string of nginx's
            if k.lower() == "content-type":
                lines.append(f'default_type "{v}";')
            elif k.lower() not in own:
                lines.append(f'add_header {k} "{v}" always;')
        directives = "\n            ".join(lines)
        locations.append(f"""
        location = {path} {{
            alias {name};
            {directives}
        }}""")
    return f"""
    server {{
        listen 127.0.0.1:{port};
        server_tokens off;
        etag off;
        max_ranges 0;
        types {{ }}
        location / {{ return 404; }}{"".join(locations)}
    }}"""


# ---- the audit part --------------------------------------------------------------------------


def c_macro(text, name):
    """The body of C macro @name in @text (its continued lines joined)."""
    m = re.search(r"^#define " + name + r"\b(.*?)(?<!\\)$", text, re.M | re.S)
    if not m:
        raise RuntimeError(f"no #define {name}")
    return m.group(1)


def audit_reads():
    """What strongmap audit asks slapd for, read from its source so that the baseline follows
    it: the walk's filter (lib/dir_ldap_enum.c, without --since), the first pass's filter
    (VALUES_FILTER there: the accounts holding altSecurityIdentities) and attributes
    (value_attrs) and the second's (DIR_ATTRS_INIT, lib/dir_internal.h)."""
    with open(os.path.join(ROOT, "lib", "dir_ldap_enum.c"), encoding="utf-8") as f:
        enum = f.read()
    with open(os.path.join(ROOT, "lib", "dir_internal.h"), encoding="utf-8") as f:
        internal = f.read()
    filt = "".join(re.findall(r'"([^"]*)"', c_macro(enum, "WALK_FILTER")))
    first_filt = "".join(re.findall(r'"([^"]*)"', c_macro(enum, "VALUES_FILTER")))
    first = re.search(r"value_attrs\[\]\s*=\s*\{(.*?)\}", enum, re.S)
    attrs = re.findall(r'"([^"]*)"', c_macro(internal, "DIR_ATTRS_INIT"))
    if filt.count("%s") != 1 or first_filt.count("%s") != 1 or not first or not attrs:
        raise RuntimeError("lib/dir_ldap_enum.c or lib/dir_internal.h: the walk's filter or "
                           "attributes not found")
    return {"filter": filt.replace("%s", ""), "attrs": attrs,
            "first_pass_filter": first_filt.replace("%s", ""),
            "first_pass_attrs": re.findall(r'"([^"]*)"', first.group(1))}


def bench_slapd(tmp, ldif, accounts):
    """The benchmarks' slapd (tests/lib/slapd.py) holding @ldif: as the tests' but with an MDB
    map for @accounts accounts (64 MiB holds about 25,000 of the generator's: 8 KiB each, and
    at least 256 MiB) and no size limit on a search (slapd's default, 500 entries, counts a
    paged search's entries too: the audit and ldapsearch read every account)."""
    with open(ldif, encoding="utf-8") as f:
        text = f.read()
    return slapd.Slapd(tmp, ldif_text=text, maxsize=max(256, accounts * 8 // 1024 + 64) << 20,
                       load_timeout=60 + accounts // 500,
                       access=["limits * size=unlimited", "access to * by * read"])


def proc_cpu_s(pid):
    """User and system CPU seconds of process @pid so far (0 without it)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError, TypeError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def count_entries(path):
    """Entries of an LDIF file (its dn: lines; dn:: when base64)."""
    n = 0
    with open(path, "rb") as f:
        for line in f:
            n += line.startswith(b"dn:")
    return n


class Bench:
    def __init__(self, args):
        self.a = args
        self.build = os.path.abspath(args.build)
        self.daemon_bin = os.path.join(self.build, "daemon", "strongmapd")
        self.bin = lambda name: os.path.join(self.build, "bench", name)
        self.tmp = tempfile.mkdtemp(prefix="strongmap-bench.")
        os.chmod(self.tmp, 0o755)  # nginx's workers (nobody when started as root) read its root
        self.results = {"machine": machine(), "settings": {
            "duration_s": args.duration, "rounds": args.rounds, "connections": args.connections,
            "wrk_threads": 2, "daemon_threads": args.threads, "nginx_workers": args.threads}}
        self.failed = []
        self.procs = []
        self.slapd = None
        self.nginx = None

    # -- fixtures --

    def make_directory(self, accounts, out):
        """bench/gen_directory.py's directory of @accounts accounts into @out: its line."""
        r = subprocess.run([sys.executable, os.path.join(HERE, "gen_directory.py"), "--accounts",
                            str(accounts), "--out", out], capture_output=True, text=True,
                           timeout=300 + accounts // 100)
        if r.returncode != 0:
            raise RuntimeError(f"gen_directory.py failed: {r.stderr[-1500:]}")
        line = r.stdout.strip().splitlines()[-1]
        log(line)
        return line

    def setup(self):
        out = os.path.join(self.tmp, "dir")
        t = time.monotonic()
        self.dir_summary = self.make_directory(self.a.accounts, out)
        self.ldif = os.path.join(out, "bench.ldif")
        self.cert_pem = os.path.join(out, "bench.pem")
        with open(self.cert_pem, "rb") as f:
            pem = f.read()
        self.cert_der_len = len(rl.pem_to_der(pem))
        self.verdict_body = os.path.join(self.tmp, "verdict.json")
        with open(self.verdict_body, "w", encoding="ascii") as f:
            json.dump({"certificate": pem.decode()}, f)
        log(f"directory: {self.a.accounts} accounts generated in {time.monotonic() - t:.1f} s; "
            f"certificate {self.cert_der_len} bytes DER")
        t = time.monotonic()
        self.slapd = bench_slapd(self.tmp, self.ldif, self.a.accounts)
        self.slapd.start_anywhere()
        log(f"slapd: loaded and answering in {time.monotonic() - t:.1f} s ({self.slapd.uri})")

    def daemon(self, *extra, log_level="warning"):
        d = rl.Daemon(self.daemon_bin, ["--log-level", log_level] + list(extra),
                      threads=self.a.threads, quiet=True)
        self.procs.append(d)
        return d

    def ldap_args(self):
        return ["--ldap-uri", self.slapd.uri, "--ldap-base", slapd.BASE_DN]

    def part(self, name, fn):
        if self.a.only and name not in self.a.only:
            return
        log(f"\n== {name} ==")
        try:
            fn()
        except Exception as e:  # one part failing must not hide the others' numbers
            self.failed.append(name)
            log(f"FAILED {name}: {type(e).__name__}: {e}")

    # -- parts --

    def http(self):
        d = self.daemon(*self.ldap_args())
        self.nginx = self.nginx or Nginx(self.tmp, self.a.threads)
        with open(self.cert_pem, "rb") as f:
            pem = f.read()
        with open(self.verdict_body, "rb") as f:
            vbody = f.read()
        cases = [
            ("healthz", "GET", "/healthz", None, None, None),
            ("inspect", "POST", "/v1/inspect", pem, self.cert_pem, "application/x-pem-file"),
            ("verdict_warm", "POST", "/v1/verdict", vbody, self.verdict_body, "application/json"),
            ("verdict_warm_pem", "POST", "/v1/verdict", pem, self.cert_pem,
             "application/x-pem-file"),
        ]
        out = {}
        for name, method, path, body, body_file, ctype in cases:
            reply = get(d, method, path, body, ctype)  # also warms the directory cache
            if name.startswith("verdict") and b'"outcome":"allow"' not in reply:
                raise RuntimeError("the benchmark certificate's verdict is not allow: " +
                                   reply[:400].decode("utf-8", "replace"))
            static = self.nginx.put(name, reply)
            url = f"http://127.0.0.1:{d.port}{path}"
            sm, ng = [], []
            for _ in range(self.a.rounds):
                for runs, u in ((ng, static), (sm, url)):
                    r = wrk(u, self.a.duration, self.a.connections, body=body_file, ctype=ctype)
                    if r.non2xx or r.errors:
                        raise RuntimeError(f"{name}: {r.non2xx} non-2xx, {r.errors} socket "
                                           f"errors against {u}")
                    runs.append(r.rps)
            ratio = med(sm) / med(ng)
            out[name] = {"reply_bytes": len(reply), "strongmapd_rps": sm, "nginx_rps": ng,
                         "ratio": round(ratio, 3), "target": TARGETS[name]}
            log(f"{name:16} reply {len(reply):5} B  strongmapd {med(sm):9.0f} req/s  nginx "
                f"{med(ng):9.0f} req/s  ratio {ratio:.2f} (target >= {TARGETS[name]})")
        self.results["http"] = out

    def directory(self):
        d = self.daemon(*self.ldap_args(), "--cache-size", "0")
        get(d, "POST", "/v1/verdict", open(self.verdict_body, "rb").read(), "application/json")
        url = f"http://127.0.0.1:{d.port}/v1/verdict"
        client = [self.bin("ldap_client"), "--uri", self.slapd.uri, "--base", slapd.BASE_DN,
                  "--upn", self.upn(), "--threads", str(self.a.threads), "--seconds",
                  str(self.a.duration), "--searches", "1"]
        forms = (("json", self.verdict_body, "application/json"),
                 ("pem", self.cert_pem, "application/x-pem-file"))
        sm = {form: [] for form, _, _ in forms}
        lc = []
        for _ in range(self.a.rounds):
            lc.append(run_tool(client, self.a.duration + 60)["verdicts_per_s"])
            for form, body, ctype in forms:
                r = wrk(url, self.a.duration, self.a.connections, body=body, ctype=ctype)
                if r.non2xx or r.errors:
                    raise RuntimeError(f"verdict without cache ({form}): {r.non2xx} non-2xx, "
                                       f"{r.errors} socket errors")
                sm[form].append(r.rps)
        out = {"ldap_client_verdicts_per_s": lc, "ldap_client_threads": self.a.threads,
               "target": TARGETS["verdict_nocache"]}
        for form, _, _ in forms:
            ratio = med(sm[form]) / med(lc)
            out[form] = {"strongmapd_rps": sm[form], "ratio": round(ratio, 3)}
            log(f"verdict ({form} body), cache off: strongmapd {med(sm[form]):8.0f} req/s  "
                f"minimal LDAP client {med(lc):8.0f} verdicts/s ({self.a.threads} threads)  "
                f"ratio {ratio:.2f} (target >= {TARGETS['verdict_nocache']})")
        self.results["directory"] = out

    def wan(self):
        port_file = os.path.join(self.tmp, "delayproxy.port")
        proxy = rl.spawn([sys.executable, os.path.join(ROOT, "tests", "lib", "delayproxy.py"),
                          f"127.0.0.1:{self.slapd.port}", "--delay-ms", str(WAN_DELAY_MS),
                          "--port-file", port_file], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            self._wan(port_file)
        finally:
            rl.stop_process(proxy)

    def _wan(self, port_file):
        deadline = time.monotonic() + 10
        while not os.path.exists(port_file):
            if time.monotonic() > deadline:
                raise RuntimeError("the delaying proxy did not start")
            time.sleep(0.02)
        with open(port_file, encoding="ascii") as f:
            uri = f"ldap://127.0.0.1:{int(f.read())}/"
        with open(self.cert_pem, "rb") as f:
            pem = f.read()
        ldap = ["--ldap-uri", uri, "--ldap-base", slapd.BASE_DN, "--cache-size", "0"]
        daemons = {"kept": self.daemon(*ldap), "read": self.daemon(*ldap, "--ntauth-ttl", "0")}
        for d in daemons.values():
            for _ in range(2 * self.a.threads):  # every handle connected, its store read
                if b'"outcome":"allow"' not in get(d, "POST", "/v1/verdict", pem,
                                                   "application/x-pem-file"):
                    raise RuntimeError("the benchmark certificate's verdict is not allow")
        client = [self.bin("ldap_client"), "--uri", uri, "--base", slapd.BASE_DN, "--upn",
                  self.upn(), "--latency", "--seconds", str(self.a.duration)]
        rt, two = [], []
        sm = {k: [] for k in daemons}
        p99 = {k: [] for k in daemons}
        for _ in range(self.a.rounds):
            rt.append(run_tool(client + ["--searches", "1"], self.a.duration + 60)
                      ["latency_ms"]["p50"])
            for k, d in daemons.items():
                r = wrk(f"http://127.0.0.1:{d.port}/v1/verdict", self.a.duration, 1, threads=1,
                        body=self.cert_pem, ctype="application/x-pem-file")
                if r.non2xx or r.errors:
                    raise RuntimeError(f"cold verdict ({k}): {r.non2xx} non-2xx, {r.errors} "
                                       "socket errors")
                sm[k].append(r.pct[50])
                p99[k].append(r.pct[99])
            two.append(run_tool(client + ["--searches", "2"], self.a.duration + 60)
                       ["latency_ms"]["p50"])
        limit = TARGETS["wan_rt_factor"] * med(rt) + TARGETS["wan_rt_plus_ms"]
        out = {"delay_ms_each_way": WAN_DELAY_MS, "round_trip_p50_ms": rt,
               "two_searches_p50_ms": two, "limit_ms": round(limit, 3)}
        log(f"round trip through the proxy ({WAN_DELAY_MS} ms each way): one search p50 "
            f"{med(rt):.2f} ms; two searches one after the other {med(two):.2f} ms")
        for k, what in (("kept", "NTAuth store kept"),
                        ("read", "NTAuth store read every time (ntauth_ttl 0)")):
            out[k] = {"verdict_p50_ms": sm[k], "verdict_p99_ms": p99[k],
                      "ratio_to_round_trip": round(med(sm[k]) / med(rt), 3),
                      "met": med(sm[k]) <= limit}
            log(f"cold verdict, {what}: p50 {med(sm[k]):.2f} ms (p99 {med(p99[k]):.2f}), "
                f"{med(sm[k]) / med(rt):.2f} x the round trip (target <= {limit:.2f} ms: "
                f"{'met' if med(sm[k]) <= limit else 'MISSED'})")
        self.results["wan"] = out

    def authz(self):
        with open(self.cert_pem, "rb") as f:
            pem = f.read()
        cert = {"X-Client-Cert": urllib.parse.quote(pem.decode("ascii"), safe="")}
        d = self.daemon(*self.ldap_args(), "--authz-trusted-proxies", "127.0.0.1")
        reply = rl.http(d, "GET", "/v1/authz", headers=cert)
        if reply.status != 200:
            raise RuntimeError(f"GET /v1/authz: HTTP {reply.status}: {reply.body[:300]!r}")
        # nginx: the same body as a file; a proxy to a static upstream, with auth_request and
        # without, on ports of their own
        p_up, p_plain, p_auth = rl.free_ports(3)
        root = os.path.join(self.tmp, "upstream")
        os.makedirs(root, exist_ok=True)
        with open(os.path.join(root, "page"), "wb") as f:
            f.write(b"hello from the upstream\n")
        proxy = """
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }"""
        extra = f"""
    upstream app {{ server 127.0.0.1:{p_up}; keepalive 32; }}
    upstream strongmapd {{ server 127.0.0.1:{d.port}; keepalive 32; }}
    server {{
        listen 127.0.0.1:{p_up};
        root {root};
    }}
    server {{
        listen 127.0.0.1:{p_plain};{proxy}
    }}
    server {{
        listen 127.0.0.1:{p_auth};
        location = /_strongmap {{
            internal;
            proxy_pass http://strongmapd/v1/authz;
            proxy_method GET;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Client-Cert $http_x_client_cert;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
        auth_request /_strongmap;{proxy}
    }}"""
        ng = Nginx(self.tmp, self.a.threads, name="nginx-authz", extra=extra)
        try:
            self._authz(d, ng, cert, reply.body, p_plain, p_auth)
        finally:
            ng.stop()

    def _authz(self, d, ng, cert, reply, p_plain, p_auth):
        static = ng.put("authz", reply)
        for url in (f"http://127.0.0.1:{p_plain}/page", f"http://127.0.0.1:{p_auth}/page"):
            r = wrk(url, 1, 1, threads=1, method="GET", headers=cert)
            if r.non2xx or r.errors:
                raise RuntimeError(f"{url}: {r.non2xx} non-2xx, {r.errors} socket errors")
        cases = (("authz", f"http://127.0.0.1:{d.port}/v1/authz", static),
                 ("auth_request", f"http://127.0.0.1:{p_auth}/page",
                  f"http://127.0.0.1:{p_plain}/page"))
        out = {}
        for name, url, base in cases:
            sm, bl = [], []
            for _ in range(self.a.rounds):
                for runs, u in ((bl, base), (sm, url)):
                    r = wrk(u, self.a.duration, self.a.connections, method="GET", headers=cert)
                    if r.non2xx or r.errors:
                        raise RuntimeError(f"{name}: {r.non2xx} non-2xx, {r.errors} socket "
                                           f"errors against {u}")
                    runs.append(r.rps)
            ratio = med(sm) / med(bl)
            out[name] = {"rps": sm, "baseline_rps": bl, "ratio": round(ratio, 3),
                         "target": TARGETS[name]}
            what = ("GET /v1/authz, cache warm: strongmapd", "nginx static") \
                if name == "authz" else ("nginx with auth_request", "nginx proxy without")
            log(f"{what[0]} {med(sm):9.0f} req/s  {what[1]} {med(bl):9.0f} req/s  ratio "
                f"{ratio:.2f} (target >= {TARGETS[name]})")
        url = cases[0][1]
        peak = med(out["authz"]["rps"])
        r, conns, pause = self.paced("authz", url, None, None, peak / 2, headers=cert,
                                     method="GET")
        out["authz_latency"] = {"peak_rps": round(peak), "target_rps": round(peak / 2),
                                "reached_rps": round(r.rps), "connections": conns,
                                "delay_ms": pause, "p50_ms": r.pct.get(50),
                                "p90_ms": r.pct.get(90), "p99_ms": r.pct.get(99),
                                "target_p99_ms": TARGETS["authz_p99_ms"]}
        log(f"GET /v1/authz at {r.rps:8.0f} req/s (half of {peak:.0f}; {conns} connections, "
            f"{pause} ms pause): p50 {r.pct.get(50)} ms  p90 {r.pct.get(90)} ms  p99 "
            f"{r.pct.get(99)} ms (target <= {TARGETS['authz_p99_ms']})")
        self.results["authz"] = out

    def upn(self):
        with open(self.cert_pem, "rb") as f:
            der = rl.pem_to_der(f.read())
        m = re.search(rb"(u\d{5}@example\.com)", der)
        if not m:
            raise RuntimeError("no UPN in the benchmark certificate")
        return m.group(1).decode()

    def paced(self, name, url, body_file, ctype, want, headers=None, method=None):
        """A wrk run at about @want requests per second: (result, connections, pause)."""
        # wrk paces each connection with a delay (whole milliseconds) after each response:
        # rate = conns / (delay + latency). Start from the delay alone, then correct once.
        pause = 2
        conns = max(1, round(want * pause / 1000))
        probe = wrk(url, max(1, self.a.duration // 3), conns, body=body_file, ctype=ctype,
                    delay_ms=pause, headers=headers, method=method)
        # bounded: a probe slowed by a busy machine must not ask for a thousand connections
        conns = min(4 * self.a.connections, max(1, round(conns * want / max(probe.rps, 1))))
        r = wrk(url, self.a.duration, conns, body=body_file, ctype=ctype, delay_ms=pause,
                headers=headers, method=method)
        if r.non2xx or r.errors:
            raise RuntimeError(f"{name}: {r.non2xx} non-2xx, {r.errors} socket errors")
        return r, conns, pause

    def latency(self):
        peaks = self.results.get("http")
        d = self.daemon(*self.ldap_args())
        with open(self.cert_pem, "rb") as f:
            pem = f.read()
        get(d, "POST", "/v1/verdict", open(self.verdict_body, "rb").read(), "application/json")
        out = {}
        for name, path, body_file, ctype in (
                ("inspect", "/v1/inspect", self.cert_pem, "application/x-pem-file"),
                ("verdict_warm", "/v1/verdict", self.verdict_body, "application/json"),
                ("verdict_warm_pem", "/v1/verdict", self.cert_pem, "application/x-pem-file")):
            url = f"http://127.0.0.1:{d.port}{path}"
            if peaks and name in peaks:
                peak = med(peaks[name]["strongmapd_rps"])
            else:
                peak = wrk(url, self.a.duration, self.a.connections, body=body_file,
                           ctype=ctype).rps
            want = peak / 2
            r, conns, pause = self.paced(name, url, body_file, ctype, want)
            out[name] = {"peak_rps": round(peak), "target_rps": round(want),
                         "reached_rps": round(r.rps), "connections": conns, "delay_ms": pause,
                         "p50_ms": r.pct.get(50), "p90_ms": r.pct.get(90),
                         "p99_ms": r.pct.get(99), "target_p99_ms": TARGETS["p99_ms"]}
            log(f"{name:16} at {r.rps:8.0f} req/s (half of {peak:.0f}; {conns} connections, "
                f"{pause} ms pause): p50 {r.pct.get(50)} ms  p90 {r.pct.get(90)} ms  "
                f"p99 {r.pct.get(99)} ms (target <= {TARGETS['p99_ms']})")
        self.results["latency"] = out

    def engine(self):
        certs = [self.cert_pem, os.path.join(EXAMPLES, "certs", "alice-sid.pem")]
        secs = str(max(1, self.a.duration // 2))
        cpu = str(max(os.sched_getaffinity(0)))  # one core we may run on (the last)
        have_sss = os.path.exists(self.bin("sss_peer"))
        eng, js, sss, sss3 = [], [], [], []
        for _ in range(self.a.rounds):
            eng.append(run_tool([self.bin("engine_bench"), "--cpu", cpu, "--seconds", secs] +
                                certs, 120)["certs_per_s"])
            js.append(run_tool([self.bin("engine_bench"), "--json", "--cpu", cpu, "--seconds",
                                secs] + certs, 120)["certs_per_s"])
            if not have_sss:
                continue
            sss.append(run_tool([self.bin("sss_peer"), "--cpu", cpu, "--seconds", secs] + certs,
                                120)["certs_per_s"])
            sss3.append(run_tool([self.bin("sss_peer"), "--mode", "expand", "--cpu", cpu,
                                  "--seconds", secs] + certs, 120)["certs_per_s"])
        if not have_sss:
            log("libsss_certmap: not built (no libsss-certmap-dev); the peer is skipped")
            sss = sss3 = [0]
        ratio = med(eng) / med(sss) if med(sss) else 0.0
        self.results["engine"] = {
            "certificates": [os.path.relpath(c, ROOT) if c.startswith(ROOT) else
                             os.path.basename(c) for c in certs],
            "strongmap_per_s": eng, "strongmap_with_json_per_s": js,
            "sss_certmap_filter_per_s": sss, "sss_certmap_expand_per_s": sss3,
            "cpu": int(cpu), "ratio_vs_filter": round(ratio, 1),
            "ratio_vs_expand": round(med(eng) / med(sss3), 1) if med(sss3) else 0.0,
            "target_per_s": TARGETS["engine_per_s"], "target_ratio": TARGETS["engine_vs_sss"]}
        log(f"engine: {med(eng):9.0f} certificates/s on one core (target >= "
            f"{TARGETS['engine_per_s']}); with the /v1/inspect JSON {med(js):9.0f}/s")
        if have_sss:
            log(f"libsss_certmap: {med(sss):9.0f}/s (one search filter with the three strings), "
                f"{med(sss3):9.0f}/s (three expanded rules); ratio {ratio:.0f}x and "
                f"{med(eng) / med(sss3):.0f}x (target >= {TARGETS['engine_vs_sss']}x)")

    def memory(self):
        d = self.daemon("--ldif", os.path.join(EXAMPLES, "demo.ldif"))
        time.sleep(0.5)
        idle = d.rss_kib()
        n = self.a.keepalive
        rl.raise_nofile(n + 256)
        socks = []
        req = b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n"
        try:
            for _ in range(n):
                s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
                s.sendall(req)
                socks.append(s)
            for s in socks:
                buf = b""
                while b"\r\n\r\n" not in buf or not buf.endswith(b"}"):
                    chunk = s.recv(4096)
                    if not chunk:
                        raise RuntimeError("a keep-alive connection was closed")
                    buf += chunk
            time.sleep(0.5)
            held = d.rss_kib()
            still = sum(1 for s in socks if _open(s))
        finally:
            for s in socks:
                s.close()
        self.results["memory"] = {"rss_idle_kib": idle, "rss_keepalive_kib": held,
                                  "keepalive_connections": n, "still_open": still,
                                  "target_idle_mib": TARGETS["rss_idle_mib"],
                                  "target_keepalive_mib": TARGETS["rss_1000_mib"]}
        log(f"RSS idle {idle / 1024:.1f} MiB (target <= {TARGETS['rss_idle_mib']}); with {n} "
            f"keep-alive connections ({still} still open) {held / 1024:.1f} MiB (target <= "
            f"{TARGETS['rss_1000_mib']})")

    def startup(self):
        times = []
        for _ in range(self.a.starts):
            times.append(start_to_ready(self.daemon_bin, self.a.threads))
        times.sort()
        self.results["startup"] = {"runs": len(times), "median_ms": round(med(times), 2),
                                   "max_ms": round(times[-1], 2), "min_ms": round(times[0], 2),
                                   "target_ms": TARGETS["start_ms"]}
        log(f"start to READY=1 (LDIF demo): median {med(times):.1f} ms, min {times[0]:.1f}, max "
            f"{times[-1]:.1f} over {len(times)} starts (target <= {TARGETS['start_ms']})")

    def issuance(self):
        """POST /v1/preissue against POST /v1/verdict (PEM bodies, options in the query string,
        warm cache), rounds interleaved; step-ca's hooks (enrich with the request, authorize
        with the template's fields, as step-ca sends them) p99 at half of each one's peak
        against the verdict's p99 at half of its peak."""
        out_dir = os.path.dirname(self.cert_pem)
        san = subprocess.run(["openssl", "x509", "-in", self.cert_pem, "-noout", "-ext",
                              "subjectAltName"], capture_output=True, text=True, check=True)
        upn = re.search(r"UPN:+([^,\s]+)", san.stdout).group(1)
        account = upn.split("@")[0]
        csr = os.path.join(self.tmp, "bench.csr")
        subprocess.run(["openssl", "req", "-new", "-key", os.path.join(out_dir, "bench.key"),
                        "-subj", "/CN=" + account, "-addext",
                        f"subjectAltName=otherName:1.3.6.1.4.1.311.20.2.3;UTF8:{upn}",
                        "-out", csr], check=True, capture_output=True, timeout=60)
        secret = os.urandom(64)
        hooks = os.path.join(self.tmp, "webhooks")
        with open(hooks, "w", encoding="ascii") as f:
            f.write(f"bench {base64.b64encode(secret).decode()}\n")
        os.chmod(hooks, 0o600)
        with open(csr, "rb") as f:
            csr_pem = f.read()
        hook_body = os.path.join(self.tmp, "hook.json")
        raw = "".join(re.search(rb"-----BEGIN CERTIFICATE REQUEST-----(.*?)-----END",
                                csr_pem, re.S).group(1).decode().split())
        with open(hook_body, "wb") as f:
            f.write(json.dumps({"timestamp": "2026-01-01T00:00:00Z", "x509CertificateRequest": {
                "subject": {"commonName": account}, "raw": raw}}).encode())
        with open(hook_body, "rb") as f:
            body = f.read()
        sig = {"X-Smallstep-Webhook-ID": "bench",
               "X-Smallstep-Signature": hmac.new(secret, body, hashlib.sha256).hexdigest()}
        d = self.daemon(*self.ldap_args(), "--stepca-webhooks", hooks)
        # the authorizing call as step-ca makes it: the rendered template's fields (no DER),
        # the template adding the enrich hook's SID extension
        enriched = json.loads(get(d, "POST", "/v1/hooks/step-ca/enrich", body,
                                  "application/json", sig))
        spki = subprocess.run(["openssl", "x509", "-in", self.cert_pem, "-noout", "-pubkey"],
                              capture_output=True, text=True, check=True).stdout
        auth_body = os.path.join(self.tmp, "hook-authorize.json")
        with open(auth_body, "wb") as f:
            f.write(json.dumps({"timestamp": "2026-01-01T00:00:00Z", "x509Certificate": {
                "subject": {"commonName": account},
                "sans": [{"type": "userPrincipalName", "value": upn}],
                "extensions": [{"id": "1.3.6.1.4.1.311.25.2", "critical": False,
                                "value": enriched["data"]["sidExtension"]}],
                "keyUsage": ["digitalSignature", "keyEncipherment"],
                "extKeyUsage": ["clientAuth"],
                "publicKey": "".join(l for l in spki.splitlines() if not l.startswith("-----")),
                "publicKeyAlgorithm": "RSA",
                "notBefore": "2026-01-01T00:00:00Z", "notAfter": "2027-01-01T00:00:00Z"}}).encode())
        with open(auth_body, "rb") as f:
            abody = f.read()
        asig = {"X-Smallstep-Webhook-ID": "bench",
                "X-Smallstep-Signature": hmac.new(secret, abody, hashlib.sha256).hexdigest()}
        q = "?account=" + account
        with open(self.cert_pem, "rb") as f:
            pem = f.read()
        cases = (("verdict_pem", "/v1/verdict" + q, pem, self.cert_pem, None),
                 ("preissue", "/v1/preissue" + q, csr_pem, csr, None),
                 ("hook_enrich", "/v1/hooks/step-ca/enrich", body, hook_body, sig),
                 ("hook_authorize", "/v1/hooks/step-ca/authorize" + q, abody, auth_body, asig))
        for name, path, b, _, extra in cases:  # warm the cache, and check the answers
            reply = get(d, "POST", path, b, "application/json" if extra else
                        "application/x-pem-file", extra)
            if not any(k in reply for k in (b'"outcome":"allow"', b'"outcome_as_issued":"allow"',
                                            b'"allow":true')):
                raise RuntimeError(f"{name} does not allow: {reply[:300]!r}")
        peaks = {n: [] for n, *_ in cases}
        for _ in range(self.a.rounds):
            for name, path, _, body_file, extra in cases:
                r = wrk(f"http://127.0.0.1:{d.port}{path}", self.a.duration, self.a.connections,
                        body=body_file, ctype="application/json" if extra else
                        "application/x-pem-file", headers=extra)
                if r.non2xx or r.errors:
                    raise RuntimeError(f"{name}: {r.non2xx} non-2xx, {r.errors} socket errors")
                peaks[name].append(r.rps)
        ratio = med(peaks["preissue"]) / med(peaks["verdict_pem"])
        out = {"account": account, "peaks_rps": peaks, "preissue_vs_verdict": round(ratio, 3),
               "target_preissue": TARGETS["preissue"]}
        log(f"preissue {med(peaks['preissue']):8.0f} req/s  verdict (PEM body) "
            f"{med(peaks['verdict_pem']):8.0f} req/s  ratio {ratio:.2f} "
            f"(target >= {TARGETS['preissue']})")
        p99 = {}
        for name, path, _, body_file, extra in (cases[0], cases[2], cases[3]):
            r, conns, pause = self.paced(name, f"http://127.0.0.1:{d.port}{path}", body_file,
                                         "application/json" if extra else
                                         "application/x-pem-file", med(peaks[name]) / 2, extra)
            p99[name] = r.pct.get(99)
            out[name + "_half_peak"] = {"reached_rps": round(r.rps), "connections": conns,
                                        "delay_ms": pause, "p50_ms": r.pct.get(50),
                                        "p99_ms": r.pct.get(99)}
        out["target_hook_p99_vs_verdict"] = TARGETS["hook_p99_vs_verdict"]
        for hook in ("hook_enrich", "hook_authorize"):
            hr = p99[hook] / p99["verdict_pem"] if p99["verdict_pem"] else float("inf")
            out[hook + "_p99_vs_verdict"] = round(hr, 3)
            log(f"at half of each peak: {hook} p99 {p99[hook]} ms, verdict p99 "
                f"{p99['verdict_pem']} ms: ratio {hr:.2f} "
                f"(target <= {TARGETS['hook_p99_vs_verdict']})")
        out["hook_p99_vs_verdict"] = max(out["hook_enrich_p99_vs_verdict"],
                                         out["hook_authorize_p99_vs_verdict"])
        self.results["issuance"] = out

    def page(self):
        """The status page's first paint in Chromium, strongmapd against nginx serving the same
        bytes; the page's size; POST /v1/self/check against POST /v1/verdict (first: it needs
        no browser)."""
        self.results["page"] = {}
        self._page_check()
        node_modules = browser_driver(self.build)
        d = self.daemon("--ldif", os.path.join(EXAMPLES, "demo.ldif"), "--page-rate", "0")
        files = {}
        heads = {"strongmapd": {}, "nginx": {}}  # bytes of each file's status line and headers
        for path in PAGE_FILES:
            status, headers, body, heads["strongmapd"][path] = fetch_raw(d.port, path)
            if status != 200:
                raise RuntimeError(f"GET {path}: HTTP {status}: {body[:300]!r}")
            files[path] = (headers, body)
        port = rl.free_ports(1)[0]
        root = os.path.join(self.tmp, "page")
        os.makedirs(root)
        ng = Nginx(self.tmp, self.a.threads, name="nginx-page",
                   extra=nginx_page_server(port, root, files))
        try:
            for path, (headers, body) in files.items():  # the same bytes, the same headers
                status, got, copy, heads["nginx"][path] = fetch_raw(port, path)
                mine = {k.lower(): v for k, v in got}
                lost = [k for k, v in headers if k.lower() not in ("date", "content-length")
                        and mine.get(k.lower()) != v]
                if status != 200 or copy != body or lost:
                    raise RuntimeError(f"nginx's {path}: HTTP {status}, same body "
                                       f"{copy == body}, headers not as strongmapd's: {lost}")
            self._page_paint(d, port, files, heads, node_modules)
        finally:
            ng.stop()

    def _page_paint(self, d, port, files, heads, node_modules):
        loads = self.a.page_loads or 4 * self.a.duration
        warmup = 1 if self.a.smoke else 3
        servers = [["nginx", f"http://127.0.0.1:{port}"],
                   ["strongmapd", f"http://127.0.0.1:{d.port}"]]
        spec = {"servers": servers, "loads": loads, "warmup": warmup, "rounds": self.a.rounds,
                "files": list(PAGE_FILES)}
        # a load takes about half a second here; ten seconds each is the bound
        spec["budget_s"] = 60 + 10 * len(servers) * (warmup + loads * self.a.rounds)
        got = run_node("page_paint.js", spec, node_modules, spec["budget_s"] + 30)
        sm, ng = got["servers"]["strongmapd"], got["servers"]["nginx"]
        out = self.results["page"]
        out.update(chromium=got["chromium"], loads_per_round=loads, warmup_loads=warmup,
                   target_paint=TARGETS["page_paint"], target_bytes=TARGETS["page_bytes"])
        limit = TARGETS["page_paint"]
        log(f"Chromium {got['chromium']}, a fresh context per load, {loads} loads per round, "
            f"{self.a.rounds} round(s), nginx and strongmapd one load after the other, after "
            f"{warmup} load(s) of each unmeasured")
        for key, what in (("fp", "first-paint"), ("fcp", "first-contentful-paint"),
                          ("fetched", "the three files in (Resource Timing)"),
                          ("served", "asked to had, summed over the files")):
            a = [round(med(r), 2) for r in sm[key]]
            b = [round(med(r), 2) for r in ng[key]]
            ratio = med(a) / med(b) if med(b) else float("inf")
            out[key] = {"strongmapd_ms": sm[key], "nginx_ms": ng[key],
                        "strongmapd_round_medians": a, "nginx_round_medians": b,
                        "ratio": round(ratio, 3)}
            met = "" if key not in ("fp", "fcp") else \
                f" (target <= {limit}: {'met' if ratio <= limit else 'MISSED'})"
            log(f"{what:37} strongmapd {med(a):7.2f} ms  nginx {med(b):7.2f} ms  ratio "
                f"{ratio:.2f}{met}; round medians {a} / {b}")
        # the bytes: the bodies and the headers as each server sent them (Resource Timing's
        # transferSize will not do: Chromium counts 300 bytes for any response's headers)
        for name, s in (("strongmapd", sm), ("nginx", ng)):
            seen = {p: n for p, _, n in s["sizes"]}
            if seen != {p: len(b) for p, (_, b) in files.items()}:
                raise RuntimeError(f"Chromium's bodies from {name}: {seen}, not the files'")
        body = sum(len(b) for _, b in files.values())
        wire = {k: body + sum(v.values()) for k, v in heads.items()}
        out["bytes"] = {"files": {p: {"body": len(files[p][1]),
                                      "headers": heads["strongmapd"][p],
                                      "headers_nginx": heads["nginx"][p]} for p in PAGE_FILES},
                        "bodies": body, "with_headers": wire["strongmapd"],
                        "with_headers_nginx": wire["nginx"]}
        log("page bytes: " + ", ".join(f"{p} {len(files[p][1])}" for p in PAGE_FILES) +
            f": {body} B of HTML, CSS and JS; {wire['strongmapd']} B with strongmapd's headers "
            f"({wire['nginx']} B from nginx) (target <= {TARGETS['page_bytes']}: "
            f"{'met' if wire['strongmapd'] <= TARGETS['page_bytes'] else 'MISSED'})")

    def _page_check(self):
        # the page's limit per client would refuse wrk within a second: off (--page-rate 0)
        d = self.daemon(*self.ldap_args(), "--page-rate", "0")
        with open(self.cert_pem, "rb") as f:
            pem = f.read()
        cases = (("verdict", "/v1/verdict", b'"outcome":"allow"'),
                 ("self_check", "/v1/self/check", b'"state":"will_work"'))
        for _, path, want in cases:  # warms the directory cache and the signature's memo
            reply = get(d, "POST", path, pem, "application/x-pem-file")
            if want not in reply:
                raise RuntimeError(f"POST {path} did not answer {want.decode()}: {reply[:300]!r}")
        rps = {name: [] for name, _, _ in cases}
        for _ in range(self.a.rounds):
            for name, path, _ in cases:
                r = wrk(f"http://127.0.0.1:{d.port}{path}", self.a.duration, self.a.connections,
                        body=self.cert_pem, ctype="application/x-pem-file")
                if r.non2xx or r.errors:
                    raise RuntimeError(f"{path}: {r.non2xx} non-2xx, {r.errors} socket errors")
                rps[name].append(r.rps)
        ratio = med(rps["self_check"]) / med(rps["verdict"])
        self.results["page"]["check"] = {"self_check_rps": rps["self_check"],
                                         "verdict_rps": rps["verdict"], "ratio": round(ratio, 3),
                                         "target": TARGETS["page_check"], "page_rate": 0}
        log(f"POST /v1/self/check {med(rps['self_check']):8.0f} req/s  POST /v1/verdict "
            f"{med(rps['verdict']):8.0f} req/s (PEM body, warm cache, --page-rate 0)  ratio "
            f"{ratio:.2f} (target >= {TARGETS['page_check']}: "
            f"{'met' if ratio >= TARGETS['page_check'] else 'MISSED'})")

    def audit(self):
        """strongmap audit over LDAP against ldapsearch's paged dump of what it reads, both from
        the same slapd, rounds interleaved; at the benchmark directory's size and at
        --audit-large accounts (a directory generated and a slapd started for it)."""
        reads = audit_reads()
        out = {"reads": reads, "page_size": self.a.audit_page,
               "target_ratio": TARGETS["audit"],
               "target_rss": f"{TARGETS['audit_rss_base_mib']} MiB + "
                             f"{TARGETS['audit_rss_per_account']} B per account"}
        self.results["audit"] = out
        sizes = [self.a.accounts] + ([self.a.audit_large] if self.a.audit_large else [])
        for n in sizes:
            if n == self.a.accounts:
                out[str(n)] = self._audit(self.slapd, n, reads, self.dir_summary)
                continue
            where = os.path.join(self.tmp, f"audit-{n}")
            os.makedirs(where)
            t = time.monotonic()
            summary = self.make_directory(n, os.path.join(where, "dir"))
            s = bench_slapd(where, os.path.join(where, "dir", "bench.ldif"), n)
            try:
                s.start_anywhere()
                log(f"directory of {n} accounts: generated and loaded in "
                    f"{time.monotonic() - t:.1f} s ({s.uri})")
                out[str(n)] = self._audit(s, n, reads, summary)
            finally:
                s.kill()
                shutil.rmtree(where, ignore_errors=True)
        if len(sizes) > 1:  # what the audit's memory grows by, per account of the directory
            a, b = out[str(sizes[0])], out[str(sizes[-1])]
            per = (b["audit_rss_kib"] - a["audit_rss_kib"]) * 1024 / (sizes[-1] - sizes[0])
            out["rss_growth_bytes_per_account"] = round(per, 1)
            ok = per <= TARGETS["audit_rss_per_account"]
            log(f"the audit's peak RSS grew by {per:.1f} B per account from {sizes[0]} to "
                f"{sizes[-1]} accounts (target <= {TARGETS['audit_rss_per_account']} B: "
                f"{'met' if ok else 'MISSED'})")

    def _audit(self, s, n, reads, summary):
        page = self.a.audit_page
        env = dict(os.environ, LDAPNOINIT="1")  # neither reads ~/.ldaprc nor ldap.conf
        dump = ["ldapsearch", "-x", "-LLL", "-H", s.uri, "-b", slapd.BASE_DN, "-E",
                f"pr={page}/noprompt", reads["filter"]]
        cmds = {
            "dump": [dump + reads["attrs"]],
            "passes": [dump[:-1] + [reads["first_pass_filter"]] + reads["first_pass_attrs"],
                       dump + reads["attrs"]],
            "audit": [[os.path.join(self.build, "cli", "strongmap"), "audit", "--ldap-uri",
                       s.uri, "--ldap-base", slapd.BASE_DN, "--page-size", str(page),
                       "--progress", "0"]],
        }
        outs = os.path.join(self.tmp, "audit-out")
        os.makedirs(outs, exist_ok=True)

        def run(name):
            """@name's commands one after the other, their output to files: wall seconds (the
            sum), user and system CPU seconds (sums), peak RSS (KiB, the largest), slapd's CPU
            seconds meanwhile."""
            wall = user = system = 0.0
            rss = 0
            cpu0 = proc_cpu_s(s.pid())
            for k, cmd in enumerate(cmds[name]):
                tf = os.path.join(outs, f"{name}.time")
                with open(os.path.join(outs, f"{name}{k}.out"), "wb") as f:
                    t = time.monotonic()
                    r = subprocess.run(["/usr/bin/time", "-f", "%U %S %M", "-o", tf] + cmd,
                                       stdin=subprocess.DEVNULL, stdout=f,
                                       stderr=subprocess.PIPE, env=env, timeout=1800)
                    wall += time.monotonic() - t
                if r.returncode != 0:
                    raise RuntimeError(f"{name}: {os.path.basename(cmd[0])} exited with "
                                       f"{r.returncode}: {r.stderr[-800:]!r}")
                with open(tf, encoding="ascii") as f:
                    u, sy, m = f.read().split()[-3:]
                user, system, rss = user + float(u), system + float(sy), max(rss, int(m))
            return wall, user, system, rss, proc_cpu_s(s.pid()) - cpu0

        # once each, unmeasured (slapd's pages in memory), and the outputs compared: the dump
        # and the audit give the same accounts
        for name in cmds:
            run(name)
        # (the first pass reads the accounts holding values alone: fewer)
        entries = [count_entries(os.path.join(outs, "dump0.out")),
                   count_entries(os.path.join(outs, "passes1.out"))]
        with open(os.path.join(outs, "audit0.out"), "rb") as f:
            lines = f.read().splitlines()
        last = json.loads(lines[-1])
        if not last.get("summary") or last["partial"] or last["errors"]:
            raise RuntimeError(f"the audit's last line: {lines[-1][:400]!r}")
        if len(set(entries)) != 1 or entries[0] != last["accounts"] or \
                len(lines) - 1 != last["accounts"]:
            raise RuntimeError(f"ldapsearch gave {entries} entries, the audit "
                               f"{last['accounts']} accounts in {len(lines) - 1} lines")
        dump_bytes = os.path.getsize(os.path.join(outs, "dump0.out"))
        audit_bytes = os.path.getsize(os.path.join(outs, "audit0.out"))
        runs = {name: [] for name in cmds}
        for _ in range(self.a.rounds):
            for name in cmds:
                runs[name].append(run(name))
        wall = {name: [round(r[0], 3) for r in rs] for name, rs in runs.items()}
        ratio = med(wall["dump"]) / med(wall["audit"])
        ratio2 = med(wall["passes"]) / med(wall["audit"])
        rss = {name: max(r[3] for r in rs) for name, rs in runs.items()}
        limit_kib = TARGETS["audit_rss_base_mib"] * 1024 + \
            TARGETS["audit_rss_per_account"] * n / 1024
        res = {
            "accounts": n, "directory": summary,
            "walked": last["accounts"], "summary": last,
            "dump_output_bytes": dump_bytes, "audit_output_bytes": audit_bytes,
            "wall_s": wall,
            "cpu_s": {name: [round(r[1] + r[2], 3) for r in rs] for name, rs in runs.items()},
            "slapd_cpu_s": {name: [round(r[4], 3) for r in rs] for name, rs in runs.items()},
            "ratio": round(ratio, 3), "ratio_vs_two_dumps": round(ratio2, 3),
            "audit_rss_kib": rss["audit"], "ldapsearch_rss_kib": max(rss["dump"],
                                                                     rss["passes"]),
            "rss_limit_kib": round(limit_kib), "target_ratio": TARGETS["audit"],
            "ratio_met": ratio >= TARGETS["audit"], "rss_met": rss["audit"] <= limit_kib,
        }
        log(f"{n} accounts: {last['accounts']} walked ({last['certificates']} certificates, "
            f"{last['values']} values; {last['ready']} ready, {last['at_risk']} at risk, "
            f"{last['blocked']} blocked), page size {page}, {self.a.rounds} round(s)")
        log(f"  ldapsearch paged dump {med(wall['dump']):7.3f} s  (rounds {wall['dump']}; "
            f"{dump_bytes} B of LDIF)")
        log(f"  the two passes' dumps {med(wall['passes']):7.3f} s  (rounds {wall['passes']})")
        log(f"  strongmap audit       {med(wall['audit']):7.3f} s  (rounds {wall['audit']}; "
            f"{audit_bytes} B of JSON lines)")
        log(f"  ratio {ratio:.2f} (target >= {TARGETS['audit']}: "
            f"{'met' if ratio >= TARGETS['audit'] else 'MISSED'}); against both passes' dumps "
            f"{ratio2:.2f}")
        log(f"  CPU s (user+system): audit {med(res['cpu_s']['audit'])}, ldapsearch "
            f"{med(res['cpu_s']['dump'])}; slapd meanwhile: {med(res['slapd_cpu_s']['audit'])} "
            f"and {med(res['slapd_cpu_s']['dump'])}")
        log(f"  peak RSS: audit {rss['audit'] / 1024:.1f} MiB (target <= "
            f"{limit_kib / 1024:.1f} MiB: {'met' if rss['audit'] <= limit_kib else 'MISSED'}), "
            f"ldapsearch {res['ldapsearch_rss_kib'] / 1024:.1f} MiB")
        return res

    def run(self):
        try:
            self.setup()
            self.part("http", self.http)
            self.part("directory", self.directory)
            self.part("wan", self.wan)
            self.part("authz", self.authz)
            self.part("latency", self.latency)
            self.part("engine", self.engine)
            self.part("memory", self.memory)
            self.part("startup", self.startup)
            self.part("issuance", self.issuance)
            self.part("audit", self.audit)
            self.part("page", self.page)
        finally:
            for d in self.procs:
                d.kill()
            if self.nginx:
                self.nginx.stop()
            if self.slapd:
                self.slapd.kill()
            shutil.rmtree(self.tmp, ignore_errors=True)
        if self.a.json:
            with open(self.a.json, "w", encoding="utf-8") as f:
                json.dump(self.results, f, indent=1)
                f.write("\n")
        if self.failed:
            log("\nparts that failed: " + ", ".join(self.failed))
            return 1
        return 0


def _open(s):
    try:
        s.setblocking(False)
        return s.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


def start_to_ready(binary, threads):
    """Milliseconds from exec to the daemon's READY=1 on a NOTIFY_SOCKET of ours. A port taken
    between choosing and binding it makes the daemon exit: then again on another port."""
    for _ in range(3):
        ms = _start_once(binary, threads)
        if ms is not None:
            return ms
    raise RuntimeError("strongmapd exited before READY=1 three times")


def _start_once(binary, threads):
    path = os.path.join(tempfile.mkdtemp(prefix="sm-notify."), "notify")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(0.1)
    port = rl.free_ports(1)[0]
    env = dict(os.environ, NOTIFY_SOCKET=path)
    cmd = [binary, "-c", "/dev/null", "--allow-root", "--listen", f"127.0.0.1:{port}",
           "--threads", str(threads), "--log-level", "warning", "--ldif",
           os.path.join(EXAMPLES, "demo.ldif")]
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        while time.monotonic() - t0 < 20:
            try:
                msg = s.recv(4096).decode("ascii", "replace")
            except socket.timeout:
                if p.poll() is not None:
                    return None
                continue
            if "READY=1" in msg.split("\n"):
                return (time.monotonic() - t0) * 1000
        raise RuntimeError("no READY=1 within 20 s")
    finally:
        rl.stop_process(p)
        s.close()
        shutil.rmtree(os.path.dirname(path), ignore_errors=True)


def machine():
    info = {"cpus": os.cpu_count()}
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            m = re.search(r"model name\s*:\s*(.*)", f.read())
            info["cpu"] = m.group(1).strip() if m else "?"
    except OSError:
        pass
    for tool, cmd in (("wrk", ["wrk", "--version"]), ("nginx", ["nginx", "-v"])):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            info[tool] = (r.stdout + r.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            info[tool] = "?"
    info["date"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    return info


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build", required=True, help="CMake build directory")
    p.add_argument("--smoke", action="store_true", help="a second per part (CI)")
    p.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds per comparison")
    p.add_argument("--connections", type=int, default=64, help="wrk connections")
    p.add_argument("--threads", type=int, default=2, help="daemon threads and nginx workers")
    p.add_argument("--accounts", type=int, default=10000)
    p.add_argument("--keepalive", type=int, default=1000)
    p.add_argument("--starts", type=int, default=20)
    p.add_argument("--only", type=lambda s: s.split(","), help="parts to run")
    p.add_argument("--page-loads", type=int, default=0,
                   help="page loads per server and round (default: 4 per second of --duration)")
    p.add_argument("--audit-large", type=int, default=100000, metavar="N",
                   help="the audit part again with a directory of N accounts (0: not)")
    p.add_argument("--audit-page", type=int, default=500, metavar="N",
                   help="the page size of the audit and of ldapsearch (default 500)")
    p.add_argument("--json", help="write the results here")
    a = p.parse_args()
    if a.smoke:
        a.duration, a.rounds, a.keepalive, a.starts = 1, 1, 50, 2
        a.accounts = min(a.accounts, 200)
        a.audit_large = min(a.audit_large, 2 * a.accounts)
    rl.raise_nofile(8192)
    return Bench(a).run()


if __name__ == "__main__":
    sys.exit(main())
