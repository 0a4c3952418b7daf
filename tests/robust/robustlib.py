"""tests/robust/robustlib.py - what the robust tier's tests share (python3 stdlib only).

- Results: named checks, numbers, and the final "N passed, M failed" line (exit 1 on a failure).
- guard(): SIGTERM/SIGINT/SIGHUP and an overall time budget (SIGALRM) become exceptions, so the
  tests' finally blocks stop every process they started whichever way they end; children also
  get SIGKILL from the kernel when the test process dies (setpriv --pdeathsig), in case it is
  killed outright (ctest's TIMEOUT).
- Daemon: one strongmapd on 127.0.0.1, port 0 (it logs the port it got), stderr read by a
  thread that keeps the last lines and counts error lines; RSS from /proc.
- http() / raw(): one request on a fresh connection, timed.
- problem_errors(): what is wrong with a response that should be RFC 9457 problem+json
  (validated against openapi/strongmapd.yaml's Problem schema by tests/lib/openapi.py when
  python3-yaml and python3-jsonschema are installed, as scripts/deps.sh does).
- Slapd, StalledPeer (tests/lib/slapd.py, the tests' one slapd harness): a real slapd on
  loopback holding examples/demo.ldif, killed and restarted on the same port; a listener that
  accepts TCP connections and never answers. spawn(), stop_process(), free_ports():
  tests/lib/procs.py.

SM_ROBUST_DAEMON_ARGS (whitespace-separated) is appended to every strongmapd command line, e.g.
to lift a limit whose default changed.
"""

import base64
import collections
import http.client as httpclient
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
from procs import free_ports, spawn, stop_process  # noqa: E402,F401 (the tests use R.spawn ...)
from slapd import BASE_DN, Slapd, StalledPeer  # noqa: E402,F401 (one slapd harness for all)

OPENAPI = os.path.join(ROOT, "openapi", "strongmapd.yaml")
EXAMPLES = os.path.join(ROOT, "examples")
CERTS = os.path.join(EXAMPLES, "certs")

PROBLEM_TYPE = re.compile(r"^/problems/[a-z][a-z-]*$")
START_TIMEOUT = 20.0  # seconds for the daemon's "listening on" line (sanitizer builds are slow)
STOP_TIMEOUT = 15.0  # SIGTERM drains for at most 10 s (strongmapd --help)


# ---- results ---------------------------------------------------------------------------------


class Results:
    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0
        self.failures = []
        self.lock = threading.Lock()

    def check(self, what, ok, detail=""):
        with self.lock:
            if ok:
                self.passed += 1
                print(f"ok   {what}", flush=True)
            else:
                self.failed += 1
                self.failures.append(what)
                print(f"FAIL {what}" + (f": {detail}" if detail else ""), flush=True)
        return ok

    def number(self, what, value, unit=""):
        print(f"     {what} = {value}{(' ' + unit) if unit else ''}", flush=True)

    def note(self, text):
        print(f"     {text}", flush=True)

    def error(self, what, exc):
        """An exception ended a part of the test: a failure."""
        self.check(what, False, f"{type(exc).__name__}: {exc}")

    def finish(self):
        if self.failures:
            print("failed: " + "; ".join(self.failures), flush=True)
        print(f"{self.passed} passed, {self.failed} failed", flush=True)
        return 1 if self.failed or self.passed == 0 else 0


class Interrupted(BaseException):
    """A signal or the time budget ended the test (BaseException: no 'except Exception' eats
    it)."""


def guard(budget_s):
    """Turn SIGTERM/SIGINT/SIGHUP and, after @budget_s seconds, SIGALRM into Interrupted."""

    def handler(signum, frame):
        raise Interrupted(f"signal {signal.Signals(signum).name}")

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGALRM):
        signal.signal(sig, handler)
    signal.alarm(int(budget_s))


