//! A bounded, seeded mutational fuzzer on stable Rust (cargo-fuzz needs nightly).
//!
//! ```text
//! fuzz core [--seconds N] [--seed S] [--out FILE]   config parser, cron parser, next fire
//! fuzz api  [--seconds N] [--seed S] [--out FILE]   POST /api/instances and /api/preview of a
//!                                                   worker it starts in workerd: never a 5xx
//! ```
//!
//! Mutations: bit flips, random bytes, deletions, duplications, splices of two corpus entries,
//! insertions from a dictionary of JSON, config and cron tokens, and "interesting" numbers. The
//! corpus grows with every input that is accepted or rejected with an error not seen before (a
//! cheap stand-in for coverage). Each input runs under `catch_unwind`; a panic or a broken
//! invariant (see `checks.rs`) is a crash: it is saved under `target/reliability/crashes/` and
//! should be copied to `tests/fuzz-regressions/<target>/`, which `tests/fuzz_regressions.rs`
//! replays in the normal test suite. Prints and writes (with `--out`) a JSON summary.

mod checks;

use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::{Duration, Instant as Clock};

use checks::{check_config, check_cron, Outcome, ZONES};
use serde_json::{json, Value};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const DICT: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "\\",
    "\\u0000",
    "\\ud800",
    "null",
    "true",
    "false",
    "-0",
    "1e999",
    "-1",
    "0",
    "31",
    "32",
    "60",
    "24",
    "29",
    "2147483648",
    "18446744073709551616",
    "\"format\"",
    "\"clearml-task-scheduler/v1\"",
    "\"scheduled_tasks\"",
    "\"recurrence\"",
    "\"daily\"",
    "\"weekly\"",
    "\"monthly\"",
    "\"cron\"",
    "\"none\"",
    "\"times\"",
    "\"days\"",
    "\"last\"",
    "\"weekdays\"",
    "\"timezone\"",
    "\"Europe/Berlin\"",
    "\"Etc/GMT+14\"",
    "\"date\"",
    "\"2026-02-29\"",
    "\"24:00\"",
    "\"23:59\"",
    "\"catch_up\"",
    "\"all\"",
    "\"window_minutes\"",
    "\"execution_limit_hours\"",
    "\"task_parameters\"",
    "\"minute\"",
    "\"hour\"",
    "\"day\"",
    "\"month\"",
    "\"year\"",
    "\"base_function\"",
    "*",
    "/",
    "-",
    "L",
    "#",
    "W",
    "?",
    "MON",
    "SUN",
    "FEB",
    "7",
    "0-7",
    "*/0",
    "1-31/2",
    "59",
    "5#5",
    "L-3",
    " ",
    "\t",
    "\u{feff}",
    "é",
    "🙂",
];

const INTERESTING: &[&str] = &[
    "0",
    "-1",
    "1",
    "2",
    "12",
    "23",
    "24",
    "28",
    "29",
    "30",
    "31",
    "59",
    "60",
    "99",
    "100",
    "101",
    "500",
    "501",
    "2000",
    "2001",
    "9999",
    "10080",
    "1e3",
    "0.5",
    "-0.0",
    "4294967296",
];

