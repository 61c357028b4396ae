#!/usr/bin/env python3
"""Side-by-side throughput and memory of leastpriv, for `scripts/bench.sh` (which builds what it
needs first). Every figure of a comparison is measured in the same run, alternating the commands
(the best of LEASTPRIV_BENCH_REPS runs each), because the machines are shared and noisy.

Inputs come from ../shared/bench/gen_events.py: N events with ~270 distinct permissions per 1,000
events (the default), and N events with KEYS=1 (~16k distinct permissions per 1M). The plain
JSON-lines file is the μ/log JSON file in the Call format.

Environment: LEASTPRIV_BENCH_EVENTS (default 1000000), LEASTPRIV_BENCH_REPS (5),
LEASTPRIV_BENCH_BINDINGS (1: also the Python and Node bindings, whose release builds bench.sh
makes), LEASTPRIV_BENCH_BASELINE (a git ref: its Python binding's record() measured beside this
build's), LEASTPRIV_CLI, LEASTPRIV_FLOOR (the binaries), LEASTPRIV_BENCH_DIR (scratch directory).
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "bench"
EVENTS = int(os.environ.get("LEASTPRIV_BENCH_EVENTS", "1000000"))
REPS = int(os.environ.get("LEASTPRIV_BENCH_REPS", "5"))
BINDINGS = os.environ.get("LEASTPRIV_BENCH_BINDINGS", "1") == "1"
CLI = os.environ["LEASTPRIV_CLI"]
FLOOR = os.environ["LEASTPRIV_FLOOR"]
TMP = Path(os.environ["LEASTPRIV_BENCH_DIR"])
CTX = ["--region", "eu-west-1", "--account", "123456789012"]


def _hwm(pid: int) -> int:
    """The peak resident size (KB) of a running process, from /proc (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def run(cmd: list[str], stdin_feed=None) -> tuple[float, int, bytes]:
    """Wall seconds, peak resident KB and standard output of a command.

    The peak is the child's own: its VmHWM, read from /proc while it runs (exec starts a new
    memory map, so nothing of this Python process counts, as it would in the rusage of a child
    forked from it). Read every 2 ms, it can miss growth in the last instant before exit.

    Standard output goes to a file, read back once the command is done: through a pipe, the
    time this script took to drain it counted as the command's (~95 ms for the 22.5 MB of
    lines `permissions` writes on the default mix, against 37 bytes from the floor).
    """
    import tempfile
    import threading

    sink = tempfile.TemporaryFile(dir=TMP)
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.PIPE if stdin_feed else subprocess.DEVNULL,
        stdout=sink,
        stderr=subprocess.DEVNULL,
    )
    peak = [0]
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _hwm(proc.pid))
            time.sleep(0.002)

    watcher = threading.Thread(target=watch)
    watcher.start()
    feeder = None
    if stdin_feed:

        def feed():
            try:
                for chunk in stdin_feed():
                    proc.stdin.write(chunk)
                proc.stdin.close()
            except BrokenPipeError:
                pass

        feeder = threading.Thread(target=feed)
        feeder.start()
    status = proc.wait()
    elapsed = time.perf_counter() - start
    done.set()
    watcher.join()
    if feeder:
        feeder.join()
    sink.seek(0)
    out = sink.read()
    sink.close()
    if status != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed ({status})")
    return elapsed, peak[0], out


def best(cmds: dict[str, list[str]]) -> dict[str, tuple[float, int, bytes]]:
    """The best time of each command (and its peak memory), the commands taken in turn."""
    results: dict[str, tuple[float, int, bytes]] = {}
    for _ in range(REPS):
        for name, cmd in cmds.items():
            r = run(cmd)
            if name not in results or r[0] < results[name][0]:
                results[name] = r
    return results


def gen(n: int, prefix: Path, keys: int | None = None) -> None:
    if not prefix.with_suffix(".jsonl").exists():
        args = [sys.executable, str(SHARED / "gen_events.py"), str(n), str(prefix)]
        if keys is not None:
            args.append(str(keys))
        subprocess.run(args, check=True)


def to_calls(src: Path, dst: Path) -> None:
    """μ/log JSON events as plain Call lines (other events left out)."""
    if dst.exists():
        return
    with open(src) as fi, open(dst, "w") as fo:
        for line in fi:
            e = json.loads(line)
            if e.get("mulog/event-name") != "aws/request":
                continue
            call = {"service": e["api"], "operation": e["operation"], "params": e["request"]}
            if e.get("mulog/outcome") == "error":
                call["outcome"] = "error"
            fo.write(json.dumps(call) + "\n")


