"""Time-series charts every page draws alike: clock time (HH:MM:SS, UTC) on the time axis, the
unit in the value axis's title and a value format that suits it (Streamlit's own line chart
labels a few minutes of data ".800" and small values "0.000000")."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

__all__ = ["time_chart", "TIME_FORMAT"]

TIME_FORMAT = "%H:%M:%S"


def time_chart(frame: pd.DataFrame, unit: str, *, value_format: str = ",.1f", height: int = 220) -> None:
    """Draw ``frame`` (index: UTC datetimes, one column per series) as lines."""
    if frame.empty:
        st.caption("collecting…")
        return
    long = frame.rename_axis("time").reset_index().melt("time", var_name="series", value_name="value")
    long["time"] = pd.to_datetime(long["time"], utc=True).dt.tz_localize(None)
    chart = (
        alt.Chart(long.dropna())
        .mark_line(point=len(frame) < 3)
        .encode(
            x=alt.X("time:T", axis=alt.Axis(format=TIME_FORMAT, title="time (UTC)", labelAngle=0,
                                            tickCount=5)),
            y=alt.Y("value:Q", axis=alt.Axis(format=value_format, title=unit)),
            color=alt.Color("series:N", legend=alt.Legend(title=None, orient="bottom")),
            tooltip=[alt.Tooltip("time:T", format=TIME_FORMAT), "series:N",
                     alt.Tooltip("value:Q", format=value_format)],
        )
        .properties(height=height)
    )
    st.altair_chart(chart, use_container_width=True)
