//! The scheduling core. Pure: no I/O, no clock (time is always passed in).

/// The version of the product, reported by `/api/health`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