def _lower_first(v):
    if isinstance(v, dict):
        return {(k[:1].lower() + k[1:]): _lower_first(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_lower_first(x) for x in v]
    return v


def to_cloudtrail(src: Path, lines_out: Path, doc_out: Path, limit: int) -> int:
    """μ/log JSON events as CloudTrail records (member names lower-camel, as CloudTrail writes
    them): JSON lines of records, and the same records as one gzipped delivery file on one
    line. Returns the number of records."""
    if lines_out.exists() and doc_out.exists():
        with open(lines_out, "rb") as f:
            return sum(1 for _ in f)
    n = 0
    with open(src) as fi, open(lines_out, "w") as fo, gzip.open(doc_out, "wt") as fd:
        fd.write('{"Records":[')
        for line in fi:
            e = json.loads(line)
            if e.get("mulog/event-name") != "aws/request":
                continue
            r = {
                "eventVersion": "1.09",
                "userIdentity": {
                    "type": "AssumedRole",
                    "arn": "arn:aws:sts::123456789012:assumed-role/app/s",
                    "sessionContext": {"sessionIssuer": {"arn": "arn:aws:iam::123456789012:role/app"}},
                },
                "eventTime": "2026-11-30T10:00:00Z",
                "eventSource": f"{e['api']}.amazonaws.com",
                "eventName": e["operation"],
                "awsRegion": "eu-west-1",
                "sourceIPAddress": "192.0.2.1",
                "userAgent": "bench",
                "requestParameters": _lower_first(e.get("request") or {}),
                "responseElements": None,
                "eventID": str(n),
                "eventType": "AwsApiCall",
                "recipientAccountId": "123456789012",
            }
            text = json.dumps(r)
            fo.write(text + "\n")
            fd.write(("," if n else "") + text)
            n += 1
            if n >= limit:
                break
        fd.write("]}")
    return n


def cloudtrail(d: str) -> None:
    limit = min(EVENTS, 300_000)
    lines_file, doc = TMP / "ct.jsonl", TMP / "ct-delivery.json.gz"
    n = to_cloudtrail(Path(d), lines_file, doc, limit)
    size = os.path.getsize(lines_file) / 1e6
    print(f"\nCloudTrail, {n:,} records ({size:.0f} MB as JSON lines), best of {REPS}, side by side:")
    r = best(
        {
            "floor": [FLOOR, str(lines_file), "value"],
            "lines": [CLI, "permissions", "-q", "-j1", "--input", "cloudtrail", str(lines_file)],
            "doc": [CLI, "permissions", "-q", "-j1", str(doc)],
        }
    )
    rate = lambda name: n / r[name][0]  # noqa: E731
    row("serde_json::Value per record (the floor)", f"{rate('floor'):,.0f} rec/s")
    x = r["floor"][0] / r["lines"][0]
    row("permissions -j1, JSON lines of records", f"{rate('lines'):,.0f} rec/s  {x:.2f}x")
    y = r["floor"][0] / r["doc"][0]
    row(
        "permissions -j1, one gzipped delivery file (one line)",
        f"{rate('doc'):,.0f} rec/s  {y:.2f}x, peak {r['doc'][1] // 1024} MB",
    )


def lines(out: bytes) -> int:
    return out.count(b"\n")


def row(what: str, value: str, target: str = "", ok: bool | None = None) -> None:
    mark = "" if ok is None else ("  ok" if ok else "  MISSED")
    print(f"  {what:<58} {value:>24}  {target}{mark}")


def throughput(n: int, mix: str, d: str, edn: str, calls: str) -> None:
    size = os.path.getsize(d) / 1e6
    print(f"\nthroughput, {n:,} events, {mix} ({size:.0f} MB of μ/log JSON), best of {REPS}, side by side:")
    r = best(
        {
            "floor": [FLOOR, d, "value"],
            "ignored": [FLOOR, d, "ignored"],
            "mulog": [CLI, "permissions", "-q", "-j1", d, *CTX],
            "calls": [CLI, "permissions", "-q", "-j1", calls, *CTX],
            "floor_calls": [FLOOR, calls, "value"],
            "edn": [CLI, "permissions", "-q", "-j1", edn, *CTX],
            "j2": [CLI, "permissions", "-q", "-j2", d, *CTX],
            "policy": [CLI, "policy", "-q", "-j1", d, *CTX],
        }
    )
    rate = lambda name: n / r[name][0]  # noqa: E731
    row("serde_json::Value per line (the floor)", f"{rate('floor'):,.0f} ev/s")
    row("serde::de::IgnoredAny per line", f"{rate('ignored'):,.0f} ev/s")
    m = r["floor"][0] / r["mulog"][0]
    row("permissions -j1, μ/log JSON", f"{rate('mulog'):,.0f} ev/s  {m:.2f}x", "≥ 0.8x floor", m >= 0.8)
    c = r["floor_calls"][0] / r["calls"][0]
    row("permissions -j1, plain JSON lines (vs its own floor)", f"{n / r['calls'][0]:,.0f} ev/s  {c:.2f}x", "≥ 0.8x floor", c >= 0.8)
    e = r["floor"][0] / r["edn"][0]
    row("permissions -j1, μ/log EDN (vs the JSON floor)", f"{rate('edn'):,.0f} ev/s  {e:.2f}x", "≥ 0.5x floor", e >= 0.5)
    j = r["mulog"][0] / r["j2"][0]
    row("permissions -j2 / -j1, μ/log JSON", f"{j:.2f}x", "≥ 1.7x", j >= 1.7)
    row("policy -j1, μ/log JSON", f"{rate('policy'):,.0f} ev/s, peak {r['policy'][1] // 1024} MB")


def main() -> None:
    TMP.mkdir(parents=True, exist_ok=True)
    n = EVENTS
    print(f"generating {n:,} events (two mixes) with {SHARED / 'gen_events.py'} ...", flush=True)
    gen(n, TMP / "d")
    gen(n, TMP / "k", keys=1)
    gen(n // 4, TMP / "s")
    to_calls(TMP / "d.jsonl", TMP / "calls.jsonl")
    d, k, s = (str(TMP / f"{x}.jsonl") for x in "dks")
    edn = str(TMP / "d.edn")
    calls = str(TMP / "calls.jsonl")
    to_calls(TMP / "k.jsonl", TMP / "kcalls.jsonl")
    for mix, f, e, c in (
        ("KEYS=1: ~16k distinct permissions per 1M events", k, str(TMP / "k.edn"), str(TMP / "kcalls.jsonl")),
        ("the default mix: ~270k distinct permissions per 1M events", d, edn, calls),
    ):
        throughput(n, mix, f, e, c)

    print("\nagainst ../shared/bench/seed_pipeline.py on its own input, side by side:")
    for name, f in (("270 permissions per 1,000 events", d), ("KEYS=1", k)):
        r2 = best(
            {
                "seed": [sys.executable, str(SHARED / "seed_pipeline.py"), f],
                "default": [CLI, "policy", "-q", f, *CTX],
            }
        )
        x = r2["seed"][0] / r2["default"][0]
        row(f"policy, default jobs ({name})", f"{x:.1f}x the seed  ", "≥ 5x", x >= 5)
        row(f"  seed peak / leastpriv peak ({name})", f"{r2['seed'][1] // 1024} MB / {r2['default'][1] // 1024} MB")

    memory(s, d)

    # 10M events, ~1,000 distinct permissions: a small file many times over standard input.
    few = TMP / "few.jsonl"
    if not few.exists():
        with open(k) as fi, open(few, "w") as fo:
            for i, line in enumerate(fi):
                if i >= 2500:
                    break
                fo.write(line)
    block = few.read_bytes()
    per_block = block.count(b"\n")
    times = max(1, 10 * n // per_block)
    _, kb, out = run(
        [CLI, "permissions", "-q", "-j1", "-", *CTX],
        stdin_feed=lambda: (block for _ in range(times)),
    )
    total = per_block * times
    row(f"{total:,} events, {lines(out):,} distinct permissions", f"{kb / 1024:.1f} MB", "< 32 MB", kb < 32 * 1024)

    cloudtrail(k)

    if BINDINGS:
        # On the KEYS=1 mix: the CLI's output (16k lines) weighs little beside the reading.
        bindings(k)


def memory(s: str, d: str) -> None:
    # The target is a bound: peak <= 16 MB + 300 B per distinct permission, at every size. So
    # the bench shows, from three runs (one event, two sizes of one mix), the least constant
    # that holds with 300 B at all three, and the least bytes per permission that hold with a
    # 16 MB constant at both sizes. The slope between the two sizes is printed too, but it is
    # not what a permission costs: the small file's peak comes while reading (the fast lane's
    # bounded ~8 MB in it), the large file's while writing (the look-up tables freed), so a
    # straight line through the two has an intercept no run shows.
    print("\npeak memory, -j1, by distinct permissions (one event, two sizes of the same mix):")
    one = TMP / "one.jsonl"
    with open(s) as fi:
        one.write_text(fi.readline())
    r3 = best(
        {
            "one": [CLI, "permissions", "-q", "-j1", str(one), *CTX],
            "small": [CLI, "permissions", "-q", "-j1", s, *CTX],
            "large": [CLI, "permissions", "-q", "-j1", d, *CTX],
            "pone": [CLI, "policy", "-q", "-j1", str(one), *CTX],
            "psmall": [CLI, "policy", "-q", "-j1", s, *CTX],
            "plarge": [CLI, "policy", "-q", "-j1", d, *CTX],
        }
    )
    ps, pl = lines(r3["small"][2]), lines(r3["large"][2])
    mb = 2**20
    for cmd, z, a, b in (("permissions", "one", "small", "large"), ("policy", "pone", "psmall", "plarge")):
        k0, ks, kl = (r3[x][1] * 1024 for x in (z, a, b))
        row(f"{cmd}: 1 event, {ps:,} and {pl:,} distinct permissions", f"{k0 // mb} MB, {ks // mb} MB, {kl // mb} MB")
        const = max(k0, ks - 300 * ps, kl - 300 * pl) / mb
        row(f"  {cmd}: least constant with 300 B per permission", f"{const:.1f} MB", "≤ 16 MB", const <= 16)
        per = max((ks - 16 * mb) / max(ps, 1), (kl - 16 * mb) / max(pl, 1))
        row(f"  {cmd}: least bytes per permission with 16 MB", f"{per:,.0f} B", "≤ 300 B", per <= 300 and k0 <= 16 * mb)
        slope = (kl - ks) / max(pl - ps, 1)
        row(f"  {cmd}: slope between the two sizes", f"{slope:,.0f} B")


def bindings(d: str) -> None:
    py = os.environ.get("LEASTPRIV_BENCH_PYTHON")
    node = os.environ.get("LEASTPRIV_BENCH_NODE_DIR")
    print("\nbindings (release builds), side by side with the CLI on the same file:")
    cmds = {"cli": [CLI, "permissions", "-q", "-j1", d, *CTX]}
    if py:
        cmds["python"] = [py, "-c", f"import leastpriv; leastpriv.Recorder().read({d!r})"]
    if node:
        cmds["node"] = [
            "node",
            "-e",
            f"const {{Recorder}} = require({node!r}); new Recorder().readSync({d!r});",
        ]
    r = best(cmds)
    for name in ("python", "node"):
        if name in r:
            x = r[name][0] / r["cli"][0]
            label = "Recorder.read" if name == "python" else "readSync"
            row(f"{name} {label} / CLI -j1", f"{x:.2f}x the time", "≤ 1.10x", x <= 1.10)
    record_py = (
        "import leastpriv, time\n"
        "r = leastpriv.Recorder(region='eu-west-1', account='123456789012')\n"
        "t = time.perf_counter()\n"
        "for i in range(200000):\n"
        "    r.record('s3', 'GetObject', {'Bucket': f'b{i % 37}', 'Key': f'k/{i % 211}', 'Body': 'x' * 64})\n"
        "print(200000 / (time.perf_counter() - t))\n"
    )
    record_node = (
        f"const {{Recorder}} = require({node!r}); const r = new Recorder({{region: 'eu-west-1'}});"
        "const t = process.hrtime.bigint();"
        "for (let i = 0; i < 200000; i++) r.record({service: 's3', operation: 'GetObject',"
        " params: {Bucket: 'b' + (i % 37), Key: 'k/' + (i % 211), Body: 'x'.repeat(64)}});"
        "console.log(200000 / (Number(process.hrtime.bigint() - t) / 1e9));"
    )
    base = os.environ.get("LEASTPRIV_BENCH_BASELINE_PYTHON")
    for _ in range(1):
        figures = {}
        for _ in range(REPS):
            if py:
                figures.setdefault("python", []).append(float(run([py, "-c", record_py])[2]))
            if base:
                figures.setdefault("baseline", []).append(float(run([base, "-c", record_py])[2]))
            if node:
                figures.setdefault("node", []).append(float(run(["node", "-e", record_node])[2]))
        for name, v in figures.items():
            row(f"{name} record(): calls per second", f"{max(v):,.0f}")
        if "python" in figures and "baseline" in figures:
            x = max(figures["python"]) / max(figures["baseline"])
            row("python record() / the baseline build's", f"{x:.2f}x", "≥ 1.0x (noise: ±5%)", x >= 0.95)


if __name__ == "__main__":
    main()
