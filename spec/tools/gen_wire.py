#!/usr/bin/env python3
"""Generate spec/wire.json: how each AWS service's requests look on the wire.

The wire decoder reads a raw signed HTTP request (as any AWS SDK sends it) and recovers the
service, the operation, its parameters and the region. This table, read from botocore's service
models (service-2.json) of the pinned botocore wheel, holds what it needs to do that.

Run by hand from the repository root when the botocore pin changes:

    python3 spec/tools/gen_wire.py                    # downloads the pinned wheel with pip
    python3 spec/tools/gen_wire.py --botocore-wheel botocore-V-py3-none-any.whl
    python3 spec/tools/gen_wire.py --installed        # the installed botocore (must be the pin)

Rerunning with the same pin gives identical bytes. The file is compact JSON, one service a line:

    {"source": {...}, "services": {"NAME": {...}, ...}}

Per service (NAME is botocore's service name):

- `protocols`: metadata.protocols, else [metadata.protocol], in the model's order. botocore
  uses the first of json, rest-json, rest-xml, smithy-rpc-v2-cbor, query, ec2 (its
  PRIORITY_ORDERED_SUPPORTED_PROTOCOLS) that the list holds; other SDKs may use another;
- `signing`: the SigV4 signing name (metadata.signingName, else endpointPrefix);
- `signing_alt`: other signing names the service's endpoint rule set can pick for some
  requests (S3: `s3express` for directory buckets and ListDirectoryBuckets, `s3-outposts`,
  `s3-object-lambda`), when there are any;
- `prefix`: metadata.endpointPrefix (the first label(s) of the default host name);
- `target`: metadata.targetPrefix (X-Amz-Target `TARGET.Operation` for json, the path
  `/service/TARGET/operation/Operation` for smithy-rpc-v2-cbor), when the model has one;
- `version`: metadata.apiVersion (the `Version` parameter of query and ec2 requests);
- `json`: metadata.jsonVersion (Content-Type `application/x-amz-json-VERSION`), when present;
- `query_compatible`: true when metadata has awsQueryCompatible (botocore then sends
  `x-amzn-query-mode: true` on json and cbor requests);
- `ops`: per operation `[METHOD, REQUEST_URI]`, then, when not empty, a map of top-level input
  members `{member: [location, wire name]}`, then, when there is something to say, a map of
  extras (the member map is then present, possibly empty):
  - `host`: the operation's endpoint host prefix (`{AccountId}.`, `data.`; a `{Member}` label
    is that member's value);
  - `express: true`: the operation shares its METHOD and REQUEST_URI with another and is sent
    to the S3 Express control endpoint, signed as `s3express` (S3's ListDirectoryBuckets);
  - `deprecated: true`: the operation is deprecated and shares its METHOD and REQUEST_URI
    with another of the service that sends the same request (S3 GetBucketLifecycle,
    GetBucketNotification, PutBucketLifecycle, PutBucketNotification): decode as the other.

REQUEST_URI is the model's, with any literal query part (`/{Bucket}?list-type=2`,
`/{Bucket}/{Key+}?uploads`, `/?Operation=CreateJob`): a request matches when it has those
query parameters (with that value when one is given) besides the others.

Locations (rest-json and rest-xml only, as botocore's serializers use them):

- `u`: a URI label (wire name = the label in REQUEST_URI; `{Name+}` is greedy);
- `q`: a query string parameter; `qm`: a map member spread over the query string (wire name
  empty: every query parameter that no other member or the REQUEST_URI claims);
- `h`: a header; `hp`: a map of headers sharing the prefix given as wire name;
- `p`: the payload member: the body is this member's value (for a structure, its XML root
  element or JSON object; wire name = its locationName, else the member name);
- `b`: a body member whose wire name differs from the member name: for query the parameter
  key (locationName, else the member name), for ec2 the parameter key (queryName, else
  locationName with its first letter capitalised, else the member name), for json, rest-json,
  rest-xml and smithy-rpc-v2-cbor the JSON key, XML element or CBOR key (locationName).

A required `h` or `q` member has a third element `1` (`["h", "x-amz-copy-source", 1]`): the
operations of a service that share a METHOD and REQUEST_URI (13 groups, all in S3: PutObject,
CopyObject, UploadPart, UploadPartCopy on `PUT /{Bucket}/{Key+}`; GetObject and ListParts;
DeleteObject and AbortMultipartUpload; Get...Configuration and List...Configurations) are told
apart by which of them has all its required headers and query parameters in the request (the
one with the most). ListBuckets and ListDirectoryBuckets (`GET /`) are not: the latter goes to
the host `s3express-control.REGION` signed as `s3express`.

Members not listed are body members whose wire name is the member name. Only top-level members
are listed: nested members keep their model names in json and cbor bodies, but query, ec2 and
XML bodies rename them (list `member.N`, map `entry.N.key`, locationName), which the decoder
cannot undo from this table.

The generator prints, for each signing name that several services share, what tells those
services apart on the wire.
"""

