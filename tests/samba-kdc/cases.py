"""The samba-kdc tier's table: accounts, certificates, directory values and logon cases.

Every case is one PKINIT logon (certificate, account) that run.py tries against the real Samba
KDC in each binding configuration (CONFIGS) and compares with strongmapd's `samba` verdict for
the same certificate and account. Nothing here says what the answer should be: the KDC decides
at test time, and strongmapd must agree.
"""

REALM = "EXAMPLE.TEST"
DNS_DOMAIN = "example.test"
BASE = "DC=example,DC=test"
DOMAIN_SID = "S-1-5-21-2024001-2024002-2024003"

# (name, smb.conf "strong certificate binding enforcement", strongmap --mode,
#  "certificate backdating compensation" in minutes)
CONFIGS = [
    ("full", "full", 2, 0),
    ("compat", "compatibility", 1, 0),
    ("compat+60m", "compatibility", 1, 60),
    ("none", "none", 0, 0),
]

# Accounts made with Samba's Python bindings. upn: by default NAME@realm; False: no
# userPrincipalName (the implicit UPN sAMAccountName@realm only); a string: that UPN instead.
# Computers get sAMAccountName NAME$ and no userPrincipalName.
ACCOUNTS = [
    {"name": "alice"},
    {"name": "carol"},
    {"name": "bob", "disabled": True},
    {"name": "ivan", "upn": False},
    {"name": "erin", "upn": f"erin.alt@{DNS_DOMAIN}"},
    # one account per explicit mapping form (values below)
    {"name": "m_isr"}, {"name": "m_isr00"}, {"name": "m_isfwd"}, {"name": "m_ski"},
    {"name": "m_sha1"}, {"name": "m_spki"}, {"name": "m_keybits"}, {"name": "m_is"},
    {"name": "m_s"}, {"name": "m_rfc822"}, {"name": "m_noupn"}, {"name": "m_othersid"},
    {"name": "fm_weak1st"}, {"name": "fm_strong1st"}, {"name": "bd"},
    # key trust (msDS-KeyCredentialLink)
    {"name": "kt"}, {"name": "ktder"}, {"name": "ktst"}, {"name": "ktu"}, {"name": "ktuder"},
    {"name": "ktust"}, {"name": "ktuwrong"}, {"name": "ktunoupn"},
    {"name": "WS01", "kind": "computer"},
    {"name": "WS02", "kind": "computer"},
    {"name": "WS03", "kind": "computer"},
]

# Certificates. ca: "issuing" (in the KDC's pkinit_anchors) or "rogue" (not). No self-signed
# certificate: MIT kinit leaves its trust anchor out of the CMS certificates it sends, and it
# refuses a client certificate that does not chain to one of its anchors, so a self-signed
# certificate never reaches the KDC; Samba's key trust path is taken for any certificate its
# anchors do not validate, so the rogue CA's certificates exercise it.
# upn/dns/email/uri: SAN entries. sid: an account whose objectSid goes into the SID extension
# (made by `strongmap sid extension`); sid_form "lowercase": that SID written "s-1-5-...",
# "utf8string": the SID as a UTF8String where an OCTET STRING belongs (malformed); sid_text: the
# extension with this text instead of a SID; uri_sid: the account's SID as a SAN URI.
# validity: "now" (default: notBefore after every account's whenCreated), "expired", "future",
# or "backdated:ACCOUNT" (notBefore 30 minutes before the account's whenCreated).
# eku: default CLIENT_EKU. Serials are given by run.py: 8A1B2C then the certificate's index;
# the first byte >= 0x80 makes DER add a sign byte (00), which Windows keeps in <SR> and Samba
# strips.
CLIENT_EKU = "clientAuth,1.3.6.1.4.1.311.20.2.2"


def _u(name):
    return f"{name}@{DNS_DOMAIN}"


