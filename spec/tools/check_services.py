#!/usr/bin/env python3
"""Check spec/services.json: well-formed, and no service name that resolves to two services.

Run from the repository root:

    python3 spec/tools/check_services.py [PATH/TO/services.json]

A service name from an event is normalised before lookup (spec/README.md, "Service names"):
a leading `@aws-sdk/client-` is removed, the rest is lower-cased, everything but letters and
digits is dropped, and a trailing `client` is removed. This script applies the same rule to
every API key and every entry of `names` and fails when one normalised name belongs to two
different API keys.

IAM prefixes are names too, but with a lower rank: several APIs share one prefix (`ses` for
SES v1 and v2, `bedrock` for Bedrock and Bedrock Runtime), so a name that is some service's
key or listed name always wins over a prefix. A prefix shared by several services that is
nobody's explicit name is reported as a note: looking it up finds no single service, and the
engine's fallback (the normalised name used as the IAM prefix) gives the same prefix anyway.

When spec/services/*.json rules files exist, each must name (`service`) an API key of
services.json equal to its file name, with the same `prefix`.

Exit status: 0 when all is well, 1 on any error.
"""

import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = os.path.dirname(HERE)

KEY_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
PREFIX_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
JS_PACKAGE = "@aws-sdk/client-"


def normalise(name):
    """The lookup form of a service name, as the engine computes it."""
    s = name.strip()
    if s.lower().startswith(JS_PACKAGE):
        s = s[len(JS_PACKAGE):]
    s = re.sub(r"[^a-z0-9]", "", s.lower())
    if s.endswith("client") and len(s) > len("client"):
        s = s[: -len("client")]
    return s


def _no_duplicate_keys(pairs):
    obj = {}
    for k, v in pairs:
        if k in obj:
            raise ValueError("duplicate key %r" % k)
        obj[k] = v
    return obj


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f, object_pairs_hook=_no_duplicate_keys)


def check(path, rules_files=True):
    errors = []
    notes = []
    try:
        doc = load(path)
    except (OSError, ValueError) as e:
        return ["%s: cannot read: %s" % (path, e)], notes, 0

    if not isinstance(doc, dict) or set(doc) != {"services"} or not isinstance(doc["services"], dict):
        return ['%s: must be an object with exactly one member "services" (an object)' % path], notes, 0

    services = doc["services"]
    owners = {}  # normalised explicit name -> {key: [spellings]}
    prefixes = {}  # normalised prefix -> set of keys
    for key, entry in services.items():
        where = "services.%s" % key
        if not KEY_RE.match(key):
            errors.append("%s: API key must match %s" % (where, KEY_RE.pattern))
        if not isinstance(entry, dict):
            errors.append("%s: must be an object" % where)
            continue
        extra = set(entry) - {"prefix", "names"}
        if extra:
            errors.append("%s: unknown members %s" % (where, sorted(extra)))
        prefix = entry.get("prefix")
        if not isinstance(prefix, str) or not PREFIX_RE.match(prefix):
            errors.append("%s.prefix: must be a string matching %s" % (where, PREFIX_RE.pattern))
        else:
            prefixes.setdefault(normalise(prefix), set()).add(key)
        names = entry.get("names")
        if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
            errors.append("%s.names: must be a non-empty array of non-empty strings" % where)
            names = []
        if key not in names:
            notes.append("%s.names: does not list the API key itself (it is a name anyway)" % where)
        for spelling in [key] + names:
            n = normalise(spelling)
            if not n:
                errors.append("%s: name %r normalises to nothing" % (where, spelling))
                continue
            owners.setdefault(n, {}).setdefault(key, []).append(spelling)

    for n, by_key in sorted(owners.items()):
        if len(by_key) > 1:
            detail = "; ".join("%s (as %s)" % (k, ", ".join(repr(s) for s in sorted(set(v))))
                               for k, v in sorted(by_key.items()))
            errors.append("name %r maps to %d services: %s" % (n, len(by_key), detail))

    for n, keys in sorted(prefixes.items()):
        if n not in owners and len(keys) > 1:
            notes.append("prefix %r is shared by %s and is no service's name: looking it up "
                         "falls back to the prefix itself" % (n, ", ".join(sorted(keys))))

    if rules_files:
        errors.extend(check_rules_files(services))
    return errors, notes, len(services)


def check_rules_files(services):
    errors = []
    rules_dir = os.path.join(SPEC, "services")
    if not os.path.isdir(rules_dir):
        return errors
    for fname in sorted(os.listdir(rules_dir)):
        if not fname.endswith(".json"):
            continue
        key = fname[: -len(".json")]
        path = os.path.join(rules_dir, fname)
        try:
            rules = load(path)
        except (OSError, ValueError) as e:
            errors.append("%s: cannot read: %s" % (path, e))
            continue
        if key not in services:
            errors.append("%s: %r is not an API key of services.json" % (path, key))
            continue
        if not isinstance(rules, dict):
            continue  # the schema validator reports the shape
        if rules.get("service") != key:
            errors.append('%s: "service" is %r, expected %r (the file name)' % (path, rules.get("service"), key))
        want = services[key].get("prefix") if isinstance(services[key], dict) else None
        if rules.get("prefix") != want:
            errors.append('%s: "prefix" is %r, services.json says %r' % (path, rules.get("prefix"), want))
    return errors


def main(argv):
    path = argv[1] if len(argv) > 1 else os.path.join(SPEC, "services.json")
    errors, notes, count = check(path)
    for n in notes:
        print("note: " + n)
    for e in errors:
        print("error: " + e, file=sys.stderr)
    if errors:
        print("%s: %d error(s)" % (path, len(errors)), file=sys.stderr)
        return 1
    print("%s: %d services, no name clashes" % (path, count))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