def raise_nofile(want=8192):
    """Raise the soft open-files limit (the tests hold hundreds of sockets)."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        new = min(max(soft, want), hard) if hard != resource.RLIM_INFINITY else max(soft, want)
        if new > soft:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        return resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, ValueError, OSError):
        return None


# ---- processes -------------------------------------------------------------------------------

_HELP = {}


def daemon_help(binary):
    """strongmapd --help (cached): which flags this build has."""
    if binary not in _HELP:
        r = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=30)
        _HELP[binary] = r.stdout + r.stderr
    return _HELP[binary]


def has_flag(binary, flag):
    return re.search(r"(^|[\s,])" + re.escape(flag) + r"\b", daemon_help(binary), re.M) is not None


class Daemon:
    """One strongmapd on 127.0.0.1 with a port of its choice. A build that reads a
    configuration file gets -c /dev/null: built-in defaults, whatever /etc holds."""

    LISTEN_RE = re.compile(r"listening on ([0-9.]+):(\d+)")

    def __init__(self, binary, args=(), threads=2, keep_lines=400, quiet=False):
        """@quiet: the daemon will not log its "listening on" line (log level warning): this
        picks a free port and waits for /healthz instead (another free port if it was taken
        meanwhile)."""
        self.lines = collections.deque(maxlen=keep_lines)
        self.counts = collections.Counter()  # priority prefix -> lines; "5xx" -> access lines
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.host = "127.0.0.1"
        self.port = None
        env = dict(os.environ)
        env.pop("NOTIFY_SOCKET", None)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        extra = os.environ.get("SM_ROBUST_DAEMON_ARGS", "").split()
        conf = ["-c", "/dev/null"] if has_flag(binary, "--config") else []
        for attempt in range(3 if quiet else 1):
            port = free_ports(1)[0] if quiet else 0
            self.cmd = [binary] + conf + ["--allow-root", "--listen", f"127.0.0.1:{port}",
                                          "--threads", str(threads)] + list(args) + extra
            self.proc = spawn(self.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, env=env)
            self.pid = self.proc.pid
            self.reader = threading.Thread(target=self._read, daemon=True)
            self.reader.start()
            if quiet:
                self.port = port
                if self._wait_healthz():
                    return
            elif self.ready.wait(START_TIMEOUT) and self.port is not None:
                return
            self.kill()
        raise RuntimeError("strongmapd did not start: " + " ".join(self.cmd) + "\n" + self.log())

    def _wait_healthz(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                if http(self, "GET", "/healthz", timeout=2).status == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def _read(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self.lock:
                self.lines.append(line)
                if line[:3] in ("<0>", "<1>", "<2>", "<3>", "<4>"):
                    self.counts[line[:3]] += 1
                if " status=5" in line:
                    self.counts["5xx"] += 1
            if self.port is None:
                m = self.LISTEN_RE.search(line)
                if m:
                    self.port = int(m.group(2))
                    self.ready.set()
        self.ready.set()

    def log(self, last=60):
        with self.lock:
            return "\n".join(list(self.lines)[-last:])

    def alive(self):
        return self.proc.poll() is None

    def rss_kib(self):
        with open(f"/proc/{self.pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def stop(self):
        """SIGTERM; returns the exit status (None when it had to be killed)."""
        if self.proc.poll() is not None:
            rc = self.proc.returncode
        else:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                rc = None
        self.reader.join(5)
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.reader.join(5)


# ---- HTTP ------------------------------------------------------------------------------------


class Resp:
    def __init__(self, status, headers, body, elapsed):
        self.status = status
        self.headers = headers  # lower-case name -> value
        self.body = body
        self.elapsed = elapsed

    def json(self):
        return json.loads(self.body)

    def ctype(self):
        return self.headers.get("content-type", "")

    def __repr__(self):
        return f"<{self.status} {self.ctype()} {self.body[:160]!r} {self.elapsed:.3f}s>"


def http(d, method, path, body=None, headers=None, timeout=30.0):
    """One request on a fresh connection to daemon @d (or a (host, port) pair)."""
    host, port = (d.host, d.port) if hasattr(d, "port") else d
    t0 = time.monotonic()
    conn = httpclient.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, data,
                    time.monotonic() - t0)
    finally:
        conn.close()


def raw(d, data, timeout=10.0, until_close=True, nodelay=False):
    """Send the bytes @data on a new socket and read until the server closes (or, without
    @until_close, until a full response head and its Content-Length body are in). Returns
    (status or None, response bytes, how it ended: "close", "reset", "timeout", "response")."""
    s = socket.create_connection((d.host, d.port), timeout=timeout)
    if nodelay:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    out = b""
    end = "close"
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                end = "reset"
                break
            except socket.timeout:
                end = "timeout"
                break
            if not chunk:
                break
            out += chunk
            if not until_close and response_complete(out):
                end = "response"
                break
    finally:
        s.close()
    return parse_status(out), out, end


def parse_status(out):
    m = re.match(rb"HTTP/1\.[01] (\d{3}) ", out)
    return int(m.group(1)) if m else None


def response_complete(out):
    head, sep, body = out.partition(b"\r\n\r\n")
    if not sep:
        return False
    m = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.I)
    return m is not None and len(body) >= int(m.group(1))


def split_raw(out):
    """(headers with lower-case names, body) of the first response in @out."""
    head, _, body = out.partition(b"\r\n\r\n")
    headers = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = headers.get("content-length")
    if n is not None and n.isdigit():
        body = body[:int(n)]
    return headers, body


# ---- OpenAPI ---------------------------------------------------------------------------------


def load_spec():
    """tests/lib/openapi.py's Spec, or None when python3-yaml or python3-jsonschema is missing."""
    try:
        from openapi import Spec
    except ImportError:
        return None
    return Spec(OPENAPI)


