//! What the stand-in saw: every call with its result, every clone and every enqueue.
//!
//! Tests assert on these instead of parsing logs: "exactly one clone carries this system tag",
//! "the retry re-logged in", "no enqueue happened after the fault".

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::faults::FaultKind;

/// One ClearML API call as the stand-in answered it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CallRecord {
    /// 1-based order of arrival.
    pub seq: u64,
    /// `service.action` as requested (also for unknown endpoints).
    pub endpoint: String,
    /// The `vX.Y` in the path, if any.
    pub requested_version: Option<String>,
    /// HTTP method (the SDK uses GET with a JSON body, the product POST).
    pub method: String,
    pub result_code: u16,
    pub result_subcode: u32,
    /// The fault injected into this call, if any.
    pub fault: Option<FaultKind>,
    /// Milliseconds since the stand-in started.
    pub at_ms: u64,
    /// The request's `task` field, when it has one (tasks.* calls).
    pub task: Option<String>,
}

/// A task made by tasks.clone (also when a fault withheld the answer).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CloneRecord {
    pub id: String,
    pub source: String,
    pub name: String,
    pub project: Option<String>,
    pub parent: Option<String>,
    pub tags: Vec<String>,
    pub system_tags: Vec<String>,
    /// The response never reached the client (drop_after_clone / drop_connection).
    pub response_dropped: bool,
    pub at_ms: u64,
}

/// A successful tasks.enqueue.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EnqueueRecord {
    pub task: String,
    pub queue: String,
    pub queue_name: String,
    pub status_before: String,
    pub at_ms: u64,
}

/// A successful tasks.delete.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DeleteRecord {
    pub task: String,
    pub status_before: String,
    pub at_ms: u64,
}

/// Everything recorded since start or the last reset.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Records {
    /// Calls per endpoint, whatever their result.
    pub counts: BTreeMap<String, u64>,
    pub calls: Vec<CallRecord>,
    pub clones: Vec<CloneRecord>,
    pub enqueues: Vec<EnqueueRecord>,
    #[serde(default)]
    pub deletes: Vec<DeleteRecord>,
}

impl Records {
    /// Number of calls to `endpoint`.
    pub fn count(&self, endpoint: &str) -> u64 {
        self.counts.get(endpoint).copied().unwrap_or(0)
    }

    /// Calls to `endpoint`, in order.
    pub fn calls_to<'a>(&'a self, endpoint: &'a str) -> impl Iterator<Item = &'a CallRecord> + 'a {
        self.calls.iter().filter(move |c| c.endpoint == endpoint)
    }

    /// Clones whose system tags include `tag`.
    pub fn clones_with_system_tag<'a>(
        &'a self,
        tag: &'a str,
    ) -> impl Iterator<Item = &'a CloneRecord> + 'a {
        self.clones
            .iter()
            .filter(move |c| c.system_tags.iter().any(|t| t == tag))
    }

    pub(crate) fn push_call(&mut self, mut call: CallRecord) {
        call.seq = self.calls.len() as u64 + 1;
        *self.counts.entry(call.endpoint.clone()).or_default() += 1;
        self.calls.push(call);
    }
}
