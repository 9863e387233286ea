"""The refit process: its jobs run in a child that is stopped and continued while they run."""

from __future__ import annotations

import os
import time

from reelstream.models.refit_process import RefitProcess


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0]


def test_a_job_in_flight_is_paused_and_resumed_until_it_is_done():
    refits = RefitProcess(run_s=0.005, pause_s=0.02)
    try:
        child = refits.submit(os.getpid).result()
        assert child != os.getpid() and refits.submit(os.nice, 0).result() == 19
        job = refits.submit(sum, range(40_000_000))  # a few tenths of a second of CPU
        seen = set()
        while not job.done():
            seen.add(_state(child))
        assert job.result() == sum(range(40_000_000))
        assert "T" in seen  # stopped while the job ran
        give_up = time.monotonic() + 5  # a pause that began as the job ended still ends
        while _state(child) == "T" and time.monotonic() < give_up:
            time.sleep(0.005)
        assert _state(child) != "T"  # continued once the job was done
    finally:
        refits.shutdown()
