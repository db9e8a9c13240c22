//! Fault injection: random (rate + seed, reproducible) and scripted one-shot faults.
//!
//! Faults apply to ClearML API calls only, never to the `/_standin/*` admin routes.
//! - `http500`: the call is not executed; the answer is a 500/0 envelope.
//! - `delay`: the answer is held back `delay_ms`, then the call runs normally.
//! - `slow_answer`: the call runs at once, then its answer is held back `delay_ms` (what the
//!   caller reads is that old by the time it arrives).
//! - `drop_after_clone`: tasks.clone makes the task, then answers 500 so the client never learns
//!   the id (ignored on other endpoints).
//! - `drop_connection`: the call runs, then the connection is cut before the body is complete.
//! - `stalled_body`: the call runs, the answer's head and the first half of its body are sent at
//!   once, the rest after `delay_ms` (a server or proxy under load that stalls mid-answer).
//! - `enqueue_entry_kept`: tasks.enqueue adds the queue entry, then fails as clearml-server's
//!   `enqueue_task` does when what follows `add_task` fails (its queue metrics write): the task
//!   goes back to the status it had ("failed enqueueing"), the entry stays, the answer is a 500
//!   (ignored on other endpoints).
//! - `agent_takes_first`: just before the call runs, an agent pops the queue entries of the call's
//!   `task` and starts it (`in_progress`): the race between reading a task's status and acting
//!   on it (ignored on calls without a `task`).
//! - `expire_tokens`: every token issued so far becomes invalid before the call is authorised,
//!   so a Bearer call gets 401/30 and the client has to log in again.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    Http500,
    Delay,
    SlowAnswer,
    DropAfterClone,
    DropConnection,
    StalledBody,
    ExpireTokens,
    EnqueueEntryKept,
    AgentTakesFirst,
}

/// A one-shot fault for the next call to `endpoint` (any endpoint when `None`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScriptedFault {
    #[serde(default)]
    pub endpoint: Option<String>,
    pub kind: FaultKind,
    /// For `delay`; defaults to the config's `delay_ms`.
    #[serde(default)]
    pub delay_ms: Option<u64>,
}

impl ScriptedFault {
    pub fn new(endpoint: &str, kind: FaultKind) -> Self {
        ScriptedFault {
            endpoint: Some(endpoint.to_string()),
            kind,
            delay_ms: None,
        }
    }
}

fn default_delay_ms() -> u64 {
    1500
}

/// The fault configuration, as posted to `POST /_standin/faults`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FaultConfig {
    /// Probability in [0, 1] that a call gets a random fault.
    #[serde(default)]
    pub fail_rate: f64,
    /// Seed of the random sequence, so a failing run can be replayed.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Kinds to draw from (uniformly); empty means `http500`.
    #[serde(default)]
    pub kinds: Vec<FaultKind>,
    #[serde(default = "default_delay_ms")]
    pub delay_ms: u64,
    /// Restrict random faults to these endpoints; empty means all.
    #[serde(default)]
    pub endpoints: Vec<String>,
    /// Scripted one-shot faults, consumed in order by the first matching call.
    #[serde(default)]
    pub next: Vec<ScriptedFault>,
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            fail_rate: 0.0,
            seed: None,
            kinds: Vec::new(),
            delay_ms: default_delay_ms(),
            endpoints: Vec::new(),
            next: Vec::new(),
        }
    }
}

/// A fault chosen for one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    pub kind: FaultKind,
    pub delay_ms: u64,
}

/// Live fault state: the config plus the random generator's position.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    pub config: FaultConfig,
    rng: u64,
}

impl Faults {
    pub fn set(&mut self, config: FaultConfig) {
        self.rng = config.seed.unwrap_or(0x5eed_5eed);
        self.config = config;
    }

    pub fn push(&mut self, fault: ScriptedFault) {
        self.config.next.push(fault);
    }

    /// The fault for a call to `endpoint`, if any: scripted ones first, then the random draw.
    pub fn pick(&mut self, endpoint: &str) -> Option<Fault> {
        if let Some(i) = self
            .config
            .next
            .iter()
            .position(|f| f.endpoint.as_deref().is_none_or(|e| e == endpoint))
        {
            let f = self.config.next.remove(i);
            return Some(Fault {
                kind: f.kind,
                delay_ms: f.delay_ms.unwrap_or(self.config.delay_ms),
            });
        }
        let c = &self.config;
        if c.fail_rate <= 0.0
            || !(c.endpoints.is_empty() || c.endpoints.iter().any(|e| e == endpoint))
        {
            return None;
        }
        let roll = self.next_f64();
        if roll >= self.config.fail_rate {
            return None;
        }
        let kinds = if self.config.kinds.is_empty() {
            vec![FaultKind::Http500]
        } else {
            self.config.kinds.clone()
        };
        let kind = kinds[(self.next_u64() % kinds.len() as u64) as usize];
        Some(Fault {
            kind,
            delay_ms: self.config.delay_ms,
        })
    }

    /// splitmix64: tiny, seedable, good enough to spread faults.
    fn next_u64(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripted_faults_match_endpoint_once() {
        let mut f = Faults::default();
        f.push(ScriptedFault::new("tasks.clone", FaultKind::DropAfterClone));
        assert_eq!(f.pick("tasks.enqueue"), None);
        assert_eq!(
            f.pick("tasks.clone").unwrap().kind,
            FaultKind::DropAfterClone
        );
        assert_eq!(f.pick("tasks.clone"), None);
    }

    #[test]
    fn random_faults_follow_rate_and_seed() {
        let cfg = FaultConfig {
            fail_rate: 0.25,
            seed: Some(7),
            ..FaultConfig::default()
        };
        let draw = |cfg: &FaultConfig| {
            let mut f = Faults::default();
            f.set(cfg.clone());
            (0..2000).filter(|_| f.pick("x").is_some()).count()
        };
        let n = draw(&cfg);
        assert!((400..600).contains(&n), "{n}");
        assert_eq!(n, draw(&cfg), "same seed, same faults");
    }
}
