"""A CloudTrail trail too large for one process, read with Dask; one policy at the end.

Each partition of a ``dask.bag`` of file paths is read by a ``Recorder`` (gzipped delivery files,
record by record) into its serialized state; the states are merged by a tree reduction
(merging is commutative and associative, so the order does not matter); the policy is built once
from the merged state. The result is byte for byte what ``leastpriv policy`` writes for the same
files in one process.

    python examples/dask_cloudtrail.py --group-by-principal trail/*.json.gz > policies.json
    python examples/dask_cloudtrail.py --scheduler tcp://10.0.0.5:8786 trail/*.json.gz

With ``--scheduler`` the work goes to that Dask cluster (the files must be readable by its
workers); without it, to a local cluster of worker processes.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import dask.bag as db

from leastpriv import Recorder


def read_partition(paths: Iterable[str], read_options: Mapping[str, Any]) -> list[bytes]:
    """One partition: its files read into one recorder, handed on as its serialized state."""
    rec = Recorder()
    for path in paths:
        rec.read(path, **read_options)
    return [rec.to_bytes()]


def merge_states(states: Iterable[bytes]) -> bytes:
    """Several serialized states merged into one."""
    merged = Recorder()
    for state in states:
        merged.merge(Recorder.from_bytes(state))
    return merged.to_bytes()


def trail_state(
    paths: Sequence[str],
    *,
    npartitions: int | None = None,
    split_every: int = 8,
    read_options: Mapping[str, Any] | None = None,
    timeout: float | None = None,
) -> bytes:
    """The merged serialized state of all ``paths``, computed on the current Dask scheduler
    (with ``timeout``, on the current ``distributed`` client, waiting at most that long).

    The workers must be able to import this module (install it with your code, or put its
    folder on their ``PYTHONPATH``) and ``leastpriv``."""
    files = sorted(paths)
    bag = db.from_sequence(files, npartitions=npartitions or max(1, min(len(files), 64)))
    states = bag.map_partitions(read_partition, dict(read_options or {}))
    merged = states.reduction(merge_states, merge_states, split_every=split_every)
    if timeout is None:
        result: bytes = merged.compute()
        return result
    from distributed import default_client

    done: bytes = default_client().compute(merged).result(timeout=timeout)
    return done


def trail_policy(paths: Sequence[str], **options: Any) -> str:
    """The policy JSON for ``paths``: ``trail_state`` then one ``policy()``. ``options`` are the
    policy options (``group_by=True``, ``region=...``, ...), plus ``read_options``,
    ``npartitions`` and ``timeout`` for reading."""
    read_options = options.pop("read_options", None)
    npartitions = options.pop("npartitions", None)
    timeout = options.pop("timeout", None)
    state = trail_state(paths, npartitions=npartitions, read_options=read_options, timeout=timeout)
    return Recorder.from_bytes(state).policy(**options).to_json()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("files", nargs="+")
    parser.add_argument("--scheduler", help="a Dask scheduler address (default: a local cluster)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--group-by-principal", action="store_true")
    parser.add_argument("--principal", action="append", default=[], help="ARN glob to keep")
    args = parser.parse_args(argv)

    from distributed import Client, LocalCluster

    read_options: dict[str, Any] = {"principal": args.principal} if args.principal else {}
    if args.scheduler:
        client = Client(args.scheduler)
        cluster = None
    else:
        cluster = LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
        client = Client(cluster)
    try:
        sys.stdout.write(
            trail_policy(args.files, group_by=args.group_by_principal, read_options=read_options)
        )
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
