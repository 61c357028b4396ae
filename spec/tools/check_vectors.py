#!/usr/bin/env python3
"""Check the vectors against the rules and the IAM reference data.

Run from the repository root:

    python3 spec/tools/check_vectors.py [SERVICE ...]

Checks (for the named API keys only, when some are given):

- every operation of every curated rules file (spec/services/KEY.json) is called by at least one
  vector (a `calls` input naming the service in any dialect and the operation, or a μ/log text
  input with `:api` and `:operation`);
- every permission a vector expects names an action that exists in IAM
  (spec/iam/actions.json) and, unless its resource is `*`, a resource that fits one of that
  action's ARN formats (spec/iam/resource_types.json), the way IAM matches: an action without
  resource types only takes `*` — or one of the reviewed exceptions of
  spec/iam/format-exceptions.json. The one other exception is the fallback for an operation or service
  no rule knows (`prefix:Operation` on `*`, with an `unmapped_operation` or `unknown_service`
  diagnostic the vector expects).

A resource fits a format when the format's `${Variable}`s can be replaced so that the two are
equal, where a variable stands for any text (IAM patterns `*` and `?` in the resource count as
text). Unknown partition, region or account (written `*` in the vector) fit any value.

Exit status: 0 when all is well, 1 otherwise.
"""

import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from check_services import normalise  # noqa: E402  (same folder)


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def norm_op(op):
    op = re.sub(r"[^a-z0-9]", "", op.strip().lstrip(":").lower())
    return op


def format_regex(fmt):
    """An IAM ARN format as a regular expression over a resource as vectors write it."""
    out = ""
    for piece in re.split(r"(\$\{[^}]+\})", fmt):
        if piece.startswith("${"):
            out += ".*" if piece in ("${Partition}", "${Region}", "${Account}") else ".+"
        else:
            out += re.escape(piece)
    return re.compile(out + r"\Z", re.S)


def glob_regex(glob):
    """A reviewed exception's glob (`*` any text) as a regular expression."""
    return re.compile("".join(".*" if c == "*" else re.escape(c) for c in glob) + r"\Z", re.S)


def main(argv):
    only = set(argv)
    services = load(os.path.join(SPEC, "services.json"))["services"]
    names = {}
    for key, svc in services.items():
        for n in [key, *svc.get("names", [])]:
            names.setdefault(normalise(n), key)
    for key, svc in services.items():
        names.setdefault(normalise(svc["prefix"]), key)
    actions = load(os.path.join(SPEC, "iam", "actions.json"))["actions"]
    known = {f"{p}:{a}" for p, acts in actions.items() for a in acts}
    rt = load(os.path.join(SPEC, "iam", "resource_types.json"))["actions"]
    formats = {f"{p}:{a}": [format_regex(f) for f in fs]
               for p, acts in rt.items() for a, fs in acts.items()}
    exceptions = [(e["action"], glob_regex(e["resource"])) for e in
                  load(os.path.join(SPEC, "iam", "format-exceptions.json"))["exceptions"]]

    curated = {}
    sdir = os.path.join(SPEC, "services")
    for fname in sorted(os.listdir(sdir)):
        if fname.endswith(".json"):
            rules = load(os.path.join(sdir, fname))
            curated[rules["service"]] = {norm_op(op): op for op in rules.get("operations", {})}

    covered = set()
    errors = []
    vdir = os.path.join(SPEC, "vectors")
    files = sorted(f for f in os.listdir(vdir) if f.endswith(".json"))
    if not files:
        errors.append("spec/vectors has no vector files")
    for fname in files:
        for v in load(os.path.join(vdir, fname)):
            inp = v.get("input", {})
            calls = []
            for c in inp.get("calls", []) or []:
                calls.append((c.get("service", ""), c.get("operation", "")))
            text = inp.get("text") or ""
            for m in re.finditer(r":api :?([\w.-]+).*?:operation :?(\w+)", text):
                calls.append((m.group(1), m.group(2)))
            for m in re.finditer(r'"api":\s*"([^"]+)".*?"operation":\s*"([^"]+)"', text):
                calls.append((m.group(1), m.group(2)))
            for svc, op in calls:
                key = names.get(normalise(svc))
                if key:
                    n = norm_op(op)
                    covered.add((key, n))
                    if n.endswith("command"):
                        covered.add((key, n[: -len("command")]))
            key_of_file = fname[: -len(".json")]
            if only and key_of_file not in only:
                continue
            # The fallback for an operation or service no rule knows (`prefix:Operation` on `*`)
            # is an action IAM may not have, by design: such vectors say so with a diagnostic.
            fallback = {"unmapped_operation", "unknown_service"} & set(
                v.get("expect", {}).get("diagnostics", []) or [])
            for p in v.get("expect", {}).get("permissions", []) or []:
                action, resource = p.get("action", ""), p.get("resource", "")
                where = f"spec/vectors/{fname}: {v.get('name')}"
                if action not in known and fallback and resource == "*":
                    continue
                if action not in known:
                    errors.append(f"{where}: `{action}` is not an IAM action")
                    continue
                if resource == "*":
                    continue
                fs = formats.get(action)
                if any(a == action and g.match(resource) for a, g in exceptions):
                    continue
                if not fs:
                    errors.append(f"{where}: `{action}` has no resource types, so only `*` "
                                  f"matches it, not `{resource}`")
                elif not any(f.match(resource) for f in fs):
                    errors.append(f"{where}: `{resource}` fits no ARN format of `{action}`")

    for key, ops in sorted(curated.items()):
        if only and key not in only:
            continue
        for n, op in sorted(ops.items()):
            if (key, n) not in covered:
                errors.append(f"spec/services/{key}.json: operation `{op}` has no vector")

    for e in errors:
        print(e, file=sys.stderr)
    checked = sum(len(o) for k, o in curated.items() if not only or k in only)
    print(f"check_vectors: {checked} curated operations, {len(errors)} problems")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