CERTS = [
    {"name": "alice_sid", "subject": "/CN=Alice", "upn": [_u("alice")], "sid": "alice"},
    {"name": "alice_sid_carol", "subject": "/CN=Alice", "upn": [_u("alice")], "sid": "carol"},
    {"name": "alice_sid_baddr", "subject": "/CN=Alice", "upn": [_u("alice")],
     "sid": "alice", "sid_form": "utf8string"},
    {"name": "alice_sid_garbage", "subject": "/CN=Alice", "upn": [_u("alice")],
     "sid_text": "S-1-5-21-not-a-sid"},
    {"name": "alice_sid_lower", "subject": "/CN=Alice", "upn": [_u("alice")],
     "sid": "alice", "sid_form": "lowercase"},
    {"name": "alice_uri", "subject": "/CN=Alice", "upn": [_u("alice")], "uri_sid": "alice"},
    {"name": "alice_upn", "subject": "/CN=Alice", "upn": [_u("alice")]},
    {"name": "carol_upn_alice_sid", "subject": "/CN=Carol", "upn": [_u("carol")], "sid": "alice"},
    {"name": "alice_noupn_sid", "subject": "/CN=Alice", "sid": "alice"},
    {"name": "ivan_sid", "subject": "/CN=Ivan", "upn": [_u("ivan")], "sid": "ivan"},
    {"name": "erin_implicit", "subject": "/CN=Erin", "upn": [_u("erin")], "sid": "erin"},
    {"name": "erin_explicit", "subject": "/CN=Erin", "upn": [f"erin.alt@{DNS_DOMAIN}"],
     "sid": "erin"},
    {"name": "nobody", "subject": "/CN=Nobody", "upn": [_u("nobody")]},
    {"name": "m_isr", "subject": "/CN=M ISR", "upn": [_u("m_isr")]},
    {"name": "m_isr00", "subject": "/CN=M ISR00", "upn": [_u("m_isr00")]},
    {"name": "m_isfwd", "subject": "/CN=M ISFWD", "upn": [_u("m_isfwd")]},
    {"name": "m_ski", "subject": "/CN=M SKI", "upn": [_u("m_ski")]},
    {"name": "m_sha1", "subject": "/CN=M SHA1", "upn": [_u("m_sha1")]},
    {"name": "m_spki", "subject": "/CN=M SPKI", "upn": [_u("m_spki")]},
    {"name": "m_keybits", "subject": "/CN=M KEYBITS", "upn": [_u("m_keybits")]},
    {"name": "m_is", "subject": "/O=strongmap tests/CN=M IS", "upn": [_u("m_is")]},
    {"name": "m_s", "subject": "/O=strongmap tests/CN=M S", "upn": [_u("m_s")]},
    {"name": "m_rfc822", "subject": "/CN=M RFC822", "upn": [_u("m_rfc822")],
     "email": ["m.rfc822@example.test"]},
    {"name": "m_noupn", "subject": "/CN=M NOUPN"},
    {"name": "m_othersid", "subject": "/CN=M OTHERSID", "upn": [_u("m_othersid")],
     "sid": "carol"},
    {"name": "fm_weak1st", "subject": "/CN=FM WEAK1ST", "upn": [_u("fm_weak1st")],
     "validity": "backdated:fm_weak1st"},
    {"name": "fm_strong1st", "subject": "/CN=FM STRONG1ST", "upn": [_u("fm_strong1st")],
     "validity": "backdated:fm_strong1st"},
    {"name": "bd", "subject": "/CN=BD", "upn": [_u("bd")], "validity": "backdated:bd"},
    {"name": "bob_sid", "subject": "/CN=Bob", "upn": [_u("bob")], "sid": "bob"},
    {"name": "alice_expired", "subject": "/CN=Alice", "upn": [_u("alice")], "sid": "alice",
     "validity": "expired"},
    {"name": "alice_future", "subject": "/CN=Alice", "upn": [_u("alice")], "sid": "alice",
     "validity": "future"},
    {"name": "alice_serverauth", "subject": "/CN=Alice", "upn": [_u("alice")], "sid": "alice",
     "eku": "serverAuth"},
    {"name": "alice_rogue", "subject": "/CN=Alice", "upn": [_u("alice")], "sid": "alice",
     "ca": "rogue"},
    {"name": "kt", "subject": "/CN=KT", "upn": [_u("kt")]},
    {"name": "ktder", "subject": "/CN=KTDER", "upn": [_u("ktder")]},
    {"name": "ktst", "subject": "/CN=KTST", "upn": [_u("ktst")]},
    {"name": "ktu", "subject": "/CN=KTU", "upn": [_u("ktu")], "ca": "rogue"},
    {"name": "ktuder", "subject": "/CN=KTUDER", "upn": [_u("ktuder")], "ca": "rogue"},
    {"name": "ktust", "subject": "/CN=KTUST", "upn": [_u("ktust")], "ca": "rogue"},
    {"name": "ktuwrong", "subject": "/CN=KTUWRONG", "upn": [_u("ktuwrong")], "ca": "rogue"},
    {"name": "ktunoupn", "subject": "/CN=KTUNOUPN", "ca": "rogue"},
    {"name": "ws03_rogue", "subject": "/CN=WS03$", "upn": [_u("WS03$")], "ca": "rogue"},
    {"name": "ws01_dns_sid", "subject": f"/CN=ws01.{DNS_DOMAIN}", "dns": [f"ws01.{DNS_DOMAIN}"],
     "sid": "WS01$", "eku": "clientAuth,serverAuth"},
    {"name": "ws01_upn_sid", "subject": "/CN=WS01$", "upn": [_u("WS01$")], "sid": "WS01$"},
    {"name": "ws01_dns", "subject": f"/CN=ws01.{DNS_DOMAIN}", "dns": [f"ws01.{DNS_DOMAIN}"],
     "eku": "clientAuth,serverAuth"},
    {"name": "ws01_upn", "subject": "/CN=WS01$", "upn": [_u("WS01$")]},
    {"name": "ws02_spoof", "subject": f"/CN=ws01.{DNS_DOMAIN}", "dns": [f"ws01.{DNS_DOMAIN}"],
     "sid": "WS02$", "eku": "clientAuth,serverAuth"},
]

