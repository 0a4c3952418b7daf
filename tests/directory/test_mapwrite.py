#!/usr/bin/env python3
"""Mapping write-back (docs/write-back.md) against a real slapd: `strongmap map add|remove` and
strongmapd's POST/DELETE /v1/accounts/{name}/mappings.

slapd (tests/lib/slapd.py) serves examples/demo.ldif over ldaps:// with two service accounts:
svc-reader (reads everything, writes nothing) and svc-mapper, which may write
altSecurityIdentities and nothing else, as an Active Directory delegation of "Write
altSecurityIdentities" would. Every change is checked with ldapsearch, the verdict with
`strongmap verdict`, and every audit log line is read back. The daemon's answers are checked
against openapi/strongmapd.yaml with tests/api/test_api.py's harness. A second slapd, written
to anonymously through a proxy that breaks the first modify (CutProxy), fails a write in
mid-operation: the request lost, or the server's answer lost after it applied the change. A
proxy that holds one connection (HoldProxy) keeps a dry run in flight while a write is answered,
a write in flight across a reload while the same write, sent under the new configuration,
waits for it, and a write in flight while the writes sent behind it are refused (one waits, for
a bounded time) and a verdict is answered. The audit log's file lock, held by the test
(fcntl.flock), makes the CLI and the daemon wait, or refuse once held too long.

    test_mapwrite.py --cli build/cli/strongmap --daemon build/daemon/strongmapd \\
        --data tests/data [unittest options]
"""

import argparse
import fcntl
import hashlib
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.path.insert(0, os.path.join(ROOT, "tests", "api"))

import slapd as slapd_mod  # noqa: E402
import test_api as ta  # noqa: E402  (the daemon harness and the OpenAPI checks)

BASE = "dc=example,dc=com"
READER = f"cn=svc-reader,cn=Users,{BASE}"
MAPPER = f"cn=svc-mapper,cn=Users,{BASE}"
READER_PW = "Reader-Horse-7"
MAPPER_PW = "Mapper-Horse-7"
ALICE = f"cn=alice,cn=Users,{BASE}"
BOB = f"cn=bob,cn=Users,{BASE}"
CAROL = f"cn=carol,cn=Users,{BASE}"
GINA = f"cn=gina,cn=Users,{BASE}"
KATE = f"cn=kate,cn=Users,{BASE}"
IVAN = f"cn=ivan,cn=Users,{BASE}"
ADMIN_SECRET = "SECRET-MARKER-admin-mapwrite-0123"
CHECK_SECRET = "SECRET-MARKER-check-mapwrite-0123"
WRITE_SECRET = "SECRET-MARKER-write-mapwrite-0123"


def token_line(name, secret, scopes):
    return f"{name}:{hashlib.sha256(secret.encode()).hexdigest()}:{scopes}"

SERVICE_ACCOUNTS = f"""
dn: {READER}
objectClass: person
cn: svc-reader
sn: reader
userPassword: {READER_PW}

dn: {MAPPER}
objectClass: person
cn: svc-mapper
sn: mapper
userPassword: {MAPPER_PW}
"""

ACCESS = [
    f'access to attrs=altSecurityIdentities by dn.exact="{MAPPER}" write by * read',
    "access to attrs=userPassword by anonymous auth by * none",
    "access to * by * read",
]

ARGS = None
S = None  # the slapd
TMP = None


def cert(name):
    return os.path.join(ARGS.data, "certs", name)


def setUpModule():
    global S, TMP
    ta.SPEC = ta.Spec()
    TMP = tempfile.TemporaryDirectory(prefix="sm-mapwrite-")
    text = slapd_mod.demo_ldif_for_slapd() + SERVICE_ACCOUNTS
    S = slapd_mod.Slapd(TMP.name, tls=True, ldif_text=text, access=ACCESS)
    S.start_anywhere()
    for name, pw in (("reader.pw", READER_PW), ("mapper.pw", MAPPER_PW)):
        path = os.path.join(TMP.name, name)
        with open(path, "w", encoding="ascii") as f:
            f.write(pw + "\n")
        os.chmod(path, 0o600)


def tearDownModule():
    if S is not None:
        S.kill()
    if TMP is not None:
        TMP.cleanup()


def pwfile(name):
    return os.path.join(TMP.name, name)


def dir_flags(reader=True):
    flags = ["--ldap-uri", S.tls_uri, "--ldap-base", BASE, "--ldap-ca-file", S.ca]
    if reader:
        flags += ["--ldap-bind-dn", READER, "--ldap-password-file", pwfile("reader.pw")]
    return flags


def values(dn):
    """altSecurityIdentities of @dn as slapd holds them (ldapsearch, sorted)."""
    env = dict(os.environ, LDAPNOINIT="1")  # anonymous, over ldap:// (slapd's ACL: * read)
    r = subprocess.run(["ldapsearch", "-LLL", "-o", "ldif-wrap=no", "-x", "-H", S.uri,
                        "-b", dn, "-s", "base", "altSecurityIdentities"],
                       capture_output=True, text=True, timeout=30, env=env, check=True)
    out = []
    for line in r.stdout.splitlines():
        if line.startswith("altSecurityIdentities:: "):
            import base64
            out.append(base64.b64decode(line.split(":: ", 1)[1]).decode())
        elif line.startswith("altSecurityIdentities: "):
            out.append(line.split(": ", 1)[1])
    return sorted(out)


