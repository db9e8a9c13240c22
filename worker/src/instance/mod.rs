//! `Instance`: the Durable Object of one scheduler instance (named by the instance id). It
//! holds the instance's rows (configuration, runtime state, ClearML id cache; see `store.rs`)
//! and is their only writer: the API handlers for the instance and its ticks run here, so
//! every read-modify-write is a synchronous block of the one object, and no write is lost.
//!
//! | request | from | what |
//! |---|---|---|
//! | `/api/...` (as the user sent it) | the worker's router, after auth | the instance's API routes ([`crate::api::handle_in_instance`]) |
//! | `POST /internal/tick?now=<ms>` | the cron or a queue consumer | one tick ([`tick::run`]); answers a [`TickReport`] |
//! | alarm | the object itself | a save the Directory has not confirmed ([`crate::api::relist`]), the launches a tick left when its call budget ran out, then the notifications due ([`deliver`]) |

mod calls;
pub mod deliver;
pub mod tick;

use std::cell::{Cell, RefCell};

use worker::{
    durable_object, DurableObject, Env, Method, Request, RequestInit, Response, Result, State,
    Storage,
};

use crate::api::{self, Here};
use crate::store::{Docs, Runtime};
pub use tick::TickReport;

/// The binding (wrangler.toml `[[durable_objects.bindings]] name`).
pub const BINDING: &str = "INSTANCE";
/// The header that asks the object to create the instance from the request's body.
const CREATE: &str = "x-scheduler-create";

#[durable_object]
pub struct Instance {
    state: State,
    env: Env,
    /// Random per incarnation of the object: the owner of the launch claims it makes.
    incarnation: String,
    runtime: RefCell<Option<Runtime>>,
    /// The launches this incarnation is making right now.
    live: RefCell<std::collections::BTreeSet<tick::LiveKey>>,
    /// Directory calls of the alarm that failed in a row (their retries back off).
    relist_failures: Cell<u32>,
}

impl DurableObject for Instance {
    fn new(state: State, env: Env) -> Self {
        let incarnation = api::random_hex(8);
        Instance {
            state,
            env,
            incarnation,
            runtime: RefCell::new(None),
            live: RefCell::new(Default::default()),
            relist_failures: Cell::new(0),
        }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        let docs = Docs::open(self.state.storage().sql())?;
        if req.path() == "/internal/tick" {
            let now = req
                .url()?
                .query_pairs()
                .find(|(k, _)| k == "now")
                .and_then(|(_, v)| v.parse::<i64>().ok())
                .map(scheduler_core::Instant::from_unix_millis);
            let report = self.tick(&docs, now).await?;
            return Response::from_json(&report);
        }
        let create = req.headers().get(CREATE)?;
        if !matches!(req.method(), Method::Get | Method::Head) {
            // A request that may save: the alarm that makes sure the Directory hears of the
            // save is stored before the save is (see `api::tell_directory`).
            if let Err(e) = self.wake_in(api::RELIST_CHECK).await {
                worker::console_warn!("setting the alarm before a save failed: {e}");
            }
        }
        let here = Here {
            docs: &docs,
            env: &self.env,
            storage: self.state.storage(),
            runtime: &self.runtime,
        };
        let resp = api::handle_in_instance(req, &here, create.as_deref()).await;
        if create.is_none()
            && docs
                .get::<crate::store::ConfigRecord>(crate::store::CONFIG)?
                .is_none()
        {
            // Deleted (or never here): forget the runtime kept in memory.
            *self.runtime.borrow_mut() = None;
        }
        Ok(resp)
    }

    async fn alarm(&self) -> Result<Response> {
        let docs = Docs::open(self.state.storage().sql())?;
        let relisted = api::relist(&docs, &self.env).await?;
        if relisted == api::Relisted::Failed {
            let failures = self.relist_failures.get();
            self.relist_failures.set(failures.saturating_add(1));
            self.wake_in(api::relist_delay(failures + 1)).await?;
        } else {
            self.relist_failures.set(0);
        }
        // The alarm's tick carries on what a tick left: launches (not while paused: they wait
        // for the resume), clean-ups, notifications to route. An alarm set for nothing of that
        // (a save's check that the Directory heard of it) makes no tick, so no ClearML call.
        let paused = docs
            .get::<crate::store::ConfigHead>(crate::store::CONFIG)?
            .is_none_or(|r| r.paused);
        // A runtime it cannot read: the tick says why.
        let left_by_a_tick = self
            .ctx(&docs)
            .with_runtime(|r| {
                (!paused && !r.state.unclaimed().is_empty())
                    || !r.unverified.is_empty()
                    || !r.outbox.is_quiet()
            })
            .unwrap_or(true);
        if left_by_a_tick && relisted == api::Relisted::Told {
            // This invocation made a call already: the tick gets one of its own, with its whole
            // call budget (the next alarm finds the Directory told). After a failed call it
            // ticks here: waiting for the Directory would hold the launches.
            self.wake_in(std::time::Duration::from_millis(10)).await?;
            return Response::ok("");
        }
        let report = if left_by_a_tick {
            self.tick(&docs, None).await?
        } else {
            TickReport::default()
        };
        if report.launched > 0 || report.left > 0 {
            worker::console_log!(
                "alarm: launched={} calls={} left={}",
                report.launched,
                report.calls,
                report.left
            );
        }
        if report.left == 0 {
            // Launches first: deliveries only once none is waiting for this alarm.
            let next = deliver::deliver(&self.ctx(&docs)).await?;
            if let Some(delay) = next {
                self.wake_in(delay).await?;
            }
        }
        Response::ok("")
    }
}

