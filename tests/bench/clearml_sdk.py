"""ClearML SDK's own scheduler, measured for scripts/bench.sh (run in the venv with clearml).

1. Next run: ``ScheduleJob.next()`` (clearml/automation/scheduler.py: it computes and stores
   ``_next_run`` from ``_last_executed`` / ``starting_time``; ``next_run()`` only returns the stored
   value) for the same daily, weekly and monthly schedules as shared/benches/peers.rs, from the same
   1,024 start instants (the xorshift of shared/benches/cases.rs), median of the per-call time.
2. The impossible schedule (February 30th): how ``verify()`` and ``next()`` react, and how long.
3. Memory: resident memory of this process with ``TaskScheduler`` holding 100,000 jobs of the
   daily / weekly / monthly mix of shared/benches/memory.rs, added through ``add_task`` (which
   verifies each job), each with its next run computed, against the same process before.

Usage: python clearml_sdk.py OUT.json
"""

import gc
import json
import os
import statistics
import sys
import time
from datetime import datetime, timezone

import psutil

PROC = psutil.Process()
RSS_BEFORE_IMPORT = PROC.memory_info().rss

from clearml.automation.scheduler import ScheduleJob, TaskScheduler  # noqa: E402
import clearml  # noqa: E402

M64 = (1 << 64) - 1


def starts(n):
    """The start instants of shared/benches/cases.rs::starts, as aware UTC datetimes."""
    x = 0x9E3779B97F4A7C15
    out = []
    for _ in range(n):
        x ^= x >> 12
        x = (x ^ (x << 25)) & M64
        x ^= x >> 27
        s = 946_684_800 + ((x * 0x2545F4914F6CDD1D) & M64) % 3_155_760_000
        out.append(datetime.fromtimestamp(s, timezone.utc))
    return out


CASES = {
    # Same schedules as the Rust peers bench (names match its "case" column).
    "daily 06:20": dict(minute=20, hour=6, day=1),
    "weekly mon,fri 08:30": dict(minute=30, hour=8, day=0, weekdays=["monday", "friday"]),
    "monthly 15th 12:00": dict(minute=0, hour=12, day=15, month=1),
}


def job(**kw):
    j = ScheduleJob(name="bench", base_task_id="aabbccddeeff00112233445566778899", queue="default", **kw)
    j.verify()
    return j


def time_next(kw, ts, rounds):
    """Median ns per ScheduleJob.next() call, each from a different previous execution time."""
    jobs = []
    for t in ts:
        j = job(**kw)
        j.starting_time = t
        j._last_executed = t
        j._schedule_counter = 1
        jobs.append(j)
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        for j in jobs:
            j.next()
        samples.append((time.perf_counter_ns() - t0) / len(jobs))
    return statistics.median(samples), [j.next_run().isoformat() for j in jobs[:3]]


def impossible():
    out = []
    for label, kw in [
        ("yearly Feb 30 (year=1, month=2, day=30)", dict(year=1, month=2, day=30, hour=0, minute=0)),
        ("monthly on the 30th (month=1, day=30), computed in February",
         dict(month=1, day=30, hour=0, minute=0)),
    ]:
        samples = []
        reaction = None
        for _ in range(201):
            t0 = time.perf_counter_ns()
            try:
                j = job(**kw)
                j.starting_time = datetime(2026, 2, 3, tzinfo=timezone.utc)
                j._last_executed = j.starting_time
                j._schedule_counter = 1
                nxt = j.next()
                reaction = "verify() accepts it; next() = %s" % nxt
            except Exception as e:  # what the SDK's scheduler loop would meet
                reaction = "verify() accepts it; next() raises %s: %s" % (type(e).__name__, e)
            samples.append(time.perf_counter_ns() - t0)
        out.append({"who": "ClearML SDK %s ScheduleJob, %s" % (clearml.__version__, label),
                    "ns": statistics.median(samples), "reaction": reaction})
    return out


def memory(rows):
    gc.collect()
    rss0 = PROC.memory_info().rss
    how = "TaskScheduler.__new__ (no server: __init__ calls Task.init), then add_task() per row"
    try:
        # TaskScheduler.__init__ needs a ClearML server (Task.init); build the object without it
        # and set the three lists __init__ would set, then load the jobs the ordinary way.
        sched = TaskScheduler.__new__(TaskScheduler)
        sched._schedule_jobs, sched._timeout_jobs, sched._executed_jobs = [], {}, []
        sched._task = None
        for t in range(rows):
            kind = t % 3
            kw = dict(minute=(t * 7) % 60, hour=t % 24)
            if kind == 0:
                kw.update(day=1)
            elif kind == 1:
                kw.update(day=0, weekdays=["monday", "friday"])
            else:
                kw.update(day=15, month=1)
            sched.add_task(schedule_task_id="%032x" % t, queue="default",
                           target_project="Scheduled/proj%d" % (t // 500), name="t%d" % t, **kw)
        for j in sched._schedule_jobs:
            j.next()
        assert len(sched.get_scheduled_tasks()) == rows
    except Exception as e:  # pragma: no cover - reported, not hidden
        return {"error": "%s: %s" % (type(e).__name__, e)}
    gc.collect()
    rss1 = PROC.memory_info().rss
    return {"rows": rows, "how": how, "rss_before_import_bytes": RSS_BEFORE_IMPORT,
            "rss_after_import_bytes": rss0, "rss_loaded_bytes": rss1,
            "delta_bytes": rss1 - rss0, "sched": len(sched._schedule_jobs)}


def main():
    out_path = sys.argv[1]
    ts = starts(1024)
    nf = []
    for name, kw in CASES.items():
        ns, sample = time_next(kw, ts, 21)
        nf.append({"case": name, "sdk_ns": ns, "sdk_args": kw, "sample": sample})
        print("%-24s %10.0f ns  (ScheduleJob(%s).next())" % (name, ns, kw))
    imp = impossible()
    for i in imp:
        print("%-70s %10.0f ns  %s" % (i["who"], i["ns"], i["reaction"]))
    mem = memory(100_000)
    print("memory:", mem)
    out = {"clearml_version": clearml.__version__, "python": sys.version.split()[0],
           "next_fire": nf, "impossible": imp, "memory": mem}
    with open(out_path, "w") as f:
        json.dump(out, f, indent=2)
    print("wrote", out_path)


if __name__ == "__main__":
    os.environ.setdefault("CLEARML_LOG_LEVEL", "ERROR")
    main()
