"""The embedded servers' process helpers, now :mod:`reelstream.processes` (same names)."""

from reelstream.processes import (  # noqa: F401 - re-exported for the stack's launchers
    PidFile,
    die_with_parent,
    log_tail,
    port_answers,
    port_owner,
    spawn,
    stop_group,
    stop_recorded,
    wait_until,
)

__all__ = [
    "PidFile",
    "die_with_parent",
    "log_tail",
    "port_answers",
    "port_owner",
    "spawn",
    "stop_group",
    "stop_recorded",
    "wait_until",
]
