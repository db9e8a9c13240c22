//! A stand-in for what the scheduler calls out to (uptime monitors, webhooks): an HTTP server
//! on loopback that records every request that reaches it and answers as told (success, an
//! error status, or a stall), so tests count what arrived instead of trusting our own logs.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::Router;

/// One request as it arrived.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    /// Path and query.
    pub uri: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// How the receiver answers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Answer {
    Ok,
    Status(u16),
    /// Waits this long, then answers 200.
    Stall(Duration),
}

#[derive(Default)]
struct Inner {
    received: Vec<Received>,
    answer: Option<Answer>,
}

/// The running receiver; it stops when dropped.
pub struct Receiver {
    addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start() -> std::io::Result<Receiver> {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new().fallback(record).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Receiver { addr, inner, task })
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn answer_with(&self, answer: Answer) {
        self.inner.lock().unwrap().answer = Some(answer);
    }

    /// Everything received so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn record(
    State(inner): State<Arc<Mutex<Inner>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let answer = {
        let mut i = inner.lock().unwrap();
        i.received.push(Received {
            method: method.to_string(),
            uri: uri.to_string(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
                .collect(),
            body: body.to_vec(),
        });
        i.answer.unwrap_or(Answer::Ok)
    };
    match answer {
        Answer::Ok => StatusCode::OK,
        Answer::Status(s) => StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        Answer::Stall(d) => {
            tokio::time::sleep(d).await;
            StatusCode::OK
        }
    }
}
