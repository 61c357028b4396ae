"""A CloudTrail trail read with PySpark; one policy at the end.

The same shape as ``dask_cloudtrail.py``: each partition of file paths is read by a ``Recorder``
into its serialized state (``mapPartitions``), the states are merged by ``treeReduce``, and the
policy is built once from the merged state (byte for byte what ``leastpriv policy`` writes for the
same files in one process).

    spark-submit examples/spark_cloudtrail.py --group-by-principal trail/*.json.gz > policy.json
    python examples/spark_cloudtrail.py --master 'local[2]' trail/*.json.gz

The executors need ``leastpriv`` installed (the files must be readable by them).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator, Sequence

from leastpriv import Recorder


def read_partition(paths: Iterable[str]) -> Iterator[bytes]:
    """One partition: its files read into one recorder, handed on as its serialized state."""
    rec = Recorder()
    for path in paths:
        rec.read(path)
    yield rec.to_bytes()


def merge_two(a: bytes, b: bytes) -> bytes:
    """Two serialized states merged into one."""
    merged = Recorder.from_bytes(a)
    merged.merge(Recorder.from_bytes(b))
    return merged.to_bytes()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("files", nargs="+")
    parser.add_argument("--master", default=None, help="the Spark master (default: spark-submit's)")
    parser.add_argument("--partitions", type=int, default=None)
    parser.add_argument("--group-by-principal", action="store_true")
    args = parser.parse_args(argv)

    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("leastpriv-cloudtrail")
    if args.master:
        builder = builder.master(args.master)
    spark = builder.getOrCreate()
    try:
        files = sorted(args.files)
        rdd = spark.sparkContext.parallelize(files, args.partitions or min(len(files), 64))
        state = rdd.mapPartitions(read_partition).treeReduce(merge_two, depth=2)
        policy = Recorder.from_bytes(state).policy(group_by=args.group_by_principal)
        sys.stdout.write(policy.to_json())
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
