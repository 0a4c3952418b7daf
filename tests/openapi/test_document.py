#!/usr/bin/env python3
"""Checks of openapi/strongmapd.yaml that the HTTP tests cannot make.

tests/api/test_api.py validates every response against the document's schemas, but a JSON
Schema validator ignores keywords it does not know: a misspelt `requried`, or a stray key that
YAML made out of a sentence, silently checks nothing. Two checks here:

* no entry without a value: in a YAML flow mapping an unquoted description that contains ", "
  ends at the comma, and the rest becomes a key of its own with no value (null), e.g.
  `{ type: string, description: DER order, as the KDC writes it }` gives the key
  "as the KDC writes it". An OpenAPI document has no use for a key without a value, so any
  is reported with its line;
* every schema object uses only JSON Schema 2020-12 and OpenAPI 3.1 keywords (or `x-`
  extensions), and every value of `properties` is a schema.

    test_document.py [--openapi openapi/strongmapd.yaml] [unittest options]

Needs python3-yaml (Debian package); exits 77 (ctest: skipped) when it is missing.
"""

import argparse
import os
import sys
import unittest

try:
    import yaml
except ImportError as e:  # pragma: no cover
    print(f"SKIP: {e} (install python3-yaml)")
    sys.exit(77)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OPENAPI = os.path.join(ROOT, "openapi", "strongmapd.yaml")

# JSON Schema 2020-12 (core, applicator, unevaluated, validation, meta-data, format-annotation,
# content) and the OpenAPI 3.1 Schema Object's own fields.
SCHEMA_KEYWORDS = {
    "$schema", "$id", "$ref", "$anchor", "$dynamicRef", "$dynamicAnchor", "$vocabulary",
    "$comment", "$defs",
    "allOf", "anyOf", "oneOf", "not", "if", "then", "else", "dependentSchemas", "prefixItems",
    "items", "contains", "properties", "patternProperties", "additionalProperties",
    "propertyNames", "unevaluatedItems", "unevaluatedProperties",
    "type", "enum", "const", "multipleOf", "maximum", "exclusiveMaximum", "minimum",
    "exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems", "minItems",
    "uniqueItems", "maxContains", "minContains", "maxProperties", "minProperties", "required",
    "dependentRequired",
    "title", "description", "default", "deprecated", "readOnly", "writeOnly", "examples",
    "format", "contentEncoding", "contentMediaType", "contentSchema",
    "discriminator", "xml", "externalDocs", "example",
}
# keywords whose value is one schema, a list of schemas, or a map of name -> schema
ONE = ("not", "if", "then", "else", "items", "contains", "additionalProperties",
       "propertyNames", "unevaluatedItems", "unevaluatedProperties", "contentSchema")
LIST = ("allOf", "anyOf", "oneOf", "prefixItems")
MAP = ("properties", "patternProperties", "$defs", "dependentSchemas")


