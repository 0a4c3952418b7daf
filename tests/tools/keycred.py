#!/usr/bin/env python3
"""Make and decode msDS-KeyCredentialLink values (Windows Hello for Business key trust).

Python 3 standard library plus the `openssl` command line tool only.

    keycred.py make --owner DN [options] FILE.pem     print one DN-Binary value
    keycred.py show VALUE|-                           decode a value to JSON

`make` reads a PEM certificate, public key or RSA private key and prints the value an
administrator would put in the account's msDS-KeyCredentialLink (LDIF: `msDS-KeyCredentialLink:
<value>`), in the DN-Binary syntax LDAP returns:

    B:<number of hex digits>:<HEX of a KEYCREDENTIALLINK_BLOB>:<owner DN>

The blob follows [MS-ADTS] 2.2.20 (public specification,
https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-adts/ 2.2.20.2 - 2.2.20.6):
Version 0x00000200 (little-endian), then entries sorted by identifier, each a 2-byte
little-endian length, a 1-byte identifier and the value:

    0x01 KeyID        SHA-256 of the KeyMaterial value
    0x02 KeyHash      SHA-256 of all the entries that follow it
    0x03 KeyMaterial  the RSA public key, --material:
                        bcrypt  BCRYPT_RSAKEY_BLOB ("RSA1"), the form Windows Hello writes for
                                user keys (default)
                        spki    DER SubjectPublicKeyInfo, what `samba-tool user keytrust`
                                writes and the only DER form Samba's KDC reads
                        der     DER RSAPublicKey (PKCS #1, RFC 8017 A.1.1), what bloodyAD
                                writes and DSInternals for computer keys (Samba's KDC does
                                not read it)
    0x04 KeyUsage     0x01 KEY_USAGE_NGC (--usage changes it, for negative tests)
    0x05 KeySource    0x00 KEY_SOURCE_AD
    0x06 DeviceId     16-byte GUID (Windows byte order), --device-id or random
    0x08 KeyApproximateLastLogonTimeStamp   FILETIME, only with --last-logon
    0x09 KeyCreationTime                    FILETIME (--created, default now)

`--computer` refuses what [MS-ADTS] 3.1.1.5.3.1.1.6 forbids on a computer's validated write
(KeyApproximateLastLogonTimeStamp; CustomKeyInformation is never written) and defaults the key
material to der.
Options for negative tests: --bad-keyid (KeyID of other bytes), --no-keyhash, --version N.

`show` prints the decoded fields as JSON (owner, version, key_id, usage, source, device_id,
created, key material kind, RSA bits, modulus and exponent in hex, whether KeyID and KeyHash
check out): a second, independent reading for tests.
"""

import argparse
import datetime
import hashlib
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import uuid

VERSION_2 = 0x00000200
KEY_ID, KEY_HASH, KEY_MATERIAL, KEY_USAGE, KEY_SOURCE = 1, 2, 3, 4, 5
DEVICE_ID, CUSTOM_KEY_INFO, LAST_LOGON, CREATION_TIME = 6, 7, 8, 9
USAGES = {"ngc": 0x01, "stk": 0x02, "fido": 0x07, "fek": 0x08}
BCRYPT_RSAPUBLIC_MAGIC = 0x31415352  # "RSA1" read as a little-endian ULONG
FILETIME_EPOCH = datetime.datetime(1601, 1, 1, tzinfo=datetime.timezone.utc)


class Error(Exception):
    pass


