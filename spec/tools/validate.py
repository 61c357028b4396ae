#!/usr/bin/env python3
"""Validate the spec data against its JSON Schemas, plus the checks a schema cannot express.

Run from the repository root:

    python3 spec/tools/validate.py

Checks:
- every schema in spec/schema/ is a valid draft 2020-12 schema;
- spec/services.json against services.schema.json, and no normalised service name that
  belongs to two services (spec/tools/check_services.py);
- every spec/services/*.json against rules.schema.json, and: `service` is the file name,
  `prefix` is the one services.json gives, every resource a grant names exists, every
  template or condition variable is bound (or is partition/region/account), no binding is
  unused, and a `generalise` variable is its template's last, at its very end;
- every spec/vectors/*.json against vector.schema.json, and vector names are unique
  across all files;
- the example configurations (the end-to-end projects' leastpriv.toml and package.json, and the
  README's TOML and package.json examples) against config.schema.json.

Needs the `jsonschema` package (pip install jsonschema). Exit status: 0 when all is
well, 1 when something is invalid, 2 when jsonschema is missing.
"""

import json
import os
import re
import sys

try:
    import jsonschema
except ImportError:
    print("validate.py needs the jsonschema package; install it with:\n\n"
          "    python3 -m pip install jsonschema\n", file=sys.stderr)
    sys.exit(2)

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = os.path.dirname(HERE)
ROOT = os.path.dirname(SPEC)
SCHEMA_DIR = os.path.join(SPEC, "schema")
SCHEMAS = ["call.schema.json", "rules.schema.json", "vector.schema.json", "services.schema.json",
           "config.schema.json", "evaluate-vector.schema.json", "check.schema.json"]
CONTEXT_VARS = {"partition", "region", "account"}
VAR_RE = re.compile(r"\{([^{}]*)\}")

sys.path.insert(0, HERE)
import check_services  # noqa: E402  (same folder)


def rel(path):
    return os.path.relpath(path, ROOT)


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


def pointer(parts):
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def make_validators(errors):
    """One validator per schema file, with the schemas able to refer to each other by file name."""
    schemas = {}
    for name in SCHEMAS:
        path = os.path.join(SCHEMA_DIR, name)
        try:
            schemas[name] = load(path)
            jsonschema.Draft202012Validator.check_schema(schemas[name])
        except (OSError, ValueError) as e:
            errors.append("%s: cannot read: %s" % (rel(path), e))
        except jsonschema.SchemaError as e:
            errors.append("%s: not a valid schema: %s at %s" % (rel(path), e.message, pointer(e.path)))
    if errors:
        return None
    cls = jsonschema.Draft202012Validator
    fmt = cls.FORMAT_CHECKER
    try:
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT202012
    except ImportError:  # jsonschema < 4.18
        resolver_store = dict(schemas)
        return {name: cls(s, format_checker=fmt,
                          resolver=jsonschema.RefResolver("", s, store=resolver_store))
                for name, s in schemas.items()}
    registry = Registry().with_resources(
        (name, Resource.from_contents(s, default_specification=DRAFT202012)) for name, s in schemas.items())
    return {name: cls(s, registry=registry, format_checker=fmt) for name, s in schemas.items()}


def closest_branch_error(e):
    """Of a failed oneOf/anyOf, the error of the branch that came closest to matching:
    the fewest errors, then the deepest; a bare type mismatch counts as farthest."""
    branches = {}
    for c in e.context:
        branches.setdefault(c.relative_schema_path[0], []).append(c)

    def distance(errs):
        if all(c.validator == "type" and not c.relative_path for c in errs):
            return (1, 0, 0)
        return (0, len(errs), -max(len(c.absolute_path) for c in errs))

    errs = min(branches.values(), key=distance)
    return jsonschema.exceptions.best_match(errs)


def schema_errors(validator, doc, path):
    out = []
    for e in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
        where = pointer(e.absolute_path)
        detail = e.message
        if e.context:  # oneOf/anyOf: say what the closest branch disliked
            best = closest_branch_error(e)
            detail += " (%s at %s)" % (best.message, pointer(best.absolute_path))
        out.append("%s: %s: %s" % (rel(path), where, detail))
    return out


