"""tests/lib/openapi.py - openapi/strongmapd.yaml for the tests: local $refs resolved, the
schema of a route's response, JSON Schema validation (Draft 2020-12, as OpenAPI 3.1 uses).

The one OpenAPI resolver of the suite: tests/api/test_api.py validates every response body
with it, tests/robust/robustlib.py every problem document.

    spec = Spec()                                    # ImportError without the modules below
    spec.validate(spec.response("/v1/inspect", "POST", 200)["content"]["application/json"]
                  ["schema"], doc)                   # jsonschema.ValidationError on a mismatch
    spec.problem_error(doc)                          # None, or what is wrong with a Problem

Needs python3-yaml and python3-jsonschema (Debian packages; scripts/deps.sh installs them).
"""

import copy
import os
import re

import jsonschema  # python3-jsonschema
import yaml  # python3-yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OPENAPI = os.path.join(ROOT, "openapi", "strongmapd.yaml")


class Spec:
    """The OpenAPI document with every local $ref resolved, and schema look-ups."""

    def __init__(self, path=OPENAPI):
        with open(path, encoding="utf-8") as f:
            self.doc = yaml.safe_load(f)
        self.validator_cls = jsonschema.Draft202012Validator

    def _pointer(self, ref):
        assert ref.startswith("#/"), ref
        node = self.doc
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def resolve(self, node, depth=0):
        """@node with every $ref replaced by its target; a $ref's siblings are merged into a
        copy of the target."""
        if depth > 50:
            raise RecursionError("$ref cycle in openapi document")
        if isinstance(node, dict):
            if "$ref" in node:
                target = self.resolve(self._pointer(node["$ref"]), depth + 1)
                siblings = {k: v for k, v in node.items() if k != "$ref"}
                if siblings:
                    merged = copy.deepcopy(target)
                    merged.update(self.resolve(siblings, depth + 1))
                    return merged
                return target
            return {k: self.resolve(v, depth + 1) for k, v in node.items()}
        if isinstance(node, list):
            return [self.resolve(v, depth + 1) for v in node]
        return node

    def response(self, path, method, status):
        """The resolved response object of @method @path (a path of the document, templates
        not expanded) with @status, or None when the document does not list it."""
        if path not in self.doc["paths"]:
            if status == 404:
                return self.resolve(self.doc["components"]["responses"]["NotFound"])
            if status == 429:  # unknown paths are rate-limited too (see info.description)
                return self.resolve(self.doc["components"]["responses"]["RateLimited"])
            return None
        ops = self.doc["paths"][path]
        op = ops.get(method.lower())
        if op is None and method == "HEAD":
            op = ops.get("get")
        if op is None:
            if status == 405:
                return self.resolve(self.doc["components"]["responses"]["MethodNotAllowed"])
            return None
        resp = op["responses"].get(str(status)) or op["responses"].get("default")
        return self.resolve(resp) if resp is not None else None

    def validate(self, schema, instance):
        """Raises jsonschema.ValidationError when @instance does not match @schema."""
        self.validator_cls(schema, format_checker=jsonschema.FormatChecker()).validate(instance)

    def problem_error(self, doc):
        """None when @doc matches components.schemas.Problem, else the first error's message."""
        schema = self.resolve(self.doc["components"]["schemas"]["Problem"])
        v = self.validator_cls(schema, format_checker=jsonschema.FormatChecker())
        errs = sorted(v.iter_errors(doc), key=lambda e: list(e.path))
        return errs[0].message if errs else None

    def documented(self, path, method, status):
        """Is @status listed for @method on the request path @path (None: the route is not in
        the document)? Templates ({name}, {id}) match one last segment, or one segment before a
        fixed rest ("/v1/accounts/{name}/mappings", preferred over a last-segment match)."""
        op = None
        for p, ops in sorted(self.doc.get("paths", {}).items(), key=lambda kv: kv[0] != path
                             and not re.search(r"\{[^}]*\}/", kv[0])):
            m = re.search(r"\{[^}]*\}", p)
            pre, post = (p[:m.start()], p[m.end():]) if m else (p, "")
            mid = path[len(pre):len(path) - len(post)] if len(path) > len(pre) + len(post) else ""
            if p == path or (m and not post and path.startswith(pre)) or (
                    post and path.startswith(pre) and path.endswith(post) and mid
                    and "/" not in mid):
                op = ops.get(method.lower()) or (ops.get("get") if method == "HEAD" else None)
                break
        if op is None:
            return None
        return str(status) in op.get("responses", {}) or "default" in op.get("responses", {})
