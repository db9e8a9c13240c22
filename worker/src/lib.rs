//! The Cloudflare Worker: a thin shell around `scheduler_core`.
//!
//! It only moves bytes: HTTP requests are parsed and dispatched in [`api`], the minute cron
//! event in [`cron`] (and the queue of instance ticks it hands on), each instance lives in its
//! Durable Object ([`instance`]: its rows, its API routes, its ticks, its ClearML calls), the
//! list of instances in the [`directory`] object; storage in [`store`]; the dead-man's switch
//! (`/api/health`'s lateness, the heartbeat ping) in [`heartbeat`]. Every decision is made
//! by the pure `scheduler_core` crate. The built app (public/) is served by the Workers
//! static-assets layer before this code runs; only `/api/*` and `/embed/*` reach it.

mod api;
mod clearml;
mod cron;
mod directory;
mod heartbeat;
mod instance;
mod outbound;
mod settings;
mod store;

pub use directory::Directory;
pub use instance::Instance;

use worker::{
    event, Context, Env, MessageBatch, Request, Response, Result, ScheduleContext, ScheduledEvent,
};

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    api::handle(req, &env).await
}

#[event(scheduled)]
async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    if let Err(e) = cron::run(&event, &env).await {
        worker::console_error!("tick failed: {e}");
    }
}

#[event(queue)]
async fn queue(batch: MessageBatch<cron::TickBatch>, env: Env, _ctx: Context) -> Result<()> {
    let outcome = if batch.queue().ends_with("-dlq") {
        cron::dead_letters(batch).await
    } else {
        cron::consume(batch, &env).await
    };
    if let Err(e) = outcome {
        worker::console_error!("queue batch failed: {e}");
    }
    Ok(())
}
