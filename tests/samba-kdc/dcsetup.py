#!/usr/bin/env python3
"""Directory setup for the samba-kdc tier, run INSIDE the trixie root with Samba's own Python
bindings, on the provisioned sam.ldb while Samba is stopped (about 30 ms per account, where a
`samba-tool user create` process takes 0.5 s).

    dcsetup.py accounts SPEC.json OUT.json   create the accounts SPEC lists
    dcsetup.py modify SPEC.json OUT.json     replace attributes (values in the order given)
    dcsetup.py show SPEC.json OUT.json       read accounts back

SPEC (JSON): {"smbconf": path, "sam": path, "password": text, ...}
  accounts: "accounts": [{"name", "kind": "user"|"computer", "upn": true (the default
            name@realm) | false (none) | "other@name", "disabled": bool}]
  modify:   "changes": {name: {attribute: [values...], ...}}
  show:     "names": [sAMAccountName, ...]
OUT: {name: {"dn", "sam", "sid", "when_created", "upn", "uac", attribute: [values as read back]}}
"""

import json
import sys

import ldb
from samba.auth import system_session
from samba.dcerpc import security
from samba.ndr import ndr_unpack
from samba.param import LoadParm
from samba.samdb import SamDB

READ = ["sAMAccountName", "objectSid", "whenCreated", "userPrincipalName", "userAccountControl",
        "dNSHostName", "altSecurityIdentities", "msDS-KeyCredentialLink"]


def open_db(spec):
    lp = LoadParm()
    lp.load(spec["smbconf"])
    return SamDB(url=spec["sam"], session_info=system_session(), lp=lp)


def find(db, sam):
    res = db.search(base=db.domain_dn(), scope=ldb.SCOPE_SUBTREE,
                    expression="(sAMAccountName=%s)" % ldb.binary_encode(sam), attrs=READ)
    if len(res) != 1:
        raise SystemExit("dcsetup: %d entries for sAMAccountName=%s" % (len(res), sam))
    return res[0]


def describe(msg):
    out = {"dn": str(msg.dn), "sam": str(msg["sAMAccountName"][0]),
           "sid": str(ndr_unpack(security.dom_sid, msg["objectSid"][0])),
           "when_created": str(msg["whenCreated"][0]),
           "upn": str(msg["userPrincipalName"][0]) if "userPrincipalName" in msg else None,
           "uac": int(str(msg["userAccountControl"][0]))}
    for attr in ("dNSHostName", "altSecurityIdentities", "msDS-KeyCredentialLink"):
        out[attr] = [str(v) for v in msg[attr]] if attr in msg else []
    return out


def accounts(db, spec):
    out = {}
    for acc in spec["accounts"]:
        name = acc["name"]
        if acc["kind"] == "computer":
            db.newcomputer(name, prepare_oldjoin=True)
            sam = name + "$"
        else:
            db.newuser(name, spec["password"])
            sam = name
        msg = find(db, sam)
        upn = acc.get("upn", True)
        if upn is not True:
            m = ldb.Message(msg.dn)
            if upn is False:
                m["userPrincipalName"] = ldb.MessageElement([], ldb.FLAG_MOD_DELETE,
                                                            "userPrincipalName")
            else:
                m["userPrincipalName"] = ldb.MessageElement([upn.encode()], ldb.FLAG_MOD_REPLACE,
                                                            "userPrincipalName")
            db.modify(m)
        if acc.get("disabled"):
            db.disable_account("(sAMAccountName=%s)" % ldb.binary_encode(sam))
        out[sam] = describe(find(db, sam))
    return out


def modify(db, spec):
    out = {}
    for sam, attrs in spec["changes"].items():
        msg = find(db, sam)
        m = ldb.Message(msg.dn)
        for attr, values in attrs.items():
            m[attr] = ldb.MessageElement([v.encode() for v in values], ldb.FLAG_MOD_REPLACE, attr)
        db.modify(m)
        out[sam] = describe(find(db, sam))
    return out


def show(db, spec):
    return {sam: describe(find(db, sam)) for sam in spec["names"]}


def main():
    verbs = {"accounts": accounts, "modify": modify, "show": show}
    if len(sys.argv) != 4 or sys.argv[1] not in verbs:
        raise SystemExit(__doc__)
    with open(sys.argv[2], encoding="utf-8") as f:
        spec = json.load(f)
    out = verbs[sys.argv[1]](open_db(spec), spec)
    with open(sys.argv[3], "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
