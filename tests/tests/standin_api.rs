//! The stand-in's ClearML API over HTTP: auth, envelope, every endpoint's happy path and main
//! errors, and the `clearml-standin` binary's startup line.

use scheduler_e2e::standin::client::Client;
use scheduler_e2e::standin::{self, demo, StandinConfig, StandinHandle};
use serde_json::{json, Value};

async fn start() -> (StandinHandle, Client) {
    let srv = standin::spawn(StandinConfig::without_agent())
        .await
        .unwrap();
    let mut c = Client::new(&srv.url());
    let a = c.login(demo::ACCESS_KEY, demo::SECRET_KEY).await.unwrap();
    assert_eq!(a.status, 200, "{:?}", a.body);
    (srv, c)
}

fn b64url_json(seg: &str) -> Value {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(seg)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn login_issues_a_jwt_and_rejects_bad_credentials() {
    let srv = standin::spawn(StandinConfig::without_agent())
        .await
        .unwrap();
    let mut c = Client::new(&srv.url());

    let a = c.login(demo::ACCESS_KEY, demo::SECRET_KEY).await.unwrap();
    assert_eq!((a.status, a.codes()), (200, (200, 0)));
    let token = a.data()["token"].as_str().unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    assert_eq!(b64url_json(parts[0])["alg"], "HS256");
    let claims = b64url_json(parts[1]);
    assert_eq!(claims["api_version"], "2.31");
    assert_eq!(claims["server_version"], "2.0.0");
    let ttl = claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap();
    assert_eq!(ttl, 2_592_000, "default expiration is 30 days");

    // expiration_sec as a query parameter, GET with a JSON body like the SDK sends.
    let resp = c
        .http
        .get(format!("{}/auth.login?expiration_sec=60", srv.url()))
        .basic_auth(demo::ACCESS_KEY, Some(demo::SECRET_KEY))
        .body(r#"{"method": "get"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    let claims = b64url_json(
        body["data"]["token"]
            .as_str()
            .unwrap()
            .split('.')
            .nth(1)
            .unwrap(),
    );
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        60
    );

    let mut bad = Client::new(&srv.url());
    let a = bad.login(demo::ACCESS_KEY, "wrong").await.unwrap();
    assert_eq!((a.status, a.codes()), (401, (401, 22)));
    assert!(a.msg().starts_with("unauthorized (invalid credentials)"));
    assert!(bad.token.is_none());

    let none = Client::new(&srv.url());
    let a = none.call("auth.login", json!({})).await.unwrap();
    assert_eq!((a.status, a.codes()), (401, (401, 20)));
    let a = none.call("tasks.get_all", json!({})).await.unwrap();
    assert_eq!(a.codes(), (401, 20));

    let mut forged = Client::new(&srv.url());
    forged.token = Some(format!("{}.{}.AAAA", parts[0], parts[1]));
    let a = forged.call("tasks.get_all", json!({})).await.unwrap();
    assert_eq!((a.status, a.codes()), (401, (401, 30)));

    // Basic credentials work on any endpoint, as on the real server.
    let resp = c
        .http
        .post(format!("{}/projects.get_all", srv.url()))
        .basic_auth(demo::ACCESS_KEY, Some(demo::SECRET_KEY))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    let recs = srv.records();
    assert_eq!(recs.count("auth.login"), 4);
    assert!(recs
        .calls_to("auth.login")
        .any(|c| (c.result_code, c.result_subcode) == (401, 22)));
}

