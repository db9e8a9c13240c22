//! Test support: the ClearML stand-in, the harness that runs the worker under
//! workerd, headless Chromium, and a receiver for what the scheduler calls out to.
pub mod api_client;
pub mod browser;
pub mod harness;
pub mod receiver;
pub mod standin;
