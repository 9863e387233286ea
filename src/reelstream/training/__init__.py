"""Batch training pipeline: snapshot -> split -> train -> evaluate -> log -> register -> promote.

Plain functions (no Airflow imports) so the CLI, DVC and the Airflow DAG share one code path.
"""
