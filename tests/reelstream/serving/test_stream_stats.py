"""Quantiles from histogram buckets (what the stats endpoint and the Live page report)."""

from __future__ import annotations

import pytest

from reelstream.serving.stream_stats import bucket_quantile

BOUNDS = (0.001, 0.002, 0.005)


def test_empty_histogram_has_no_quantile() -> None:
    assert bucket_quantile(BOUNDS, [0, 0, 0, 0], 0.5) is None


def test_interpolates_inside_the_bucket() -> None:
    # 10 observations in (1 ms, 2 ms]: the median sits half way through that bucket.
    assert bucket_quantile(BOUNDS, [0, 10, 0, 0], 0.5) == pytest.approx(0.0015)
    assert bucket_quantile(BOUNDS, [10, 0, 0, 0], 0.95) == pytest.approx(0.00095)


def test_overflow_bucket_reports_the_last_bound() -> None:
    assert bucket_quantile(BOUNDS, [1, 0, 0, 9], 0.95) == pytest.approx(0.005)