# altSecurityIdentities, in attribute order: (form, certificate). Forms (computed by run.py from
# openssl's view of the certificate, the way KB5014754 tells an administrator to write them):
#   isr      X509IssuerSerialNumber, serial bytes reversed, no sign byte
#   isr00    the same with the DER sign byte kept (00 at the end: what Windows builds)
#   isfwd    the serial in certificate order (not reversed)
#   ski      X509SKI          sha1     X509SHA1PublicKey, SHA-1 of the whole certificate
#   spki     X509SHA1PublicKey as SHA-1 of the SubjectPublicKeyInfo
#   keybits  X509SHA1PublicKey as SHA-1 of the subjectPublicKey bits
#   is       X509IssuerSubject   s  X509SubjectOnly   rfc822  X509RFC822
ALTSEC = {
    "m_isr": [("isr", "m_isr")],
    "m_isr00": [("isr00", "m_isr00")],
    "m_isfwd": [("isfwd", "m_isfwd")],
    "m_ski": [("ski", "m_ski")],
    "m_sha1": [("sha1", "m_sha1")],
    "m_spki": [("spki", "m_spki")],
    "m_keybits": [("keybits", "m_keybits")],
    "m_is": [("is", "m_is")],
    "m_s": [("s", "m_s")],
    "m_rfc822": [("rfc822", "m_rfc822")],
    "m_noupn": [("isr", "m_noupn")],
    "m_othersid": [("isr", "m_othersid")],
    "fm_weak1st": [("is", "fm_weak1st"), ("ski", "fm_weak1st")],
    "fm_strong1st": [("ski", "fm_strong1st"), ("is", "fm_strong1st")],
    "bd": [("is", "bd")],
}