fn mutate(rng: &mut Rng, corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut v = corpus[rng.below(corpus.len())].clone();
    let rounds = 1 + rng.below(2) + rng.below(2);
    for _ in 0..rounds {
        let len = v.len();
        match rng.below(9) {
            0 if len > 0 => {
                let i = rng.below(len);
                v[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                v[i] = rng.next() as u8;
            }
            2 if len > 0 => {
                let a = rng.below(len);
                let b = (a + 1 + rng.below(16)).min(len);
                v.drain(a..b);
            }
            3 if len > 0 => {
                let a = rng.below(len);
                let b = (a + 1 + rng.below(32)).min(len);
                let chunk = v[a..b].to_vec();
                let at = rng.below(v.len() + 1);
                v.splice(at..at, chunk);
            }
            4 => {
                let other = &corpus[rng.below(corpus.len())];
                let a = rng.below(v.len() + 1);
                let b = rng.below(other.len() + 1);
                v.truncate(a);
                v.extend_from_slice(&other[b..]);
            }
            5 | 6 => {
                let tok = DICT[rng.below(DICT.len())].as_bytes();
                let at = rng.below(v.len() + 1);
                v.splice(at..at, tok.iter().copied());
            }
            _ => {
                // Replace a run of digits with an interesting number.
                let digits: Vec<usize> = (0..len).filter(|i| v[*i].is_ascii_digit()).collect();
                if let Some(&i) = digits.get(rng.below(digits.len().max(1))) {
                    let mut j = i;
                    while j < v.len() && v[j].is_ascii_digit() {
                        j += 1;
                    }
                    let n = INTERESTING[rng.below(INTERESTING.len())].as_bytes();
                    v.splice(i..j, n.iter().copied());
                }
            }
        }
    }
    v.truncate(64 * 1024);
    v
}

fn config_seeds() -> Vec<String> {
    let readme = scheduler_e2e::harness::repo_root().join("README.md");
    let mut seeds = Vec::new();
    if let Ok(text) = std::fs::read_to_string(readme) {
        // The README's example configuration (the first ```json block).
        if let Some(block) = text
            .split("```json\n")
            .nth(1)
            .and_then(|b| b.split("```").next())
        {
            seeds.push(block.to_string());
        }
    }
    seeds.extend(
        [
            r#"{"format": "clearml-task-scheduler/v1", "name": "n", "scheduled_tasks": [{"base_task_id": "b", "queue": "q", "recurrence": "daily", "times": ["06:20", "18:00"]}]}"#,
            r#"{"format": "clearml-task-scheduler/v1", "name": "w", "scheduled_tasks": [{"id": "x", "base_task_id": "b", "queue": "q", "recurrence": "weekly", "weekdays": ["monday", "sunday"], "times": ["00:00"], "timezone": "America/New_York", "enabled": false}]}"#,
            r#"{"format": "clearml-task-scheduler/v1", "name": "m", "scheduled_tasks": [{"base_task_id": "b", "queue": "q", "recurrence": "monthly", "days": [31, "last", 1], "times": ["02:30"], "timezone": "Europe/Berlin", "catch_up": "all"}]}"#,
            r#"{"format": "clearml-task-scheduler/v1", "name": "o", "scheduled_tasks": [{"base_task_id": "b", "queue": "q", "recurrence": "none", "date": "2027-03-28", "times": ["02:30"], "timezone": "Europe/Berlin"}]}"#,
            r#"{"format": "clearml-task-scheduler/v1", "name": "c", "scheduled_tasks": [{"base_task_id": "b", "queue": "q", "recurrence": "cron", "cron": "0 12 L * MON#2", "single_instance": true, "execution_limit_hours": 0.25, "task_parameters": {"Args/x": "1"}, "catch_up": {"policy": "skip", "window_minutes": 10080}}]}"#,
            r#"[{"name": "a", "base_task_id": "b", "queue": "q", "minute": 20, "hour": 6, "day": 1}]"#,
            r#"[{"base_task_id": "b", "queue": "q", "minute": 15}, {"base_task_id": "c", "queue": "q", "hour": 8, "minute": 30, "day": 0, "weekdays": ["saturday"]}]"#,
            r#"[{"base_task_id": "b", "queue": "q", "month": 1, "day": 5, "hour": 1}, {"base_task_id": "d", "queue": "q", "year": 2027, "month": 3, "day": 4, "recurring": false}]"#,
            r#"[{"base_task_id": "b", "queue": "q", "hour": 2, "weekdays": ["saturday", "sunday"], "target_project": "prj", "single_instance": true, "task_parameters": {"Args/batch": "12"}, "execution_limit_hours": 3}]"#,
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    seeds
}

fn cron_seeds() -> Vec<String> {
    [
        "* * * * *",
        "*/15 9-17 * * MON-FRI",
        "0 0 30 2 *",
        "0 0 29 2 *",
        "0 12 L * *",
        "0 8 * * MON#2",
        "5 4 * * sun",
        "0 0 1,15 * 1-5",
        "*/7 */5 1-31/2 JAN-DEC/3 0-7",
        "30 2 * 3 SUN",
        "0 0 31 4,6,9,11 *",
        "59 23 31 12 7",
        "0-59/59 0-23/23 L FEB *",
        "0 0 * * 5#5",
        "1,2,3 4-5 6 7 1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[derive(Default)]
struct Tally {
    execs: u64,
    accepted: u64,
    rejected: u64,
    crashes: Vec<Value>,
    messages: HashSet<String>,
}

fn crash_dir() -> PathBuf {
    scheduler_e2e::harness::repo_root().join("target/reliability/crashes")
}

fn save_crash(target: &str, input: &[u8], why: &str, tally: &mut Tally) {
    let dir = crash_dir().join(target);
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!("crash-{:04}.txt", tally.crashes.len()));
    let _ = std::fs::write(&path, input);
    eprintln!(
        "CRASH in {target}: {why}\n  input saved to {}",
        path.display()
    );
    tally.crashes.push(json!({"input": String::from_utf8_lossy(input), "why": why, "file": path.display().to_string()}));
}

/// Runs `check` on mutated inputs for `budget`.
fn run_core(
    target: &str,
    seeds: Vec<String>,
    budget: Duration,
    rng: &mut Rng,
    check: impl Fn(&[u8]) -> Result<Outcome, String>,
) -> Value {
    let mut corpus: Vec<Vec<u8>> = seeds.into_iter().map(String::into_bytes).collect();
    // Inputs that were accepted: half the mutations start from one of these, so the fuzzer
    // keeps exploring past the parser into next-fire and export.
    let mut good: Vec<Vec<u8>> = corpus.clone();
    let mut tally = Tally::default();
    let start = Clock::now();
    // The seeds themselves first.
    let mut queue: Vec<Vec<u8>> = corpus.clone();
    while start.elapsed() < budget {
        let input = queue.pop().unwrap_or_else(|| {
            if rng.below(2) == 0 {
                mutate(rng, &good)
            } else {
                mutate(rng, &corpus)
            }
        });
        tally.execs += 1;
        match catch_unwind(AssertUnwindSafe(|| check(&input))) {
            Err(p) => {
                let msg = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                save_crash(target, &input, &format!("panic: {msg}"), &mut tally);
            }
            Ok(Err(why)) => save_crash(target, &input, &why, &mut tally),
            Ok(Ok(Outcome::Accepted)) => {
                tally.accepted += 1;
                if good.len() < 20_000 {
                    good.push(input);
                }
            }
            Ok(Ok(Outcome::Rejected(m))) => {
                tally.rejected += 1;
                // Error text without its quoted values and numbers: a crude "new path through
                // the parser".
                let class: String = m
                    .split('"')
                    .step_by(2)
                    .flat_map(str::chars)
                    .filter(|c| !c.is_ascii_digit())
                    .take(80)
                    .collect();
                if tally.messages.insert(class) && corpus.len() < 20_000 {
                    corpus.push(input);
                }
            }
        }
        if tally.crashes.len() >= 50 {
            break;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let out = json!({"target": target, "execs": tally.execs, "seconds": secs,
        "execs_per_second": tally.execs as f64 / secs, "accepted": tally.accepted,
        "rejected": tally.rejected, "distinct_errors": tally.messages.len(),
        "corpus": corpus.len() + good.len(), "crashes": tally.crashes.len(), "crash_examples": tally.crashes.iter().take(5).cloned().collect::<Vec<_>>()});
    println!(
        "{target}: {} execs in {secs:.0} s, {} accepted, {} rejected ({} distinct errors), {} crashes",
        tally.execs,
        tally.accepted,
        tally.rejected,
        tally.messages.len(),
        tally.crashes.len()
    );
    out
}

fn core(seconds: u64, seed: u64) -> Value {
    // A panic is reported by the fuzzer, not printed by the default hook at every input.
    std::panic::set_hook(Box::new(|_| {}));
    let mut rng = Rng(seed | 1);
    let budget = Duration::from_secs(seconds);
    let config = run_core("config", config_seeds(), budget, &mut rng, |b| {
        check_config(&String::from_utf8_lossy(b))
    });
    let cron = run_core("cron", cron_seeds(), budget, &mut rng, |b| {
        let zone = ZONES[b.first().copied().unwrap_or(0) as usize % ZONES.len()];
        check_cron(&String::from_utf8_lossy(b), zone)
    });
    let _ = std::panic::take_hook();
    json!({"mode": "core", "seed": seed, "targets": [config, cron]})
}

async fn api(seconds: u64, seed: u64) -> anyhow::Result<Value> {
    use scheduler_e2e::harness::{WorkerOptions, WorkerProcess};
    let token = "fuzz-admin-token-0123456789abcdef0123456";
    let worker = WorkerProcess::start(WorkerOptions {
        persist_to: None,
        vars: vec![("ADMIN_TOKEN".into(), token.into())],
    })?;
    let http = reqwest::Client::new();
    let mut rng = Rng(seed | 1);
    let preview_seeds: Vec<String> = vec![
        r#"{"recurrence": "daily", "times": ["06:20"], "after": "2026-11-25T10:00:00Z", "count": 3}"#.into(),
        r#"{"recurrence": "cron", "cron": "0 */6 * * *", "after": "2026-11-25T06:00:00+01:00", "count": 100}"#.into(),
        r#"{"base_task_id": "b", "queue": "q", "recurrence": "monthly", "days": ["last"], "times": ["23:59"], "timezone": "Pacific/Apia"}"#.into(),
        r#"{"recurrence": "none", "date": "2030-01-01", "times": ["00:00"], "count": 1}"#.into(),
        r#"{"recurrence": "weekly", "weekdays": ["friday"], "times": ["12:00"], "after": "9999-12-31T23:59:59Z"}"#.into(),
    ];
    let mut results = Vec::new();
    let per = Duration::from_secs(seconds / 2);
    for (path, seeds, admin) in [
        ("/api/instances", config_seeds(), true),
        ("/api/preview", preview_seeds, false),
    ] {
        let corpus: Vec<Vec<u8>> = seeds.into_iter().map(String::into_bytes).collect();
        let mut by_status: std::collections::BTreeMap<u16, u64> = Default::default();
        let mut five: Vec<Value> = Vec::new();
        let mut execs = 0u64;
        let start = Clock::now();
        let mut queue = corpus.clone();
        while start.elapsed() < per {
            let body = queue.pop().unwrap_or_else(|| mutate(&mut rng, &corpus));
            let mut req = http
                .post(format!("{}{path}", worker.url))
                .header("content-type", "application/json")
                .body(body.clone());
            if admin {
                req = req.bearer_auth(token);
            }
            execs += 1;
            let status = match req.send().await {
                Ok(r) => r.status().as_u16(),
                Err(e) => {
                    five.push(json!({"input": String::from_utf8_lossy(&body), "why": format!("no answer: {e}")}));
                    0
                }
            };
            *by_status.entry(status).or_default() += 1;
            if status >= 500 {
                let dir = crash_dir().join(path.trim_start_matches("/api/"));
                let _ = std::fs::create_dir_all(&dir);
                let file = dir.join(format!("crash-{:04}.txt", five.len()));
                let _ = std::fs::write(&file, &body);
                five.push(json!({"input": String::from_utf8_lossy(&body), "status": status, "file": file.display().to_string()}));
            }
        }
        let secs = start.elapsed().as_secs_f64();
        println!("POST {path}: {execs} requests in {secs:.0} s, by status {by_status:?}, {} 5xx or no answer", five.len());
        results.push(json!({"target": format!("POST {path}"), "execs": execs, "seconds": secs,
            "by_status": by_status, "crashes": five.len(), "crash_examples": five.iter().take(5).cloned().collect::<Vec<_>>()}));
    }
    Ok(json!({"mode": "api", "seed": seed, "targets": results}))
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map(String::as_str).unwrap_or("core");
    let opt = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let seconds: u64 = opt("--seconds").and_then(|s| s.parse().ok()).unwrap_or(30);
    let seed: u64 = opt("--seed")
        .and_then(|s| s.parse().ok())
        .unwrap_or(20261125);
    let out = match mode {
        "core" => core(seconds, seed),
        "api" => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?
            .block_on(api(seconds, seed))?,
        other => anyhow::bail!("unknown mode {other}: use core or api"),
    };
    if let Some(path) = opt("--out") {
        if let Some(dir) = std::path::Path::new(&path).parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, serde_json::to_string_pretty(&out)?)?;
    }
    let crashes: u64 = out["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| t["crashes"].as_u64().unwrap_or(0))
        .sum();
    println!("fuzz {mode}: {crashes} crashes");
    if crashes > 0 {
        // Each is saved under target/reliability/crashes/; a fix adds it to tests/fuzz-regressions/.
        std::process::exit(1);
    }
    Ok(())
}
