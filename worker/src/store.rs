//! KV keys and their one writer each.
//!
//! | key         | written by | what                                   |
//! |-------------|------------|----------------------------------------|
//! | `heartbeat` | the tick   | when the scheduled handler last ran    |

use serde::{Deserialize, Serialize};
use worker::{Env, KvStore, Result};

/// The KV namespace binding name (wrangler.toml `[[kv_namespaces]] binding`).
pub const BINDING: &str = "SCHEDULER";
const HEARTBEAT: &str = "heartbeat";

pub fn kv(env: &Env) -> Result<KvStore> {
    env.kv(BINDING)
}

/// What the last scheduled event was, so `/api/health` can tell the cron is alive.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Heartbeat {
    /// The event's scheduled time (RFC 3339, UTC).
    pub scheduled_time: String,
    /// The cron pattern that fired.
    pub cron: String,
    /// When the handler actually ran (RFC 3339, UTC).
    pub ran_at: String,
}

pub async fn read_heartbeat(kv: &KvStore) -> Result<Option<Heartbeat>> {
    Ok(kv.get(HEARTBEAT).json().await?)
}

pub async fn write_heartbeat(kv: &KvStore, beat: &Heartbeat) -> Result<()> {
    kv.put(HEARTBEAT, serde_json::to_string(beat)?)?
        .execute()
        .await?;
    Ok(())
}