# msDS-KeyCredentialLink holding the certificate's key: account -> (certificate, writer).
# Writers: "bcrypt" tests/tools/keycred.py make (BCRYPT_RSAKEY_BLOB key material, the form of
# users' Windows Hello keys, with a DeviceId); "der" keycred.py make --material der (PKCS #1
# RSAPublicKey, the form of computer keys); "samba-tool" Samba's own `samba-tool user keytrust
# add` (SubjectPublicKeyInfo DER, no DeviceId); "computer" keycred.py make --computer.
KEYCREDS = {
    "kt": ("kt", "bcrypt"),
    "ktder": ("ktder", "der"),
    "ktst": ("ktst", "samba-tool"),
    "ktu": ("ktu", "bcrypt"),
    "ktuder": ("ktuder", "der"),
    "ktust": ("ktust", "samba-tool"),
    "ktuwrong": ("ktu", "bcrypt"),  # another certificate's key
    "ktunoupn": ("ktunoupn", "bcrypt"),
    "WS03$": ("ws03_rogue", "computer"),
}

# dNSHostName: WS02$ claims WS01's name (the 2022 "Certifried" spoof)
DNS_HOST_NAMES = {"WS01$": f"ws01.{DNS_DOMAIN}", "WS02$": f"ws01.{DNS_DOMAIN}"}

# (case, certificate, account the client logs on as (kinit NAME@REALM), what it covers)
# Certificates issued the way a CA does with strongmapd (issue 11): a request (openssl req) that
# carries only a UPN SAN, the issuance plan for the account from `strongmap preissue` against
# the running DC (profile samba), and `openssl ca` with the extension file the plan wrote. Made
# when Samba first runs (the plan reads the directory), before the first logon.
PREISSUED = [
    {"name": "alice_preissued", "subject": "/CN=Alice", "upn": [_u("alice")], "account": "alice"},
]

