//! Outbound HTTP with a deadline (ClearML calls, the heartbeat ping): the request is aborted
//! when the deadline passes, so no call outlives what its caller promised (a launch lease, a
//! tick that must end).

use std::time::Duration;

use futures_util::future::{select, Either};
use worker::{AbortController, Delay, Fetch, Request, Response};

/// Why no answer came.
pub enum NoAnswer {
    /// The network or the runtime failed (the message says how).
    Failed(String),
    /// Nothing within the deadline; the request was aborted.
    TimedOut,
}

/// Sends `request` and waits at most `deadline` for the answer's head.
pub async fn fetch_within(request: Request, deadline: Duration) -> Result<Response, NoAnswer> {
    let controller = AbortController::default();
    let signal = controller.signal();
    let fetch = Fetch::Request(request);
    let send = Box::pin(fetch.send_with_signal(&signal));
    let timeout = Box::pin(Delay::from(deadline));
    let first = select(send, timeout).await;
    match first {
        Either::Left((result, _)) => result.map_err(|e| NoAnswer::Failed(e.to_string())),
        Either::Right(_) => {
            controller.abort();
            Err(NoAnswer::TimedOut)
        }
    }
}

/// Sends `request` and reads the whole answer, head and body, within `deadline`: a server (or
/// a proxy) that sends the head and then stalls the body is cut off too. Returns the answer's
/// status, its `Location` header (for a redirect) and its body.
pub async fn fetch_text_within(
    request: Request,
    deadline: Duration,
) -> Result<(u16, Option<String>, String), NoAnswer> {
    let controller = AbortController::default();
    let signal = controller.signal();
    let fetch = Fetch::Request(request);
    let exchange = async {
        let mut response = fetch
            .send_with_signal(&signal)
            .await
            .map_err(|e| NoAnswer::Failed(e.to_string()))?;
        let location = response.headers().get("Location").ok().flatten();
        let text = response
            .text()
            .await
            .map_err(|e| NoAnswer::Failed(format!("the answer broke off ({e})")))?;
        Ok((response.status_code(), location, text))
    };
    let timeout = Box::pin(Delay::from(deadline));
    let answer = match select(Box::pin(exchange), timeout).await {
        Either::Left((result, _)) => result,
        Either::Right(_) => {
            controller.abort();
            Err(NoAnswer::TimedOut)
        }
    };
    answer
}
