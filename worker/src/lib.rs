//! The Cloudflare Worker: a thin shell around `scheduler_core`.
//!
//! It only moves bytes: HTTP requests are parsed and dispatched in [`api`], the
//! minute cron event is handled in [`tick`] (ClearML calls in [`clearml`]), KV
//! layout in [`store`]; every decision is made by the pure `scheduler_core`
//! crate. The built app (public/) is served by the Workers static-assets layer
//! before this code runs; only `/api/*` and `/embed/*` reach it.

mod api;
mod clearml;
mod store;
mod tick;

use worker::{event, Context, Env, Request, Response, Result, ScheduleContext, ScheduledEvent};

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    api::handle(req, &env).await
}

#[event(scheduled)]
async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    if let Err(e) = tick::run(&event, &env).await {
        worker::console_error!("tick failed: {e}");
    }
}
