"""Batch scoring in Spark: `shipyard.pyfunc.spark_udf` vs `mlflow.pyfunc.spark_udf`, same run.

One MLflow-saved model (`mlflow.sklearn.save_model`, a LogisticRegression over 8 float columns,
so the figures measure the UDF's overhead more than the model), N rows cached in Spark. After a
warm-up of the JVM, each contender gets a fresh Spark session (so fresh Python workers), then:
- cold: the first full pass (workers start, import the libraries, load the model: what a
  one-off batch job pays once per worker);
- steady: the median of the next passes (workers and model loaded: what each further pass,
  or a long job after its first batches, runs at).
A pass scores every row and collects the sum of the predictions. Alongside, Spark's own floors:
UDFs that return zeros without looking at their input (a pandas UDF and an arrow UDF, each taking
the 8 columns as separate arguments, the cheapest form), the same query with no UDF at all, and
the in-process ceiling: Shipyard's `pyfunc.predict` on the same rows in batches of
maxRecordsPerBatch, on one core.
Targets (issue 19): Shipyard >= 2x MLflow's rows/s, and >= half the in-process ceiling per core.

Run: `python bench/spark_udf.py [--rows 1000000] [--passes 3] [--cores N]` (needs pyspark, mlflow, a JRE).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
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


def zeros_pandas_udf() -> Any:
    from pyspark.sql import functions as F
    from pyspark.sql.functions import pandas_udf

    def zeros(batches: Iterator[tuple[pd.Series, ...]]) -> Iterator[pd.Series]:
        for columns in batches:
            yield pd.Series(np.zeros(len(columns[0])))

    udf = pandas_udf(zeros, "double")  # type: ignore[call-overload]
    return lambda *cols: udf(*[F.col(c) for c in cols])


def zeros_arrow_udf() -> Any:
    from pyspark.sql import functions as F
    from pyspark.sql.functions import arrow_udf

    def zeros(batches: Iterator[tuple[pa.Array, ...]]) -> Iterator[pa.Array]:
        for columns in batches:
            yield pa.array(np.zeros(len(columns[0])))

    udf = arrow_udf(zeros, "double")  # type: ignore[call-overload]
    return lambda *cols: udf(*[F.col(c) for c in cols])


def no_udf(*cols: str) -> Any:
    """The same query without Python: Spark's own scan and sum, the floor under every UDF."""
    from pyspark.sql import functions as F

    return F.col(cols[0]) * 0.0


def session(cores: int) -> Any:
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master(f"local[{cores}]")
        .config("spark.ui.enabled", "false")
        .config("spark.executorEnv.PYTHONSAFEPATH", "1")
        .config("spark.driver.memory", "4g")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def passes(
    spark: Any, rows: int, cores: int, make_udf: Callable[[Any], Any], steady_passes: int
) -> tuple[float, list[float], float]:
    """(cold seconds, steady seconds per pass, sum of the predictions) for one contender."""
    from pyspark.sql import functions as F

    frame = spark.range(rows, numPartitions=cores * 2).select(
        *[F.rand(seed=i).alias(name) for i, name in enumerate(FEATURES)]
    )
    frame = frame.cache()
    frame.count()
    column = make_udf(spark)(*FEATURES).alias("p")
    timings, total = [], 0.0
    for _ in range(1 + steady_passes):
        start = time.perf_counter()
        total = float(frame.select(column).agg(F.sum("p")).collect()[0][0])
        timings.append(time.perf_counter() - start)
    frame.unpersist()
    return timings[0], timings[1:], total


def ceiling(path: Path, rows: int) -> float:
    import shipyard.pyfunc

    model = shipyard.pyfunc.load_model(path)
    rng = np.random.default_rng(1)
    data = pd.DataFrame(rng.random((min(rows, 200_000), len(FEATURES))), columns=FEATURES)
    start = time.perf_counter()
    for i in range(0, len(data), BATCH):
        model.predict(data.iloc[i : i + BATCH])
    return len(data) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--passes", type=int, default=3, help="steady passes after the cold one [3]")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")  # pyspark's pandas-3 notices and mlflow's deprecations
    # NOTE: workers must use this interpreter, and must not see the repository root (sklearn.py).
    os.environ["PYSPARK_PYTHON"] = sys.executable
    import mlflow.pyfunc

    import shipyard.pyfunc

    with tempfile.TemporaryDirectory() as tmp:
        path = build_model(Path(tmp))
        contenders: dict[str, Callable[[Any], Any]] = {
            "shipyard": lambda spark: shipyard.pyfunc.spark_udf(spark, str(path), result_type="double"),
            "mlflow": lambda spark: mlflow.pyfunc.spark_udf(
                spark, str(path), result_type="double", env_manager="local"
            ),
            "no-op pandas UDF": lambda spark: zeros_pandas_udf(),
            "no-op arrow UDF": lambda spark: zeros_arrow_udf(),
            "no UDF at all": lambda spark: no_udf,
        }
        spark = session(args.cores)  # NOTE: warms the JVM (JIT, Arrow paths) that every later session shares
        passes(spark, args.rows, args.cores, lambda _: zeros_pandas_udf(), 1)
        spark.stop()
        figures = {}
        for name, make_udf in contenders.items():
            spark = session(args.cores)
            figures[name] = passes(spark, args.rows, args.cores, make_udf, args.passes)
            spark.stop()
        top = ceiling(path, args.rows)
    print(machine())
    print(f"rows={args.rows} cores={args.cores} batch={BATCH} steady passes={args.passes} (a fresh session each)")
    rates = {}
    for name, (cold, steady, total) in figures.items():
        rates[name] = (args.rows / cold, args.rows / statistics.median(steady))
        print(
            f"{name:17s} cold {rates[name][0]:11,.0f} rows/s   steady {rates[name][1]:11,.0f} rows/s "
            f"({rates[name][1] / args.cores:10,.0f} per core)  steady passes {[round(s, 2) for s in steady]} s"
            f"  sum={total:.0f}"
        )
    ours, theirs = rates["shipyard"], rates["mlflow"]
    print(f"shipyard / mlflow: cold {ours[0] / theirs[0]:.2f}x, steady {ours[1] / theirs[1]:.2f}x")
    print(f"shipyard steady / no-op arrow UDF steady: {ours[1] / rates['no-op arrow UDF'][1]:.2f}")
    print(f"in-process pyfunc ceiling (one core): {top:12,.0f} rows/s")
    print(f"shipyard steady per core / ceiling: {ours[1] / args.cores / top:.3f}")


if __name__ == "__main__":
    main()
