//! The ClearML stand-in.
