//! `clearml-standin`: run the ClearML stand-in until killed.
//!
//! Prints exactly one line to stdout once it accepts connections:
//! `clearml-standin listening on http://127.0.0.1:PORT`. Credentials and demo ids go to stderr.

use std::io::Write;
use std::net::IpAddr;

use scheduler_e2e::standin::{self, demo, StandinConfig};

const USAGE: &str = "usage: clearml-standin [--port N] [--bind ADDR] [--agent-seconds N] \
[--access-key KEY] [--secret-key SECRET] [--no-demo-data]

  --port N            port to listen on (default 0: a free port)
  --bind ADDR         address to bind (default 127.0.0.1)
  --agent-seconds N   built-in agent: queued -> in_progress after N s, -> completed N s later
                      (default 3; 0 turns it off)
  --access-key KEY    API access key (default: env CLEARML_API_ACCESS_KEY or the demo key)
  --secret-key SECRET API secret key (default: env CLEARML_API_SECRET_KEY or the demo secret)
  --no-demo-data      start without the demo projects, queues and tasks";

fn parse_args() -> Result<StandinConfig, String> {
    let mut cfg = StandinConfig::default();
    if let Ok(k) = std::env::var("CLEARML_API_ACCESS_KEY") {
        cfg.access_key = k;
    }
    if let Ok(s) = std::env::var("CLEARML_API_SECRET_KEY") {
        cfg.secret_key = s;
    }
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "--port" => {
                cfg.port = value("--port")?
                    .parse()
                    .map_err(|e| format!("--port: {e}"))?
            }
            "--bind" => {
                cfg.bind = value("--bind")?
                    .parse::<IpAddr>()
                    .map_err(|e| format!("--bind: {e}"))?
            }
            "--agent-seconds" => {
                let v: f64 = value("--agent-seconds")?
                    .parse()
                    .map_err(|e| format!("--agent-seconds: {e}"))?;
                if !(v >= 0.0 && v.is_finite()) {
                    return Err("--agent-seconds must be >= 0".into());
                }
                cfg.agent_seconds = v;
            }
            "--access-key" => cfg.access_key = value("--access-key")?,
            "--secret-key" => cfg.secret_key = value("--secret-key")?,
            "--no-demo-data" => cfg.demo_data = false,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(cfg)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let cfg = match parse_args() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("clearml-standin: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let demo_data = cfg.demo_data;
    let agent = cfg.agent_seconds;
    let handle = standin::spawn(cfg).await?;

    eprintln!("clearml-standin: access key {}", handle.access_key());
    eprintln!("clearml-standin: secret key {}", handle.secret_key());
    if agent > 0.0 {
        eprintln!("clearml-standin: agent starts queued tasks after {agent}s, completes them {agent}s later");
    } else {
        eprintln!("clearml-standin: agent off");
    }
    if demo_data {
        eprintln!(
            "clearml-standin: projects Examples={} Scheduled={}",
            demo::PROJECT_EXAMPLES,
            demo::PROJECT_SCHEDULED
        );
        eprintln!(
            "clearml-standin: queues default={} services={} gpu={}",
            demo::QUEUE_DEFAULT,
            demo::QUEUE_SERVICES,
            demo::QUEUE_GPU
        );
        eprintln!(
            "clearml-standin: tasks \"train model\"={} \"evaluate model\"={} \"nightly report\"={}",
            demo::TASK_TRAIN,
            demo::TASK_EVALUATE,
            demo::TASK_REPORT
        );
    }
    eprintln!("clearml-standin: admin at {}/_standin/{{records,faults,faults/next,reset,expire_tokens,tasks}}", handle.url());

    let mut out = std::io::stdout().lock();
    writeln!(out, "clearml-standin listening on {}", handle.url())?;
    out.flush()?;
    drop(out);

    wait_for_signal().await;
    handle.shutdown().await;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
