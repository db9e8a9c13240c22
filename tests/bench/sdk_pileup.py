"""The pile-up peer for scripts/bench.sh: ClearML SDK's own launch path for N due jobs, against
the ClearML stand-in (run in the venv with clearml; tests/tests/pileup_bench.rs starts it).

For each job it does what ``TaskScheduler._launch_job_task`` (clearml/automation/scheduler.py)
does for a due job: look the queue up (``get_queue_id``), clone the base task
(``ClearmlJob(...)``) and enqueue the clone (``ClearmlJob.launch``), one job after another, as
the SDK's scheduler loop runs them.

Environment: CLEARML_API_HOST and keys (the stand-in), STANDIN_BASE_TASK, STANDIN_QUEUE.
Usage: python sdk_pileup.py N   (prints one JSON line)
"""

import json
import os
import sys
import time

from clearml import Task
from clearml.automation.job import ClearmlJob
from clearml.backend_interface.util import get_queue_id


def main():
    n = int(sys.argv[1])
    base = os.environ["STANDIN_BASE_TASK"]
    queue = os.environ.get("STANDIN_QUEUE", "default")
    session = Task._get_default_session()
    t0 = time.monotonic()
    launched = 0
    for i in range(n):
        queue_id = get_queue_id(session, queue)
        job = ClearmlJob(
            base_task_id=base,
            parameter_override=None,
            task_overrides=None,
            disable_clone_task=False,
            allow_caching=False,
            target_project=None,
            tags=["pileup-%d" % i],
        )
        if job.launch(queue_name=queue_id):
            launched += 1
    print(json.dumps({"jobs": n, "launched": launched, "seconds": time.monotonic() - t0}))


if __name__ == "__main__":
    main()
