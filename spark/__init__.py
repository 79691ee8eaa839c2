"""Batch scoring inside Spark: `spark_udf` turns a model into an arrow or pandas UDF (imports pyspark)."""

from shipyard.spark.udf import ModelUdf, spark_udf

__all__ = ["ModelUdf", "spark_udf"]
