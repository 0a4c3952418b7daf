#!/usr/bin/env python3
"""Compare `strongmap inspect` with `openssl x509` for every certificate fixture.

For every *.pem, *.der and *.b64 file in the fixture directory (every certificate of a
multi-certificate PEM file, split here and fed to openssl one block at a time) this runs
`strongmap inspect FILE` and openssl at test time, and checks per certificate:

  * subject / issuer   == openssl -nameopt RFC2253,-esc_msb (exact string equality)
  * serial             == openssl -serial (ours keeps the DER sign byte, openssl drops it:
                          openssl's value is re-encoded as DER INTEGER content to compare),
                          == the INTEGER content bytes found with `openssl asn1parse`,
                          == manifest.tsv serial_hex (first certificate of each file)
  * sha1 / sha256      == openssl -fingerprint, and == hashes of openssl's -outform DER
                          (the fixture is DER-identical to what openssl re-encodes)
  * ski                == -ext subjectKeyIdentifier (null when absent)
  * san                == -ext subjectAltName: UPN, other otherNames, DNS, email, URI,
                          IP (normalised), dirName, registeredID
  * not_before/after   == -startdate / -enddate (as RFC 3339 UTC)
  * key type/bits/curve and version, where openssl's -text says

Intended differences and fixtures openssl cannot load are declared on the command line,
each with its reason, and are still checked against OUR expected value:

  --known-diff FILE FIELD VALUE REASON   FIELD (subject, issuer, not_before, ...: a field
                          compared above under that name) of FILE is not compared with
                          openssl; ours must equal VALUE (JSON) instead
  --openssl-unreadable FILE REASON       openssl cannot load FILE: strongmap must still read
                          it (exit 0, no input errors, one certificate per block), and
                          sha1/sha256/der_length are checked against the bytes, the serial
                          against `openssl asn1parse` (+ manifest.tsv); if openssl does load
                          it after all, it is compared in full
  --expect FILE PATH VALUE               ours at PATH (dotted, into the certificate's JSON,
                          e.g. names.subject.attributes.0.asn1_tag) must equal VALUE (JSON)
  --expect-finding FILE CODE             ours must report the finding CODE

One line per mismatch (file, field, ours, openssl's), then `N passed, M failed`.
Exit status 0 only when nothing mismatched and at least one certificate per fixture file
was checked. Python 3 standard library only.
"""

import argparse
import base64
import hashlib
import ipaddress
import json
import os
import re
import subprocess
import sys

