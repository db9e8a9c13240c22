//! Faithfulness check: ClearML's own Python SDK (clearml==2.1.12) against the stand-in.
//!
//! Creates (once) a venv at `<target dir>/sdk-venv` with the pinned SDK, starts a stand-in and
//! runs `tests/sdk_check/check_standin.py`, which logs in, clones, enqueues and reads back through
//! the SDK's `APIClient` and `Task` classes. The venv is reused when its marker file says the
//! install finished, so the second run takes seconds.
//!
//! Needs python3 and PyPI the first time. Without PyPI the test fails and says so; set
//! `SCHEDULER_SKIP_SDK_CHECK=1` to skip it deliberately.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use scheduler_e2e::standin::{self, demo, StandinConfig};
use tokio::process::Command;

const CLEARML_VERSION: &str = "2.1.12";

/// `<target dir>`, found from this test binary's path (`<target>/<profile>/deps/standin_sdk-…`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors()
        .nth(3)
        .expect("test binary lives in <target>/<profile>/deps")
        .to_path_buf()
}

fn tail(bytes: &[u8], lines: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

async fn run(cmd: &mut Command, what: &str, limit: Duration) -> std::process::Output {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    match tokio::time::timeout(limit, child.wait_with_output()).await {
        Ok(out) => out.unwrap_or_else(|e| panic!("{what}: {e}")),
        Err(_) => panic!("{what}: no result within {limit:?}"),
    }
}

/// A venv with clearml==2.1.12, reused when a previous run completed the install.
async fn ensure_venv() -> PathBuf {
    let venv = target_dir().join("sdk-venv");
    let python = venv.join("bin").join("python");
    let marker = venv.join(format!(".clearml-{CLEARML_VERSION}-installed"));
    if marker.exists() && python.exists() {
        return python;
    }
    if venv.exists() {
        std::fs::remove_dir_all(&venv).expect("remove half-made venv");
    }
    let out = run(
        Command::new("python3").arg("-m").arg("venv").arg(&venv),
        "python3 -m venv",
        Duration::from_secs(120),
    )
    .await;
    assert!(
        out.status.success(),
        "python3 -m venv {} failed:\n{}",
        venv.display(),
        tail(&out.stderr, 20)
    );
    let out = run(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--quiet",
            ])
            .arg(format!("clearml=={CLEARML_VERSION}")),
        "pip install clearml",
        Duration::from_secs(900),
    )
    .await;
    assert!(
        out.status.success(),
        "pip install clearml=={CLEARML_VERSION} failed (is PyPI reachable? set \
         SCHEDULER_SKIP_SDK_CHECK=1 to skip this check deliberately):\n{}\n{}",
        tail(&out.stdout, 20),
        tail(&out.stderr, 40)
    );
    std::fs::write(&marker, CLEARML_VERSION).expect("write venv marker");
    python
}

fn script_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sdk_check")
        .join("check_standin.py")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clearml_sdk_accepts_the_standin() {
    if std::env::var("SCHEDULER_SKIP_SDK_CHECK").as_deref() == Ok("1") {
        eprintln!("SKIPPED: SCHEDULER_SKIP_SDK_CHECK=1, the ClearML SDK check did not run");
        return;
    }
    let t0 = Instant::now();
    let python = ensure_venv().await;
    let venv_ready = t0.elapsed();

    let srv = standin::spawn(StandinConfig::without_agent())
        .await
        .expect("start stand-in");
    srv.with_state(|s| {
        let queue = s
            .queues
            .iter()
            .find(|q| q.name == "default")
            .unwrap()
            .id
            .clone();
        s.workers.push(standin::model::Worker {
            id: "sdk-check-agent:0".into(),
            queues: vec![queue],
        });
    });
    let home = python
        .parent()
        .and_then(Path::parent)
        .expect("venv dir")
        .join("home");
    std::fs::create_dir_all(&home).unwrap();
    let empty_conf = home.join("clearml-empty.conf");
    std::fs::write(&empty_conf, "").unwrap();
    let marker = "sched:sdk-check";

    let mut cmd = Command::new(&python);
    cmd.arg(script_path());
    // Nothing from the developer's own ClearML setup may leak in.
    for (k, _) in std::env::vars() {
        if k.starts_with("CLEARML_") || k.starts_with("TRAINS_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("HOME", &home)
        .env("CLEARML_CONFIG_FILE", &empty_conf)
        .env("CLEARML_API_HOST", srv.url())
        .env("CLEARML_WEB_HOST", srv.url())
        .env("CLEARML_FILES_HOST", srv.url())
        .env("CLEARML_API_ACCESS_KEY", srv.access_key())
        .env("CLEARML_API_SECRET_KEY", srv.secret_key())
        .env("CLEARML_LOG_LEVEL", "WARNING")
        .env("STANDIN_BASE_TASK", demo::TASK_TRAIN)
        .env("STANDIN_QUEUE", "default")
        .env("STANDIN_MARKER", marker)
        .env("PYTHONUNBUFFERED", "1");
    let out = run(&mut cmd, "check_standin.py", Duration::from_secs(180)).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("SDK CHECK PASSED"),
        "the ClearML SDK rejected the stand-in ({}):\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        stdout,
        tail(&out.stderr, 60)
    );

    let recs = srv.records();
    for endpoint in [
        "auth.login",
        "queues.get_all",
        "queues.get_by_id",
        "projects.get_all",
        "tasks.get_by_id",
        "tasks.get_all",
        "tasks.clone",
        "tasks.enqueue",
        "tasks.dequeue",
        "tasks.stop",
        "tasks.stopped",
        "workers.get_all",
    ] {
        assert!(recs.count(endpoint) > 0, "the SDK never called {endpoint}");
    }
    // The SDK speaks its own schema version over GET with JSON bodies.
    assert!(recs
        .calls
        .iter()
        .any(|c| c.method == "GET" && c.requested_version.as_deref() == Some("2.23")));
    assert!(
        recs.calls.iter().all(|c| c.result_code != 404),
        "the SDK called an endpoint the stand-in lacks: {:?}",
        recs.calls
            .iter()
            .filter(|c| c.result_code == 404)
            .collect::<Vec<_>>()
    );
    let clones: Vec<_> = recs.clones_with_system_tag(marker).collect();
    assert_eq!(clones.len(), 1, "{:?}", recs.clones);
    assert_eq!(clones[0].source, demo::TASK_TRAIN);
    assert_eq!(clones[0].project.as_deref(), Some(demo::PROJECT_SCHEDULED));
    assert!(recs.enqueues.iter().any(|e| e.task == clones[0].id));
    assert!(recs
        .calls_to("tasks.enqueue")
        .any(|c| (c.result_code, c.result_subcode) == (400, 706)));
    eprintln!(
        "SDK check passed: venv ready in {:.1?}, whole test {:.1?}",
        venv_ready,
        t0.elapsed()
    );
}
