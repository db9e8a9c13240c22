//! The ClearML stand-in: a small HTTP server on loopback that answers the part of
//! clearml-server's REST API the scheduler uses, to the letter of the server's contract
//! (envelope, codes and subcodes, messages, status machine), with demo data, a built-in agent,
//! call records and fault injection. ClearML's own Python SDK is run against it in
//! `tests/standin_sdk.rs` to keep it honest.
//!
//! Map of the modules:
//! - [`api`]: envelope and error catalogue (codes from clearml-server's `errors.conf`);
//! - [`jwt`], [`clock`]: HS256 tokens and the server's timestamp format;
//! - [`model`]: in-memory entities and the demo data ([`demo`] ids);
//! - [`query`]: the `get_all` filter/projection/order/paging language;
//! - [`service`]: the endpoints, one module per ClearML service;
//! - [`faults`], [`records`], [`agent`]: test machinery; [`client`]: a bare API client for tests;
//! - `http`: routing, auth, data loading, fault application.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use scheduler_e2e::standin::{self, StandinConfig};
//! let srv = standin::spawn(StandinConfig::default()).await?;
//! println!("ClearML API at {}", srv.url());
//! // ... drive the product against srv.url() ...
//! assert_eq!(srv.records().count("tasks.clone"), 0);
//! # Ok(()) }
//! ```

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub mod agent;
pub mod api;
pub mod client;
pub mod clock;
pub mod faults;
mod http;
pub mod jwt;
pub mod model;
pub mod query;
pub mod records;
pub mod service;

pub use faults::{FaultConfig, FaultKind, ScriptedFault};
pub use model::{demo, State};
pub use records::{CallRecord, CloneRecord, DeleteRecord, EnqueueRecord, Records};

/// How to run a stand-in.
#[derive(Debug, Clone)]
pub struct StandinConfig {
    /// Address to bind (loopback by default).
    pub bind: IpAddr,
    /// Port; 0 picks a free one.
    pub port: u16,
    pub access_key: String,
    pub secret_key: String,
    /// Seconds a queued task waits before the built-in agent starts it, and runs before it
    /// completes; 0 turns the agent off.
    pub agent_seconds: f64,
    /// Start with the demo projects, queues and tasks.
    pub demo_data: bool,
    /// HS256 key for tokens (random per process by default).
    pub token_secret: Option<String>,
}

impl Default for StandinConfig {
    fn default() -> Self {
        StandinConfig {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            access_key: demo::ACCESS_KEY.to_string(),
            secret_key: demo::SECRET_KEY.to_string(),
            agent_seconds: 3.0,
            demo_data: true,
            token_secret: None,
        }
    }
}

impl StandinConfig {
    /// The default config with the agent off (deterministic statuses for API tests).
    pub fn without_agent() -> Self {
        StandinConfig {
            agent_seconds: 0.0,
            ..Self::default()
        }
    }
}

/// State shared by the HTTP handlers, the agent and the handle.
pub(crate) struct Shared {
    state: Mutex<State>,
    access_key: String,
    secret_key: String,
    token_secret: Vec<u8>,
    demo_data: bool,
    agent_on: bool,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking handler must not take the whole stand-in down with a poisoned lock.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Back to the starting data; records and faults cleared; issued tokens stay valid.
    pub(crate) fn reset(&self) {
        let mut st = self.lock();
        let epoch = st.token_epoch;
        *st = State::new(self.demo_data);
        st.token_epoch = epoch;
        st.agent_on = self.agent_on;
    }
}

/// A running stand-in. Dropping it stops the server.
pub struct StandinHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    agent: Option<JoinHandle<()>>,
}

/// Start a stand-in and return once it accepts connections.
pub async fn spawn(config: StandinConfig) -> anyhow::Result<StandinHandle> {
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(config.bind, config.port))
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "clearml-standin: cannot bind {}:{}: {e}",
                config.bind,
                config.port
            )
        })?;
    let addr = listener.local_addr()?;
    let agent_on = config.agent_seconds > 0.0;
    let mut state = State::new(config.demo_data);
    state.agent_on = agent_on;
    let token_secret = config
        .token_secret
        .clone()
        .unwrap_or_else(model::new_id)
        .into_bytes();
    let shared = Arc::new(Shared {
        state: Mutex::new(state),
        access_key: config.access_key.clone(),
        secret_key: config.secret_key.clone(),
        token_secret,
        demo_data: config.demo_data,
        agent_on,
    });

    let (tx, rx) = oneshot::channel::<()>();
    let app = http::router(shared.clone());
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    let agent = agent_on.then(|| {
        tokio::spawn(agent::run(
            shared.clone(),
            Duration::from_secs_f64(config.agent_seconds),
        ))
    });
    Ok(StandinHandle {
        addr,
        shared,
        shutdown: Some(tx),
        server: Some(server),
        agent,
    })
}

impl StandinHandle {
    /// Base URL of the ClearML API, e.g. `http://127.0.0.1:40123` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn access_key(&self) -> &str {
        &self.shared.access_key
    }

    pub fn secret_key(&self) -> &str {
        &self.shared.secret_key
    }

    /// A snapshot of what was recorded so far.
    pub fn records(&self) -> Records {
        self.shared.lock().records.clone()
    }

    /// Back to the demo data; records and faults cleared.
    pub fn reset(&self) {
        self.shared.reset();
    }

    /// Replace the fault configuration (random rate/kinds and scripted `next` faults).
    pub fn set_faults(&self, config: FaultConfig) {
        self.shared.lock().faults.set(config);
    }

    /// Add a scripted one-shot fault.
    pub fn push_fault(&self, fault: ScriptedFault) {
        self.shared.lock().faults.push(fault);
    }

    pub fn clear_faults(&self) {
        self.shared.lock().faults.set(FaultConfig::default());
    }

    /// The current fault configuration, with the scripted faults not yet consumed.
    pub fn faults(&self) -> FaultConfig {
        self.shared.lock().faults.config.clone()
    }

    /// Invalidate every token issued so far (the next Bearer call gets 401/30).
    pub fn expire_tokens(&self) {
        self.shared.lock().token_epoch += 1;
    }

    /// A task document as tasks.get_by_id returns it.
    pub fn task(&self, id: &str) -> Option<Value> {
        self.shared
            .lock()
            .task(id)
            .map(|t| Value::Object(t.doc.clone()))
    }

    /// Every task document, in creation order.
    pub fn tasks(&self) -> Vec<Value> {
        self.shared
            .lock()
            .tasks
            .iter()
            .map(|t| Value::Object(t.doc.clone()))
            .collect()
    }

    /// Read or change the state directly (e.g. put a task in progress by hand).
    pub fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.shared.lock())
    }

    /// Stop serving and wait (up to 2 s) for the server task to finish.
    pub async fn shutdown(mut self) {
        if let Some(a) = self.agent.take() {
            a.abort();
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut server) = self.server.take() {
            if tokio::time::timeout(Duration::from_secs(2), &mut server)
                .await
                .is_err()
            {
                server.abort();
            }
        }
    }
}

impl Drop for StandinHandle {
    fn drop(&mut self) {
        if let Some(a) = self.agent.take() {
            a.abort();
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(s) = self.server.take() {
            s.abort();
        }
    }
}