PEM_CERT_RE = re.compile(
    rb"-----BEGIN (?:X509 |TRUSTED )?CERTIFICATE-----\r?\n.*?-----END (?:X509 |TRUSTED )?CERTIFICATE-----",
    re.S,
)
MONTHS = {m: i + 1 for i, m in enumerate(
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"])}
UPN_OID = "1.3.6.1.4.1.311.20.2.3"
# openssl 3.0 prints these otherName types by name (crypto/x509/v3_san.c)
OTHERNAME_OIDS = {
    "UPN": UPN_OID,
    "msUPN": UPN_OID,
    "SmtpUTF8Mailbox": "1.3.6.1.5.5.7.8.9",
    "XmppAddr": "1.3.6.1.5.5.7.8.5",
    "SRVName": "1.3.6.1.5.5.7.8.7",
    "NAIRealm": "1.3.6.1.5.5.7.8.8",
}
KEY_TYPES = {
    "rsaEncryption": "RSA",
    "rsassaPss": "RSASSA-PSS",
    "id-ecPublicKey": "EC",
    "ED25519": "Ed25519",
    "ED448": "Ed448",
    "dsaEncryption": "DSA",
}
SAN_TYPES = ("othername", "email", "DNS", "URI", "IP Address", "DirName", "Registered ID",
             "X400Name", "EdiPartyName")
SAN_SPLIT_RE = re.compile(r", (?=(?:%s):)" % "|".join(re.escape(t) for t in SAN_TYPES))


class OpensslError(Exception):
    pass


class Checker:
    def __init__(self, cli, openssl, certs_dir, verbose, known_diffs=None, unreadable=None,
                 expects=None, expect_findings=None):
        self.cli = cli
        self.openssl = openssl
        self.certs_dir = certs_dir
        self.verbose = verbose
        self.passed = 0
        self.failed = 0
        self.problems = 0  # file-level problems (not tied to one certificate)
        self.manifest = self._read_manifest()
        self.known_diffs = known_diffs or {}          # (file, field) -> (value, reason)
        self.known_diffs_used = set()
        self.unreadable = unreadable or {}            # file -> reason
        self.expects = expects or {}                  # file -> [(path, value)]
        self.expect_findings = expect_findings or {}  # file -> [code]

    # ---- helpers -----------------------------------------------------------------------

    def _read_manifest(self):
        path = os.path.join(self.certs_dir, "manifest.tsv")
        rows = {}
        try:
            with open(path, encoding="utf-8") as f:
                header = f.readline().rstrip("\n").split("\t")
                for line in f:
                    if not line.strip():
                        continue
                    cols = line.rstrip("\n").split("\t")
                    rows[cols[0]] = dict(zip(header, cols))
        except OSError as e:
            print(f"warning: cannot read {path}: {e}")
        return rows

    def run_openssl(self, args, data):
        p = subprocess.run([self.openssl] + args, input=data, capture_output=True)
        if p.returncode != 0:
            raise OpensslError(
                f"openssl {' '.join(args)} exited {p.returncode}: "
                f"{p.stderr.decode('utf-8', 'replace').strip()}")
        return p.stdout

    def x509_text(self, args, data, inform):
        out = self.run_openssl(["x509", "-inform", inform] + args, data)
        return out.decode("utf-8", "surrogateescape")

    # ---- openssl side ------------------------------------------------------------------

    def openssl_facts(self, data, inform):
        """Everything openssl says about one certificate (input PEM block or DER bytes)."""
        facts = {}
        der = self.run_openssl(["x509", "-inform", inform, "-outform", "DER"], data)
        facts["der"] = der

        out = self.x509_text(["-noout", "-subject", "-issuer", "-nameopt", "RFC2253,-esc_msb",
                              "-serial", "-startdate", "-enddate"], data, inform)
        for line in out.split("\n"):
            for key, prefix in (("subject", "subject="), ("issuer", "issuer="),
                                ("serial", "serial="), ("not_before", "notBefore="),
                                ("not_after", "notAfter=")):
                if line.startswith(prefix):
                    facts[key] = line[len(prefix):]
        for key in ("subject", "issuer", "serial", "not_before", "not_after"):
            if key not in facts:
                raise OpensslError(f"openssl printed no {key}: {out!r}")
        facts["not_before"] = openssl_time_to_rfc3339(facts["not_before"])
        facts["not_after"] = openssl_time_to_rfc3339(facts["not_after"])

        for alg, key in (("-sha1", "sha1"), ("-sha256", "sha256")):
            out = self.x509_text(["-noout", "-fingerprint", alg], data, inform)
            m = re.search(r"Fingerprint=([0-9A-Fa-f:]+)", out)
            if not m:
                raise OpensslError(f"no fingerprint in {out!r}")
            facts[key] = m.group(1).replace(":", "").upper()

        out = self.x509_text(["-noout", "-ext", "subjectAltName,subjectKeyIdentifier"], data, inform)
        exts = parse_ext_output(out)
        ski = exts.get("X509v3 Subject Key Identifier")
        facts["ski"] = "".join(ski).replace(":", "").strip().upper() if ski else None
        san = exts.get("X509v3 Subject Alternative Name")
        facts["san"] = parse_san(", ".join(s.strip() for s in san)) if san else empty_san()

        text = self.x509_text(["-noout", "-text"], data, inform)
        facts["text"] = text
        m = re.search(r"^\s*Version: (\d+)", text, re.M)
        facts["version"] = int(m.group(1)) if m else None
        m = re.search(r"Subject Public Key Info:\n\s*Public Key Algorithm: (\S+)", text)
        facts["key_alg"] = m.group(1) if m else None
        spki = text[m.end():] if m else ""
        m = re.search(r"Public-Key: \((\d+) bit\)", spki)
        facts["key_bits"] = int(m.group(1)) if m else None
        m = re.search(r"NIST CURVE: (\S+)", spki)
        facts["key_curve"] = m.group(1) if m else None

        facts["serial_der"] = self.asn1parse_serial(der)
        return facts

    def asn1parse_serial(self, der):
        """The serial's INTEGER content bytes, located with asn1parse in DER: the first
        primitive INTEGER at depth 2 (TBSCertificate's serialNumber; the version INTEGER
        sits at depth 3 inside [0])."""
        out = self.run_openssl(["asn1parse", "-inform", "DER"], der).decode("utf-8", "replace")
        for line in out.split("\n"):
            m = re.match(r"\s*(\d+):d=(\d+)\s+hl=\s*(\d+)\s+l=\s*(\d+)\s+prim:\s+INTEGER\b", line)
            if m and m.group(2) == "2":
                off, hl, ln = int(m.group(1)), int(m.group(3)), int(m.group(4))
                return der[off + hl:off + hl + ln].hex().upper()
        raise OpensslError("asn1parse showed no serialNumber INTEGER")

    # ---- the comparison ----------------------------------------------------------------

    def compare(self, name, label, ours, o, manifest_row):
        bad = []

        def check(field, mine, theirs):
            kd = self.known_diffs.get((name, field))
            if kd is not None:
                expected, reason = kd
                self.known_diffs_used.add((name, field))
                if mine != expected:
                    bad.append((f"{field} (known difference from openssl)", mine, expected,
                                "expected"))
                elif mine != theirs:
                    print(f"known-diff {label}: {field}: ours={show(mine)} "
                          f"openssl={show(theirs)}: {reason}")
                else:
                    print(f"note {label}: {field}: listed as a known difference but openssl "
                          f"agrees now: {show(mine)}")
                return
            if mine != theirs:
                bad.append((field, mine, theirs))

        check("subject", ours.get("subject"), o["subject"])
        check("issuer", ours.get("issuer"), o["issuer"])

        serial = ours.get("serial")
        check("serial (vs openssl -serial as DER INTEGER content)", serial,
              openssl_serial_to_der_hex(o["serial"]))
        check("serial (vs asn1parse INTEGER content)", serial, o["serial_der"])
        if manifest_row is not None and "serial_hex" in manifest_row:
            check("serial (vs manifest.tsv serial_hex)", serial, manifest_row["serial_hex"])

        check("sha1", ours.get("sha1"), o["sha1"])
        check("sha256", ours.get("sha256"), o["sha256"])
        check("sha1 (vs SHA-1 of openssl -outform DER)", ours.get("sha1"),
              hashlib.sha1(o["der"]).hexdigest().upper())
        check("sha256 (vs SHA-256 of openssl -outform DER)", ours.get("sha256"),
              hashlib.sha256(o["der"]).hexdigest().upper())
        check("der_length (vs openssl -outform DER)", ours.get("der_length"), len(o["der"]))

        check("ski", ours.get("ski"), o["ski"])

        osan = ours.get("san") or {}
        for key in ("upn", "dns", "email", "uri"):
            check(f"san.{key}", osan.get(key, []), o["san"][key])
        check("san.ip", [norm_ip(x) for x in osan.get("ip", [])], [norm_ip(x) for x in o["san"]["ip"]])
        check("san.dirname", osan.get("dirname", []), o["san"]["dirname"])
        check("san.registered_id", osan.get("registered_id", []), o["san"]["registered_id"])
        mine_other = osan.get("other", [])
        check("san.other (otherName type-ids)", [x.get("oid") for x in mine_other],
              [oid for oid, _ in o["san"]["other"]])
        for i, (oid, val) in enumerate(o["san"]["other"]):
            if val != "<unsupported>" and i < len(mine_other):
                # ours is the hex of the [0] EXPLICIT value; openssl prints string contents
                # (SmtpUTF8Mailbox with UTF-8 bytes shown as Latin-1: accept both)
                text = othername_text(mine_other[i].get("value"))
                if val not in (text, text.encode("utf-8").decode("latin-1") if text else None):
                    bad.append((f"san.other[{i}].value", mine_other[i].get("value"), val))
        for key in ("x400", "edi_party"):
            check(f"san.{key} (count)", len(osan.get(key, [])), o["san"][key])

        check("not_before", ours.get("not_before"), o["not_before"])
        check("not_after", ours.get("not_after"), o["not_after"])

        key = ours.get("key") or {}
        if o["key_alg"] is not None:
            check("key.type", key.get("type"), KEY_TYPES.get(o["key_alg"], o["key_alg"]))
        else:
            bad.append(("key.type", key.get("type"), "(openssl -text printed no algorithm)"))
        if o["key_bits"] is not None:
            check("key.bits", key.get("bits"), o["key_bits"])
        if o["key_curve"] is not None:
            check("key.curve", key.get("curve"), o["key_curve"])
        if o["version"] is not None:
            check("version", ours.get("version"), o["version"])

        self.finish(name, label, ours, bad)

    def finish(self, name, label, ours, bad, what="openssl"):
        """Adds the --expect / --expect-finding checks of `name`, prints, counts."""
        for path, value in self.expects.get(name, []):
            mine = json_path(ours, path)
            if mine is not MISSING_PATH and mine == value:
                continue
            bad.append((f"{path} (--expect)", "(missing)" if mine is MISSING_PATH else mine,
                        value, "expected"))
        codes = [f.get("code") for f in (ours.get("findings") or []) if isinstance(f, dict)]
        for code in self.expect_findings.get(name, []):
            if code not in codes:
                bad.append((f"finding {code} (--expect-finding)", codes, [code], "expected"))
        for field, mine, theirs, *whose in bad:
            print(f"MISMATCH {label}: {field}: ours={show(mine)} "
                  f"{whose[0] if whose else what}={show(theirs)}")
        if bad:
            self.failed += 1
        else:
            self.passed += 1
            if self.verbose:
                print(f"ok {label}")

    def check_unreadable(self, name, label, ours, inform, data, err, manifest_row):
        """openssl cannot load this certificate (declared with --openssl-unreadable): check
        what can be checked without it."""
        print(f"openssl-unreadable {label}: {self.unreadable[name]} (openssl: "
              f"{err.splitlines()[0] if err else '?'}); checking ours without openssl x509")
        bad = []
        try:
            der = pem_block_to_der(data) if inform == "PEM" else data
        except ValueError as e:
            bad.append(("certificate bytes", None, f"cannot decode the PEM block: {e}"))
            der = b""

        def check(field, mine, theirs):
            if mine != theirs:
                bad.append((field, mine, theirs))

        check("sha1 (vs SHA-1 of the DER bytes)", ours.get("sha1"),
              hashlib.sha1(der).hexdigest().upper())
        check("sha256 (vs SHA-256 of the DER bytes)", ours.get("sha256"),
              hashlib.sha256(der).hexdigest().upper())
        check("der_length (vs the DER bytes)", ours.get("der_length"), len(der))
        try:
            check("serial (vs asn1parse INTEGER content)", ours.get("serial"),
                  self.asn1parse_serial(der))
        except OpensslError as e:
            bad.append(("serial (vs asn1parse INTEGER content)", ours.get("serial"), str(e)))
        if manifest_row is not None and "serial_hex" in manifest_row:
            check("serial (vs manifest.tsv serial_hex)", ours.get("serial"),
                  manifest_row["serial_hex"])
        self.finish(name, label, ours, bad, what="expected")

    # ---- per file ----------------------------------------------------------------------

    def inputs_for(self, path):
        """(inform, data) per certificate in the file, split without help from strongmap."""
        raw = open(path, "rb").read()
        name = os.path.basename(path)
        if name.endswith(".pem"):
            return [("PEM", m.group(0) + b"\n") for m in PEM_CERT_RE.finditer(raw)]
        if name.endswith(".der"):
            return [("DER", raw)]
        if name.endswith(".b64"):
            return [("DER", base64.b64decode(b"".join(raw.split()), validate=True))]
        return []

    def check_file(self, path):
        name = os.path.basename(path)
        try:
            inputs = self.inputs_for(path)
        except (OSError, ValueError) as e:
            self.file_problem(name, f"cannot read/split the fixture: {e}")
            return
        if not inputs:
            self.file_problem(name, "no certificate found in the fixture")
            return

        p = subprocess.run([self.cli, "inspect", path], capture_output=True)
        if p.returncode != 0:
            self.file_problem(name, f"strongmap inspect exited {p.returncode}: "
                                    f"{p.stderr.decode('utf-8', 'replace').strip()}")
            return
        try:
            doc = json.loads(p.stdout.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            self.file_problem(name, f"strongmap inspect printed invalid JSON: {e}")
            return
        certs = doc.get("certificates") or []
        if doc.get("errors"):
            self.file_problem(name, f"strongmap reported input errors: {doc['errors']}")
        if len(certs) != len(inputs):
            self.file_problem(name, f"strongmap found {len(certs)} certificate(s), the PEM/DER "
                                    f"split found {len(inputs)}")

        for i, (inform, data) in enumerate(inputs):
            label = name if len(inputs) == 1 else f"{name}#{i}"
            if i >= len(certs):
                print(f"MISMATCH {label}: certificate: ours=(missing) openssl=(present)")
                self.failed += 1
                continue
            row = self.manifest.get(name) if i == 0 else None
            try:
                facts = self.openssl_facts(data, inform)
            except OpensslError as e:
                if name in self.unreadable:
                    self.check_unreadable(name, label, certs[i], inform, data, str(e), row)
                else:
                    print(f"MISMATCH {label}: openssl: {e}")
                    self.failed += 1
                continue
            if name in self.unreadable:
                print(f"note {label}: listed with --openssl-unreadable but openssl reads it: "
                      f"compared in full")
            self.compare(name, label, certs[i], facts, row)

    def file_problem(self, name, msg):
        print(f"MISMATCH {name}: {msg}")
        self.problems += 1


# ---- parsing openssl output ---------------------------------------------------------------

def openssl_time_to_rfc3339(s):
    # "Jan  1 00:00:00 2025 GMT"
    m = re.fullmatch(r"([A-Z][a-z]{2})\s+(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4}) GMT", s.strip())
    if not m or m.group(1) not in MONTHS:
        raise OpensslError(f"unexpected openssl date {s!r}")
    return "%s-%02d-%02dT%s:%s:%sZ" % (m.group(6), MONTHS[m.group(1)], int(m.group(2)),
                                       m.group(3), m.group(4), m.group(5))


def parse_ext_output(out):
    """`openssl x509 -noout -ext ...`: header lines at column 0, values indented."""
    exts, cur = {}, None
    for line in out.split("\n"):
        if not line.strip():
            continue
        if not line[0].isspace():
            cur = re.sub(r":\s*(critical)?\s*$", "", line.rstrip())
            exts[cur] = []
        elif cur is not None:
            exts[cur].append(line.strip())
    return exts


def empty_san():
    return {"upn": [], "dns": [], "email": [], "uri": [], "ip": [], "dirname": [],
            "registered_id": [], "other": [], "x400": 0, "edi_party": 0}


def parse_san(s):
    san = empty_san()
    for item in SAN_SPLIT_RE.split(s):
        if item.startswith("othername:"):
            rest = item[len("othername:"):].strip()
            if "::" in rest:
                typ, val = rest.split("::", 1)
            elif rest == "<unsupported>":
                typ, val = "?", rest
            else:
                typ, val = rest.split(":", 1) if ":" in rest else (rest, "")
            oid = OTHERNAME_OIDS.get(typ, typ)
            if oid == UPN_OID:
                san["upn"].append(val)
            else:
                san["other"].append((oid, val))
        elif item.startswith("email:"):
            san["email"].append(item[len("email:"):])
        elif item.startswith("DNS:"):
            san["dns"].append(item[len("DNS:"):])
        elif item.startswith("URI:"):
            san["uri"].append(item[len("URI:"):])
        elif item.startswith("IP Address:"):
            san["ip"].append(item[len("IP Address:"):])
        elif item.startswith("DirName:"):
            san["dirname"].append(oneline_to_rfc4514(item[len("DirName:"):]))
        elif item.startswith("Registered ID:"):
            san["registered_id"].append(item[len("Registered ID:"):])
        elif item.startswith("X400Name:"):
            san["x400"] += 1
        elif item.startswith("EdiPartyName:"):
            san["edi_party"] += 1
        else:
            raise OpensslError(f"unrecognised subjectAltName entry {item!r}")
    return san


def rfc4514_escape(v):
    out = []
    for i, ch in enumerate(v):
        if ch in ',+"\\<>;' or (i == 0 and ch in "# ") or (i == len(v) - 1 and ch == " "):
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def oneline_unescape(v):
    """X509_NAME_oneline writes \\xHH for bytes outside ASCII printables and \\C for some
    specials (e.g. `\\+`); turn that back into the value's text."""
    raw = bytearray()
    i = 0
    while i < len(v):
        if v[i] == "\\" and v[i + 1:i + 2] in ("x", "X") and re.fullmatch(r"[0-9A-Fa-f]{2}", v[i + 2:i + 4]):
            raw.append(int(v[i + 2:i + 4], 16))
            i += 4
        elif v[i] == "\\" and i + 1 < len(v):
            raw += v[i + 1].encode("utf-8", "surrogateescape")
            i += 2
        else:
            raw += v[i].encode("utf-8", "surrogateescape")
            i += 1
    return raw.decode("utf-8", "replace")


def oneline_to_rfc4514(s):
    """X509_NAME_oneline (`/CN=a/O=b`, DER order) -> RFC 4514 (`O=b,CN=a`, reversed)."""
    parts = re.split(r"/(?=[A-Za-z][A-Za-z0-9.-]*=)", s)
    if parts and parts[0] == "":
        parts = parts[1:]
    rdns = []
    for p in parts:
        k, _, v = p.partition("=")
        rdns.append(f"{k}={rfc4514_escape(oneline_unescape(v))}")
    return ",".join(reversed(rdns))


def openssl_serial_to_der_hex(s):
    """openssl -serial prints the value without the DER sign byte (8F..., or -05 for a
    negative serial); ours is the DER INTEGER content (008F..., FB): convert openssl's."""
    try:
        n = int(s, 16)
    except ValueError:
        return s
    length = n.bit_length() // 8 + 1 if n >= 0 else (-n - 1).bit_length() // 8 + 1
    return n.to_bytes(length, "big", signed=True).hex().upper()


def othername_text(hexval):
    """Text of an otherName value given as hex of `[0] EXPLICIT <string>`, else None."""
    try:
        b = bytes.fromhex(hexval)
    except (TypeError, ValueError):
        return None
    if len(b) < 4 or b[0] != 0xA0 or b[1] >= 0x80 or b[3] >= 0x80 or 4 + b[3] != len(b):
        return None
    tag, content = b[2], b[4:]
    codecs = {0x0C: "utf-8", 0x13: "ascii", 0x16: "ascii", 0x1A: "ascii", 0x1E: "utf-16-be",
              0x14: "latin-1", 0x1C: "utf-32-be"}
    if tag not in codecs:
        return None
    try:
        return content.decode(codecs[tag])
    except UnicodeDecodeError:
        return None


def norm_ip(s):
    try:
        return ipaddress.ip_address(s).compressed
    except ValueError:
        return s


def show(v):
    return json.dumps(v, ensure_ascii=False)


MISSING_PATH = object()


def json_path(doc, path):
    """doc at a dotted path (list indexes as numbers), or MISSING_PATH."""
    cur = doc
    for part in path.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return MISSING_PATH
    return cur


def pem_block_to_der(block):
    body = re.sub(rb"-----[^-]+-----", b"", block)
    return base64.b64decode(b"".join(body.split()), validate=True)


def json_arg(text, what):
    try:
        return json.loads(text)
    except ValueError as e:
        raise SystemExit(f"compare.py: {what}: {text!r} is not JSON: {e}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cli", required=True, help="path of the strongmap binary")
    ap.add_argument("--certs", required=True, help="fixture directory (tests/data/certs)")
    ap.add_argument("--openssl", default="openssl")
    ap.add_argument("-v", "--verbose", action="store_true", help="print a line per good certificate")
    ap.add_argument("--known-diff", nargs=4, action="append", default=[],
                    metavar=("FILE", "FIELD", "VALUE", "REASON"),
                    help="intended difference: FIELD of FILE is not compared with openssl; "
                         "ours must equal VALUE (JSON) instead")
    ap.add_argument("--openssl-unreadable", nargs=2, action="append", default=[],
                    metavar=("FILE", "REASON"),
                    help="openssl cannot load FILE: check ours without openssl x509")
    ap.add_argument("--expect", nargs=3, action="append", default=[],
                    metavar=("FILE", "PATH", "VALUE"),
                    help="ours at PATH (dotted JSON path) must equal VALUE (JSON)")
    ap.add_argument("--expect-finding", nargs=2, action="append", default=[],
                    metavar=("FILE", "CODE"), help="ours must report the finding CODE")
    args = ap.parse_args()

    known_diffs, unreadable, expects, expect_findings = {}, {}, {}, {}
    for f, field, value, reason in args.known_diff:
        known_diffs[(f, field)] = (json_arg(value, f"--known-diff {f} {field}"), reason)
    for f, reason in args.openssl_unreadable:
        unreadable[f] = reason
    for f, path, value in args.expect:
        expects.setdefault(f, []).append((path, json_arg(value, f"--expect {f} {path}")))
    for f, code in args.expect_finding:
        expect_findings.setdefault(f, []).append(code)

    try:
        fixtures = sorted(f for f in os.listdir(args.certs)
                          if f.endswith((".pem", ".der", ".b64"))
                          and os.path.isfile(os.path.join(args.certs, f)))
    except OSError as e:
        print(f"FAIL: cannot list {args.certs}: {e}")
        print("0 passed, 1 failed")
        return 1
    c = Checker(args.cli, args.openssl, args.certs, args.verbose,
                known_diffs, unreadable, expects, expect_findings)
    for f in fixtures:
        c.check_file(os.path.join(args.certs, f))

    checked = c.passed + c.failed
    failed = c.failed + c.problems
    # every declared exception must name a fixture (and a compared field): no silent typos
    named = ([(f, "--known-diff") for f, _ in known_diffs] + [(f, "--openssl-unreadable") for f in unreadable]
             + [(f, "--expect") for f in expects] + [(f, "--expect-finding") for f in expect_findings])
    for f, opt in named:
        if f not in fixtures:
            print(f"FAIL: {opt} {f}: no such fixture in {args.certs}")
            failed += 1
    for f, field in sorted(set(known_diffs) - c.known_diffs_used):
        if f in fixtures:
            print(f"FAIL: --known-diff {f} {field}: no such field was compared for {f}")
            failed += 1
    if not fixtures or checked < len(fixtures):
        print(f"FAIL: checked {checked} certificate(s) for {len(fixtures)} fixture file(s)")
        failed = max(failed, 1)
    print(f"{c.passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