SPEC = load_spec()


def problem_errors(status, headers, body, want_status=None, want_code=None, path=None,
                   method=None):
    """What is wrong with a response that must be a 4xx problem+json ([] when nothing).
    @want_code: a problem code, or a tuple of acceptable ones."""
    errs = []
    if status is None:
        return ["no HTTP response"]
    if want_status is not None and status != want_status:
        errs.append(f"status {status}, expected {want_status}")
    if not 400 <= status <= 499:
        errs.append(f"status {status} is not 4xx")
    ctype = headers.get("content-type", "")
    if ctype != "application/problem+json":
        errs.append(f"Content-Type {ctype!r}")
        return errs
    if not headers.get("x-request-id"):
        errs.append("no X-Request-Id")
    try:
        doc = json.loads(body)
    except ValueError as e:
        return errs + [f"body is not JSON: {e}"]
    if not isinstance(doc, dict):
        return errs + ["body is not an object"]
    if not PROBLEM_TYPE.match(str(doc.get("type", ""))):
        errs.append(f"type {doc.get('type')!r}")
    if doc.get("status") != status:
        errs.append(f"status member {doc.get('status')!r} != {status}")
    codes = (want_code,) if isinstance(want_code, str) else want_code
    if codes is not None and doc.get("type") not in ["/problems/" + c for c in codes]:
        errs.append(f"type {doc.get('type')!r}, expected /problems/{' or '.join(codes)}")
    if SPEC is not None:
        e = SPEC.problem_error(doc)
        if e:
            errs.append("Problem schema: " + e)
        if path is not None and method is not None and SPEC.documented(path, method,
                                                                        status) is False:
            errs.append(f"{method} {path} -> {status} is not in openapi/strongmapd.yaml")
    return errs


# ---- certificates ------------------------------------------------------------------------------


def read_pem(name):
    with open(os.path.join(CERTS, name), "rb") as f:
        return f.read()


def pem_to_der(pem):
    m = re.search(rb"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", pem, re.S)
    return base64.b64decode(b"".join(m.group(1).split()))


def der_to_pem(der):
    b64 = base64.b64encode(der)
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return b"-----BEGIN CERTIFICATE-----\n" + b"\n".join(lines) + b"\n-----END CERTIFICATE-----\n"


def percentile(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    k = min(len(v) - 1, max(0, int(round(p / 100.0 * (len(v) - 1)))))
    return v[k]


# ---- files, the command line ----------------------------------------------------------------


def make_tmpdir(prefix):
    return tempfile.mkdtemp(prefix=prefix, dir=os.environ.get("TMPDIR"))


def rmtree(path):
    if path:
        shutil.rmtree(path, ignore_errors=True)


def args_common(parser):
    parser.add_argument("--daemon", required=True, help="the strongmapd binary")
    return parser


def main_wrapper(results, budget_s, body):
    """Run @body(results) under guard(); always print the summary; return the exit status."""
    guard(budget_s)
    try:
        body(results)
    except Interrupted as e:
        results.check("test finished within its budget and was not interrupted", False, str(e))
    except Exception as e:  # a bug in the test or an unexpected daemon behaviour
        import traceback

        traceback.print_exc()
        results.error("test ran to the end", e)
    finally:
        signal.alarm(0)
    return results.finish()