def template_vars(template, where, errors):
    names = VAR_RE.findall(template)
    stripped = VAR_RE.sub("", template)
    if "{" in stripped or "}" in stripped:
        errors.append("%s: unbalanced braces in %r" % (where, template))
    for n in names:
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", n):
            errors.append("%s: bad variable {%s} in %r" % (where, n, template))
    return names


def condition_vars(block, where, errors):
    names = []
    if isinstance(block, dict):
        for keys in block.values():
            if isinstance(keys, dict):
                for value in keys.values():
                    for v in value if isinstance(value, list) else [value]:
                        if isinstance(v, str):
                            names += template_vars(v, where, errors)
    return names


def check_rules(path, rules, services):
    """The rules-file checks no schema expresses. `rules` has passed the schema."""
    errors = []
    key = os.path.basename(path)[: -len(".json")]
    if rules.get("service") != key:
        errors.append('%s: "service" is %r, expected %r (the file name)' % (rel(path), rules.get("service"), key))
    entry = services.get(key) if isinstance(services, dict) else None
    if entry is None:
        errors.append("%s: %r is not an API key of spec/services.json" % (rel(path), key))
    elif rules.get("prefix") != entry.get("prefix"):
        errors.append('%s: "prefix" is %r, spec/services.json says %r'
                      % (rel(path), rules.get("prefix"), entry.get("prefix")))

    resources = rules.get("resources", {})
    for rname, rtype in resources.items():
        where = "%s: %s" % (rel(path), pointer(["resources", rname]))
        names = template_vars(rtype["arn"], where, errors)
        g = rtype.get("generalise")
        if g is not None and not rtype["arn"].endswith("{%s}" % g):
            errors.append("%s: generalise %r must be the template's last variable, at its very end" % (where, g))

    for op, spec in rules["operations"].items():
        for i, grant in enumerate(spec.get("grants", [])):
            where = "%s: %s" % (rel(path), pointer(["operations", op, "grants", i]))
            res = grant.get("resource", "*")
            used = []
            if res == "*":
                pass
            elif ":" in res or res.startswith("{"):
                used += template_vars(res, where, errors)
            elif res not in resources:
                errors.append("%s: resource %r is not defined in \"resources\"" % (where, res))
            else:
                used += VAR_RE.findall(resources[res]["arn"])
            used += condition_vars(grant.get("condition"), where, errors)
            bound = set(grant.get("bind", {}))
            for v in sorted(set(used) - bound - CONTEXT_VARS):
                errors.append("%s: variable {%s} is not bound" % (where, v))
            for v in sorted(bound - set(used) - CONTEXT_VARS):
                errors.append("%s: binds {%s}, which its resource and condition do not use" % (where, v))
    return errors