# ----------------------------------------------------------------------------- DER (tiny)
def der_read(buf, pos):
    """One DER TLV at pos: (tag, content start, content end)."""
    if pos + 2 > len(buf):
        raise Error("DER: truncated header")
    tag, first = buf[pos], buf[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        n = first & 0x7F
        if n == 0 or n > 4 or pos + n > len(buf):
            raise Error("DER: bad length")
        length = int.from_bytes(buf[pos:pos + n], "big")
        pos += n
    if pos + length > len(buf):
        raise Error("DER: truncated content")
    return tag, pos, pos + length


def der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def der_uint(b):
    """INTEGER for an unsigned big-endian magnitude: minimal, 00 sign byte when needed."""
    b = b.lstrip(b"\x00") or b"\x00"
    if b[0] & 0x80:
        b = b"\x00" + b
    return b"\x02" + der_len(len(b)) + b


def rsa_public_key_der(n, e):
    body = der_uint(n) + der_uint(e)
    return b"\x30" + der_len(len(body)) + body


RSA_ALG_ID = bytes.fromhex("300d06092a864886f70d0101010500")  # rsaEncryption, NULL


def spki_der(n, e):
    rpk = rsa_public_key_der(n, e)
    bits = b"\x03" + der_len(len(rpk) + 1) + b"\x00" + rpk
    body = RSA_ALG_ID + bits
    return b"\x30" + der_len(len(body)) + body


def parse_spki(der):
    """(modulus, exponent) from a DER SubjectPublicKeyInfo holding an RSA key."""
    tag, s, end = der_read(der, 0)
    if tag != 0x30 or end != len(der) or der[s:s + len(RSA_ALG_ID)] != RSA_ALG_ID:
        raise Error("SubjectPublicKeyInfo: not one SEQUENCE with rsaEncryption")
    tag, bs, be = der_read(der, s + len(RSA_ALG_ID))
    if tag != 0x03 or be != end or be - bs < 2 or der[bs] != 0:
        raise Error("SubjectPublicKeyInfo: bad BIT STRING")
    return parse_rsa_public_key(der[bs + 1:be])


def parse_rsa_public_key(der):
    """(modulus, exponent) as unsigned big-endian bytes from a DER RSAPublicKey."""
    tag, s, end = der_read(der, 0)
    if tag != 0x30 or end != len(der):
        raise Error("RSAPublicKey: not one SEQUENCE")
    out = []
    pos = s
    for _ in range(2):
        tag, cs, ce = der_read(der, pos)
        if tag != 0x02 or ce == cs:
            raise Error("RSAPublicKey: expected INTEGER")
        out.append(der[cs:ce].lstrip(b"\x00") or b"\x00")
        pos = ce
    if pos != end:
        raise Error("RSAPublicKey: trailing data")
    return out[0], out[1]


# ----------------------------------------------------------------------------- keys
def rsa_key_from_pem(path):
    """(modulus, exponent) of the RSA key in a PEM certificate, public or private key."""
    with open(path, "rb") as f:
        pem = f.read()
    with tempfile.TemporaryDirectory() as tmp:
        pub = os.path.join(tmp, "pub.pem")
        if b"-----BEGIN CERTIFICATE-----" in pem:
            cmd = ["openssl", "x509", "-in", path, "-noout", "-pubkey", "-out", pub]
        elif b"PRIVATE KEY-----" in pem:
            cmd = ["openssl", "pkey", "-in", path, "-pubout", "-out", pub]
        elif b"PUBLIC KEY-----" in pem:
            pub = path
            cmd = None
        else:
            raise Error(f"{path}: no PEM certificate or key")
        if cmd:
            r = subprocess.run(cmd, capture_output=True)
            if r.returncode:
                raise Error(f"openssl: {r.stderr.decode(errors='replace').strip()}")
        r = subprocess.run(["openssl", "rsa", "-pubin", "-in", pub, "-RSAPublicKey_out",
                            "-outform", "DER"], capture_output=True)
        if r.returncode:
            raise Error(f"{path}: not an RSA key (key trust keys are RSA; [MS-PKCA] "
                        "3.1.5.2.1.4): " + r.stderr.decode(errors="replace").strip())
        return parse_rsa_public_key(r.stdout)


def bcrypt_rsa_public_blob(n, e):
    """BCRYPT_RSAKEY_BLOB header (six little-endian ULONGs) + exponent + modulus, big-endian."""
    return struct.pack("<6I", BCRYPT_RSAPUBLIC_MAGIC, len(n) * 8 - (8 - n[0].bit_length()),
                       len(e), len(n), 0, 0) + e + n


# ----------------------------------------------------------------------------- blob
def filetime(dt):
    delta = dt - FILETIME_EPOCH
    return (delta.days * 86400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


def from_filetime(ft):
    return FILETIME_EPOCH + datetime.timedelta(microseconds=ft // 10)


def entry(ident, value):
    return struct.pack("<HB", len(value), ident) + value


def make_blob(material, usage, source, device_id, created, last_logon=None, bad_keyid=False,
              keyhash=True, version=VERSION_2):
    key_id = hashlib.sha256(material + (b"x" if bad_keyid else b"")).digest()
    rest = entry(KEY_MATERIAL, material) + entry(KEY_USAGE, bytes([usage])) \
        + entry(KEY_SOURCE, bytes([source]))
    if device_id is not None:
        rest += entry(DEVICE_ID, device_id.bytes_le)
    if last_logon is not None:
        rest += entry(LAST_LOGON, struct.pack("<Q", filetime(last_logon)))
    rest += entry(CREATION_TIME, struct.pack("<Q", filetime(created)))
    blob = struct.pack("<I", version) + entry(KEY_ID, key_id)
    if keyhash:
        blob += entry(KEY_HASH, hashlib.sha256(rest).digest())
    return blob + rest


def dn_binary(blob, owner):
    h = blob.hex().upper()
    return f"B:{len(h)}:{h}:{owner}"


def parse_value(value):
    """(blob bytes, owner DN or None) from a DN-Binary value or bare hex."""
    value = value.strip()
    m = re.fullmatch(r"B:(\d+):([0-9A-Fa-f]*):(.*)", value, re.S)
    if m:
        if int(m.group(1)) != len(m.group(2)):
            raise Error("DN-Binary: count does not match the hex digits")
        h, owner = m.group(2), m.group(3)
    else:
        h, owner = value, None
    if len(h) % 2 or not re.fullmatch(r"[0-9A-Fa-f]*", h):
        raise Error("not hex")
    return bytes.fromhex(h), owner


def show(value):
    blob, owner = parse_value(value)
    if len(blob) < 4:
        raise Error("blob shorter than its version")
    out = {"owner": owner, "version": struct.unpack_from("<I", blob)[0]}
    pos, entries = 4, []
    while pos < len(blob):
        if pos + 3 > len(blob):
            raise Error(f"truncated entry header at {pos}")
        length, ident = struct.unpack_from("<HB", blob, pos)
        if pos + 3 + length > len(blob):
            raise Error(f"entry 0x{ident:02x} at {pos} runs past the end")
        entries.append((ident, blob[pos + 3:pos + 3 + length], pos))
        pos += 3 + length
    out["identifiers"] = [e[0] for e in entries]
    vals = {}
    for ident, v, p in entries:
        vals.setdefault(ident, (v, p))
    if KEY_MATERIAL in vals:
        mat = vals[KEY_MATERIAL][0]
        out["key_material_sha256"] = hashlib.sha256(mat).hexdigest().upper()
        if len(mat) >= 24 and struct.unpack_from("<I", mat)[0] == BCRYPT_RSAPUBLIC_MAGIC:
            magic, bits, cbe, cbn, _, _ = struct.unpack_from("<6I", mat)
            e, n = mat[24:24 + cbe], mat[24 + cbe:24 + cbe + cbn]
            out.update(key_kind="rsa", key_bits=bits)
        else:
            try:
                n, e = parse_spki(mat)
                out["der_form"] = "spki"
            except Error:
                n, e = parse_rsa_public_key(mat)
                out["der_form"] = "rsapublickey"
            out.update(key_kind="der", key_bits=int.from_bytes(n, "big").bit_length())
        out["modulus"] = n.hex().upper()
        out["exponent"] = e.hex().upper()
        rpk = rsa_public_key_der(n, e)
        out["rsa_public_key_sha1"] = hashlib.sha1(rpk).hexdigest().upper()
        out["spki_sha1"] = hashlib.sha1(spki_der(n, e)).hexdigest().upper()
    if KEY_ID in vals:
        out["key_id"] = vals[KEY_ID][0].hex().upper()
        if KEY_MATERIAL in vals:
            out["key_id_ok"] = vals[KEY_ID][0] == hashlib.sha256(vals[KEY_MATERIAL][0]).digest()
    if KEY_HASH in vals:
        v, p = vals[KEY_HASH]
        out["key_hash_ok"] = v == hashlib.sha256(blob[p + 3 + len(v):]).digest()
    if KEY_USAGE in vals:
        out["usage"] = vals[KEY_USAGE][0][0]
    if KEY_SOURCE in vals:
        out["source"] = vals[KEY_SOURCE][0][0]
    if DEVICE_ID in vals and len(vals[DEVICE_ID][0]) == 16:
        out["device_id"] = str(uuid.UUID(bytes_le=vals[DEVICE_ID][0]))
    for ident, name in ((CREATION_TIME, "created"), (LAST_LOGON, "last_logon")):
        if ident in vals and len(vals[ident][0]) == 8:
            ft = struct.unpack("<Q", vals[ident][0])[0]
            out[name] = from_filetime(ft).strftime("%Y-%m-%dT%H:%M:%SZ")
    return out


def parse_time(text):
    t = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=datetime.timezone.utc)
    return t.astimezone(datetime.timezone.utc)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    mk = sub.add_parser("make", help="print a DN-Binary msDS-KeyCredentialLink value")
    mk.add_argument("pem", help="PEM certificate, public key or RSA private key")
    mk.add_argument("--owner", required=True, help="DN of the account holding the value")
    mk.add_argument("--device-id", type=uuid.UUID, help="DeviceId GUID (default: random)")
    mk.add_argument("--no-device-id", action="store_true", help="leave DeviceId out")
    mk.add_argument("--created", type=parse_time, help="KeyCreationTime, ISO 8601 (UTC)")
    mk.add_argument("--last-logon", type=parse_time, help="add KeyApproximateLastLogonTimeStamp")
    mk.add_argument("--material", choices=("bcrypt", "spki", "der"), default=None,
                    help="key material: BCRYPT_RSAKEY_BLOB (default), DER SubjectPublicKeyInfo "
                    "or DER RSAPublicKey")
    mk.add_argument("--computer", action="store_true",
                    help="computer key: DER material, no last-logon entry")
    mk.add_argument("--usage", default="ngc",
                    help="KeyUsage: ngc (default), stk, fido, fek or a number")
    mk.add_argument("--source", type=int, default=0, help="KeySource (0 = AD)")
    mk.add_argument("--bad-keyid", action="store_true", help="KeyID not matching the material")
    mk.add_argument("--no-keyhash", action="store_true", help="leave KeyHash out")
    mk.add_argument("--version", type=lambda s: int(s, 0), default=VERSION_2)
    mk.add_argument("--hex", action="store_true", help="print only the blob's hex")
    sh = sub.add_parser("show", help="decode a value (DN-Binary or hex) to JSON")
    sh.add_argument("value", help="the value, or - to read it from stdin")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "show":
            value = sys.stdin.read() if args.value == "-" else args.value
            print(json.dumps(show(value), indent=1, sort_keys=True))
            return 0
        n, e = rsa_key_from_pem(args.pem)
        kind = args.material or ("der" if args.computer else "bcrypt")
        material = {"der": rsa_public_key_der, "spki": spki_der,
                    "bcrypt": bcrypt_rsa_public_blob}[kind](n, e)
        usage = USAGES.get(args.usage.lower())
        if usage is None:
            usage = int(args.usage, 0)
        if args.computer and args.last_logon:
            raise Error("--computer keys carry no KeyApproximateLastLogonTimeStamp "
                        "([MS-ADTS] 3.1.1.5.3.1.1.6)")
        device = None if args.no_device_id else (args.device_id or uuid.uuid4())
        created = args.created or datetime.datetime.now(datetime.timezone.utc)
        blob = make_blob(material, usage, args.source, device, created, args.last_logon,
                         args.bad_keyid, not args.no_keyhash, args.version)
        print(blob.hex().upper() if args.hex else dn_binary(blob, args.owner))
        return 0
    except (Error, OSError, ValueError) as ex:
        print(f"keycred.py: {ex}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
