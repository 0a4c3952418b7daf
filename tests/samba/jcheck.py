#!/usr/bin/python3
"""Check fields of a JSON document: jcheck.py FILE EXPR...

EXPR is PATH=VALUE, PATH!=VALUE or PATH~REGEX.
PATH walks the document with dots: `kdc_error.code`, `profiles.0.outcome`. On a list, a
non-numeric step picks the element whose "profile" (else "method", "code", "sam") member
equals it: `profiles.samba.outcome`, `paths.sid_extension.result`, `reasons.no_sid`.
PATH `?` with a list step test membership: `reasons.no_sid?` is true when such an element exists.
VALUE is JSON when it parses (true, 66, null, "x"), else a plain string.
A missing member compares as the special value <missing>.

Prints one line per failed expression and exits 1 if any failed; 2 on unreadable input.
Also: jcheck.py --get FILE PATH prints the value (strings raw, others as JSON).
"""
import json
import re
import sys

MISSING = object()
KEYS = ("profile", "method", "code", "sam", "name")


def walk(doc, path):
    cur = doc
    if path in ("", "."):
        return cur
    for step in path.split("."):
        if isinstance(cur, dict):
            cur = cur.get(step, MISSING)
        elif isinstance(cur, list):
            if re.fullmatch(r"-?\d+", step):
                i = int(step)
                cur = cur[i] if -len(cur) <= i < len(cur) else MISSING
            else:
                hit = MISSING
                for el in cur:
                    if isinstance(el, dict) and any(el.get(k) == step for k in KEYS):
                        hit = el
                        break
                cur = hit
        else:
            return MISSING
        if cur is MISSING:
            return MISSING
    return cur


def parse_value(text):
    try:
        return json.loads(text)
    except ValueError:
        return text


def show(v):
    if v is MISSING:
        return "<missing>"
    s = json.dumps(v, ensure_ascii=False)
    return s if len(s) <= 200 else s[:200] + "..."


def main(argv):
    if len(argv) >= 3 and argv[0] == "--get":
        with open(argv[1], encoding="utf-8") as f:
            doc = json.load(f)
        v = walk(doc, argv[2])
        if v is MISSING:
            return 1
        print(v if isinstance(v, str) else json.dumps(v))
        return 0
    if len(argv) < 1:
        print("usage: jcheck.py FILE EXPR...", file=sys.stderr)
        return 2
    try:
        with open(argv[0], encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        print(f"not JSON: {e}")
        return 2
    bad = 0
    for expr in argv[1:]:
        m = re.fullmatch(r"([^=!~]*?)(\?|!=|=|~)(.*)", expr, re.S)
        if not m:
            print(f"bad expression {expr!r}")
            bad += 1
            continue
        path, op, want = m.groups()
        got = walk(doc, path)
        if op == "?":
            ok = got is not MISSING
            if not ok:
                print(f"{path}: absent")
        elif op == "~":
            ok = got is not MISSING and re.search(want, got if isinstance(got, str) else json.dumps(got)) is not None
            if not ok:
                print(f"{path}: {show(got)} does not match /{want}/")
        else:
            exp = parse_value(want)
            eq = got is not MISSING and got == exp and type(got) is type(exp)
            ok = eq if op == "=" else not eq
            if not ok:
                print(f"{path}: got {show(got)}, {'want' if op == '=' else 'want anything but'} {show(exp)}")
        bad += 0 if ok else 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
