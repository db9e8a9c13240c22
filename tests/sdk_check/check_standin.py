"""Check the ClearML stand-in with ClearML's own Python SDK (clearml==2.1.12).

Run by tests/tests/standin_sdk.rs against a running stand-in. Environment:
  CLEARML_API_HOST, CLEARML_API_ACCESS_KEY, CLEARML_API_SECRET_KEY  the stand-in and its credentials
  CLEARML_CONFIG_FILE                                                an empty file (no ~/clearml.conf)
  STANDIN_BASE_TASK                                                  the demo task to clone
  STANDIN_QUEUE                                                      the queue name to enqueue into
  STANDIN_MARKER                                                     system tag for the clone (optional)
Prints one "ok: ..." line per check and exits 0 when all pass; any failure raises (exit 1).
"""

import os
import sys
import uuid

import jwt
from clearml.backend_api.session.client import APIClient, APIError
from clearml.backend_api.session import Session


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print(f"ok: {what}", flush=True)


def val(v):
    """The SDK returns enum members for enum fields (status, type); compare their values."""
    return getattr(v, "value", v)


def main():
    base_task = os.environ["STANDIN_BASE_TASK"]
    queue_name = os.environ.get("STANDIN_QUEUE", "default")
    marker = os.environ.get("STANDIN_MARKER") or f"sched:{uuid.uuid4().hex[:12]}"

    client = APIClient()
    session = client.session
    token = session.token
    claims = jwt.decode(token, options={"verify_signature": False})
    check(
        claims.get("api_version") and claims.get("server_version"),
        f"login token is a JWT with api_version={claims.get('api_version')} server_version={claims.get('server_version')}",
    )
    # The SDK talks at min(server api_version, newest schema it bundles).
    check(Session.api_version, f"SDK session api_version {Session.api_version}")

    # Resolve the queue by exact name, as the SDK does.
    queues = client.queues.get_all(name=f"^{queue_name}$", only_fields=["id", "name"])
    check(len(queues) == 1 and queues[0].name == queue_name, f"queues.get_all found queue {queue_name!r}")
    queue_id = queues[0].id
    q = client.queues.get_by_id(queue=queue_id)
    check(q.id == queue_id and q.name == queue_name, "queues.get_by_id returns the queue")

    projects = client.projects.get_all(name="^Scheduled$", only_fields=["id"])
    check(len(projects) == 1, "projects.get_all found 'Scheduled'")
    project_id = projects[0].id

    base = client.tasks.get_by_id(task=base_task)
    check(base.id == base_task and val(base.status) == "created", f"base task {base.name!r} is created")

    res = client.tasks.clone(
        task=base_task,
        new_task_name="sdk check clone",
        new_task_project=project_id,
        new_task_system_tags=[marker],
        new_task_parent=base_task,
        new_task_hyperparams={"Args": {"batch": {"section": "Args", "name": "batch", "value": "64"}}},
    )
    new_id = res.id
    check(isinstance(new_id, str) and len(new_id) == 32, f"tasks.clone returned id {new_id}")

    res = client.tasks.enqueue(task=new_id, queue=queue_id)
    check(res.queued == 1 and res.updated == 1, "tasks.enqueue queued the clone")
    check(val(res.fields.get("status")) == "queued", "enqueue fields report status queued")

    task = client.tasks.get_by_id(task=new_id)
    check(val(task.status) == "queued", "tasks.get_by_id: status queued")
    check(task.name == "sdk check clone", "tasks.get_by_id: name")
    check(task.project == project_id, "tasks.get_by_id: project")
    check(task.parent == base_task, "tasks.get_by_id: parent is the base task (new_task_parent)")
    check(marker in (task.system_tags or []), "tasks.get_by_id: system tag")
    check(task.execution.queue == queue_id, "tasks.get_by_id: execution.queue")
    check(task.hyperparams["Args"]["batch"].value == "64", "tasks.get_by_id: hyperparameter override")
    check(task.status_changed is not None, "tasks.get_by_id: status_changed set")
    check(task.completed is None and task.started is None, "tasks.get_by_id: started/completed unset")

    found = client.tasks.get_all(
        system_tags=[marker],
        only_fields=["id", "name", "status", "system_tags", "execution.queue"],
        order_by=["-last_update"],
    )
    check([t.id for t in found] == [new_id], "tasks.get_all by system tag finds exactly the clone")

    # A second enqueue of a queued task must be refused with the server's 400/706.
    try:
        client.tasks.enqueue(task=new_id, queue=queue_id)
        raise AssertionError("second enqueue did not fail")
    except APIError as e:
        check(e.codes == (400, 706), f"second enqueue refused with {e.codes}")

    try:
        client.tasks.get_by_id(task="0" * 32)
        raise AssertionError("unknown task did not fail")
    except APIError as e:
        check(e.codes == (400, 101), f"unknown task refused with {e.codes}")

    # The entry alone goes; the task stays as it is (how a stray entry is taken out).
    res = client.queues.remove_task(queue=queue_id, task=new_id)
    check(res.removed == 1, "queues.remove_task took the entry")
    task = client.tasks.get_by_id(task=new_id)
    check(val(task.status) == "queued", "queues.remove_task leaves the task's status")
    try:
        client.queues.remove_task(queue=queue_id, task=new_id)
        raise AssertionError("removing an entry that is not there did not fail")
    except APIError as e:
        check(e.codes == (400, 703), f"an entry not there refused with {e.codes}")

    res = client.tasks.dequeue(task=new_id)
    check(res.dequeued == 1, "tasks.dequeue")
    task = client.tasks.get_by_id(task=new_id)
    check(val(task.status) == "created", "dequeued task is back to created")

    client.tasks.enqueue(task=new_id, queue_name=queue_name)
    res = client.tasks.stopped(task=new_id, force=True)
    task = client.tasks.get_by_id(task=new_id)
    check(val(task.status) == "stopped" and task.completed is not None, "tasks.stopped sets completed")

    # A queued task stopped (how the scheduler aborts a queued run past its execution limit):
    # taken off its queue and stopped.
    stop_id = client.tasks.clone(task=base_task, new_task_name="sdk check stop").id
    client.tasks.enqueue(task=stop_id, queue=queue_id)
    res = client.tasks.stop(task=stop_id)
    check(res.updated == 1, "tasks.stop")
    task = client.tasks.get_by_id(task=stop_id)
    check(val(task.status) == "stopped", "a queued task stopped is stopped")
    queue = client.queues.get_by_id(queue=queue_id)
    check(all(e.task != stop_id for e in (queue.entries or [])), "tasks.stop took it off its queue")

    # The high-level SDK path TaskScheduler uses: Task.get_task, Task.clone, Task.enqueue.
    from clearml import Task

    base_hl = Task.get_task(task_id=base_task)
    check(base_hl.id == base_task, f"Task.get_task loads {base_hl.name!r}")
    clone_hl = Task.clone(source_task=base_hl, name="sdk check high-level clone", project=project_id)
    check(clone_hl.id != base_task, f"Task.clone made {clone_hl.id}")
    Task.enqueue(clone_hl, queue_name=queue_name)
    task = client.tasks.get_by_id(task=clone_hl.id)
    check(val(task.status) == "queued" and task.execution.queue == queue_id, "Task.enqueue queued it by queue name")

    # The agents listening to a queue (how a stuck run is explained): the worker the test
    # registered on the queue, parsed by the SDK's own Worker model.
    workers = client.workers.get_all(last_seen=600)
    listening = [w for w in workers if any(q.name == queue_name for q in (w.queues or []))]
    check(
        len(listening) == 1 and listening[0].id == "sdk-check-agent:0" and listening[0].queues[0].id == queue_id,
        f"workers.get_all lists the agent on {queue_name!r}",
    )

    print("SDK CHECK PASSED", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
