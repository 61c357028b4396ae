#!/usr/bin/env python3
"""Compare leastpriv's actions per SDK method with iamlive's map, as an independent check.

    python3 spec/tools/compare_iamlive.py MAP.json [--list N]

MAP.json is iamlive's `map.json` (or the `sdk-iam-map` project's, which it is sourced from):
`sdk_method_iam_mappings` maps `Service.Method` (the JavaScript SDK v2 class and method) to the
actions iamlive grants, `sdk_service_mappings` the SDK class to an IAM prefix. The file is public
(MIT) but not part of this repository: get it with a clone of either project.

For every method both sides know, the set of actions leastpriv can emit for the operation (its
curated or generated grants, any branch, and the dependent actions it grants on evidence) is
compared with iamlive's. The report counts:

- methods compared, and with the same set;
- actions iamlive lists that leastpriv does not emit, each explained where the data says why:
  a dependent action leastpriv names in a `dependent` diagnostic instead of granting (the request
  cannot show the need), an action IAM does not have (spec/iam/actions.json), or unexplained;
- actions leastpriv emits that iamlive does not list;
- invalid actions (not in IAM) on each side.

Nothing is written; the output is a text report.
"""

import argparse
import collections
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from check_services import normalise  # noqa: E402


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def norm_op(op):
    return re.sub(r"[^a-z0-9]", "", op.lower())


def grant_actions(grants):
    return {g["action"] for g in grants or []}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("map")
    ap.add_argument("--list", type=int, default=15, help="examples to list per category")
    args = ap.parse_args()
    m = load(args.map)
    iam = load(os.path.join(SPEC, "iam", "actions.json"))["actions"]
    valid = {f"{p}:{a}" for p, acts in iam.items() for a in acts}
    lower_valid = {a.lower(): a for a in valid}
    catalog = load(os.path.join(SPEC, "catalog.json"))["services"]
    services = load(os.path.join(SPEC, "services.json"))["services"]

    # Every name a service is known by → its API key, as the engine resolves names.
    names = {}
    for key, svc in services.items():
        for n in [key, *svc.get("names", [])]:
            names.setdefault(normalise(n), key)
    for key, svc in catalog.items():
        names.setdefault(normalise(key), key)
        for n in svc.get("names", []):
            names.setdefault(normalise(n), key)

    # API key → operation (normalised) → (own actions, dependent grants, may_need).
    ours = collections.defaultdict(dict)
    for key, svc in catalog.items():
        for op, entry in svc.get("operations", {}).items():
            ours[key][norm_op(op)] = [grant_actions(entry.get("grants")), set(), set(), op]
        for op, dep in svc.get("dependent", {}).items():
            slot = ours[key].setdefault(norm_op(op), [set(), set(), set(), op])
            slot[1] |= grant_actions(dep.get("grants"))
            slot[2] |= set(dep.get("may_need", []))
    for fname in sorted(os.listdir(os.path.join(SPEC, "services"))):
        rules = load(os.path.join(SPEC, "services", fname))
        for op, spec in rules.get("operations", {}).items():
            slot = ours[rules["service"]].setdefault(norm_op(op), [set(), set(), set(), op])
            slot[0] = grant_actions(spec.get("grants"))
            slot[3] = op

    stats = collections.Counter()
    lacking = collections.defaultdict(list)
    extra = []
    invalid_theirs, invalid_ours = collections.Counter(), collections.Counter()
    for method, mappings in sorted(m["sdk_method_iam_mappings"].items()):
        cls, _, op = method.partition(".")
        key = names.get(normalise(cls))
        if key is None:
            stats["their service unknown to us"] += 1
            continue
        slot = ours.get(key, {}).get(norm_op(op))
        if slot is None:
            stats["their method unknown to us"] += 1
            continue
        own, dep, may_need, _ = slot
        if not own:
            stats["permissionless or unmatched here"] += 1
            continue
        stats["compared"] += 1
        theirs = {x["action"] for x in mappings}
        for a in theirs:
            if a not in valid:
                invalid_theirs[a] += 1
        for a in own | dep:
            if a not in valid:
                invalid_ours[a] += 1
        # IAM action names are case-insensitive.
        theirs_n = {lower_valid.get(a.lower(), a) for a in theirs}
        emitted = own | dep
        if theirs_n == own:
            stats["same set (own actions)"] += 1
        if theirs_n <= emitted:
            stats["every iamlive action emitted (own or on evidence)"] += 1
        for a in sorted(theirs_n - emitted):
            if a not in valid:
                why = "not an IAM action"
            elif a in may_need:
                why = "a dependent action the request cannot show: named in a `dependent` diagnostic"
            else:
                why = "unexplained"
            lacking[why].append(f"{key}:{op} {a}")
        for a in sorted(own - theirs_n):
            extra.append(f"{key}:{op} {a}")

    print(f"map: {args.map} ({len(m['sdk_method_iam_mappings'])} methods)")
    for k, v in stats.most_common():
        print(f"  {k}: {v}")
    print(f"  actions iamlive lists that leastpriv does not emit: "
          f"{sum(len(v) for v in lacking.values())}")
    for why, items in sorted(lacking.items()):
        print(f"    {why}: {len(items)}")
        for i in items[: args.list]:
            print(f"      {i}")
    print(f"  actions leastpriv grants itself that iamlive does not list: {len(extra)}")
    for i in extra[: args.list]:
        print(f"      {i}")
    print(f"  invalid actions in iamlive's map: {len(invalid_theirs)} distinct, "
          f"{sum(invalid_theirs.values())} uses")
    for a, n in invalid_theirs.most_common(args.list):
        print(f"      {a} ({n})")
    print(f"  invalid actions leastpriv emits for these methods: {len(invalid_ours)}")
    for a, n in invalid_ours.most_common(args.list):
        print(f"      {a} ({n})")


if __name__ == "__main__":
    main()