CASES = [
    ("sid_right", "alice_sid", "alice", "SID extension of the account"),
    ("sid_other_account", "alice_sid_carol", "alice", "SID extension of another account"),
    ("sid_malformed_der", "alice_sid_baddr", "alice",
     "SID extension whose SID is a UTF8String, not an OCTET STRING"),
    ("sid_not_a_sid", "alice_sid_garbage", "alice", "SID extension text that is not a SID"),
    ("sid_lowercase", "alice_sid_lower", "alice", "the account's SID written 's-1-5-...'"),
    ("sid_uri_only", "alice_uri", "alice", "SID only as SAN URI tag:microsoft.com,2022-09-14:sid:"),
    ("upn_only", "alice_upn", "alice", "UPN SAN, no SID, no explicit mapping"),
    ("cert_for_other_account", "alice_sid", "carol", "alice's certificate presented for carol"),
    ("upn_other_sid_right", "carol_upn_alice_sid", "alice",
     "alice's SID, but the UPN SAN names carol"),
    ("no_upn_sid_right", "alice_noupn_sid", "alice", "right SID extension, no UPN SAN"),
    ("implicit_upn", "ivan_sid", "ivan", "UPN SAN ivan@realm, account without userPrincipalName"),
    ("explicit_upn", "erin_explicit", "erin", "UPN SAN = the account's userPrincipalName "
     "erin.alt@realm (not sAMAccountName@realm), its SID"),
    ("implicit_upn_beside_explicit", "erin_implicit", "erin",
     "UPN SAN erin@realm while the account's userPrincipalName is erin.alt@realm, its SID"),
    ("unknown_account", "nobody", "nobody", "no such account"),
    ("map_issuer_serial", "m_isr", "m_isr", "X509IssuerSerialNumber, serial reversed"),
    ("map_issuer_serial_signbyte", "m_isr00", "m_isr00",
     "X509IssuerSerialNumber, reversed with the sign byte 00"),
    ("map_issuer_serial_forward", "m_isfwd", "m_isfwd",
     "X509IssuerSerialNumber, serial in certificate order"),
    ("map_ski", "m_ski", "m_ski", "X509SKI"),
    ("map_sha1_thumbprint", "m_sha1", "m_sha1", "X509SHA1PublicKey = certificate thumbprint"),
    ("map_sha1_spki", "m_spki", "m_spki", "X509SHA1PublicKey = SHA-1 of the SubjectPublicKeyInfo"),
    ("map_sha1_keybits", "m_keybits", "m_keybits",
     "X509SHA1PublicKey = SHA-1 of the public key bits"),
    ("map_issuer_subject", "m_is", "m_is", "X509IssuerSubject (weak)"),
    ("map_subject_only", "m_s", "m_s", "X509SubjectOnly (weak)"),
    ("map_rfc822", "m_rfc822", "m_rfc822", "X509RFC822 (weak)"),
    ("map_strong_no_upn", "m_noupn", "m_noupn", "strong X509IssuerSerialNumber, no UPN SAN"),
    ("map_strong_other_sid", "m_othersid", "m_othersid",
     "strong X509IssuerSerialNumber, SID extension of another account"),
    ("first_match_weak_first", "fm_weak1st", "fm_weak1st",
     "altSecurityIdentities: matching weak value, then matching strong value; certificate "
     "30 minutes older than the account (so the weak match alone fails in compatibility)"),
    ("first_match_strong_first", "fm_strong1st", "fm_strong1st",
     "the same with the strong value first"),
    ("backdated_weak", "bd", "bd",
     "X509IssuerSubject, notBefore 30 minutes before the account's whenCreated"),
    ("disabled_account", "bob_sid", "bob", "disabled account, right SID"),
    ("expired", "alice_expired", "alice", "expired certificate (client clock shifted back)"),
    ("not_yet_valid", "alice_future", "alice",
     "certificate valid from next year (client clock shifted forward)"),
    ("serverauth_eku_only", "alice_serverauth", "alice", "EKU serverAuth only, right SID"),
    ("untrusted_issuer", "alice_rogue", "alice", "issuer not in the KDC's pkinit_anchors"),
    ("key_trust", "kt", "kt",
     "trusted issuer, UPN SAN, no SID; msDS-KeyCredentialLink (keycred.py, BCRYPT key) holds "
     "the key"),
    ("key_trust_der", "ktder", "ktder", "the same, key as PKCS #1 DER (keycred.py --material der)"),
    ("key_trust_samba_tool", "ktst", "ktst",
     "the same, link written by samba-tool user keytrust add (SubjectPublicKeyInfo DER)"),
    ("key_trust_untrusted", "ktu", "ktu",
     "issuer not in the KDC's anchors, UPN SAN; key in msDS-KeyCredentialLink (BCRYPT)"),
    ("key_trust_untrusted_der", "ktuder", "ktuder", "the same, key as PKCS #1 DER"),
    ("key_trust_untrusted_samba_tool", "ktust", "ktust",
     "the same, link written by samba-tool user keytrust add"),
    ("key_trust_untrusted_other_key", "ktuwrong", "ktuwrong",
     "issuer not trusted; msDS-KeyCredentialLink holds another certificate's key"),
    ("key_trust_untrusted_no_upn", "ktunoupn", "ktunoupn",
     "issuer not trusted, no UPN SAN; key in msDS-KeyCredentialLink"),
    ("key_trust_computer", "ws03_rogue", "WS03$",
     "computer, issuer not trusted, UPN SAN WS03$@<realm>; key in msDS-KeyCredentialLink "
     "(keycred.py --computer)"),
    ("computer_dns_sid", "ws01_dns_sid", "WS01$", "computer: DNS SAN ws01.<realm>, its SID"),
    ("computer_upn_sid", "ws01_upn_sid", "WS01$", "computer: UPN SAN WS01$@<realm>, its SID"),
    ("computer_dns_nosid", "ws01_dns", "WS01$", "computer: DNS SAN only"),
    ("computer_upn_nosid", "ws01_upn", "WS01$", "computer: UPN SAN WS01$@<realm> only"),
    ("computer_spoof_as_victim", "ws02_spoof", "WS01$",
     "DNS SAN ws01.<realm> with WS02's SID (WS02 claims dNSHostName ws01), as WS01$"),
    ("computer_spoof_as_self", "ws02_spoof", "WS02$",
     "the same certificate as WS02$ (whose dNSHostName is ws01.<realm>)"),
    ("preissued_user", "alice_preissued", "alice",
     "a UPN-only request for alice issued with openssl ca and strongmap preissue's extension "
     "file (SID extension and SAN URI added)"),
]