import argparse
import gzip
import json
import os
import re
import sys
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_catalog import BOTOCORE, check_version, fetch_wheel

OUT = os.path.join("spec", "wire.json")
REST = ("rest-json", "rest-xml")
# botocore's choice among a model's protocols (botocore.utils.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS).
BOTOCORE_PRIORITY = ("json", "rest-json", "rest-xml", "smithy-rpc-v2-cbor", "query", "ec2")
LOCATIONS = {"uri": "u", "querystring": "q", "header": "h", "headers": "hp"}


def read_models_from_wheel(wheel):
    """{service: (service-2.json model, endpoint-rule-set-1.json or None)} of the newest API
    version of each service."""
    z = zipfile.ZipFile(wheel)
    names = {}
    for name in z.namelist():
        m = re.match(r"botocore/data/([^/]+)/([^/]+)/service-2\.json(\.gz)?$", name)
        if m:
            names[name] = (m.group(1), m.group(2))
    listing = set(z.namelist())
    return pick_latest(names, lambda name: z.read(name), lambda name: name in listing)


def read_models_installed():
    import botocore

    if botocore.__version__ != BOTOCORE[1]:
        sys.exit(f"installed botocore is {botocore.__version__}, the pin is {BOTOCORE[1]}")
    root = os.path.join(os.path.dirname(botocore.__file__), "data")
    names = {}
    for svc in os.listdir(root):
        d = os.path.join(root, svc)
        if not os.path.isdir(d):
            continue
        for ver in os.listdir(d):
            for f in ("service-2.json", "service-2.json.gz"):
                if os.path.exists(os.path.join(d, ver, f)):
                    names[os.path.join(d, ver, f)] = (svc, ver)

    def read(path):
        with open(path, "rb") as fh:
            return fh.read()

    return pick_latest(names, read, os.path.exists)


def pick_latest(names, read, exists):
    latest = {}
    for name, (svc, ver) in names.items():
        if svc not in latest or ver > latest[svc][0]:
            latest[svc] = (ver, name)

    def load(name):
        raw = read(name)
        return json.loads(gzip.decompress(raw) if name.endswith(".gz") else raw)

    models = {}
    for svc in sorted(latest):
        name = latest[svc][1]
        rules = None
        base = name[: name.index("service-2.json")] + "endpoint-rule-set-1.json"
        for cand in (base, base + ".gz"):
            if exists(cand):
                rules = load(cand)
        models[svc] = (load(name), rules)
    return models


def protocols_of(meta):
    return list(meta.get("protocols") or [meta["protocol"]])


def botocore_protocol(meta):
    protos = protocols_of(meta)
    if meta.get("protocols"):
        for p in BOTOCORE_PRIORITY:
            if p in protos:
                return p
    return meta["protocol"]


def body_name(member_name, member, protos):
    """The wire name botocore gives a top-level body member (see botocore/serialize.py)."""
    if "ec2" in protos:
        if len(protos) > 1:
            sys.exit("a model lists ec2 with another protocol; the naming rules differ")
        if "queryName" in member:
            return member["queryName"]
        if "locationName" in member:
            n = member["locationName"]
            return n[0].upper() + n[1:]
        return member_name
    return member.get("locationName", member_name)


def xml_shape(shapes, name, depth):
    """A structure's XML form: {element: [member, child]} where child is a nested structure's
    form, ["l", item element, flattened, child] for a list, or 0 for a scalar."""
    shape = shapes[name]
    if depth > 4:
        return 0
    kind = shape.get("type")
    if kind == "structure":
        out = {}
        for m_name, m in sorted(shape.get("members", {}).items()):
            if "location" in m:
                continue
            out[m.get("locationName", m_name)] = [m_name, xml_shape(shapes, m["shape"], depth + 1)]
        return out
    if kind == "list":
        item = shape["member"]
        flattened = 1 if shape.get("flattened") else 0
        return ["l", item.get("locationName", "member"), flattened,
                xml_shape(shapes, item["shape"], depth + 1)]
    return 0


