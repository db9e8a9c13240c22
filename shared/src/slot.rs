//! [`SlotKey`]: the identity of one firing of one task, and its ClearML tag.
//!
//! A slot is (instance id, task item id, fire instant). The worker puts [`SlotKey::tag`] on the
//! clone as a ClearML system tag *before* enqueueing it, so that after a crash between "clone"
//! and "record in KV" the next tick can find the clone by tag instead of launching a second one.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::hash::hash64;
use crate::Instant;

/// One firing of one scheduled task of one instance, or one rerun of it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SlotKey {
    pub instance: String,
    pub item: String,
    /// The scheduled fire instant (always on a whole minute).
    pub fire: Instant,
    /// 0 for the slot's first run; n for its n-th rerun after a failed run (the task's
    /// `retry`). Each rerun is launched exactly once, under a tag of its own.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rerun: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl SlotKey {
    pub fn new(instance: impl Into<String>, item: impl Into<String>, fire: Instant) -> SlotKey {
        SlotKey {
            instance: instance.into(),
            item: item.into(),
            fire,
            rerun: 0,
        }
    }

    /// The same slot's `n`-th rerun.
    pub fn rerun(mut self, n: u32) -> SlotKey {
        self.rerun = n;
        self
    }

    /// The stable tag: `sched-v1:{h}:{m}`, where `h` is 16 lowercase hex digits of a fixed
    /// 64-bit hash of (instance id, item id) and `m` is the fire instant in whole minutes since
    /// the Unix epoch, in decimal; a rerun adds `r{n}` (`sched-v1:{h}:{m}r2`). At most 39
    /// characters whatever the ids' length, so it fits a ClearML tag; the format and the hash
    /// are pinned by a test and never change.
    pub fn tag(&self) -> String {
        let base = format!(
            "sched-v1:{:016x}:{}",
            hash64(&[self.instance.as_bytes(), self.item.as_bytes()]),
            self.fire.unix_minutes()
        );
        match self.rerun {
            0 => base,
            n => format!("{base}r{n}"),
        }
    }

    /// The slot a tag names, given the tag prefix of its (instance, item): the fire minute and
    /// the rerun (`28928540r2`).
    pub fn parse_tag_rest(rest: &str) -> Option<(Instant, u32)> {
        let (minutes, rerun) = match rest.split_once('r') {
            Some((m, r)) => (m, r.parse().ok()?),
            None => (rest, 0),
        };
        let minutes: i64 = minutes.parse().ok()?;
        Some((Instant::from_unix_seconds(minutes.checked_mul(60)?), rerun))
    }

    /// The tag prefix shared by every slot of this (instance, item): for listing its clones.
    pub fn item_tag_prefix(instance: &str, item: &str) -> String {
        format!(
            "sched-v1:{:016x}:",
            hash64(&[instance.as_bytes(), item.as_bytes()])
        )
    }
}

impl fmt::Display for SlotKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}@{}", self.instance, self.item, self.fire)?;
        if self.rerun > 0 {
            write!(f, " rerun {}", self.rerun)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_is_pinned_and_short() {
        let s = SlotKey::new(
            "inst",
            "retrain",
            Instant::from_utc(2025, 1, 1, 6, 20).unwrap(),
        );
        assert_eq!(
            s.tag(),
            format!("sched-v1:{:016x}:28928540", hash64(&[b"inst", b"retrain"]))
        );
        assert_eq!(hash64(&[b"inst", b"retrain"]), PINNED);
        let long = SlotKey::new("i".repeat(255), "x".repeat(255), Instant::MAX);
        assert!(long.tag().len() <= 36, "{}", long.tag());
        assert!(s
            .tag()
            .starts_with(&SlotKey::item_tag_prefix("inst", "retrain")));
        let rerun = s.clone().rerun(2);
        assert_eq!(rerun.tag(), format!("{}r2", s.tag()));
        assert_ne!(
            rerun.tag(),
            s.tag(),
            "a rerun's clone is never the first run's"
        );
        assert!(long.clone().rerun(10).tag().len() <= 39);
        let prefix = SlotKey::item_tag_prefix("inst", "retrain");
        for k in [s.clone(), rerun] {
            let rest = k.tag().strip_prefix(&prefix).unwrap().to_string();
            assert_eq!(SlotKey::parse_tag_rest(&rest), Some((k.fire, k.rerun)));
        }
        assert_eq!(SlotKey::parse_tag_rest("12x"), None);
    }

    const PINNED: u64 = 0x103d_2b87_6721_60e3;
}