def empty_entries(node, out):
    """Append (key, line) for every mapping entry under @node whose value was not written."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if (isinstance(value, yaml.ScalarNode) and value.tag == "tag:yaml.org,2002:null"
                    and value.value == "" and value.style is None):
                out.append((key.value, key.start_mark.line + 1))
            empty_entries(value, out)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            empty_entries(item, out)


def check_schema(schema, where, out):
    """Append a message to @out for each unknown keyword in @schema and the schemas in it."""
    if isinstance(schema, bool):
        return
    if not isinstance(schema, dict):
        out.append(f"{where}: a schema must be an object, not {schema!r}")
        return
    for key, value in schema.items():
        if not isinstance(key, str) or (key not in SCHEMA_KEYWORDS and not key.startswith("x-")):
            out.append(f"{where}: unknown schema keyword {key!r}")
        elif key in ONE:
            check_schema(value, f"{where}/{key}", out)
        elif key in LIST:
            if not isinstance(value, list):
                out.append(f"{where}/{key}: must be a list of schemas")
                continue
            for i, sub in enumerate(value):
                check_schema(sub, f"{where}/{key}/{i}", out)
        elif key in MAP:
            if not isinstance(value, dict):
                out.append(f"{where}/{key}: must map names to schemas")
                continue
            for name, sub in value.items():
                check_schema(sub, f"{where}/{key}/{name}", out)


def document_schemas(doc):
    """(where, schema) for every schema the document holds outside other schemas."""
    def media(content, where):
        for mtype, m in (content or {}).items():
            if isinstance(m, dict) and "schema" in m:
                yield f"{where}/content/{mtype}/schema", m["schema"]

    def parameter_or_header(p, where):
        if isinstance(p, dict):
            if "schema" in p:
                yield f"{where}/schema", p["schema"]
            yield from media(p.get("content"), where)

    def response(r, where):
        if isinstance(r, dict):
            yield from media(r.get("content"), where)
            for name, h in (r.get("headers") or {}).items():
                yield from parameter_or_header(h, f"{where}/headers/{name}")

    comp = doc.get("components") or {}
    for name, s in (comp.get("schemas") or {}).items():
        yield f"#/components/schemas/{name}", s
    for name, p in (comp.get("parameters") or {}).items():
        yield from parameter_or_header(p, f"#/components/parameters/{name}")
    for name, h in (comp.get("headers") or {}).items():
        yield from parameter_or_header(h, f"#/components/headers/{name}")
    for name, r in (comp.get("responses") or {}).items():
        yield from response(r, f"#/components/responses/{name}")
    for name, b in (comp.get("requestBodies") or {}).items():
        yield from media((b or {}).get("content"), f"#/components/requestBodies/{name}")
    for path, item in (doc.get("paths") or {}).items():
        for i, p in enumerate(item.get("parameters") or []):
            yield from parameter_or_header(p, f"#/paths/{path}/parameters/{i}")
        for method, op in item.items():
            if method not in ("get", "put", "post", "delete", "options", "head", "patch",
                              "trace"):
                continue
            where = f"#/paths/{path}/{method}"
            for i, p in enumerate(op.get("parameters") or []):
                yield from parameter_or_header(p, f"{where}/parameters/{i}")
            yield from media((op.get("requestBody") or {}).get("content"),
                             f"{where}/requestBody")
            for status, r in (op.get("responses") or {}).items():
                yield from response(r, f"{where}/responses/{status}")


class Document(unittest.TestCase):
    path = OPENAPI

    def setUp(self):
        with open(self.path, encoding="utf-8") as f:
            self.text = f.read()

    def test_no_entry_without_value(self):
        out = []
        empty_entries(yaml.compose(self.text, Loader=yaml.SafeLoader), out)
        self.assertFalse(out, "keys without a value (an unquoted \", \" in a flow mapping "
                         "splits a description; quote it): " +
                         ", ".join(f"line {line}: {key!r}" for key, line in out))

    def test_schema_keywords(self):
        doc = yaml.safe_load(self.text)
        out = []
        n = 0
        for where, schema in document_schemas(doc):
            check_schema(schema, where, out)
            n += 1
        self.assertGreater(n, 10, "found almost no schemas: is this the OpenAPI document?")
        self.assertFalse(out, "\n" + "\n".join(out))


class Checks(unittest.TestCase):
    """The checks above catch what they are for (on small documents made here)."""

    def test_split_description_found(self):
        out = []
        text = ("properties:\n"
                "  index: { type: integer, description: position in the input, from 0 }\n"
                "  ok: { type: string, description: \"quoted, as it should be\" }\n"
                "  empty:\n")
        empty_entries(yaml.compose(text, Loader=yaml.SafeLoader), out)
        self.assertEqual(out, [("from 0", 2), ("empty", 4)])

    def test_explicit_null_allowed(self):
        out = []
        empty_entries(yaml.compose("example: { sid: null, ski: ~ }\n",
                                   Loader=yaml.SafeLoader), out)
        self.assertEqual(out, [])

    def test_unknown_keywords_found(self):
        out = []
        check_schema({"type": "object", "requried": ["a"],
                      "properties": {"a": {"type": "string", "from 0": None},
                                     "b": None},
                      "items": {"oneOf": [{"type": "null"}, {"minLenght": 1}]}}, "#", out)
        self.assertEqual(out, ["#: unknown schema keyword 'requried'",
                               "#/properties/a: unknown schema keyword 'from 0'",
                               "#/properties/b: a schema must be an object, not None",
                               "#/items/oneOf/1: unknown schema keyword 'minLenght'"])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--openapi", default=OPENAPI, help="the OpenAPI document")
    args, rest = p.parse_known_args()
    Document.path = args.openapi
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
