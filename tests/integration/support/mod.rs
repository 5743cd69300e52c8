//! Helpers for tests that need a running server.

pub(crate) mod serve;