#[tokio::test]
async fn envelope_shape_versions_and_unknown_endpoints() {
    let (srv, c) = start().await;

    let a = c
        .call("v2.23/tasks.get_by_id", json!({"task": demo::TASK_TRAIN}))
        .await
        .unwrap();
    let meta = &a.body["meta"];
    assert_eq!(meta["endpoint"]["name"], "tasks.get_by_id");
    assert_eq!(meta["endpoint"]["requested_version"], "2.23");
    assert_eq!(meta["endpoint"]["actual_version"], "1.0");
    assert_eq!(meta["result_code"], 200);
    assert_eq!(meta["result_subcode"], 0);
    assert_eq!(meta["result_msg"], "OK");
    assert!(meta["error_stack"].is_null());
    assert_eq!(meta["error_data"], json!({}));
    assert_eq!(meta["id"].as_str().unwrap().len(), 32);
    assert_eq!(meta["trx"], meta["id"]);
    let keys: Vec<&String> = meta.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 8, "{keys:?}");

    // No version in the path: the newest one is requested.
    let a = c.call("queues.get_all", json!({})).await.unwrap();
    assert_eq!(a.body["meta"]["endpoint"]["requested_version"], "2.31");
    assert_eq!(a.body["meta"]["endpoint"]["actual_version"], "2.4");

    let a = c.call("tasks.no_such_thing", json!({})).await.unwrap();
    assert_eq!((a.status, a.codes()), (404, (404, 0)));
    assert_eq!(
        a.msg(),
        "Unable to find endpoint for name tasks.no_such_thing and version 2.31"
    );
    assert_eq!(a.data(), &json!({}));
    // queues.get_all exists only from 2.4.
    let a = c.call("v2.1/queues.get_all", json!({})).await.unwrap();
    assert_eq!(a.codes(), (404, 0));
    let a = c.call("not-an-endpoint", json!({})).await.unwrap();
    assert_eq!(a.codes(), (400, 0));

    // Unknown fields are ignored, an extra "method" property is tolerated.
    let a = c
        .call(
            "tasks.get_by_id",
            json!({"task": demo::TASK_TRAIN, "method": "get", "whatever": [1, 2]}),
        )
        .await
        .unwrap();
    assert_eq!(a.status, 200);

    // Broken JSON is a 400.
    let resp = c
        .http
        .post(format!("{}/tasks.get_all", srv.url()))
        .bearer_auth(c.token.as_ref().unwrap())
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);

    // X-ClearML-Trx is echoed as meta.trx.
    let resp = c
        .http
        .post(format!("{}/debug.ping", srv.url()))
        .header("X-ClearML-Trx", "trx-123")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["meta"]["trx"], "trx-123");
    assert_eq!(body["data"]["msg"], "ClearML server");
}

#[tokio::test]
async fn projects_get_all_and_create() {
    let (_srv, c) = start().await;
    let a = c
        .call(
            "projects.get_all",
            json!({"name": "^Scheduled$", "only_fields": ["id"], "search_hidden": true}),
        )
        .await
        .unwrap();
    assert_eq!(
        a.data()["projects"],
        json!([{"id": demo::PROJECT_SCHEDULED}])
    );

    // Regex metacharacters must be escaped by the caller: an escaped name matches exactly.
    let a = c
        .call("projects.create", json!({"name": "Nightly (v1.2)+"}))
        .await
        .unwrap();
    assert_eq!(a.status, 200);
    let id = a.data()["id"].as_str().unwrap().to_string();
    let a = c
        .call(
            "projects.get_all",
            json!({"name": r"^Nightly \(v1\.2\)\+$", "only_fields": ["id", "name"]}),
        )
        .await
        .unwrap();
    assert_eq!(
        a.data()["projects"],
        json!([{"id": id, "name": "Nightly (v1.2)+"}])
    );

    let a = c
        .call("projects.create", json!({"name": "Nightly (v1.2)+"}))
        .await
        .unwrap();
    assert_eq!((a.status, a.codes()), (400, (400, 801)));
    assert!(a
        .msg()
        .starts_with("Project with the same name already exists"));

    let a = c.call("projects.create", json!({})).await.unwrap();
    assert_eq!(a.codes(), (400, 11));
    assert_eq!(a.msg(), "missing required fields: missing=(name)");

    // Nested names create the parent.
    let a = c
        .call("projects.create", json!({"name": "Team/Runs"}))
        .await
        .unwrap();
    assert_eq!(a.status, 200);
    let a = c
        .call("projects.get_all", json!({"name": "^Team$"}))
        .await
        .unwrap();
    assert_eq!(a.data()["projects"].as_array().unwrap().len(), 1);

    // Substring match without anchors; bad regex is a 400.
    let a = c
        .call("projects.get_all", json!({"name": "chedul"}))
        .await
        .unwrap();
    assert_eq!(a.data()["projects"][0]["name"], "Scheduled");
    let a = c
        .call("projects.get_all", json!({"name": "(unclosed"}))
        .await
        .unwrap();
    assert_eq!(a.status, 400);
}