def wire_ops(model):
    meta, shapes = model["metadata"], model.get("shapes", {})
    protos = protocols_of(meta)
    rest = any(p in REST for p in protos)
    if rest and len(protos) > 1:
        sys.exit(f"{meta.get('uid')}: a rest protocol with another one: {protos}")
    # Operations of a rest service that share their method and requestUri with another.
    same_http = {}
    for op_name, op in model.get("operations", {}).items():
        http = op.get("http", {})
        same_http.setdefault((http.get("method", "POST"), http.get("requestUri", "/")),
                             []).append(op_name)
    ops = {}
    for op_name in sorted(model.get("operations", {})):
        op = model["operations"][op_name]
        http = op.get("http", {})
        entry = [http.get("method", "POST"), http.get("requestUri", "/")]
        members = {}
        shape = shapes.get(op.get("input", {}).get("shape", ""), {})
        payload = shape.get("payload") if rest else None
        for m_name in sorted(shape.get("members", {})):
            m = shape["members"][m_name]
            loc = m.get("location") if rest else None
            if loc in LOCATIONS:
                code = LOCATIONS[loc]
                if loc == "querystring" and shapes[m["shape"]].get("type") == "map":
                    members[m_name] = ["qm", ""]
                else:
                    members[m_name] = [code, m.get("locationName", m_name)]
                # A required header or query member tells apart operations that share a
                # method and URI template (S3 CopyObject's x-amz-copy-source, PutObject).
                if loc in ("header", "querystring") and m_name in shape.get("required", []):
                    members[m_name].append(1)
            elif loc is not None:
                sys.exit(f"{meta.get('uid')} {op_name}.{m_name}: unknown location {loc}")
            elif m_name == payload:
                members[m_name] = ["p", m.get("locationName", m_name)]
                # An XML structure payload: how its elements name the members, for the decoder
                # to read the ones the rules need (S3 DeleteObjects' Delete.Objects[].Key).
                if "rest-xml" in protos and shapes[m["shape"]].get("type") == "structure":
                    members[m_name].append(xml_shape(shapes, m["shape"], 0))
            else:
                wire = body_name(m_name, m, protos)
                if wire != m_name:
                    members[m_name] = ["b", wire]
        extra = {}
        host = op.get("endpoint", {}).get("hostPrefix")
        if host:
            extra["host"] = host
        if rest and len(same_http[tuple(entry[:2])]) > 1 and op.get("deprecated"):
            # The deprecated twin of an operation that sends the same request.
            extra["deprecated"] = True
        if (rest and len(same_http[tuple(entry[:2])]) > 1
                and "UseS3ExpressControlEndpoint" in op.get("staticContextParams", {})
                and not op.get("deprecated")):
            # Sends the same request as another operation, to the S3 Express control
            # endpoint signed as `s3express` (ListDirectoryBuckets beside ListBuckets).
            extra["express"] = True
        if members or extra:
            entry.append(members)
        if extra:
            entry.append(extra)
        ops[op_name] = entry
    return ops


def rule_signing_names(rules):
    """Every signing name the endpoint rule set's auth schemes name."""
    out = set()
    stack = [rules]
    while stack:
        o = stack.pop()
        if isinstance(o, dict):
            for a in o.get("authSchemes", []) if isinstance(o.get("authSchemes"), list) else []:
                if isinstance(a, dict) and isinstance(a.get("signingName"), str):
                    out.add(a["signingName"])
            stack.extend(o.values())
        elif isinstance(o, list):
            stack.extend(o)
    return out


def wire_service(model, rules):
    meta = model["metadata"]
    protos = protocols_of(meta)
    signing = meta.get("signingName") or meta["endpointPrefix"]
    entry = {
        "protocols": protos,
        "signing": signing,
    }
    alt = sorted(rule_signing_names(rules or {}) - {signing})
    if alt:
        entry["signing_alt"] = alt
    entry["prefix"] = meta["endpointPrefix"]
    if meta.get("targetPrefix"):
        entry["target"] = meta["targetPrefix"]
    entry["version"] = meta["apiVersion"]
    if meta.get("jsonVersion"):
        entry["json"] = meta["jsonVersion"]
    if "awsQueryCompatible" in meta:
        entry["query_compatible"] = True
    entry["ops"] = wire_ops(model)
    return entry


# ---------------------------------------------------------------------------------------------
# Shared signing names: what tells the services apart


def template_regex(uri):
    """A regex for the paths (and required query keys) a requestUri template matches."""
    path, _, query = uri.partition("?")
    out = ""
    for part in re.split(r"(\{[^}]+\})", path):
        if part.startswith("{"):
            out += ".+" if part.endswith("+}") else "[^/]+"
        else:
            out += re.escape(part)
    return out, sorted(q.split("=")[0] for q in query.split("&") if q)