impl Instance {
    fn ctx<'a>(&'a self, docs: &'a Docs) -> tick::Ctx<'a> {
        tick::Ctx {
            docs,
            env: &self.env,
            incarnation: &self.incarnation,
            runtime: &self.runtime,
            live: &self.live,
        }
    }

    async fn tick(&self, docs: &Docs, now: Option<scheduler_core::Instant>) -> Result<TickReport> {
        let ctx = self.ctx(docs);
        let report = tick::run(&ctx, now).await?;
        if report.left > 0 {
            // The rest in an invocation of its own, with a call budget of its own.
            self.wake_in(std::time::Duration::from_millis(10)).await?;
        } else {
            // News for the channels, or deliveries waiting: the alarm sends them, so no
            // receiver ever delays this tick.
            let wait = self.runtime.borrow().as_ref().and_then(|runtime| {
                let outbox = &runtime.outbox;
                if !outbox.has_news() && outbox.next_due().is_none() {
                    return None;
                }
                let now = deliver::clock(runtime.state.last_tick);
                let due = outbox.next_due().unwrap_or(now);
                Some((due.unix_millis() - now.unix_millis()).max(10) as u64)
            });
            if let Some(ms) = wait {
                self.wake_in(std::time::Duration::from_millis(ms)).await?;
            }
        }
        Ok(report)
    }

    async fn wake_in(&self, delay: std::time::Duration) -> Result<()> {
        wake_in(&self.state.storage(), delay).await
    }
}

/// Sets an object's alarm `delay` from now, unless it is already set to go off sooner.
pub async fn wake_in(storage: &Storage, delay: std::time::Duration) -> Result<()> {
    let at = js_sys::Date::now() as i64 + delay.as_millis() as i64;
    if let Some(current) = storage.get_alarm().await? {
        if current <= at && current > js_sys::Date::now() as i64 {
            return Ok(());
        }
    }
    // An offset from now (workers-rs reads a Duration as milliseconds from now).
    storage.set_alarm(delay).await
}

/// Forwards a request to instance `id`'s object (`create`: it is a new instance made from the
/// body). The object's answer goes back unchanged (it carries its own security headers).
pub async fn forward(req: Request, env: &Env, id: &str, create: Option<&str>) -> api::Answer {
    let stub = env.durable_object(BINDING)?.id_from_name(id)?.get_stub()?;
    let headers = req.headers().clone();
    // Only the worker asks for a create; a client's header of that name is dropped.
    headers.delete(CREATE)?;
    if let Some(new_id) = create {
        headers.set(CREATE, new_id)?;
    }
    let mut init = RequestInit::new();
    let method = req.method();
    // A GET or HEAD may arrive with a body; a request made with one is refused, and it means nothing.
    let bodiless = matches!(method, worker::Method::Get | worker::Method::Head);
    init.with_method(method).with_headers(headers);
    if let (Some(body), false) = (req.inner().body(), bodiless) {
        init.with_body(Some(body.into()));
    }
    let inner = Request::new_with_init(req.url()?.as_ref(), &init)?;
    Ok(stub.fetch_with_request(inner).await?)
}

/// Ticks instance `id` at `now` (epoch ms) in its object.
pub async fn tick(env: &Env, id: &str, now_ms: i64) -> Result<TickReport> {
    let stub = env.durable_object(BINDING)?.id_from_name(id)?.get_stub()?;
    let mut init = RequestInit::new();
    init.with_method(worker::Method::Post);
    let req = Request::new_with_init(
        &format!("https://instance/internal/tick?now={now_ms}"),
        &init,
    )?;
    stub.fetch_with_request(req).await?.json().await
}
