//! Test support: the ClearML stand-in, the harness that runs the worker under
//! workerd, and headless Chromium.
pub mod api_client;
pub mod browser;
pub mod harness;
pub mod standin;