#[tokio::test]
async fn queues_get_all_and_get_by_id() {
    let (_srv, c) = start().await;
    let a = c
        .call(
            "queues.get_all",
            json!({"name": "^default$", "only_fields": ["id"]}),
        )
        .await
        .unwrap();
    assert_eq!(a.data()["queues"], json!([{"id": demo::QUEUE_DEFAULT}]));

    let a = c
        .call(
            "queues.get_all",
            json!({"id": [demo::QUEUE_GPU, demo::QUEUE_SERVICES], "order_by": ["name"], "only_fields": ["name"]}),
        )
        .await
        .unwrap();
    let names: Vec<&str> = a.data()["queues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["gpu", "services"]);

    let a = c
        .call("queues.get_by_id", json!({"queue": demo::QUEUE_GPU}))
        .await
        .unwrap();
    assert_eq!(a.data()["queue"]["name"], "gpu");
    assert_eq!(a.data()["queue"]["entries"], json!([]));

    let a = c
        .call("queues.get_by_id", json!({"queue": "nope"}))
        .await
        .unwrap();
    assert_eq!((a.status, a.codes()), (400, (400, 701)));
    assert!(a.msg().starts_with("invalid queue id: id=nope"));
    let a = c.call("queues.get_by_id", json!({})).await.unwrap();
    assert_eq!(a.codes(), (400, 12));
}

#[tokio::test]
async fn workers_get_all_lists_the_agents_and_their_queues() {
    let (srv, c) = start().await;
    let a = c
        .call("workers.get_all", json!({"last_seen": 600}))
        .await
        .unwrap();
    assert_eq!(a.data()["workers"], json!([]), "no agent: no worker");
    srv.with_state(|s| {
        s.workers.push(standin::model::Worker {
            id: "gpu-box:0".into(),
            queues: vec![demo::QUEUE_GPU.into()],
        })
    });
    let a = c.call("workers.get_all", json!({})).await.unwrap();
    let w = &a.data()["workers"][0];
    assert_eq!(w["id"], "gpu-box:0");
    assert_eq!(
        w["queues"],
        json!([{"id": demo::QUEUE_GPU, "name": "gpu", "num_tasks": 0}])
    );
    for key in [
        "key",
        "user",
        "company",
        "ip",
        "register_time",
        "last_activity_time",
        "tags",
    ] {
        assert!(w.get(key).is_some(), "{key} in {w}");
    }
    let a = c
        .call("workers.get_all", json!({"last_seen": "soon"}))
        .await
        .unwrap();
    assert_eq!(a.codes(), (400, 12));

    // With the built-in agent on, it listens to every queue.
    let srv = standin::spawn(StandinConfig::default()).await.unwrap();
    let mut c = Client::new(&srv.url());
    c.login(demo::ACCESS_KEY, demo::SECRET_KEY).await.unwrap();
    let a = c.call("workers.get_all", json!({})).await.unwrap();
    let queues = a.data()["workers"][0]["queues"].as_array().unwrap().len();
    assert_eq!(queues, srv.with_state(|s| s.queues.len()));
}

#[tokio::test]
async fn tasks_get_by_id_and_get_all() {
    let (_srv, c) = start().await;
    let a = c
        .call("tasks.get_by_id", json!({"task": demo::TASK_TRAIN}))
        .await
        .unwrap();
    let t = &a.data()["task"];
    assert_eq!(t["name"], "train model");
    assert_eq!(t["status"], "created");
    assert_eq!(t["project"], demo::PROJECT_EXAMPLES);
    assert_eq!(t["execution"]["artifacts"], json!([]));
    assert_eq!(t["hyperparams"]["Args"]["batch"]["value"], "32");
    for unset in ["started", "completed", "status_changed", "parent"] {
        assert!(t.get(unset).is_none(), "{unset} should be absent: {t}");
    }

    let a = c
        .call("tasks.get_by_id", json!({"task": "missing"}))
        .await
        .unwrap();
    assert_eq!((a.status, a.codes()), (400, (400, 101)));
    let a = c.call("tasks.get_by_id", json!({})).await.unwrap();
    assert_eq!(a.codes(), (400, 12));
    assert_eq!(
        a.msg(),
        "validation error (error for field 'task'. field is required!)"
    );

    let a = c
        .call(
            "tasks.get_all",
            json!({"project": [demo::PROJECT_EXAMPLES], "order_by": ["-name"], "only_fields": ["id", "name"]}),
        )
        .await
        .unwrap();
    assert_eq!(
        a.data()["tasks"],
        json!([
            {"id": demo::TASK_TRAIN, "name": "train model"},
            {"id": demo::TASK_EVALUATE, "name": "evaluate model"},
        ])
    );
    let a = c
        .call(
            "tasks.get_all",
            json!({"name": "^nightly report$", "status": ["created"], "only_fields": ["id"]}),
        )
        .await
        .unwrap();
    assert_eq!(a.data()["tasks"], json!([{"id": demo::TASK_REPORT}]));
    let a = c
        .call(
            "tasks.get_all",
            json!({"page": 1, "page_size": 2, "order_by": ["name"], "only_fields": ["name"]}),
        )
        .await
        .unwrap();
    assert_eq!(
        a.data()["tasks"],
        json!([{"id": demo::TASK_TRAIN, "name": "train model"}])
    );
    let a = c
        .call(
            "tasks.get_all",
            json!({"id": [demo::TASK_REPORT, demo::TASK_TRAIN]}),
        )
        .await
        .unwrap();
    assert_eq!(a.data()["tasks"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn clone_enqueue_and_find_by_system_tag() {
    let (srv, c) = start().await;
    let a = c
        .call(
            "tasks.clone",
            json!({
                "task": demo::TASK_TRAIN,
                "new_task_name": "train model (scheduled)",
                "new_task_comment": "launched by the scheduler",
                "new_task_project": demo::PROJECT_SCHEDULED,
                "new_task_tags": ["nightly"],
                "new_task_system_tags": ["sched:job-1", "sched:slot-202501310620"],
                "new_task_hyperparams": {"Args": {"batch": {"section": "Args", "name": "batch", "value": "64"}}},
                "execution_overrides": {"docker_cmd": "python:3.11 -e X=1"},
                "validate_references": true,
            }),
        )
        .await
        .unwrap();
    assert_eq!(a.status, 200, "{}", a.body);
    let id = a.data()["id"].as_str().unwrap().to_string();
    assert!(a.data().get("new_project").is_none());

    let t = srv.task(&id).unwrap();
    assert_eq!(t["status"], "created");
    // clearml-server gives a clone the base's own parent unless
    // `new_task_parent` is sent (`task_bll.clone_task`); the base has none.
    assert!(t["parent"].is_null(), "{t}");
    assert_eq!(t["project"], demo::PROJECT_SCHEDULED);
    assert_eq!(t["tags"], json!(["nightly"]));
    assert_eq!(t["comment"], "launched by the scheduler");
    assert_eq!(t["hyperparams"]["Args"]["batch"]["value"], "64");
    assert!(
        t["hyperparams"]["Args"].get("lr").is_none(),
        "hyperparams replace"
    );
    assert_eq!(t["container"]["image"], "python:3.11");
    assert!(t.get("status_changed").is_none());

    let a = c
        .call(
            "tasks.enqueue",
            json!({"task": id, "queue": demo::QUEUE_SERVICES, "status_reason": "scheduled"}),
        )
        .await
        .unwrap();
    assert_eq!(a.status, 200, "{}", a.body);
    let d = a.data();
    assert_eq!(d["updated"], 1);
    assert_eq!(d["queued"], 1);
    assert_eq!(d["fields"]["status"], "queued");
    assert_eq!(d["fields"]["execution.queue"], demo::QUEUE_SERVICES);
    assert_eq!(d["fields"]["enqueue_status"], "created");
    assert!(d.get("queue_watched").is_none());

    let a = c
        .call(
            "tasks.get_all",
            json!({"system_tags": ["sched:job-1"], "only_fields": ["id", "status", "execution.queue", "system_tags"]}),
        )
        .await
        .unwrap();
    let tasks = a.data()["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0]["id"], id.as_str());
    assert_eq!(tasks[0]["status"], "queued");
    assert_eq!(
        tasks[0]["execution"],
        json!({"queue": demo::QUEUE_SERVICES})
    );

    let a = c
        .call("queues.get_by_id", json!({"queue": demo::QUEUE_SERVICES}))
        .await
        .unwrap();
    assert_eq!(a.data()["queue"]["entries"][0]["task"], id.as_str());

    // Already queued in that queue: 400/706; the status stays queued.
    let a = c
        .call(
            "tasks.enqueue",
            json!({"task": id, "queue": demo::QUEUE_SERVICES}),
        )
        .await
        .unwrap();
    assert_eq!((a.status, a.codes()), (400, (400, 706)));
    assert_eq!(srv.task(&id).unwrap()["status"], "queued");

    let recs = srv.records();
    assert_eq!(recs.clones.len(), 1);
    assert_eq!(
        recs.clones[0].system_tags,
        ["sched:job-1", "sched:slot-202501310620"]
    );
    assert_eq!(
        recs.clones[0].project.as_deref(),
        Some(demo::PROJECT_SCHEDULED)
    );
    assert_eq!(recs.clones_with_system_tag("sched:job-1").count(), 1);
    assert_eq!(recs.enqueues.len(), 1);
    assert_eq!(recs.enqueues[0].queue_name, "services");
    assert_eq!(recs.enqueues[0].status_before, "created");
    assert_eq!(recs.count("tasks.enqueue"), 2);
}

#[tokio::test]
async fn clone_and_enqueue_errors() {
    let (srv, c) = start().await;
    let a = c.call("tasks.clone", json!({})).await.unwrap();
    assert_eq!(a.codes(), (400, 12));
    let a = c
        .call("tasks.clone", json!({"task": "missing"}))
        .await
        .unwrap();
    assert_eq!(a.codes(), (400, 101));
    let a = c
        .call(
            "tasks.clone",
            json!({"task": demo::TASK_TRAIN, "new_task_project": "no-such-project"}),
        )
        .await
        .unwrap();
    assert_eq!(a.codes(), (400, 401));
    let a = c
        .call(
            "tasks.clone",
            json!({"task": demo::TASK_TRAIN, "new_task_parent": "no-such-task"}),
        )
        .await
        .unwrap();
    assert_eq!(a.codes(), (400, 101));
    // A parent that exists is the clone's parent.
    let a = c
        .call(
            "tasks.clone",
            json!({"task": demo::TASK_TRAIN, "new_task_parent": demo::TASK_REPORT}),
        )
        .await
        .unwrap();
    assert_eq!(a.status, 200, "{}", a.body);
    let id = a.data()["id"].as_str().unwrap();
    assert_eq!(srv.task(id).unwrap()["parent"], demo::TASK_REPORT);
    // new_project_name finds or creates the project.
    let a = c
        .call(
            "tasks.clone",
            json!({"task": demo::TASK_TRAIN, "new_project_name": "Fresh"}),
        )
        .await
        .unwrap();
    assert_eq!(a.status, 200);
    let id = a.data()["id"].as_str().unwrap().to_string();
    assert_eq!(a.data()["new_project"]["name"], "Fresh");
    assert_eq!(
        srv.task(&id).unwrap()["project"],
        a.data()["new_project"]["id"]
    );

    let a = c
        .call(
            "tasks.enqueue",
            json!({"task": id, "queue": "no-such-queue"}),
        )
        .await
        .unwrap();
    assert_eq!((a.status, a.codes()), (400, (400, 701)));
    assert_eq!(srv.task(&id).unwrap()["status"], "created");
    let a = c
        .call("tasks.enqueue", json!({"queue": demo::QUEUE_DEFAULT}))
        .await
        .unwrap();
    assert_eq!(a.codes(), (400, 12));
    let a = c
        .call(
            "tasks.enqueue",
            json!({"task": "missing", "queue": demo::QUEUE_DEFAULT}),
        )
        .await
        .unwrap();
    assert_eq!(a.codes(), (400, 101));
    let a = c
        .call(
            "tasks.enqueue",
            json!({"task": id, "queue": demo::QUEUE_DEFAULT, "queue_name": "default"}),
        )
        .await
        .unwrap();
    assert_eq!(a.codes(), (400, 12));

    // In progress cannot be enqueued: 400/110.
    srv.with_state(|s| {
        s.task_mut(&id)
            .unwrap()
            .doc
            .insert("status".into(), json!("in_progress"));
    });
    let a = c
        .call(
            "tasks.enqueue",
            json!({"task": id, "queue": demo::QUEUE_DEFAULT}),
        )
        .await
        .unwrap();
    assert_eq!(a.codes(), (400, 110));
    assert!(
        a.msg().contains("current_status=in_progress"),
        "{}",
        a.msg()
    );

    // queue_name auto-creates the queue (API 2.19 behaviour); no queue at all uses the default.
    let a = c
        .call("tasks.clone", json!({"task": demo::TASK_EVALUATE}))
        .await
        .unwrap();
    let id2 = a.data()["id"].as_str().unwrap().to_string();
    let a = c
        .call(
            "tasks.enqueue",
            json!({"task": id2, "queue_name": "brand-new"}),
        )
        .await
        .unwrap();
    assert_eq!(a.status, 200);
    let a = c
        .call("queues.get_all", json!({"name": "^brand-new$"}))
        .await
        .unwrap();
    assert_eq!(a.data()["queues"].as_array().unwrap().len(), 1);
    let a = c
        .call("tasks.clone", json!({"task": demo::TASK_EVALUATE}))
        .await
        .unwrap();
    let id3 = a.data()["id"].as_str().unwrap().to_string();
    let a = c.call("tasks.enqueue", json!({"task": id3})).await.unwrap();
    assert_eq!(a.data()["fields"]["execution.queue"], demo::QUEUE_DEFAULT);
}

#[tokio::test]
async fn stopped_dequeue_and_edit_hyper_params() {
    let (srv, c) = start().await;
    let id = c
        .call("tasks.clone", json!({"task": demo::TASK_TRAIN}))
        .await
        .unwrap()
        .data()["id"]
        .as_str()
        .unwrap()
        .to_string();

    let a = c
        .call(
            "tasks.edit_hyper_params",
            json!({"task": id, "hyperparams": [{"section": "Args", "name": "batch", "value": "128"}]}),
        )
        .await
        .unwrap();
    assert_eq!((a.status, a.data()["updated"].clone()), (200, json!(1)));
    let t = srv.task(&id).unwrap();
    assert_eq!(t["hyperparams"]["Args"]["batch"]["value"], "128");
    assert_eq!(
        t["hyperparams"]["Args"]["lr"]["value"], "0.001",
        "replace none keeps others"
    );
    let a = c
        .call(
            "tasks.edit_hyper_params",
            json!({"task": id, "replace_hyperparams": "section", "hyperparams": [{"section": "Args", "name": "x", "value": "1"}]}),
        )
        .await
        .unwrap();
    assert_eq!(a.status, 200);
    assert!(srv.task(&id).unwrap()["hyperparams"]["Args"]
        .get("lr")
        .is_none());

    // created -> stopped is not a valid change.
    let a = c.call("tasks.stopped", json!({"task": id})).await.unwrap();
    assert_eq!(a.codes(), (400, 110));

    c.call(
        "tasks.enqueue",
        json!({"task": id, "queue": demo::QUEUE_GPU}),
    )
    .await
    .unwrap();
    // Only created tasks take hyperparameter edits.
    let a = c
        .call(
            "tasks.edit_hyper_params",
            json!({"task": id, "hyperparams": [{"section": "Args", "name": "batch", "value": "1"}]}),
        )
        .await
        .unwrap();
    assert_eq!(a.codes(), (400, 110));

    let a = c.call("tasks.dequeue", json!({"task": id})).await.unwrap();
    assert_eq!(a.status, 200);
    assert_eq!(a.data()["dequeued"], 1);
    assert_eq!(a.data()["updated"], 1);
    assert_eq!(a.data()["fields"]["status"], "created");
    let q = c
        .call("queues.get_by_id", json!({"queue": demo::QUEUE_GPU}))
        .await
        .unwrap();
    assert_eq!(q.data()["queue"]["entries"], json!([]));
    // Dequeue of a task that is not queued: nothing to update.
    let a = c.call("tasks.dequeue", json!({"task": id})).await.unwrap();
    assert_eq!(a.data()["updated"], 0);

    c.call(
        "tasks.enqueue",
        json!({"task": id, "queue": demo::QUEUE_GPU}),
    )
    .await
    .unwrap();
    let a = c
        .call("tasks.stopped", json!({"task": id, "force": true}))
        .await
        .unwrap();
    assert_eq!(a.status, 200);
    assert_eq!(a.data()["fields"]["status"], "stopped");
    let t = srv.task(&id).unwrap();
    assert_eq!(t["status"], "stopped");
    assert!(t.get("completed").is_some(), "stopped sets completed");
    assert!(t.get("started").is_none());
    // Only a draft is deleted without force (clearml-server's delete_task: 400/123).
    let a = c.call("tasks.delete", json!({"task": id})).await.unwrap();
    assert_eq!(a.codes(), (400, 123));
    assert!(srv.task(&id).is_some());
    let a = c
        .call("tasks.delete", json!({"task": id, "force": true}))
        .await
        .unwrap();
    assert_eq!(a.status, 200);
    assert!(srv.task(&id).is_none());

    // failed does not set completed.
    let id2 = c
        .call("tasks.clone", json!({"task": demo::TASK_TRAIN}))
        .await
        .unwrap()
        .data()["id"]
        .as_str()
        .unwrap()
        .to_string();
    c.call("tasks.started", json!({"task": id2})).await.unwrap();
    let a = c.call("tasks.failed", json!({"task": id2})).await.unwrap();
    assert_eq!(a.status, 200);
    let t = srv.task(&id2).unwrap();
    assert_eq!(t["status"], "failed");
    assert!(t.get("started").is_some());
    assert!(t.get("completed").is_none());
    // failed -> queued is allowed.
    let a = c
        .call(
            "tasks.enqueue",
            json!({"task": id2, "queue": demo::QUEUE_DEFAULT}),
        )
        .await
        .unwrap();
    assert_eq!(a.status, 200);
}

#[tokio::test]
async fn binary_prints_one_line_and_serves() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_clearml-standin"))
        .args(["--port", "0", "--agent-seconds", "0"])
        .env_remove("CLEARML_API_ACCESS_KEY")
        .env_remove("CLEARML_API_SECRET_KEY")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(std::time::Duration::from_secs(20), lines.next_line())
        .await
        .expect("startup line within 20 s")
        .unwrap()
        .unwrap();
    let url = line
        .strip_prefix("clearml-standin listening on ")
        .unwrap_or_else(|| panic!("unexpected line {line:?}"));
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let mut c = Client::new(url);
    let a = c.login(demo::ACCESS_KEY, demo::SECRET_KEY).await.unwrap();
    assert_eq!(a.status, 200);
    let recs: Value = reqwest::get(format!("{url}/_standin/records"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(recs["counts"]["auth.login"], 1);
    child.kill().await.unwrap();
}
