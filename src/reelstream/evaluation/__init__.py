"""Offline evaluation: metrics, baselines and the batch evaluation harness."""
