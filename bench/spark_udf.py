"""Batch scoring in Spark: `shipyard.pyfunc.spark_udf` vs `mlflow.pyfunc.spark_udf`, same session.

One MLflow-saved model (`mlflow.sklearn.save_model`, a LogisticRegression over 8 float columns,
so the figures measure the UDF's overhead more than the model), N rows cached in Spark first; each
UDF scores all rows once after a warm-up (workers started, model loaded), and the sum of the
predictions is collected so every row is scored. Also the in-process ceiling: Shipyard's
`pyfunc.predict` on the same rows in batches of maxRecordsPerBatch, on one core.
Target (issue 19): Shipyard >= 2x MLflow's rows/s, and >= half the in-process ceiling per core.

Run: `python bench/spark_udf.py [--rows 1000000] [--cores N]` (needs pyspark, mlflow and a JRE).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from benchkit import machine

FEATURES = [f"f{i}" for i in range(8)]
BATCH = 10_000  # Spark's default spark.sql.execution.arrow.maxRecordsPerBatch


def build_model(root: Path) -> Path:
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(2000, len(FEATURES))), columns=FEATURES)
    y = (x.sum(axis=1) > 0).astype(int)
    model = LogisticRegression().fit(x, y)
    path = root / "mlflow-model"
    mlflow.sklearn.save_model(model, path, signature=infer_signature(x, model.predict(x).astype(float)))
    return path


def timed_sum(frame: Any, column: Any) -> tuple[float, float]:
    from pyspark.sql import functions as F

    start = time.perf_counter()
    total = frame.select(column.alias("p")).agg(F.sum("p")).collect()[0][0]
    return time.perf_counter() - start, float(total)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")  # pyspark's pandas-3 notices and mlflow's deprecations
    # NOTE: workers must use this interpreter, and must not see the repository root (sklearn.py).
    os.environ["PYSPARK_PYTHON"] = sys.executable
    import mlflow.pyfunc
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    import shipyard.pyfunc

    spark = (
        SparkSession.builder.master(f"local[{args.cores}]")
        .config("spark.ui.enabled", "false")
        .config("spark.executorEnv.PYTHONSAFEPATH", "1")
        .config("spark.driver.memory", "4g")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    with tempfile.TemporaryDirectory() as tmp:
        path = build_model(Path(tmp))
        frame = spark.range(args.rows, numPartitions=args.cores * 2).select(
            *[F.rand(seed=i).alias(name) for i, name in enumerate(FEATURES)]
        )
        frame = frame.cache()
        frame.count()
        warm = frame.limit(20_000)
        ours = shipyard.pyfunc.spark_udf(spark, str(path), result_type="double")
        theirs = mlflow.pyfunc.spark_udf(spark, str(path), result_type="double", env_manager="local")
        figures = {}
        for name, udf in (("shipyard", ours(*FEATURES)), ("mlflow", theirs(*FEATURES))):
            timed_sum(warm, udf)
            seconds, total = timed_sum(frame, udf)
            figures[name] = (args.rows / seconds, total)
        model = shipyard.pyfunc.load_model(path)
        rows = frame.limit(min(args.rows, 200_000)).toPandas()
        start = time.perf_counter()
        for i in range(0, len(rows), BATCH):
            model.predict(rows.iloc[i : i + BATCH])
        ceiling = len(rows) / (time.perf_counter() - start)
    spark.stop()
    print(machine())
    print(f"rows={args.rows} cores={args.cores} batch={BATCH}")
    for name, (rate, total) in figures.items():
        print(f"{name:9s} spark_udf: {rate:12,.0f} rows/s  ({rate / args.cores:10,.0f} per core)  sum={total:.0f}")
    print(f"ratio shipyard/mlflow: {figures['shipyard'][0] / figures['mlflow'][0]:.2f}x")
    print(f"in-process pyfunc ceiling (one core): {ceiling:12,.0f} rows/s")
    print(f"shipyard per core / ceiling: {figures['shipyard'][0] / args.cores / ceiling:.2f}")


if __name__ == "__main__":
    main()
