//! The HTTP API end to end, in workerd: every endpoint's happy path and errors, auth on every
//! protected route, share links (read-only, scoped, revocable), the embed SVG, import/export
//! byte stability, a corpus of malformed requests (never a 5xx), and a scan that the ClearML
//! secret appears in no answer, KV value or log line.
//!
//! Three workers in all (each start costs ~10 s): the main flow, the malformed corpus, and a
//! worker with no ADMIN_TOKEN.

use std::sync::Mutex;

use reqwest::header::HeaderMap;
use scheduler_e2e::harness::{WorkerOptions, WorkerProcess};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const ADMIN: &str = "admin-token-for-the-api-tests-0123456789";
const SECRET: &str = "a-unique-secret-value-7f3a9c";
const ACCESS: &str = "a-unique-access-key-51be02";

/// One answer, kept whole for the checks and the secret scan.
#[derive(Debug)]
struct Resp {
    status: u16,
    headers: HeaderMap,
    text: String,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
    fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    }
    fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }
}

struct Client {
    base: String,
    http: reqwest::Client,
    seen: Mutex<Vec<String>>,
}

impl Client {
    fn new(worker: &WorkerProcess) -> Client {
        Client {
            base: worker.url.clone(),
            http: reqwest::Client::new(),
            seen: Mutex::new(vec![]),
        }
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Resp {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        if let Some(b) = body {
            req = req.header("Content-Type", "application/json").body(b);
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap_or_default();
        let mut seen = format!("{status} {method} {path}\n");
        for (k, v) in &headers {
            seen.push_str(&format!("{k}: {}\n", v.to_str().unwrap_or("")));
        }
        seen.push_str(&text);
        self.seen.lock().unwrap().push(seen);
        assert!(status < 500, "{method} {path} answered {status}: {text}");
        if path.starts_with("/api") || path.starts_with("/embed") {
            assert_eq!(
                headers.get("x-content-type-options").map(|v| v.as_bytes()),
                Some(&b"nosniff"[..]),
                "{method} {path}"
            );
            let csp = headers
                .get("content-security-policy")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            if path.starts_with("/embed/") {
                assert!(csp.contains("frame-ancestors *"), "{path}: {csp}");
            } else {
                assert!(
                    csp.contains("frame-ancestors 'none'") && csp.contains("default-src"),
                    "{path}: {csp}"
                );
            }
            if status >= 400 && method != reqwest::Method::HEAD {
                let v: Value = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("{method} {path}: error not JSON ({e}): {text}"));
                assert!(
                    v["error"]["code"].is_string() && v["error"]["message"].is_string(),
                    "{text}"
                );
            }
        }
        Resp {
            status,
            headers,
            text,
        }
    }

    async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Resp {
        self.send(
            method,
            path,
            Some(ADMIN),
            body.map(|b| b.to_string().into_bytes()),
        )
        .await
    }
    async fn get(&self, path: &str) -> Resp {
        self.admin("GET", path, None).await
    }
}

fn config(name: &str) -> Value {
    json!({
        "format": "clearml-task-scheduler/v1",
        "name": name,
        "scheduled_tasks": [
            {"id": "retrain", "base_task_id": "aabbccddeeff00112233445566778899", "destination_project": "Scheduled/retrain",
             "queue": "default", "recurrence": "daily", "times": ["06:20"]},
            {"id": "report", "name": "Weekly report", "base_task_id": "00112233445566778899aabbccddeeff", "queue": "cpu",
             "recurrence": "weekly", "weekdays": ["monday", "friday"], "times": ["08:30"], "timezone": "Europe/Berlin"}
        ]
    })
}

fn start(vars: &[(&str, &str)]) -> WorkerProcess {
    WorkerProcess::start(WorkerOptions {
        vars: vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    })
    .unwrap()
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_endpoints_auth_shares_export_and_no_secret_leaks() {
    let worker = start(&[
        ("ADMIN_TOKEN", ADMIN),
        ("CLEARML_API_SECRET_KEY", SECRET),
        ("CLEARML_API_ACCESS_KEY", ACCESS),
        ("CLEARML_API_HOST", "http://127.0.0.1:9"),
        ("CLEARML_WEB_HOST", "https://app.clearml.example/"),
    ]);
    let c = Client::new(&worker);

    // Public routes.
    assert_eq!(c.send("GET", "/api/health", None, None).await.status, 200);
    let r = c.send("DELETE", "/api/health", None, None).await;
    assert_eq!(
        (r.status, r.header("allow").as_str(), r.code().as_str()),
        (405, "GET", "method_not_allowed")
    );
    let r = c.send("GET", "/api/nope", None, None).await;
    assert_eq!((r.status, r.code().as_str()), (404, "not_found"));

    // Create from the form, list, read.
    let r = c
        .admin("POST", "/api/instances", Some(config("Nightly retraining")))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let a = r.json()["id"].as_str().unwrap().to_string();
    assert!(is_hex(&a, 32), "random hex id: {a}");
    assert_eq!(r.json()["revision"], 1);
    let r = c.get("/api/instances").await;
    let list = r.json();
    let entry = list["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == a.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        (
            entry["name"].as_str(),
            entry["task_count"].as_u64(),
            entry["paused"].as_bool()
        ),
        (Some("Nightly retraining"), Some(2), Some(false))
    );
    assert!(
        entry["next_run"].as_str().unwrap().ends_with(":00Z"),
        "{entry}"
    );
    let r = c.get(&format!("/api/instances/{a}")).await;
    assert_eq!(
        r.json()["config"]["scheduled_tasks"][1]["timezone"],
        "Europe/Berlin"
    );

    // Auth: every protected route, without a token and with a wrong one.
    let protected = [
        ("GET", "/api/instances".to_string()),
        ("POST", "/api/instances".to_string()),
        ("POST", "/api/instances/import".to_string()),
        ("GET", format!("/api/instances/{a}")),
        ("PUT", format!("/api/instances/{a}")),
        ("DELETE", format!("/api/instances/{a}")),
        ("POST", format!("/api/instances/{a}/pause")),
        ("POST", format!("/api/instances/{a}/resume")),
        ("GET", format!("/api/instances/{a}/export")),
        ("GET", format!("/api/instances/{a}/dashboard")),
        ("GET", format!("/api/instances/{a}/timeline.svg")),
        ("GET", format!("/api/instances/{a}/shares")),
        ("POST", format!("/api/instances/{a}/shares")),
        (
            "DELETE",
            format!("/api/instances/{a}/shares/{}", "0".repeat(64)),
        ),
        ("POST", format!("/api/instances/{a}/tasks/retrain/pause")),
        ("POST", format!("/api/instances/{a}/tasks/retrain/resume")),
        ("POST", format!("/api/instances/{a}/tasks/retrain/run")),
    ];
    for (method, path) in &protected {
        for token in [
            None,
            Some("wrong-token"),
            Some(""),
            Some(&ADMIN[..ADMIN.len() - 1]),
        ] {
            let body = (*method != "GET" && *method != "DELETE")
                .then(|| config("x").to_string().into_bytes());
            let r = c.send(method, path, token, body).await;
            assert_eq!(
                (r.status, r.code().as_str()),
                (401, "unauthorized"),
                "{method} {path} with {token:?}: {}",
                r.text
            );
        }
    }
    // Figures for RELIABILITY.md (scripts/reliability.sh parses these lines).
    println!(
        "security: auth table: {} protected routes x 4 bad tokens = {} requests, all 401",
        protected.len(),
        protected.len() * 4
    );
    // A lowercase scheme or Basic is not a Bearer token.
    let r = c
        .http
        .get(format!("{}/api/instances", c.base))
        .header("Authorization", format!("Basic {ADMIN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    // Still there after all those attempts.
    assert_eq!(c.get(&format!("/api/instances/{a}")).await.status, 200);

    // Export: canonical bytes, a file name; import of the export is byte-stable.
    let r = c.get(&format!("/api/instances/{a}/export")).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-disposition"),
        "attachment; filename=\"nightly-retraining.json\""
    );
    let exported = r.text.clone();
    let local = scheduler_core::parse_stored_config(&config("Nightly retraining").to_string())
        .unwrap()
        .to_json();
    assert_eq!(exported, local, "the export is the core's canonical JSON");
    let r = c
        .send(
            "POST",
            "/api/instances/import",
            Some(ADMIN),
            Some(exported.clone().into_bytes()),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let b = r.json()["id"].as_str().unwrap().to_string();
    assert_ne!(a, b);
    let again = c.get(&format!("/api/instances/{b}/export")).await.text;
    assert_eq!(again, exported, "import/export round trip is byte-stable");

    // Import of ClearML SDK's schedule list, renamed with ?name=.
    let sdk = json!([{"name": "nightly", "base_task_id": "aabbccddeeff00112233445566778899", "queue": "default", "minute": 20, "hour": 6, "day": 1}]);
    let r = c
        .admin("POST", "/api/instances/import?name=From%20SDK", Some(sdk))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let sdk_id = r.json()["id"].as_str().unwrap().to_string();
    assert_eq!(r.json()["name"], "From SDK");
    assert_eq!(
        r.json()["config"]["scheduled_tasks"][0]["recurrence"],
        "daily"
    );
    let r = c
        .admin(
            "POST",
            "/api/instances/import",
            Some(json!([{"base_task_id": "x", "queue": "q", "minute": 7}])),
        )
        .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "invalid_config"),
        "minute=7 does not divide the hour: {}",
        r.text
    );
    assert!(
        r.json()["errors"][0]["path"]
            .as_str()
            .unwrap()
            .starts_with("schedule[0]"),
        "{}",
        r.text
    );

    // All-or-nothing: one bad task rejects the whole file, naming the field.
    let count = c.get("/api/instances").await.json()["instances"]
        .as_array()
        .unwrap()
        .len();
    let mut bad = config("Half bad");
    bad["scheduled_tasks"][1]["times"] = json!(["25:00"]);
    let r = c.admin("POST", "/api/instances", Some(bad.clone())).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "invalid_config"),
        "{}",
        r.text
    );
    let errs = r.json()["errors"].clone();
    assert_eq!(errs[0]["path"], "scheduled_tasks[1].times[0]", "{errs}");
    assert_eq!(r.json()["error"]["field"], "scheduled_tasks[1].times[0]");
    // A key said twice in one object is refused, named, rather than the last one kept.
    let text = config("Said twice").to_string().replacen(
        r#""queue":"default""#,
        r#""queue":"default","queue":"gpu""#,
        1,
    );
    let r = c
        .send(
            "POST",
            "/api/instances",
            Some(ADMIN),
            Some(text.into_bytes()),
        )
        .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "invalid_config"),
        "{}",
        r.text
    );
    assert_eq!(
        r.json()["error"]["field"],
        "scheduled_tasks[0].queue",
        "{}",
        r.text
    );
    assert_eq!(
        c.get("/api/instances").await.json()["instances"]
            .as_array()
            .unwrap()
            .len(),
        count,
        "nothing was created"
    );

    // Replace: a new revision, in the index too; an invalid replace changes nothing.
    let mut renamed = config("Nightly retraining v2");
    renamed["scheduled_tasks"][0]["times"] = json!(["18:00", "06:20"]);
    let r = c
        .admin("PUT", &format!("/api/instances/{a}"), Some(renamed))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["revision"], 2);
    let r = c
        .admin("PUT", &format!("/api/instances/{a}"), Some(bad))
        .await;
    assert_eq!(r.status, 400);
    let read = c.get(&format!("/api/instances/{a}")).await.json();
    assert_eq!(
        (read["name"].as_str(), read["revision"].as_u64()),
        (Some("Nightly retraining v2"), Some(2))
    );
    let listed = c.get("/api/instances").await.json();
    let e = listed["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == a.as_str())
        .unwrap()
        .clone();
    assert_eq!(e["revision"], 2, "index revision follows the config");
    assert_eq!(
        c.admin(
            "PUT",
            &format!("/api/instances/{}", "f".repeat(32)),
            Some(config("x"))
        )
        .await
        .status,
        404
    );

    // Pause and resume: the instance, then one task.
    let r = c
        .admin("POST", &format!("/api/instances/{a}/pause"), None)
        .await;
    assert_eq!((r.status, r.json()["paused"].as_bool()), (200, Some(true)));
    let d = c.get(&format!("/api/instances/{a}/dashboard")).await.json();
    assert!(
        d["instance"]["paused"].as_bool().unwrap() && d["scheduled"][0]["next_run"].is_null(),
        "{d}"
    );
    let r = c
        .admin(
            "POST",
            &format!("/api/instances/{a}/tasks/retrain/run"),
            Some(json!({})),
        )
        .await;
    assert_eq!((r.status, r.code().as_str()), (409, "instance_paused"));
    let r = c
        .admin("POST", &format!("/api/instances/{a}/resume"), None)
        .await;
    assert_eq!((r.status, r.json()["paused"].as_bool()), (200, Some(false)));
    let r = c
        .admin(
            "POST",
            &format!("/api/instances/{a}/tasks/report/pause"),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["config"]["scheduled_tasks"][1]["enabled"], false);
    let d = c.get(&format!("/api/instances/{a}/dashboard")).await.json();
    assert_eq!(
        (
            d["scheduled"][1]["enabled"].as_bool(),
            d["scheduled"][1]["next_run"].is_null()
        ),
        (Some(false), true)
    );
    assert!(d["scheduled"][0]["next_run"].is_string());
    let r = c
        .admin(
            "POST",
            &format!("/api/instances/{a}/tasks/report/resume"),
            Some(json!({})),
        )
        .await;
    assert!(
        r.json()["config"]["scheduled_tasks"][1]
            .get("enabled")
            .is_none(),
        "enabled: true is the default, omitted"
    );
    assert_eq!(
        c.admin(
            "POST",
            &format!("/api/instances/{a}/tasks/nope/pause"),
            None
        )
        .await
        .status,
        404
    );
    assert_eq!(
        c.admin(
            "POST",
            &format!("/api/instances/{a}/tasks/retrain/jump"),
            None
        )
        .await
        .status,
        404
    );
    assert_eq!(
        c.admin(
            "GET",
            &format!("/api/instances/{a}/tasks/retrain/run"),
            None
        )
        .await
        .status,
        405
    );

    // Run now: one request per task and minute, seen by the next tick.
    let r = c
        .admin(
            "POST",
            &format!("/api/instances/{a}/tasks/retrain/run"),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let at = r.json()["requested_at"].as_str().unwrap().to_string();
    assert!(at.ends_with(":00Z"), "floored to the minute: {at}");
    c.admin(
        "POST",
        &format!("/api/instances/{a}/tasks/retrain/run"),
        Some(json!({})),
    )
    .await;
    let read = c.get(&format!("/api/instances/{a}")).await.json();
    let pending = read["run_now"].as_array().unwrap();
    assert!(
        !pending.is_empty() && pending.len() <= 2 && pending.iter().all(|p| p["item"] == "retrain"),
        "{read}"
    );

    // Dashboard.
    let d = c
        .get(&format!(
            "/api/instances/{a}/dashboard?runs_page=1&runs_page_size=10&log_page=1"
        ))
        .await
        .json();
    let row = &d["scheduled"][0];
    assert_eq!(row["item"], "retrain");
    assert_eq!(row["project"], "Scheduled/retrain");
    assert_eq!(row["queue"], "default");
    assert_eq!(
        row["clearml"],
        "minute=20, hour=6, day=1; minute=0, hour=18, day=1"
    );
    assert_eq!(row["description"], "At 06:20 and 18:00 UTC, every day");
    assert_eq!(
        d["scheduled"][1]["description"],
        "At 08:30 Europe/Berlin on Monday and Friday"
    );
    assert_eq!(
        (d["runs"]["total"].as_u64(), d["runs"]["page_size"].as_u64()),
        (Some(0), Some(10))
    );
    assert_eq!(d["log"]["items"], json!([]));
    for q in ["runs_page=0", "runs_page_size=x", "log_page=-1"] {
        let r = c.get(&format!("/api/instances/{a}/dashboard?{q}")).await;
        assert_eq!(r.status, 400, "{q}: {}", r.text);
    }
    assert_eq!(
        c.get(&format!("/api/instances/{}/dashboard", "0".repeat(32)))
            .await
            .status,
        404
    );
    assert_eq!(
        c.get("/api/instances/not-an-id/dashboard").await.status,
        404
    );

    // Timeline (admin).
    let r = c.get(&format!("/api/instances/{a}/timeline.svg")).await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").starts_with("image/svg+xml"));
    assert!(
        r.text.starts_with("<svg")
            && r.text.ends_with("</svg>")
            && r.text.contains("Nightly retraining v2")
    );

    // Preview: no credentials needed.
    let body = json!({"recurrence": "daily", "times": ["06:20"], "after": "2026-11-25T10:00:00Z", "count": 3});
    let r = c
        .send(
            "POST",
            "/api/preview",
            None,
            Some(body.to_string().into_bytes()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json(),
        json!({"next": ["2026-11-26T06:20:00Z", "2026-11-27T06:20:00Z", "2026-11-28T06:20:00Z"],
               "clearml": ["minute=20, hour=6, day=1"], "description": "At 06:20 UTC, every day"})
    );
    let body = json!({"recurrence": "cron", "cron": "0 */6 * * *", "after": "2026-11-25T06:00:00+01:00", "count": 2});
    let r = c
        .send(
            "POST",
            "/api/preview",
            None,
            Some(body.to_string().into_bytes()),
        )
        .await;
    assert_eq!(
        r.json()["next"],
        json!(["2026-11-25T06:00:00Z", "2026-11-25T12:00:00Z"]),
        "{}",
        r.text
    );
    let r = c
        .send(
            "POST",
            "/api/preview",
            None,
            Some(br#"{"recurrence":"daily","times":["06:20"]}"#.to_vec()),
        )
        .await;
    assert_eq!(
        r.json()["next"].as_array().unwrap().len(),
        5,
        "count defaults to 5"
    );
    for (body, field) in [
        (
            json!({"recurrence": "daily", "times": ["25:00"]}),
            "times[0]",
        ),
        (
            json!({"recurrence": "weekly", "times": ["08:00"], "weekdays": ["funday"]}),
            "weekdays[0]",
        ),
        (
            json!({"recurrence": "daily", "times": ["06:20"], "count": 101}),
            "count",
        ),
        (
            json!({"recurrence": "daily", "times": ["06:20"], "after": "yesterday"}),
            "after",
        ),
        (json!({"recurrence": "sometimes"}), "recurrence"),
    ] {
        let r = c
            .send(
                "POST",
                "/api/preview",
                None,
                Some(body.to_string().into_bytes()),
            )
            .await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        assert_eq!(r.json()["error"]["field"], field, "{body}: {}", r.text);
    }

    // Share links: create, list, read (read-only, one instance), embed, revoke.
    let r = c
        .admin(
            "POST",
            &format!("/api/instances/{a}/shares"),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let share = r.json();
    let token = share["token"].as_str().unwrap().to_string();
    assert!(is_hex(&token, 64), "256 random bits: {token}");
    let hash = format!("{:x}", Sha256::digest(token.as_bytes()));
    assert_eq!(share["id"], hash.as_str());
    assert!(share["url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/#/share/{token}")));
    assert!(share["embed_url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/embed/{token}/timeline.svg")));
    let listed = c.get(&format!("/api/instances/{a}/shares")).await.json();
    assert_eq!(listed["shares"].as_array().unwrap().len(), 1);
    assert_eq!(listed["shares"][0]["id"], hash.as_str());
    assert!(
        !listed.to_string().contains(&token),
        "the token is shown once, never listed"
    );
    let r = c
        .admin(
            "POST",
            &format!("/api/instances/{b}/shares"),
            Some(json!({})),
        )
        .await;
    let token_b = r.json()["token"].as_str().unwrap().to_string();

    let r = c
        .send("GET", &format!("/api/share/{token}"), None, None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let shared = r.json();
    assert_eq!(
        (
            shared["instance"]["id"].as_str(),
            shared["read_only"].as_bool()
        ),
        (Some(a.as_str()), Some(true))
    );
    assert_eq!(shared["scheduled"][0]["item"], "retrain");
    let r = c
        .send("GET", &format!("/api/share/{token_b}"), None, None)
        .await;
    assert_eq!(
        r.json()["instance"]["id"],
        b.as_str(),
        "each token shows its own instance only"
    );
    for method in ["PUT", "POST", "DELETE"] {
        let r = c
            .send(
                method,
                &format!("/api/share/{token}"),
                None,
                Some(b"{}".to_vec()),
            )
            .await;
        assert_eq!(
            (r.status, r.header("allow").as_str()),
            (405, "GET"),
            "{method} on a share link"
        );
    }
    for path in [
        "/api/instances".to_string(),
        format!("/api/instances/{a}"),
        format!("/api/instances/{a}/dashboard"),
    ] {
        assert_eq!(
            c.send("GET", &path, Some(&token), None).await.status,
            401,
            "a share token is no admin token: {path}"
        );
    }
    let r = c
        .send("GET", &format!("/embed/{token}/timeline.svg"), None, None)
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("cache-control"), "public, max-age=60");
    assert!(r.header("content-type").starts_with("image/svg+xml") && r.text.starts_with("<svg"));
    assert_eq!(r.header("cross-origin-resource-policy"), "cross-origin");
    // A mistyped share URL is a 404 that does not repeat the token.
    for path in [
        format!("/api/share/{token}/"),
        format!("/embed/{token}/timeline.svg/"),
    ] {
        let r = c.send("GET", &path, None, None).await;
        assert_eq!(r.status, 404, "{path}");
        assert!(!r.text.contains(token.as_str()), "{}", r.text);
    }
    for bad in [
        "0".repeat(64),
        "zz".into(),
        token.to_uppercase(),
        format!("{token}0"),
    ] {
        assert_eq!(
            c.send("GET", &format!("/api/share/{bad}"), None, None)
                .await
                .status,
            404,
            "{bad}"
        );
        assert_eq!(
            c.send("GET", &format!("/embed/{bad}/timeline.svg"), None, None)
                .await
                .status,
            404
        );
    }
    println!(
        "security: share scope: 1 cross-instance read, 3 write methods (405), 3 admin routes (401), 4 forged tokens x 2 routes (404), 1 cross-instance revoke, 1 read after revoke"
    );
    let r = c
        .admin("DELETE", &format!("/api/instances/{b}/shares/{hash}"), None)
        .await;
    assert_eq!(
        r.status, 404,
        "a share is revoked through its own instance only"
    );
    let r = c
        .admin("DELETE", &format!("/api/instances/{a}/shares/{hash}"), None)
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(
        c.send("GET", &format!("/api/share/{token}"), None, None)
            .await
            .status,
        404,
        "revoked"
    );
    assert_eq!(
        c.send("GET", &format!("/embed/{token}/timeline.svg"), None, None)
            .await
            .status,
        404,
        "revoked"
    );
    assert_eq!(
        c.get(&format!("/api/instances/{a}/shares")).await.json()["shares"],
        json!([])
    );
    assert_eq!(
        c.admin("DELETE", &format!("/api/instances/{a}/shares/{hash}"), None)
            .await
            .status,
        404
    );

    // Delete: the instance, its index entry and its share links.
    let r = c
        .admin("DELETE", &format!("/api/instances/{b}"), None)
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(c.get(&format!("/api/instances/{b}")).await.status, 404);
    assert_eq!(
        c.send("GET", &format!("/api/share/{token_b}"), None, None)
            .await
            .status,
        404
    );
    let ids: Vec<String> = c.get("/api/instances").await.json()["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert!(
        ids.contains(&a) && ids.contains(&sdk_id) && !ids.contains(&b),
        "{ids:?}"
    );
    assert_eq!(
        c.admin("DELETE", &format!("/api/instances/{b}"), None)
            .await
            .status,
        404
    );

    // The static app gets the same headers from public/_headers (wrangler dev applies it).
    let r = c.send("GET", "/", None, None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-content-type-options"), "nosniff");
    let csp = r.header("content-security-policy");
    assert!(
        csp.contains("script-src 'self' 'wasm-unsafe-eval'")
            && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    let r = c.send("GET", "/_headers", None, None).await;
    assert!(
        !r.text.contains("Content-Security-Policy"),
        "_headers is not served"
    );

    // Notification channels: their URLs and signing secrets are written, never shown (the
    // answers, the export and the dashboard have hints).
    let mut with_channels = config("With channels");
    with_channels["notifications"] = json!({"channels": [
        {"id": "ops", "type": "webhook", "url": format!("https://hooks.example.com/{CHANNEL_PATH}"), "signing_secret": SIGNING},
        {"id": "team", "type": "slack", "url": format!("https://hooks.slack.com/services/{SLACK_PATH}")}
    ]});
    let r = c.admin("POST", "/api/instances", Some(with_channels)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let ch = r.json()["id"].as_str().unwrap().to_string();
    let channels = r.json()["config"]["notifications"]["channels"].clone();
    assert_eq!(channels[0]["url_hint"], "hooks.example.com/…/cret");
    assert_eq!(channels[1]["url_hint"], "hooks.slack.com/…/-key");
    for path in ["", "/export", "/dashboard"] {
        let r = c.get(&format!("/api/instances/{ch}{path}")).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }

    // No answer, KV value or log line holds the ClearML credentials or a channel's secrets.
    let seen = c.seen.lock().unwrap().join("\n");
    for secret in [CHANNEL_PATH, SLACK_PATH, SIGNING] {
        assert!(!seen.contains(secret), "an answer shows a channel secret");
    }
    println!(
        "security: secret scan: {} answers ({} bytes) checked for 3 secrets",
        c.seen.lock().unwrap().len(),
        seen.len()
    );
    for secret in [SECRET, ACCESS] {
        assert!(
            !seen.contains(secret),
            "an answer contains a ClearML credential"
        );
        assert!(!seen.contains(ADMIN) || !secret.is_empty());
    }
    assert!(!seen.contains(ADMIN), "no answer echoes the admin token");
    scan_kv_and_log(&worker, &[SECRET, ACCESS, ADMIN]);
    // The channel secrets live in the instance's own object (its storage is their only place):
    // KV and the log never see them.
    scan_kv_and_log_only(&worker, &[CHANNEL_PATH, SLACK_PATH, SIGNING]);
}

const CHANNEL_PATH: &str = "webhook-path-that-is-a-secret";
const SLACK_PATH: &str = "T000/B000/slack-webhook-key";
const SIGNING: &str = "signing-secret-never-shown-0123";

/// The KV values (not the Durable Objects' own storage) and the worker's log.
fn scan_kv_and_log_only(worker: &WorkerProcess, secrets: &[&str]) {
    let mut stack = vec![worker.persist_to.clone()];
    let mut kv_files = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.components().any(|c| c.as_os_str() == "kv") {
                kv_files += 1;
                let text =
                    String::from_utf8_lossy(&std::fs::read(&p).unwrap_or_default()).to_string();
                for s in secrets {
                    assert!(!text.contains(s), "{} holds a channel secret", p.display());
                }
            }
        }
    }
    assert!(kv_files > 0, "the scan found KV's files");
    let log = std::fs::read_to_string(&worker.log_path).unwrap_or_default();
    for s in secrets {
        assert!(!log.contains(s), "the log holds a channel secret");
    }
}

/// Every file under the KV folder (values are stored as blobs, keys in sqlite) and the
/// worker's log, except wrangler's own start-up table of bindings (it prints `--var` values).
fn scan_kv_and_log(worker: &WorkerProcess, secrets: &[&str]) {
    let mut files = vec![];
    let mut stack = vec![worker.persist_to.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    assert!(!files.is_empty(), "the KV folder holds the saved values");
    let mut saw_config = false;
    for f in &files {
        let bytes = std::fs::read(f).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        saw_config |= text.contains("clearml-task-scheduler/v1");
        for s in secrets {
            assert!(!text.contains(s), "{} holds a secret", f.display());
        }
    }
    assert!(saw_config, "the scan read the stored configurations");
    let log = std::fs::read_to_string(&worker.log_path).unwrap_or_default();
    println!(
        "security: secret scan: {} secrets x ({} KV files, {} log lines): none found",
        secrets.len(),
        files.len(),
        log.lines().count()
    );
    let mut in_bindings = false;
    for line in log.lines() {
        if line.contains("has access to the following bindings") {
            in_bindings = true;
        } else if line.contains("Starting local server") {
            in_bindings = false;
        }
        if in_bindings {
            continue;
        }
        for s in secrets {
            assert!(!line.contains(s), "log line holds a secret: {line}");
        }
        assert!(!line.contains("panicked"), "the worker panicked: {line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_answers_malformed_requests_with_4xx_never_5xx() {
    let worker = start(&[("ADMIN_TOKEN", ADMIN), ("CLEARML_API_SECRET_KEY", SECRET)]);
    let c = Client::new(&worker);
    let r = c
        .admin("POST", "/api/instances", Some(config("Target")))
        .await;
    assert_eq!(r.status, 201);
    let id = r.json()["id"].as_str().unwrap().to_string();
    let targets = [
        "POST /api/instances".to_string(),
        format!("PUT /api/instances/{id}"),
        "POST /api/instances/import".into(),
    ];

    // A corpus: every field of the document and of a task set to every wrong type, removed,
    // or huge; then raw bodies that are not JSON at all.
    let huge = "x".repeat(300_000);
    let wrong: Vec<Value> = vec![
        Value::Null,
        json!(true),
        json!(0),
        json!(-1),
        json!(1.5),
        json!(1e300),
        json!(""),
        json!("x"),
        json!(huge),
        json!([]),
        json!([1, "a", null]),
        json!({}),
        json!({"a": {"b": [1]}}),
    ];
    let mut bodies: Vec<Vec<u8>> = vec![];
    let base = config("Corpus");
    for key in ["format", "name", "scheduled_tasks"] {
        for v in &wrong {
            let mut d = base.clone();
            d[key] = v.clone();
            bodies.push(d.to_string().into_bytes());
        }
        let mut d = base.clone();
        d.as_object_mut().unwrap().remove(key);
        bodies.push(d.to_string().into_bytes());
    }
    let task_keys = [
        "id",
        "name",
        "base_task_id",
        "destination_project",
        "queue",
        "recurrence",
        "date",
        "weekdays",
        "days",
        "times",
        "cron",
        "timezone",
        "enabled",
        "single_instance",
        "execution_limit_hours",
        "task_parameters",
        "catch_up",
        "unknown_field",
    ];
    for key in task_keys {
        for v in &wrong {
            let mut d = base.clone();
            d["scheduled_tasks"][0][key] = v.clone();
            bodies.push(d.to_string().into_bytes());
        }
        let mut d = base.clone();
        d["scheduled_tasks"][0].as_object_mut().unwrap().remove(key);
        bodies.push(d.to_string().into_bytes());
    }
    let mut many = base.clone();
    many["scheduled_tasks"] = json!(vec![base["scheduled_tasks"][0].clone(); 600]);
    bodies.push(many.to_string().into_bytes());
    let raw: Vec<Vec<u8>> = vec![
        vec![],
        b"null".to_vec(),
        b"[]".to_vec(),
        b"[1,2,3]".to_vec(),
        b"\"a string\"".to_vec(),
        b"{".to_vec(),
        b"{\"name\": \"\xff\xfe\"}".to_vec(),
        vec![0xc3, 0x28, b'{', b'}'],
        b"\xef\xbb\xbf{}".to_vec(),
        "[".repeat(100_000).into_bytes(),
        format!("{}{}", "{\"a\":".repeat(5000), "}".repeat(5000)).into_bytes(),
        format!("[{}]", vec!["{\"minute\": 5}"; 2000].join(",")).into_bytes(),
        format!("{{\"format\": \"{}\"}}", "\\u0000".repeat(1000)).into_bytes(),
    ];
    bodies.extend(raw.iter().cloned());
    let mut counts = std::collections::BTreeMap::new();
    for target in &targets {
        let (method, path) = target.split_once(' ').unwrap();
        for body in &bodies {
            let r = c.send(method, path, Some(ADMIN), Some(body.clone())).await;
            assert!(
                r.status < 500,
                "{target}: {} for {}",
                r.status,
                String::from_utf8_lossy(&body[..body.len().min(200)])
            );
            *counts.entry(r.status).or_insert(0) += 1;
        }
    }
    // Preview gets the task-level corpus.
    for key in task_keys.iter().chain(&["after", "count"]) {
        for v in &wrong {
            let mut t = base["scheduled_tasks"][0].clone();
            t[*key] = v.clone();
            let r = c
                .send(
                    "POST",
                    "/api/preview",
                    None,
                    Some(t.to_string().into_bytes()),
                )
                .await;
            assert!((200..500).contains(&r.status));
            *counts.entry(r.status).or_insert(0) += 1;
        }
    }
    for body in &raw {
        let r = c
            .send("POST", "/api/preview", None, Some(body.clone()))
            .await;
        assert!(
            (400..500).contains(&r.status),
            "preview of raw {:?}: {}",
            String::from_utf8_lossy(&body[..body.len().min(50)]),
            r.status
        );
    }
    println!("malformed corpus: answers by status {counts:?}");

    // Invalid UTF-8 is 400; over 1 MiB is 413 (Content-Length and actual length).
    let r = c
        .send(
            "POST",
            "/api/instances",
            Some(ADMIN),
            Some(b"{\"name\": \"\xff\"}".to_vec()),
        )
        .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "bad_request"),
        "{}",
        r.text
    );
    let r = c
        .send("POST", "/api/preview", None, Some(b"\xc3\x28".to_vec()))
        .await;
    assert_eq!(r.status, 400);
    let big = vec![b' '; 1024 * 1024 + 1];
    for target in targets.iter().chain(&["POST /api/preview".to_string()]) {
        let (method, path) = target.split_once(' ').unwrap();
        let r = c.send(method, path, Some(ADMIN), Some(big.clone())).await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (413, "payload_too_large"),
            "{target}"
        );
    }
    // A body of exactly the limit is read.
    let mut ok_big = config("Padded").to_string().into_bytes();
    ok_big.resize(1024 * 1024, b' ');
    let r = c
        .send("POST", "/api/instances", Some(ADMIN), Some(ok_big))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);

    // Paths and queries.
    let long = "a".repeat(10_000);
    for path in [
        format!("/api/instances/{long}"),
        "/api/instances/%00".to_string(),
        format!("/api/instances/{id}/tasks/{long}/run"),
        format!("/api/instances/{id}/tasks/%E2%82%AC/pause"),
        format!("/api/instances/{id}/shares/{long}"),
        format!("/api/instances/{id}/dashboard?runs_page={long}"),
        format!(
            "/api/instances/{id}/dashboard?runs_page=99999999999999999999999&log_page_size=100000"
        ),
        "/api/share/".to_string(),
        format!("/api/share/{long}"),
        format!("/embed/{long}/timeline.svg"),
        "/embed/x".to_string(),
        "/api//instances".to_string(),
    ] {
        for method in ["GET", "POST", "DELETE", "PUT", "PATCH", "OPTIONS"] {
            let r = c
                .send(method, &path, Some(ADMIN), Some(b"{}".to_vec()))
                .await;
            assert!(
                (200..500).contains(&r.status),
                "{method} {}: {}",
                &path[..path.len().min(80)],
                r.status
            );
        }
    }
    assert_eq!(
        c.send("GET", "/api/health", None, None).await.status,
        200,
        "still serving"
    );
    scan_kv_and_log(&worker, &[SECRET]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_admin_token_protected_routes_stay_closed() {
    // An empty --var overrides an ADMIN_TOKEN that .dev.vars (scripts/dev.sh) may hold.
    let worker = start(&[("ADMIN_TOKEN", ""), ("CLEARML_API_SECRET_KEY", SECRET)]);
    let c = Client::new(&worker);
    for token in [None, Some("anything"), Some("")] {
        let r = c.send("GET", "/api/instances", token, None).await;
        assert_eq!((r.status, r.code().as_str()), (401, "unauthorized"));
        assert!(
            r.json()["error"]["message"]
                .as_str()
                .unwrap()
                .contains("no ADMIN_TOKEN"),
            "{}",
            r.text
        );
        let r = c
            .send(
                "POST",
                "/api/instances",
                token,
                Some(config("x").to_string().into_bytes()),
            )
            .await;
        assert_eq!(r.status, 401);
    }
    assert_eq!(c.send("GET", "/api/health", None, None).await.status, 200);
    let r = c
        .send(
            "POST",
            "/api/preview",
            None,
            Some(br#"{"recurrence":"daily","times":["06:20"]}"#.to_vec()),
        )
        .await;
    assert_eq!(r.status, 200, "preview needs no credentials");
}

/// `GET /api/zones/{name}`: the worker's own TZif data for a zone (what the app's live preview
/// computes with), public and cacheable; a name that is not a zone is a 404 with the core's
/// "did you mean" message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zones_are_served_as_tzif_files_and_unknown_names_say_what_to_write() {
    let worker = start(&[]);
    let http = reqwest::Client::new();
    for name in [
        "Europe/London",
        "America/Argentina/Buenos_Aires",
        "Etc/GMT%2B5",
    ] {
        let resp = http
            .get(format!("{}/api/zones/{name}", worker.url))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{name}");
        let headers = resp.headers().clone();
        assert_eq!(headers["content-type"], "application/octet-stream");
        assert!(headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age"));
        let body = resp.bytes().await.unwrap();
        assert!(body.starts_with(b"TZif"), "{name}: a TZif file");
    }
    let resp = http
        .get(format!("{}/api/zones/Europe/Londn", worker.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unknown_zone");
    assert_eq!(body["error"]["field"], "timezone");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("did you mean \"Europe/London\""),
        "{body}"
    );
    let resp = http
        .post(format!("{}/api/zones/Europe/London", worker.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
}

/// Two editors of one instance: the second save, made from the revision both loaded, does not
/// overwrite the first (412, nothing written) when it says which revision it edited; without
/// `If-Match` a save replaces whatever is there, as documented.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_save_from_a_stale_revision_is_refused_and_writes_nothing() {
    let worker = start(&[("ADMIN_TOKEN", ADMIN)]);
    let c = Client::new(&worker);
    let r = c
        .admin("POST", "/api/instances", Some(config("Shared")))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.header("etag"), "\"1\"");
    let id = r.json()["id"].as_str().unwrap().to_string();
    let path = format!("/api/instances/{id}");
    let loaded = c.get(&path).await;
    let etag = loaded.header("etag");
    assert_eq!(etag, "\"1\"");

    let put = |name: &str, if_match: Option<&str>| {
        let mut req = c
            .http
            .put(format!("{}{path}", c.base))
            .header("Authorization", format!("Bearer {ADMIN}"))
            .header("Content-Type", "application/json")
            .body(config(name).to_string());
        if let Some(m) = if_match {
            req = req.header("If-Match", m);
        }
        req.send()
    };
    // The first editor saves from revision 1.
    let first = put("First editor", Some(&etag)).await.unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["etag"], "\"2\"");
    // The second, also from revision 1, is refused; the first one's save stands.
    let second = put("Second editor", Some(&etag)).await.unwrap();
    assert_eq!(second.status(), 412);
    let body: Value = second.json().await.unwrap();
    assert_eq!(body["error"]["code"], "stale_revision", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("yours 1, now 2"), "{message}");
    let now = c.get(&path).await.json();
    assert_eq!(
        (now["revision"].clone(), now["name"].clone()),
        (json!(2), json!("First editor"))
    );
    // A weak or bare revision is read too; a malformed one is a 400 naming the header.
    let third = put("Third editor", Some("W/\"2\"")).await.unwrap();
    assert_eq!(third.status(), 200);
    let bad = put("Fourth", Some("yesterday")).await.unwrap();
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("If-Match"),
        "{body}"
    );
    // Two editors of revision 3 save at the same moment: one wins, the other writes nothing.
    let (x, y) = tokio::join!(put("Left", Some("\"3\"")), put("Right", Some("\"3\"")));
    let mut statuses = [x.unwrap().status().as_u16(), y.unwrap().status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 412]);
    let now = c.get(&path).await.json();
    assert_eq!(now["revision"], 4, "one save stored: {now}");
    assert!(now["name"] == "Left" || now["name"] == "Right", "{now}");
    // Without If-Match, the save replaces revision 4.
    let blind = put("Blind", None).await.unwrap();
    assert_eq!(blind.status(), 200);
    assert_eq!(c.get(&path).await.json()["name"], "Blind");
}

/// A body sent in chunks, with no Content-Length, is cut off past 1 MiB like any other: 413,
/// and the configuration is unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_body_past_the_limit_is_refused() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let worker = start(&[("ADMIN_TOKEN", ADMIN)]);
    let c = Client::new(&worker);
    let r = c
        .admin("POST", "/api/instances", Some(config("Kept")))
        .await;
    let id = r.json()["id"].as_str().unwrap().to_string();
    let addr = worker.url.trim_start_matches("http://").to_string();
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "PUT /api/instances/{id} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {ADMIN}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b' '; 64 * 1024];
    for _ in 0..40 {
        let sent = async {
            tcp.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                .await?;
            tcp.write_all(&chunk).await?;
            tcp.write_all(b"\r\n").await
        };
        // The server may answer and close before the whole body is sent.
        if sent.await.is_err() {
            break;
        }
    }
    let _ = tcp.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert_eq!(
        c.get(&format!("/api/instances/{id}")).await.json()["name"],
        "Kept"
    );
}

/// An every-minute task in a zone has a planned tick in every pixel column of the week ahead
/// (the search skips to the next column once one has its tick, and misses none).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_timeline_of_an_every_minute_task_fills_every_column_ahead() {
    let worker = start(&[("ADMIN_TOKEN", ADMIN)]);
    let c = Client::new(&worker);
    let config = json!({"format": "clearml-task-scheduler/v1", "name": "Busy", "scheduled_tasks": [
        {"id": "m", "base_task_id": "b", "queue": "q", "recurrence": "cron", "cron": "* * * * *",
         "timezone": "Europe/Berlin"},
        {"id": "h", "base_task_id": "b", "queue": "q", "recurrence": "cron", "cron": "0 * * * *"}]});
    let r = c.admin("POST", "/api/instances", Some(config)).await;
    let id = r.json()["id"].as_str().unwrap().to_string();
    let svg = c
        .get(&format!("/api/instances/{id}/timeline.svg"))
        .await
        .text;
    let rows: Vec<&str> = svg.split("<text x=\"6\"").collect();
    // A row's marks come before the next text (the next row's name, or the legend).
    let planned = |row: &str| {
        let marks = row.split("<text").next().unwrap_or_default();
        marks.matches("fill=\"#5b6ee1\"").count()
    };
    // 710 columns for 14 days: the week ahead is 355 of them (one more for the edge).
    let every_minute = planned(rows[1]);
    assert!((355..=356).contains(&every_minute), "{every_minute}");
    // Hourly: 168 hours ahead, each in a column of its own (a column is about 28 minutes).
    let hourly = planned(rows[2]);
    assert!((167..=168).contains(&hourly), "{hourly}");
}

/// The Bearer scheme in any case; a 401 says which scheme it wants; a configuration that is not
/// JSON at all is `invalid_json`, naming where it broke.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_schemes_and_broken_json_are_answered_as_http_says() {
    let worker = start(&[("ADMIN_TOKEN", ADMIN)]);
    let c = Client::new(&worker);
    let lower = c
        .http
        .get(format!("{}/api/instances", c.base))
        .header("Authorization", format!("bearer {ADMIN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(lower.status(), 200);
    let r = c.send("GET", "/api/instances", None, None).await;
    assert_eq!(
        (r.status, r.header("www-authenticate").as_str()),
        (401, "Bearer")
    );
    let r = c
        .send(
            "POST",
            "/api/instances",
            Some(ADMIN),
            Some(b"{\"name\": ".to_vec()),
        )
        .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "invalid_json"),
        "{}",
        r.text
    );
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("line 1"),
        "{}",
        r.text
    );
}
