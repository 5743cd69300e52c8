//! Helpers for tests that need a running server.

pub mod serve;