def templates_overlap(a, b):
    """Whether some request path matches both templates (a sample-based check: each template
    is instantiated with probe values and matched against the other)."""
    (ra, qa), (rb, qb) = template_regex(a), template_regex(b)

    def probe(uri):
        path = uri.partition("?")[0]
        return re.sub(r"\{[^}]+\}", "x", path)

    # A path of one template's shape that the other accepts, both ways, with the same
    # required query keys.
    return (re.fullmatch(rb, probe(a)) is not None or re.fullmatch(ra, probe(b)) is not None) \
        and set(qa) == set(qb)


def shared_signing_report(out):
    by_signing = {}
    for svc, e in out.items():
        by_signing.setdefault(e["signing"], []).append(svc)
    lines = []
    for signing, svcs in sorted(by_signing.items()):
        if len(svcs) < 2:
            continue
        lines.append(f"signing `{signing}`: {', '.join(svcs)}")
        for i, a in enumerate(svcs):
            for b in svcs[i + 1:]:
                ea, eb = out[a], out[b]
                why = []
                if ea["prefix"] != eb["prefix"]:
                    why.append(f"host prefix {ea['prefix']} / {eb['prefix']}")
                pa, pb = botocore_family(ea), botocore_family(eb)
                if pa != pb:
                    why.append(f"protocol {pa} / {pb}")
                elif pa in ("json", "smithy-rpc-v2-cbor") and ea.get("target") != eb.get("target"):
                    why.append(f"target {ea.get('target')} / {eb.get('target')}")
                elif pa in ("query", "ec2") and ea["version"] != eb["version"]:
                    why.append(f"Version {ea['version']} / {eb['version']}")
                same = []
                if pa == pb and (pa in REST):
                    for oa, va in ea["ops"].items():
                        for ob, vb in eb["ops"].items():
                            if va[0] == vb[0] and templates_overlap(va[1], vb[1]):
                                same.append(f"{oa}~{ob}")
                elif pa == pb:
                    same = sorted(set(ea["ops"]) & set(eb["ops"]))
                if why:
                    note = "; ".join(why)
                elif not same:
                    note = ("same endpoint prefix, protocol, target and version: told apart by "
                            "the operations' URI templates" if pa in REST else
                            "same endpoint prefix, protocol, target and version, no common "
                            "operation")
                else:
                    note = (f"same endpoint prefix, protocol, target and version: {len(same)} "
                            f"operations look the same on the wire (e.g. {', '.join(same[:4])})")
                lines.append(f"  {a} vs {b}: {note}")
    return lines


def botocore_family(e):
    return botocore_protocol({"protocols": e["protocols"], "protocol": e["protocols"][0]})


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--botocore-wheel", help="a local copy of the pinned botocore wheel")
    src.add_argument("--installed", action="store_true",
                     help="read the models of the installed botocore (must be the pin)")
    ap.add_argument("--report", action="store_true",
                    help="print what tells apart the services sharing a signing name")
    args = ap.parse_args()
    if args.installed:
        models = read_models_installed()
    else:
        with tempfile.TemporaryDirectory() as tmp:
            wheel = args.botocore_wheel or fetch_wheel(BOTOCORE, tmp)
            check_version(wheel, BOTOCORE)
            models = read_models_from_wheel(wheel)

    out = {svc: wire_service(model, rules) for svc, (model, rules) in models.items()}
    source = {"botocore": BOTOCORE[1], "generator": "spec/tools/gen_wire.py"}
    dumps = lambda v: json.dumps(v, separators=(",", ":"), ensure_ascii=True)
    lines = ["{" + f'"source":{dumps(source)},', '"services":{']
    items = list(out.items())
    for i, (svc, entry) in enumerate(items):
        lines.append(f"{dumps(svc)}:{dumps(entry)}" + ("," if i + 1 < len(items) else ""))
    lines.append("}}")
    data = "\n".join(lines) + "\n"
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(data)

    n_ops = sum(len(e["ops"]) for e in out.values())
    by_proto = {}
    for e in out.values():
        p = botocore_family(e)
        by_proto[p] = by_proto.get(p, 0) + 1
    print(f"{OUT}: {len(out)} services, {n_ops} operations, {len(data.encode())} bytes")
    print("botocore's protocol per service: " +
          ", ".join(f"{p} {n}" for p, n in sorted(by_proto.items())))
    if args.report:
        print("\n".join(shared_signing_report(out)))


if __name__ == "__main__":
    main()