def main():
    errors = []
    validators = make_validators(errors)
    if validators is None:
        for e in errors:
            print("error: " + e, file=sys.stderr)
        return 1
    counts = {"services.json": 0, "rules files": 0, "vector files": 0, "vectors": 0}

    services_path = os.path.join(SPEC, "services.json")
    services = {}
    if os.path.exists(services_path):
        try:
            doc = load(services_path)
            errs = schema_errors(validators["services.schema.json"], doc, services_path)
            errors += errs
            if not errs:
                services = doc["services"]
            counts["services.json"] = 1
        except (OSError, ValueError) as e:
            errors.append("%s: cannot read: %s" % (rel(services_path), e))
        if services:  # the schema holds: look for names that resolve to two services
            clash_errors, _notes, _n = check_services.check(services_path, rules_files=False)
            errors += clash_errors
    else:
        errors.append("%s: missing" % rel(services_path))

    rules_dir = os.path.join(SPEC, "services")
    for fname in sorted(os.listdir(rules_dir)) if os.path.isdir(rules_dir) else []:
        if not fname.endswith(".json"):
            continue
        path = os.path.join(rules_dir, fname)
        counts["rules files"] += 1
        try:
            rules = load(path)
        except (OSError, ValueError) as e:
            errors.append("%s: cannot read: %s" % (rel(path), e))
            continue
        errs = schema_errors(validators["rules.schema.json"], rules, path)
        errors += errs
        if not errs:
            errors += check_rules(path, rules, services)

    seen = {}
    vectors_dir = os.path.join(SPEC, "vectors")
    for fname in sorted(os.listdir(vectors_dir)) if os.path.isdir(vectors_dir) else []:
        if not fname.endswith(".json"):
            continue
        path = os.path.join(vectors_dir, fname)
        counts["vector files"] += 1
        try:
            vectors = load(path)
        except (OSError, ValueError) as e:
            errors.append("%s: cannot read: %s" % (rel(path), e))
            continue
        errors += schema_errors(validators["vector.schema.json"], vectors, path)
        if not isinstance(vectors, list):
            continue
        for i, v in enumerate(vectors):
            name = v.get("name") if isinstance(v, dict) else None
            if not isinstance(name, str):
                continue
            counts["vectors"] += 1
            if name in seen:
                errors.append("%s: %s: vector name %r is already used at %s"
                              % (rel(path), pointer([i, "name"]), name, seen[name]))
            else:
                seen[name] = "%s %s" % (rel(path), pointer([i]))

    counts["evaluator vectors"] = 0
    eval_dir = os.path.join(vectors_dir, "evaluate")
    for fname in sorted(os.listdir(eval_dir)) if os.path.isdir(eval_dir) else []:
        if not fname.endswith(".json"):
            continue
        path = os.path.join(eval_dir, fname)
        try:
            vectors = load(path)
        except (OSError, ValueError) as e:
            errors.append("%s: cannot read: %s" % (rel(path), e))
            continue
        errors += schema_errors(validators["evaluate-vector.schema.json"], vectors, path)
        for i, v in enumerate(vectors if isinstance(vectors, list) else []):
            name = v.get("name") if isinstance(v, dict) else None
            if not isinstance(name, str):
                continue
            counts["evaluator vectors"] += 1
            if name in seen:
                errors.append("%s: %s: vector name %r is already used at %s"
                              % (rel(path), pointer([i, "name"]), name, seen[name]))
            else:
                seen[name] = "%s %s" % (rel(path), pointer([i]))

    counts["configurations"] = 0
    for where, cfg in example_configs(errors):
        counts["configurations"] += 1
        errors += schema_errors(validators["config.schema.json"], cfg, where)

    for e in errors:
        print("error: " + e, file=sys.stderr)
    summary = ", ".join("%d %s" % (n, what) for what, n in counts.items())
    if errors:
        print("%d error(s) in %s" % (len(errors), summary), file=sys.stderr)
        return 1
    print("ok: %s" % summary)
    return 0


def example_configs(errors):
    """(path, configuration) of every example configuration in the repository."""
    import tomllib
    out = []
    toml_file = os.path.join(ROOT, "bindings-python", "tests", "e2e", "leastpriv.toml")
    pkg = os.path.join(ROOT, "bindings-node", "test", "e2e", "package.json")
    readme = os.path.join(ROOT, "README.md")
    try:
        with open(toml_file, "rb") as f:
            out.append((toml_file, tomllib.load(f)))
        out.append((pkg, load(pkg)["leastpriv"]))
        with open(readme, encoding="utf-8") as f:
            text = f.read()
        for block in re.findall(r"```toml\n(.*?)```", text, flags=re.S):
            doc = tomllib.loads(block)
            out.append((readme, doc.get("tool", {}).get("leastpriv", doc)))
        for block in re.findall(r"```json\n(.*?)```", text, flags=re.S):
            doc = json.loads(block)
            if isinstance(doc, dict) and "leastpriv" in doc:
                out.append((readme, doc["leastpriv"]))
    except (OSError, ValueError, KeyError) as e:
        errors.append("example configuration: %s" % e)
    return out


if __name__ == "__main__":
    sys.exit(main())
