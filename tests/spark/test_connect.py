"""`spark_udf` on a Spark Connect session (pyspark's local Connect server, `remote("local[2]")`).

NOTE: run in a child process: a Connect session switches pyspark's functions (`col`, `struct`)
to Connect for the whole process, which would break the classic session the other tests share.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

import shipyard.pyfunc
from tests.spark.conftest import FEATURES

SCRIPT = """
import json, sys, warnings
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
import pandas as pd
from pyspark.sql import SparkSession
import shipyard.pyfunc

spark = (
    SparkSession.builder.remote("local[2]")
    .config("spark.ui.enabled", "false")
    .config("spark.executorEnv.PYTHONSAFEPATH", "1")
    .getOrCreate()
)
try:
    rows = pd.read_json(sys.argv[2], orient="split")
    udf = shipyard.pyfunc.spark_udf(spark, sys.argv[1], result_type="double")
    frame = spark.createDataFrame(rows.assign(id=range(len(rows))))
    out = sorted(frame.select("id", udf().alias("p")).collect(), key=lambda r: r["id"])
    print(json.dumps({"session": type(spark).__module__, "p": [r["p"] for r in out]}))
finally:
    spark.stop()
"""


def test_spark_connect_session_scores_like_pyfunc(iris: pd.DataFrame, sklearn_dir: Path, tmp_path: Path) -> None:
    rows = iris[FEATURES].iloc[::10].reset_index(drop=True)
    data = tmp_path / "rows.json"
    data.write_text(rows.to_json(orient="split"))
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(sklearn_dir), str(data)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["session"].startswith("pyspark.sql.connect")
    expected = np.asarray(shipyard.pyfunc.load_model(sklearn_dir).predict(rows), dtype=float)
    np.testing.assert_array_equal(np.array(result["p"]), expected)