def audit_lines(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


class Cli(unittest.TestCase):
    """strongmap map add|remove."""

    def setUp(self):
        self.log = os.path.join(TMP.name, f"audit-{self.id().rsplit('.', 1)[1]}.jsonl")

    def map(self, *args, apply=False, writer="mapper", log=None):
        cmd = [ARGS.cli, "map"] + list(args) + dir_flags()
        if apply:
            cmd += ["--apply", "--audit-log", log or self.log]
            if writer == "mapper":
                cmd += ["--write-bind-dn", MAPPER, "--write-password-file", pwfile("mapper.pw")]
            elif writer == "reader":
                cmd += ["--write-bind-dn", READER, "--write-password-file", pwfile("reader.pw")]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        doc = json.loads(r.stdout) if r.stdout.strip() else None
        return r.returncode, doc, r.stderr

    def verdict(self, pem, account):
        r = subprocess.run([ARGS.cli, "verdict", pem, "--account", account] + dir_flags(),
                           capture_output=True, text=True, timeout=60)
        self.assertIn(r.returncode, (0, 3), r.stderr)
        return json.loads(r.stdout)

    def test_01_dry_run_changes_nothing_and_apply_turns_the_verdict(self):
        before = values(ALICE)
        self.assertEqual(self.verdict(cert("multivalue_rdn.pem"), "alice")["outcome"], "deny")
        rc, doc, err = self.map("add", "alice", "--cert", cert("multivalue_rdn.pem"))
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["outcome"], "would_add")
        self.assertFalse(doc["apply"])
        self.assertFalse(doc["changed"])
        self.assertTrue(doc["value"].startswith("X509:<I>DC=com,DC=example,CN=Example Issuing CA<SR>"))
        self.assertEqual(values(ALICE), before)
        self.assertEqual(audit_lines(self.log), [])  # a dry run writes no audit line

        rc, doc, err = self.map("add", "alice", "--cert", cert("multivalue_rdn.pem"), apply=True)
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["outcome"], "added")
        self.assertTrue(doc["changed"])
        self.assertEqual(values(ALICE), sorted(before + [doc["value"]]))
        after = self.verdict(cert("multivalue_rdn.pem"), "alice")
        self.assertEqual(after["outcome"], "allow", after["reasons"])
        intent, result = audit_lines(self.log)
        self.assertEqual(intent["phase"], "intent")
        self.assertEqual(result["phase"], "result")
        self.assertEqual(intent["id"], result["id"])
        self.assertEqual(intent["outcome"], "would_add")
        self.assertEqual(result["outcome"], "added")
        for line in (intent, result):
            self.assertEqual(line["account"].lower(), ALICE.lower())
            self.assertEqual(line["value"], doc["value"])
            self.assertEqual(sorted(line["old_values"]), before)
            self.assertEqual(line["actor"]["kind"], "cli")
            self.assertTrue(line["actor"]["name"])
            self.assertRegex(line["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        mode = stat.S_IMODE(os.stat(self.log).st_mode)
        self.assertEqual(mode & 0o027, 0, oct(mode))

        # idempotent: the same add again is a no-op, reported and logged as such
        rc, doc, err = self.map("add", "alice", "--cert", cert("multivalue_rdn.pem"), apply=True)
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["outcome"], "present")
        self.assertFalse(doc["changed"])
        self.assertEqual(values(ALICE), sorted(before + [doc["value"]]))
        lines = audit_lines(self.log)
        self.assertEqual(len(lines), 3)
        self.assertEqual((lines[2]["phase"], lines[2]["outcome"]), ("result", "present"))

        # the value alice now holds cannot go to carol
        rc, doc, err = self.map("add", "carol", "--cert", cert("multivalue_rdn.pem"), apply=True)
        self.assertEqual(rc, 3, err)
        self.assertEqual(doc["outcome"], "refused")
        self.assertEqual(doc["refusal"]["code"], "duplicate")
        self.assertEqual([h.lower() for h in doc["refusal"]["holders"]], [ALICE.lower()])
        self.assertEqual(values(CAROL), [])
        self.assertEqual(audit_lines(self.log)[-1]["refusal"], "duplicate")

    def test_02_foreign_sid(self):
        # sid_ext.pem carries alice's SID: mapped onto bob, it would log on as bob
        # (its X509IssuerSerialNumber value is erin's in the demo directory: a duplicate)
        rc, doc, err = self.map("add", "bob", "--cert", cert("sid_ext.pem"), apply=True)
        self.assertEqual(rc, 3, err)
        self.assertEqual(doc["refusal"]["code"], "duplicate")
        self.assertEqual([h.lower() for h in doc["refusal"]["holders"]],
                         [f"cn=erin,cn=users,{BASE}"])
        rc, doc, err = self.map("add", "bob", "--cert", cert("sid_ext.pem"), "--type", "X509SKI",
                                apply=True)
        self.assertEqual(rc, 3, err)
        self.assertEqual(doc["refusal"]["code"], "foreign_sid")
        self.assertEqual([h.lower() for h in doc["refusal"]["holders"]], [ALICE.lower()])
        self.assertEqual(values(BOB), [])
        rc, doc, err = self.map("add", "bob", "--cert", cert("sid_ext.pem"), "--type", "X509SKI",
                                "--allow-foreign-sid")
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["outcome"], "would_add")
        self.assertTrue(doc["foreign_sid_allowed"])
        self.assertIn("foreign_sid_allowed", [f["code"] for f in doc["findings"]])
        # her own SID: no question
        rc, doc, err = self.map("add", "alice", "--cert", cert("sid_ext.pem"), "--type", "X509SKI")
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["outcome"], "would_add")
        self.assertTrue(doc["value"].startswith("X509:<SKI>"))

    def test_03_add_keeps_and_remove_takes_one_exact_value(self):
        before = values(GINA)
        self.assertEqual(len(before), 2, before)
        # an add is an LDAP "add" of one value: the account's other values stay (no replace)
        rc, doc, err = self.map("add", "gina", "--cert", cert("multivalue_rdn.pem"), "--type",
                                "X509SHA1PublicKey", apply=True)
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["outcome"], "added")
        self.assertEqual(values(GINA), sorted(before + [doc["value"]]))
        before = values(GINA)
        kerberos = [v for v in before if v.startswith("Kerberos:")][0]
        rc, doc, err = self.map("remove", "gina", "--value", kerberos.upper().replace("KERBEROS", "kerberos"))
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["outcome"], "would_remove")
        self.assertEqual(doc["value"], kerberos)  # the stored spelling
        self.assertEqual(values(GINA), before)
        rc, doc, err = self.map("remove", "gina", "--value", kerberos, apply=True)
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["outcome"], "removed")
        self.assertEqual(values(GINA), [v for v in before if v != kerberos])
        rc, doc, err = self.map("remove", "gina", "--value", kerberos, apply=True)
        self.assertEqual(rc, 0, err)
        self.assertEqual(doc["outcome"], "absent")
        self.assertEqual(values(GINA), [v for v in before if v != kerberos])

    def test_04_failed_modify_leaves_no_change(self):
        before = values(CAROL)
        rc, doc, err = self.map("add", "carol", "--cert", cert("sid_uri.pem"), "--allow-foreign-sid",
                                apply=True, writer="reader")
        self.assertEqual(rc, 4, err)
        self.assertIn("directory:", err)
        self.assertEqual(doc["outcome"], "failed")
        self.assertEqual(doc["after_failure"], "unchanged")
        self.assertEqual(values(CAROL), before)
        intent, result = audit_lines(self.log)
        self.assertEqual((intent["phase"], result["phase"]), ("intent", "result"))
        self.assertEqual(result["outcome"], "failed")
        self.assertEqual(result["after_failure"], "unchanged")
        self.assertIn("Insufficient access", result["error"])

    def test_05_server_stopped(self):
        S.kill()
        try:
            rc, doc, err = self.map("add", "carol", "--cert", cert("upn_only.pem"), apply=True)
        finally:
            S.start()
        self.assertEqual(rc, 4, err)
        self.assertIsNone(doc)
        self.assertEqual(audit_lines(self.log), [])  # nothing planned: nothing sent, nothing logged

    def test_06_bad_input(self):
        cases = [
            (2, ["add", "kate"]),  # no --cert
            (2, ["add", "kate", "--cert", cert("upn_only.pem"), "--type", "X509RFC822"]),
            (2, ["add", "kate", "--cert", cert("upn_only.pem"), "--apply"]),  # no audit log
            (2, ["remove", "kate"]),
            (2, ["remove", "kate", "--value", "X509:<SKI>00", "--cert", cert("upn_only.pem")]),
            (2, ["frobnicate", "kate"]),
            (1, ["add", "nobody-here", "--cert", cert("upn_only.pem")]),
            (1, ["add", "kate", "--cert", cert("no_ski.pem"), "--type", "X509SKI"]),
            (1, ["add", "kate", "--cert", "/nonexistent.pem"]),
        ]
        for status, args in cases:
            with self.subTest(args=args):
                rc, _, err = self.map(*args)
                self.assertEqual(rc, status, err)
                self.assertTrue(err.startswith("strongmap: "), err)
                self.assertEqual(err.count("\n"), 1, err)

    def test_08_text(self):
        r = subprocess.run([ARGS.cli, "map", "add", "bob", "--cert", cert("sid_ext.pem"), "--type",
                            "X509SKI", "--text"] + dir_flags(), capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertTrue(r.stdout.startswith("refused (foreign_sid): "), r.stdout)
        self.assertIn(f"\n  {ALICE}\n".lower(), r.stdout.lower())

    def test_07_audit_log_mode(self):
        loose = os.path.join(TMP.name, "loose.jsonl")
        with open(loose, "w", encoding="ascii"):
            pass
        os.chmod(loose, 0o644)
        rc, doc, err = self.map("add", "kate", "--cert", cert("upn_only.pem"), apply=True, log=loose)
        self.assertEqual(rc, 1, err)
        self.assertIn("0644", err)
        self.assertIsNone(doc)
        # a log another user owns: refused, even for root, who could write it (before, only the
        # mode was looked at)
        if os.geteuid() != 0:
            return
        other = os.path.join(TMP.name, "other.jsonl")
        with open(other, "w", encoding="ascii"):
            pass
        os.chmod(other, 0o600)
        os.chown(other, 65534, 65534)
        rc, doc, err = self.map("add", "kate", "--cert", cert("upn_only.pem"), apply=True, log=other)
        self.assertEqual(rc, 1, err)
        self.assertIn("belongs to uid 65534", err)
        self.assertEqual(os.path.getsize(other), 0)


class Api(ta.ApiTestCase):
    """POST and DELETE /v1/accounts/{name}/mappings."""

    SPEC_PATH = "/v1/accounts/{name}/mappings"

    @classmethod
    def setUpClass(cls):
        cls.log = os.path.join(TMP.name, "daemon-audit.jsonl")
        conf = os.path.join(TMP.name, "strongmapd.conf")
        with open(conf, "w", encoding="utf-8") as f:
            f.write(f"""[auth]
token = {token_line("admin1", ADMIN_SECRET, "admin,check")}
token = {token_line("checker", CHECK_SECRET, "check,account")}
token = {token_line("writer1", WRITE_SECRET, "write")}

[directory]
ldap_uri = {S.tls_uri}
ldap_base = {BASE}
ldap_bind_dn = {READER}
ldap_password_file = {pwfile("reader.pw")}
ldap_ca_file = {S.ca}

[write]
bind_dn = {MAPPER}
password_file = {pwfile("mapper.pw")}
audit_log = {cls.log}
""")
        os.chmod(conf, 0o600)
        cls.daemon = ta.Daemon(extra_args=["-c", conf])
        cls.plain = ta.Daemon(extra_args=["--ldif", os.path.join(ROOT, "examples", "demo.ldif")])

    @classmethod
    def tearDownClass(cls):
        for d in (cls.daemon, cls.plain):
            rc, _ = d.stop()
            if rc != 0:
                raise AssertionError(f"daemon exited with {rc}:\n{d.log()}")
            ta.check_log_hygiene(d.log())

    def call(self, method, name, doc=None, token=WRITE_SECRET, body=None, daemon=None, ctype="application/json"):
        if body is None:
            body = json.dumps(doc).encode()
        return self.request(method, f"/v1/accounts/{name}/mappings", body=body,
                            headers={"Content-Type": ctype}, token=token,
                            daemon=daemon or self.daemon, spec_path=self.SPEC_PATH)

    @staticmethod
    def pem(name):
        with open(cert(name), encoding="ascii") as f:
            return f.read()

    def test_scope(self):
        doc = {"certificate": self.pem("multivalue_rdn.pem"), "type": "X509SKI"}
        r = self.call("POST", "kate", doc, token=None)
        self.assertProblem(r, 401, "unauthorized")
        for apply in (False, True):
            with self.subTest(apply=apply):
                r = self.call("POST", "kate", dict(doc, apply=apply), token=CHECK_SECRET)
                self.assertProblem(r, 403, "insufficient-scope")
        # dry runs: admin (scope.account_data covers it) and write
        for token in (ADMIN_SECRET, WRITE_SECRET):
            r = self.call("POST", "kate", doc, token=token)
            self.assertEqual((r.status, r.json()["outcome"]), (200, "would_add"), r.body)
        # writing: write only; admin (metrics, the events explainer) does not imply it
        before, lines = values(KATE), len(audit_lines(self.log))
        for method in ("POST", "DELETE"):
            with self.subTest(method=method):
                r = self.call(method, "kate", dict(doc, apply=True), token=ADMIN_SECRET)
                self.assertProblem(r, 403, "insufficient-scope")
                self.assertIn("scope write", r.json()["detail"])
                self.assertEqual(r.headers["www-authenticate"], 'Bearer realm="strongmapd", '
                                 'error="insufficient_scope", scope="write"')
        self.assertEqual(values(KATE), before)
        self.assertEqual(len(audit_lines(self.log)), lines)  # refused before any line
        r = self.call("POST", "kate", dict(doc, apply=True), token=WRITE_SECRET)
        self.assertEqual((r.status, r.json()["outcome"]), (200, "added"), r.body)
        self.assertEqual(values(KATE), sorted(before + [r.json()["value"]]))
        self.assertEqual(audit_lines(self.log)[-1]["actor"]["name"], "writer1")
        r = self.call("DELETE", "kate", dict(doc, apply=True), token=WRITE_SECRET)
        self.assertEqual((r.status, r.json()["outcome"]), (200, "removed"), r.body)
        self.assertEqual(values(KATE), before)
        # and write grants nothing else
        r = self.request("GET", "/metrics", token=WRITE_SECRET, daemon=self.daemon)
        self.assertProblem(r, 403, "insufficient-scope")
        # the OpenAPI document says the same
        for method in ("post", "delete"):
            self.assertEqual(ta.SPEC.doc["paths"][self.SPEC_PATH][method]["security"],
                             [{"bearerAuth": ["write", "admin"]}, {}])

    def test_admin_alone_does_not_write(self):
        """A configuration from before scope write: [write] with an admin token only. It starts,
        says loudly that nothing can write (at start and with -n), and refuses every apply."""
        log = os.path.join(TMP.name, "admin-only-audit.jsonl")
        args = ["--ldap-uri", S.tls_uri, "--ldap-base", BASE, "--ldap-ca-file", S.ca,
                "--write-bind-dn", MAPPER, "--write-password-file", pwfile("mapper.pw"),
                "--write-audit-log", log, "--token", token_line("ops", ADMIN_SECRET, "admin")]
        r = subprocess.run([ARGS.daemon, "--allow-root", "-n"] + args, capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("no [auth] token has scope write", r.stderr)
        self.assertIn("Scope admin no longer writes mappings (1 token with admin, ops, did before)",
                      r.stderr)
        d = ta.Daemon(extra_args=args)
        try:
            d.wait_log("no [auth] token has scope write")
            line = [x for x in d.log().splitlines() if "no [auth] token has scope write" in x][0]
            self.assertTrue(line.startswith("<4>"), line)  # sd-daemon(3)'s warning priority
            before = values(CAROL)
            r = self.call("POST", "carol", {"certificate": self.pem("multivalue_rdn.pem"),
                                            "type": "X509SKI", "apply": True},
                          token=ADMIN_SECRET, daemon=d)
            self.assertProblem(r, 403, "insufficient-scope")
            self.assertEqual(values(CAROL), before)
            self.assertEqual(audit_lines(log), [])
        finally:
            rc, _ = d.stop()
            self.assertEqual(rc, 0, d.log())
        # with a write token beside it: no warning
        r = subprocess.run([ARGS.daemon, "--allow-root", "-n"] + args +
                           ["--token", token_line("writer", WRITE_SECRET, "write")],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("scope write", r.stderr)

    def test_add_dry_run_apply_idempotent_remove(self):
        before = values(ALICE)
        doc = {"certificate": self.pem("sid_ext.pem"), "type": "X509SHA1PublicKey"}
        r = self.call("POST", "alice", doc)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["outcome"], "would_add")
        self.assertEqual(values(ALICE), before)
        r = self.call("POST", "alice", dict(doc, apply=True))
        self.assertEqual(r.status, 200, r.body)
        added = r.json()
        self.assertEqual(added["outcome"], "added")
        self.assertEqual(values(ALICE), sorted(before + [added["value"]]))
        r = self.call("POST", "alice", dict(doc, apply=True))
        self.assertEqual(r.json()["outcome"], "present")
        lines = audit_lines(self.log)
        mine = [x for x in lines if x["value"] == added["value"]]
        self.assertEqual([(x["phase"], x["outcome"]) for x in mine],
                         [("intent", "would_add"), ("result", "added"), ("result", "present")])
        self.assertEqual(mine[0]["actor"], {"kind": "token", "name": "writer1", "client": "127.0.0.1"})
        r = self.call("DELETE", "alice", {"value": added["value"], "apply": True})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["outcome"], "removed")
        self.assertEqual(values(ALICE), before)
        # applied requests are counted by operation and outcome (dry runs are not)
        text = self.request("GET", "/metrics", token=ADMIN_SECRET, daemon=self.daemon).body.decode()
        for op, outcome in (("add", "added"), ("add", "present"), ("remove", "removed")):
            self.assertRegex(text, r'(?m)^strongmapd_mapping_writes_total\{operation="%s",'
                             r'outcome="%s"\} [1-9]' % (op, outcome))
        self.assertNotIn('outcome="would_add"', text)

    def test_refusals(self):
        r = self.call("POST", "bob", {"certificate": self.pem("sid_ext.pem"), "type": "X509SKI",
                                      "apply": True})
        self.assertProblem(r, 409, "mapping-refused")
        self.assertTrue(r.json()["detail"].startswith("foreign_sid: "), r.json())
        self.assertEqual(values(BOB), [])
        r = self.call("POST", "nobody-here", {"certificate": self.pem("upn_only.pem")})
        self.assertProblem(r, 404, "no-account")

    def test_bad_input(self):
        pem = self.pem("upn_only.pem")
        cases = [
            ("POST", {"apply": True}, 400, "missing-field"),
            ("POST", {"certificate": pem, "type": "X509RFC822"}, 400, "bad-request"),
            ("POST", {"certificate": pem, "apply": "yes"}, 400, "bad-request"),
            ("POST", {"certificate": pem, "value": "X509:<SKI>00"}, 400, "bad-request"),
            ("POST", {"certificate": "not a certificate"}, 400, "bad-certificate"),
            ("DELETE", {"apply": True}, 400, "missing-field"),
            ("DELETE", {"value": "X509:<SKI>00", "certificate": pem}, 400, "missing-field"),
            ("DELETE", {"value": "X509:<SKI>00", "allow_foreign_sid": True}, 400, "bad-request"),
            ("POST", [1, 2], 400, "bad-request"),
        ]
        for method, doc, status, code in cases:
            with self.subTest(doc=doc):
                self.assertProblem(self.call(method, "kate", doc), status, code)
        self.assertProblem(self.call("POST", "kate", body=b"{"), 400, "bad-json")
        self.assertProblem(self.call("POST", "kate", body=b""), 400, "empty-body")
        self.assertProblem(self.call("POST", "kate", body=pem.encode(), ctype="application/x-pem-file"),
                           415, "unsupported-media-type")

    def test_write_refused_by_the_directory(self):
        # a write bind without the right to write: 502, the account unchanged, both lines logged
        log = os.path.join(TMP.name, "refused-audit.jsonl")
        d = ta.Daemon(extra_args=[
            "--ldap-uri", S.tls_uri, "--ldap-base", BASE, "--ldap-ca-file", S.ca,
            "--write-bind-dn", READER, "--write-password-file", pwfile("reader.pw"),
            "--write-audit-log", log, "--token", token_line("writer1", WRITE_SECRET, "write")])
        try:
            before = values(CAROL)
            r = self.call("POST", "carol", {"certificate": self.pem("multivalue_rdn.pem"),
                                            "type": "X509SKI", "apply": True}, daemon=d)
            self.assertProblem(r, 502, "write-failed")
            self.assertIn("the account is unchanged", r.json()["detail"])
            self.assertEqual(values(CAROL), before)
            lines = audit_lines(log)
            self.assertEqual([(x["phase"], x["outcome"]) for x in lines],
                             [("intent", "would_add"), ("result", "failed")])
            self.assertIn("Insufficient access", lines[1]["error"])
        finally:
            rc, _ = d.stop()
            self.assertEqual(rc, 0, d.log())
            ta.check_log_hygiene(d.log())

    def test_verdict_sees_the_write_at_once(self):
        # the daemon caches lookups (60 s by default): a write clears them, so the next verdict
        # on the certificate allows, and after the removal denies again
        pem = self.pem("multivalue_rdn.pem")

        def verdict():
            r = self.request("POST", "/v1/verdict", body=json.dumps(
                {"certificate": pem, "account": "alice"}).encode(),
                headers={"Content-Type": "application/json"}, token=ADMIN_SECRET,
                daemon=self.daemon)
            self.assertEqual(r.status, 200, r.body)
            return r.json()["outcome"]

        doc = {"certificate": pem, "type": "X509SKI", "apply": True}
        self.assertEqual(verdict(), "deny")
        self.assertEqual(self.call("POST", "alice", doc).json()["outcome"], "added")
        self.assertEqual(verdict(), "allow")
        self.assertEqual(self.call("DELETE", "alice", doc).json()["outcome"], "removed")
        self.assertEqual(verdict(), "deny")

    def test_audit_log_rotated(self):
        # the audit log is reopened at each reload: rename it, SIGHUP, the next write goes to a
        # new file (created 0640 or tighter)
        log = os.path.join(TMP.name, "rotated-audit.jsonl")
        d = ta.Daemon(extra_args=[
            "--ldap-uri", S.tls_uri, "--ldap-base", BASE, "--ldap-ca-file", S.ca,
            "--write-bind-dn", MAPPER, "--write-password-file", pwfile("mapper.pw"),
            "--write-audit-log", log, "--token", token_line("writer1", WRITE_SECRET, "write")])
        doc = {"certificate": self.pem("multivalue_rdn.pem"), "type": "X509SKI", "apply": True}
        try:
            self.assertEqual(self.call("POST", "carol", doc, daemon=d).json()["outcome"], "added")
            os.rename(log, log + ".1")
            d.proc.send_signal(signal.SIGHUP)
            d.wait_log("configuration reloaded")
            r = self.call("DELETE", "carol", doc, daemon=d)
            self.assertEqual(r.json()["outcome"], "removed", r.body)
            self.assertEqual([x["outcome"] for x in audit_lines(log + ".1")],
                             ["would_add", "added"])
            self.assertEqual([x["outcome"] for x in audit_lines(log)],
                             ["would_remove", "removed"])
            self.assertEqual(stat.S_IMODE(os.stat(log).st_mode) & 0o027, 0)
        finally:
            rc, _ = d.stop()
            self.assertEqual(rc, 0, d.log())

    def test_other_methods(self):
        r = self.request("GET", "/v1/accounts/alice/mappings", token=ADMIN_SECRET,
                         daemon=self.daemon, spec_path=self.SPEC_PATH)
        self.assertProblem(r, 405, "method-not-allowed")
        self.assertEqual(r.headers["allow"], "POST, DELETE")
        # /v1/accounts/{name} still answers its own path
        r = self.request("GET", "/v1/accounts/alice", token=CHECK_SECRET, daemon=self.daemon,
                         spec_path="/v1/accounts/{name}")
        self.assertEqual(r.status, 200, r.body)

    def test_without_write_bind(self):
        doc = {"certificate": self.pem("multivalue_rdn.pem")}
        r = self.call("POST", "kate", doc, token=None, daemon=self.plain)
        self.assertEqual(r.status, 200, r.body)  # a dry run against the read directory
        self.assertEqual(r.json()["outcome"], "would_add")
        # without tokens nobody may write: refused as with [write] (no WWW-Authenticate, there
        # being no token to ask for)
        r = self.call("POST", "kate", dict(doc, apply=True), token=None, daemon=self.plain)
        self.assertProblem(r, 403, "insufficient-scope")
        self.assertNotIn("www-authenticate", r.headers)

    def test_without_write_bind_scope_first(self):
        """Security review of 2026-12-08, finding 7: the handler answered 503
        write-not-configured before it checked the scope, so a token that may not write learnt
        whether [write] was configured (and the scope's decision on an apply was never reached
        without it). Now only a token with scope write learns it; admin gets 403, as with
        [write]."""
        d = ta.Daemon(extra_args=[
            "--ldif", os.path.join(ROOT, "examples", "demo.ldif"),
            "--token", token_line("admin1", ADMIN_SECRET, "admin,check"),
            "--token", token_line("checker", CHECK_SECRET, "check,account"),
            "--token", token_line("writer1", WRITE_SECRET, "write")])
        doc = {"certificate": self.pem("multivalue_rdn.pem"), "type": "X509SKI"}
        try:
            for method in ("POST", "DELETE"):
                with self.subTest(method=method):
                    # admin passes the route's admission, and the handler refuses it (before:
                    # 503); check is refused by the admission, as before
                    for token, scope in ((ADMIN_SECRET, "write"), (CHECK_SECRET, "admin write")):
                        r = self.call(method, "kate", dict(doc, apply=True), token=token,
                                      daemon=d)
                        self.assertProblem(r, 403, "insufficient-scope")
                        self.assertIn(f'scope="{scope}"', r.headers["www-authenticate"])
                    r = self.call(method, "kate", dict(doc, apply=True), token=WRITE_SECRET,
                                  daemon=d)
                    self.assertProblem(r, 503, "write-not-configured")
                    r = self.call(method, "kate", doc, token=ADMIN_SECRET, daemon=d)
                    self.assertEqual(r.status, 200, r.body)  # dry runs still
        finally:
            rc, _ = d.stop()
            self.assertEqual(rc, 0, d.log())


class HoldProxy:
    """A TCP proxy in front of slapd's ldaps:// port that, once armed, holds the next connection
    it accepts: nothing is forwarded either way (the client waits in its TLS handshake) until
    release(), which connects it to the server and relays both ways from there. Every other
    connection is relayed at once."""

    def __init__(self, port):
        self.target = ("127.0.0.1", port)
        self.lock = threading.Lock()
        self.armed = False
        self.held = threading.Event()  # set when the held connection is accepted
        self.go = threading.Event()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopped = threading.Event()
        self.conns = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def arm(self):
        with self.lock:
            self.armed = True

    def release(self):
        self.go.set()

    def _accept(self):
        while not self.stopped.is_set():
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            with self.lock:
                hold, self.armed = self.armed, False
            threading.Thread(target=self._serve, args=(c, hold), daemon=True).start()

    def _serve(self, c, hold):
        if hold:
            self.held.set()
            self.go.wait()
        try:
            s = socket.create_connection(self.target, timeout=10)
        except OSError:
            c.close()
            return
        s.settimeout(None)
        self.conns += [c, s]
        for a, b in ((c, s), (s, c)):
            threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        finally:
            CutProxy._close(a, b)

    def close(self):
        self.go.set()
        self.stopped.set()
        self.thread.join(5)
        self.sock.close()
        CutProxy._close(*self.conns)


class DryRunHeld(ta.ApiTestCase):
    """A dry run does not hold up a write: the daemon's LDAP traffic crosses a HoldProxy, which
    holds the dry run's connection (the dry run waits in its TLS handshake, in flight, as it
    would on a slow or stalled DC) while a write for the same value is sent and answered; then
    the dry run goes on and reads what the write left. No time is measured: the order of the
    answers is the assertion. Before dry runs became lock-free they held the audit log's lock
    for their whole duration, so the write could not be answered before the dry run was."""

    SPEC_PATH = "/v1/accounts/{name}/mappings"

    def test_write_not_held_up_by_a_dry_run_in_flight(self):
        proxy = HoldProxy(S.tls_port)
        log = os.path.join(TMP.name, "held-audit.jsonl")
        uri = f"ldaps://127.0.0.1:{proxy.port}/"
        # deadlines far longer than the test: the held dry run must still be in flight when
        # the write is answered (the write itself takes milliseconds)
        d = ta.Daemon(extra_args=[
            "--ldap-uri", uri, "--ldap-base", BASE, "--ldap-ca-file", S.ca,
            "--ldap-bind-dn", READER, "--ldap-password-file", pwfile("reader.pw"),
            "--ldap-tls-timeout", "240s", "--ldap-op-timeout", "240s",
            "--write-bind-dn", MAPPER, "--write-password-file", pwfile("mapper.pw"),
            "--write-audit-log", log, "--token", token_line("writer1", WRITE_SECRET, "write")])
        doc = {"certificate": Api.pem("multivalue_rdn.pem"), "type": "X509SKI"}
        dry = {}

        def call(method, body, out):
            try:
                out["r"] = self.request(method, "/v1/accounts/carol/mappings",
                                        body=json.dumps(body).encode(),
                                        headers={"Content-Type": "application/json"},
                                        token=WRITE_SECRET, daemon=d, spec_path=self.SPEC_PATH)
            except Exception as e:  # noqa: BLE001 (a timeout: said by the assertions below)
                out["error"] = e
            return out.get("r")

        try:
            before = values(CAROL)
            proxy.arm()  # the daemon has not connected yet: the dry run's connection is next
            t = threading.Thread(target=call, args=("POST", doc, dry), daemon=True)
            t.start()
            self.assertTrue(proxy.held.wait(60), "the dry run did not reach the directory")
            # the write, while the dry run is held (the client gives up after 30 s)
            w = {}
            call("POST", dict(doc, apply=True), w)
            self.assertIn("r", w, f"the write waited for the dry run held in flight: {w}")
            self.assertEqual((w["r"].status, w["r"].json()["outcome"]), (200, "added"), w["r"].body)
            self.assertEqual(dry, {}, "the dry run was answered before it was released")
            self.assertEqual(values(CAROL), sorted(before + [w["r"].json()["value"]]))
            # released, the dry run reads the directory as it is now: the value is there
            proxy.release()
            t.join(60)
            self.assertIn("r", dry, dry)
            self.assertEqual((dry["r"].status, dry["r"].json()["outcome"]), (200, "present"),
                             dry["r"].body)
            self.assertEqual([x["outcome"] for x in audit_lines(log)], ["would_add", "added"])
            r = call("DELETE", dict(doc, apply=True), {})
            self.assertEqual(r.json()["outcome"], "removed", r.body)
            self.assertEqual(values(CAROL), before)
        finally:
            proxy.close()
            rc, _ = d.stop()
            self.assertEqual(rc, 0, d.log())


class WriteHeldOverReload(ta.ApiTestCase):
    """Writes stay serialised across a reload. A reload (SIGHUP) builds a new runtime, with its
    own write pool and the audit log opened again, while requests begun under the old one go on
    with it. A HoldProxy holds a write (apply) under the first configuration in flight, in its
    TLS handshake, before it has read anything; the daemon reloads a configuration with the same
    [write] bind and audit log; the same write is sent under the new runtime and seen in progress
    (GET /metrics); then the first is released. The second must not be answered before the
    first, must answer present, the value must have been added once, and the audit log must hold
    the first write's intent and result, whole lines, before the second's result, with another
    id. The assertions are on the order of the answers and of the lines; the one wait (3 s, for
    an unserialised second write to finish and be caught) decides nothing when writes are
    serialised. Four job threads: on a server with fewer than three, no write waits for another
    (503 write-busy at once, StuckWriteHoldsTwoThreads), and a write waits 10 s at most. The
    lock that serialised writes was the audit log's, one per runtime: the second write passed it
    at once and added the value while the first was held; the first, released,
    answered present after it, and both lines had the same id (its counter was the log's)."""

    SPEC_PATH = "/v1/accounts/{name}/mappings"

    def test_write_under_a_new_runtime_waits_for_one_under_the_old(self):
        proxy = HoldProxy(S.tls_port)
        log = os.path.join(TMP.name, "reload-audit.jsonl")
        conf = os.path.join(TMP.name, "reload.conf")

        def configure(tokens):
            # deadlines far longer than the test: the held write must still be in flight when
            # the second is sent (each takes milliseconds)
            with open(conf, "w", encoding="utf-8") as f:
                f.write("[auth]\n" + "".join(f"token = {t}\n" for t in tokens) + f"""
[directory]
ldap_uri = ldaps://127.0.0.1:{proxy.port}/
ldap_base = {BASE}
ldap_bind_dn = {READER}
ldap_password_file = {pwfile("reader.pw")}
ldap_ca_file = {S.ca}
tls_timeout = 240s
op_timeout = 240s

[write]
bind_dn = {MAPPER}
password_file = {pwfile("mapper.pw")}
audit_log = {log}
""")
            os.chmod(conf, 0o600)

        tokens = [token_line("writer1", WRITE_SECRET, "write"),
                  token_line("admin1", ADMIN_SECRET, "admin")]
        configure(tokens)
        d = ta.Daemon(extra_args=["-c", conf], threads=4)
        doc = {"certificate": Api.pem("multivalue_rdn.pem"), "type": "X509SKI", "apply": True}
        first, second = {}, {}

        def call(method, body, out):
            try:
                out["r"] = self.request(method, "/v1/accounts/carol/mappings",
                                        body=json.dumps(body).encode(),
                                        headers={"Content-Type": "application/json"},
                                        token=WRITE_SECRET, daemon=d, spec_path=self.SPEC_PATH)
            except Exception as e:  # noqa: BLE001 (said by the assertions below)
                out["error"] = e
            return out.get("r")

        def in_progress():
            r = self.request("GET", "/metrics", token=ADMIN_SECRET, daemon=d)
            m = re.search(r"(?m)^strongmapd_http_requests_in_progress (\d+)$", r.body.decode())
            return int(m.group(1))

        before = values(CAROL)
        try:
            proxy.arm()  # the write pool has not connected yet: the first write's connection
            t1 = threading.Thread(target=call, args=("POST", doc, first), daemon=True)
            t1.start()
            self.assertTrue(proxy.held.wait(60), "the first write did not reach the directory")
            # a new configuration, the same [write] bind and audit log: a new runtime
            configure(tokens + [token_line("checker", CHECK_SECRET, "check")])
            d.proc.send_signal(signal.SIGHUP)
            d.wait_log("configuration reloaded: 3 tokens", timeout=60)
            t2 = threading.Thread(target=call, args=("POST", doc, second), daemon=True)
            t2.start()
            # the second is in the daemon (the held write, the second, this GET), or answered
            deadline = time.monotonic() + 60
            while t2.is_alive() and in_progress() < 3:
                self.assertLess(time.monotonic(), deadline, "the second write was not received")
                time.sleep(0.02)
            # Nothing outside the daemon shows a request waiting for the lock: give an
            # unserialised second write the time to finish (it takes milliseconds), so that it
            # is caught. Serialised, it waits for the first whatever this lasts; the assertions
            # below are on the order of the answers and the lines, not on the time.
            t2.join(3)
            self.assertEqual(first, {}, "the first write was answered while held")
            self.assertNotIn("r", second, "the second write was answered while the first, begun "
                             "under the previous configuration, was in flight: "
                             f"{second.get('r') and second['r'].body}")
            proxy.release()
            t1.join(60)
            t2.join(60)
            self.assertIn("r", first, first)
            self.assertIn("r", second, second)
            self.assertEqual((first["r"].status, first["r"].json()["outcome"]), (200, "added"),
                             first["r"].body)
            self.assertEqual((second["r"].status, second["r"].json()["outcome"]),
                             (200, "present"), second["r"].body)
            value = first["r"].json()["value"]
            self.assertEqual(values(CAROL), sorted(before + [value]))
            lines = audit_lines(log)  # each line is whole JSON
            self.assertEqual([(x["phase"], x["outcome"]) for x in lines],
                             [("intent", "would_add"), ("result", "added"),
                              ("result", "present")])
            self.assertEqual(lines[0]["id"], lines[1]["id"])
            # ids count the process's writes, across reloads: never the same id twice
            self.assertLess(int(lines[1]["id"].rsplit("-", 1)[1]),
                            int(lines[2]["id"].rsplit("-", 1)[1]), lines)
            r = call("DELETE", doc, {})
            self.assertEqual(r.json()["outcome"], "removed", r.body)
            self.assertEqual(values(CAROL), before)
        finally:
            proxy.release()
            if values(CAROL) != before:  # a failure above: leave carol to the other tests as found
                call("DELETE", doc, {})
            proxy.close()
            rc, _ = d.stop()
            self.assertEqual(rc, 0, d.log())


class StuckWriteHoldsTwoThreads(ta.ApiTestCase):
    """Writes queued behind a stuck write do not take the job threads the verdicts need. A write
    stuck on a directory that does not answer holds the process's write lock up to the
    [directory] deadlines, and the job threads that run the writes also run the verdicts and
    /v1/authz. A HoldProxy holds a write (apply) in its TLS handshake, before it has planned;
    three more writes are sent behind it to a daemon with four job threads: one may wait for the
    lock (MAPAUDIT_LOCK_WAIT_MS, 10 s), the two others are answered 503 write-busy at once, with
    Retry-After, and a verdict (POST /v1/verdict) is answered while the first is held; the one
    waiting gives up after 10 s, 503 as well. Nothing refused wrote an audit line. A write sent
    then waits; released, the first adds the value and the last answers present. Before the
    bound, the three writes waited on the lock for as long as the first was held, each on a job
    thread: with the fourth taken too, the verdict was not answered."""

    SPEC_PATH = "/v1/accounts/{name}/mappings"

    def test_writes_behind_a_held_write_are_refused_and_a_verdict_answers(self):
        proxy = HoldProxy(S.tls_port)
        log = os.path.join(TMP.name, "busy-audit.jsonl")
        uri = f"ldaps://127.0.0.1:{proxy.port}/"
        # deadlines far longer than the test: the held write stays in flight until released
        d = ta.Daemon(extra_args=[
            "--ldap-uri", uri, "--ldap-base", BASE, "--ldap-ca-file", S.ca,
            "--ldap-bind-dn", READER, "--ldap-password-file", pwfile("reader.pw"),
            "--ldap-tls-timeout", "240s", "--ldap-op-timeout", "240s",
            "--write-bind-dn", MAPPER, "--write-password-file", pwfile("mapper.pw"),
            "--write-audit-log", log, "--token", token_line("writer1", WRITE_SECRET, "write"),
            "--token", token_line("admin1", ADMIN_SECRET, "admin,check")], threads=4)
        pem = Api.pem("upn_only.pem")
        doc = {"certificate": pem, "type": "X509SKI", "apply": True}

        def call(method, body, out):
            try:
                out["r"] = self.request(method, "/v1/accounts/ivan/mappings",
                                        body=json.dumps(body).encode(),
                                        headers={"Content-Type": "application/json"},
                                        token=WRITE_SECRET, daemon=d, spec_path=self.SPEC_PATH)
            except Exception as e:  # noqa: BLE001 (a timeout: said by the assertions below)
                out["error"] = e
            out["t"] = time.monotonic()
            return out.get("r")

        def start(out):
            t = threading.Thread(target=call, args=("POST", doc, out), daemon=True)
            t.start()
            return t

        def assert_busy(out):
            self.assertIn("r", out, out)
            self.assertProblem(out["r"], 503, "write-busy")
            self.assertEqual(out["r"].headers.get("retry-after"), "2")
            self.assertIn("nothing was done", out["r"].json()["detail"])

        before = values(IVAN)
        first, last = {}, {}
        try:
            proxy.arm()  # the write pool has not connected yet: the first write's connection
            t1 = start(first)
            self.assertTrue(proxy.held.wait(60), "the first write did not reach the directory")
            more = [{}, {}, {}]
            sent = time.monotonic()
            waiters = [start(m) for m in more]
            # two of them answered at once (well within the 10 s one may wait)
            while sum("t" in m for m in more) < 2 and time.monotonic() < sent + 5:
                time.sleep(0.02)
            done = [m for m in more if "t" in m]
            self.assertEqual(len(done), 2, f"the writes behind the held one were not refused at "
                             f"once: {more}")
            for m in done:
                assert_busy(m)
            self.assertIn("in progress", done[0]["r"].json()["detail"])
            waiting = [m for m in more if "t" not in m][0]
            # a verdict, while one write is held and another waits
            r = self.request("POST", "/v1/verdict", body=json.dumps(
                {"certificate": pem, "account": "ivan"}).encode(),
                headers={"Content-Type": "application/json"}, token=ADMIN_SECRET, daemon=d)
            self.assertEqual(r.status, 200, r.body)
            self.assertEqual(first, {}, "the first write was answered while held")
            # the one waiting gives up after 10 s: refused too, the first still held
            for t in waiters:
                t.join(60)
            assert_busy(waiting)
            self.assertIn("did not end within 10 s", waiting["r"].json()["detail"])
            self.assertGreaterEqual(waiting["t"] - sent, 9.5)
            self.assertEqual(first, {}, "the first write was answered while held")
            self.assertEqual(values(IVAN), before)
            self.assertEqual(audit_lines(log), [])  # refused: no line (the first has not planned)
            # a write that may wait, then the first released: it adds, the last finds the value
            t3 = start(last)
            proxy.release()
            t1.join(60)
            t3.join(60)
            self.assertIn("r", first, first)
            self.assertIn("r", last, last)
            self.assertEqual((first["r"].status, first["r"].json()["outcome"]), (200, "added"),
                             first["r"].body)
            self.assertEqual((last["r"].status, last["r"].json()["outcome"]), (200, "present"),
                             last["r"].body)
            self.assertLessEqual(first["t"], last["t"])
            self.assertEqual(values(IVAN), sorted(before + [first["r"].json()["value"]]))
            self.assertEqual([(x["phase"], x["outcome"]) for x in audit_lines(log)],
                             [("intent", "would_add"), ("result", "added"), ("result", "present")])
            r = call("DELETE", doc, {})
            self.assertEqual(r.json()["outcome"], "removed", r.body)
            self.assertEqual(values(IVAN), before)
        finally:
            proxy.release()
            if values(IVAN) != before:  # a failure above: leave ivan to the other tests as found
                call("DELETE", doc, {})
            proxy.close()
            rc, _ = d.stop()
            self.assertEqual(rc, 0, d.log())


class AuditLogLocked(ta.ApiTestCase):
    """The CLI and the daemon append to the same audit log under its file lock (flock): the test
    holds the lock from its own descriptor, as another process would, and has written half a
    line under it. A CLI `map add --apply` and a daemon write started meanwhile plan, then wait
    for the lock; released once the line is whole, both write their intent and result lines
    after it, whole. Held past the bound (5 s, MAPAUDIT_FILE_LOCK_WAIT_MS), both refuse before
    their first line: the CLI exits 1, the daemon answers 503 write-busy, nothing is sent and
    the file is as the holder left it. Before the lock, both wrote their lines into the middle
    of the held one, and wrote (and changed the account) whatever the holder did."""

    SPEC_PATH = "/v1/accounts/{name}/mappings"

    @classmethod
    def setUpClass(cls):
        cls.log = os.path.join(TMP.name, "shared-audit.jsonl")
        fd = os.open(cls.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.close(fd)
        cls.daemon = ta.Daemon(extra_args=[
            "--ldap-uri", S.tls_uri, "--ldap-base", BASE, "--ldap-ca-file", S.ca,
            "--ldap-bind-dn", READER, "--ldap-password-file", pwfile("reader.pw"),
            "--write-bind-dn", MAPPER, "--write-password-file", pwfile("mapper.pw"),
            "--write-audit-log", cls.log, "--token", token_line("writer1", WRITE_SECRET, "write")])

    @classmethod
    def tearDownClass(cls):
        rc, _ = cls.daemon.stop()
        if rc != 0:
            raise AssertionError(f"daemon exited with {rc}:\n{cls.daemon.log()}")

    def cli(self, op, kind):
        """strongmap map @op ivan --cert upn_only.pem --type @kind --apply, started."""
        return subprocess.Popen(
            [ARGS.cli, "map", op, "ivan", "--cert", cert("upn_only.pem"), "--type", kind,
             "--apply", "--audit-log", self.log, "--write-bind-dn", MAPPER,
             "--write-password-file", pwfile("mapper.pw")] + dir_flags(),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def api(self, method, kind, out):
        try:
            out["r"] = self.request(method, "/v1/accounts/ivan/mappings", body=json.dumps(
                {"certificate": Api.pem("upn_only.pem"), "type": kind, "apply": True}).encode(),
                headers={"Content-Type": "application/json"}, token=WRITE_SECRET,
                daemon=self.daemon, spec_path=self.SPEC_PATH)
        except Exception as e:  # noqa: BLE001 (said by the assertions)
            out["error"] = e
        out["t"] = time.monotonic()

    def both(self, op):
        """The CLI (X509SHA1PublicKey) and the daemon (X509SKI) started."""
        p = self.cli(op, "X509SHA1PublicKey")
        out = {}
        t = threading.Thread(target=self.api, args=("POST" if op == "add" else "DELETE",
                                                    "X509SKI", out), daemon=True)
        t.start()
        return p, t, out

    def hold(self, text):
        """The log's lock, taken from a descriptor of the test's, and @text appended under it."""
        fd = os.open(self.log, os.O_WRONLY | os.O_APPEND)
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, text.encode())
        return fd

    @staticmethod
    def content(path):
        with open(path, "rb") as f:
            return f.read()

    def test_1_writers_wait_for_the_lock_and_write_whole_lines(self):
        before = values(IVAN)
        start = len(self.content(self.log))
        fd = self.hold('{"holder": "the test", ')
        try:
            p, t, out = self.both("add")
            # both plan at once, then wait for the lock: unserialised, they would have written
            # by now, into the line held (a wait that decides nothing when they wait)
            time.sleep(2)
            self.assertIsNone(p.poll(), "the CLI did not wait for the audit log's lock")
            self.assertNotIn("t", out, "the daemon's write did not wait for the lock")
            self.assertEqual(self.content(self.log)[start:], b'{"holder": "the test", ')
            os.write(fd, b'"whole": true}\n')
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        stdout, stderr = p.communicate(timeout=60)
        t.join(60)
        self.assertEqual(p.returncode, 0, stderr)
        self.assertEqual(json.loads(stdout)["outcome"], "added")
        self.assertIn("r", out, out)
        self.assertEqual(out["r"].status, 200, out["r"].body)
        self.assertEqual(out["r"].json()["outcome"], "added", out["r"].body)
        lines = audit_lines(self.log)  # every line whole JSON
        mine = lines[-5:]
        self.assertEqual(mine[0], {"holder": "the test", "whole": True})
        phases = {}
        for x in mine[1:]:
            phases.setdefault(x["id"], []).append((x["phase"], x["outcome"], x["actor"]["kind"]))
        self.assertEqual(sorted(phases.values()),
                         [[("intent", "would_add", "cli"), ("result", "added", "cli")],
                          [("intent", "would_add", "token"), ("result", "added", "token")]])
        self.assertEqual(len(values(IVAN)), len(before) + 2)
        # and back, not held: both removed
        p, t, out = self.both("remove")
        stdout, stderr = p.communicate(timeout=60)
        t.join(60)
        self.assertEqual((p.returncode, json.loads(stdout)["outcome"]), (0, "removed"), stderr)
        self.assertEqual(out["r"].json()["outcome"], "removed", out["r"].body)
        self.assertEqual(values(IVAN), before)
        audit_lines(self.log)

    def test_2_held_too_long_refuses_before_the_first_line(self):
        before = values(IVAN)
        fd = self.hold('{"holder": "the test", "stuck": ')
        try:
            held = self.content(self.log)
            sent = time.monotonic()
            p, t, out = self.both("add")
            stdout, stderr = p.communicate(timeout=60)
            t.join(60)
            self.assertEqual(p.returncode, 1, stderr)
            self.assertEqual(stdout, "")
            self.assertIn("--audit-log: the audit log is locked by another process (flock) for "
                          "more than 5 s: nothing was written or changed", stderr)
            self.assertIn("r", out, out)
            self.assertProblem(out["r"], 503, "write-busy")
            self.assertEqual(out["r"].headers.get("retry-after"), "2")
            self.assertIn("locked by another process", out["r"].json()["detail"])
            self.assertGreaterEqual(out["t"] - sent, 4.5)
            self.assertEqual(self.content(self.log), held)
            self.assertEqual(values(IVAN), before)
            os.write(fd, b'true}\n')
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        self.assertEqual(audit_lines(self.log)[-1], {"holder": "the test", "stuck": True})


class CutProxy:
    """A TCP proxy in front of a plain ldap:// slapd that breaks the first LDAP modify crossing
    it, and only that one: "drop" closes both sides instead of forwarding the request (the
    server never sees it), "lose_answer" forwards it and closes the client's side instead of
    relaying the answer (the server applied it; the client cannot know). Every later connection
    is passed through, so that the client can read the account again."""

    def __init__(self, port, mode):
        self.target = ("127.0.0.1", port)
        self.mode = mode
        self.cut = False
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopped.is_set():
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            s = socket.create_connection(self.target, timeout=10)
            state = {"answer_lost": False}
            threading.Thread(target=self._up, args=(c, s, state), daemon=True).start()
            threading.Thread(target=self._down, args=(s, c, state), daemon=True).start()

    @staticmethod
    def _messages(buf):
        """Complete BER messages at the start of @buf: [(bytes, LDAP operation tag)], rest."""
        out = []
        while len(buf) >= 2:
            n, i = buf[1], 2
            if n & 0x80:
                k = n & 0x7F
                if len(buf) < 2 + k:
                    break
                n, i = int.from_bytes(buf[2:2 + k], "big"), 2 + k
            if len(buf) < i + n:
                break
            msg = buf[:i + n]
            op = msg[i + 2 + msg[i + 1]]  # after the messageID INTEGER
            out.append((msg, op))
            buf = buf[i + n:]
        return out, buf

    def _up(self, c, s, state):
        buf = b""
        try:
            while True:
                data = c.recv(65536)
                if not data:
                    break
                msgs, buf = self._messages(buf + data)
                for msg, op in msgs:
                    with self.lock:
                        cut = op == 0x66 and not self.cut  # ModifyRequest, the first one
                        self.cut = self.cut or cut
                    if cut and self.mode == "drop":
                        return
                    if cut:
                        state["answer_lost"] = True
                    s.sendall(msg)
        except OSError:
            pass
        finally:
            if not state["answer_lost"]:
                self._close(c, s)

    def _down(self, s, c, state):
        try:
            while True:
                data = s.recv(65536)
                if not data or state["answer_lost"]:
                    break
                c.sendall(data)
        except OSError:
            pass
        finally:
            self._close(c, s)

    @staticmethod
    def _close(*socks):
        for x in socks:
            try:
                x.shutdown(socket.SHUT_RDWR)  # wakes the other pump, sends the FIN at once
            except OSError:
                pass
            x.close()

    def close(self):
        self.stopped.set()
        self.thread.join(5)
        self.sock.close()


class MidOperation(unittest.TestCase):
    """A directory that fails in the middle of the write: the modify lost on its way, or its
    answer lost after the server applied it. Anonymous writes to ivan's altSecurityIdentities
    (and nothing else), so that the proxy can read the plain LDAP stream."""

    @classmethod
    def setUpClass(cls):
        tmp = os.path.join(TMP.name, "cut")
        os.mkdir(tmp)
        access = ['access to dn.exact="cn=ivan,cn=Users,dc=example,dc=com" '
                  "attrs=altSecurityIdentities by * write", "access to * by * read"]
        cls.slapd = slapd_mod.Slapd(tmp, access=access, allow=["update_anon"])
        cls.slapd.start_anywhere()
        cls.log = os.path.join(tmp, "audit.jsonl")

    @classmethod
    def tearDownClass(cls):
        cls.slapd.kill()

    def values(self):
        env = dict(os.environ, LDAPNOINIT="1")
        r = subprocess.run(["ldapsearch", "-LLL", "-o", "ldif-wrap=no", "-x", "-H",
                            self.slapd.uri, "-b", IVAN, "-s", "base", "altSecurityIdentities"],
                           capture_output=True, text=True, timeout=30, env=env, check=True)
        return [line.split(": ", 1)[1] for line in r.stdout.splitlines()
                if line.startswith("altSecurityIdentities: ")]

    def apply_through(self, mode):
        """strongmap map add ivan --apply, anonymously, through a CutProxy in @mode."""
        proxy = CutProxy(int(self.slapd.uri.rstrip("/").rsplit(":", 1)[1]), mode)
        try:
            r = subprocess.run([ARGS.cli, "map", "add", "ivan", "--cert",
                                cert("multivalue_rdn.pem"), "--type", "X509SKI", "--ldap-uri",
                                f"ldap://127.0.0.1:{proxy.port}/", "--ldap-base", BASE, "--apply",
                                "--audit-log", self.log],
                               capture_output=True, text=True, timeout=60)
        finally:
            proxy.close()
        self.assertTrue(proxy.cut, "no modify crossed the proxy")
        return r.returncode, json.loads(r.stdout), r.stderr

    def test_modify_lost_then_answer_lost(self):
        self.assertEqual(self.values(), [])
        rc, doc, err = self.apply_through("drop")
        self.assertEqual(rc, 4, err)
        self.assertIn("connection lost during the modify", err)
        self.assertEqual(doc["outcome"], "failed")
        self.assertEqual(doc["after_failure"], "unchanged")
        self.assertEqual(self.values(), [])
        lines = audit_lines(self.log)
        self.assertEqual([(x["phase"], x["outcome"]) for x in lines],
                         [("intent", "would_add"), ("result", "failed")])
        self.assertEqual(lines[1]["after_failure"], "unchanged")

        # the server applies it, the answer is lost: failed, and the account read again says so
        rc, doc, err = self.apply_through("lose_answer")
        self.assertEqual(rc, 4, err)
        self.assertIn("connection lost during the modify", err)
        self.assertEqual(doc["outcome"], "failed")
        self.assertEqual(doc["after_failure"], "changed")
        self.assertEqual(self.values(), [doc["value"]])
        lines = audit_lines(self.log)
        self.assertEqual([(x["phase"], x["outcome"]) for x in lines[2:]],
                         [("intent", "would_add"), ("result", "failed")])
        self.assertEqual(lines[3]["after_failure"], "changed")


def main():
    global ARGS
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cli", required=True)
    p.add_argument("--daemon", required=True)
    p.add_argument("--data", default=os.path.join(ROOT, "tests", "data"))
    ARGS, rest = p.parse_known_args()
    ARGS.cli = os.path.abspath(ARGS.cli)
    ta.ARGS = argparse.Namespace(daemon=os.path.abspath(ARGS.daemon), data=ARGS.data, log=None,
                                 host=None, cli=ARGS.cli)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
