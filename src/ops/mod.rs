//! Typed workflows: what the script bindings (`crate::api`), the CLI subcommands and tests call
//! alike. Written against `&dyn Backend` and plain Rust types; no script (Rhai) types here, and
//! nothing here imports `api`, `cli` or `app`.

pub mod cost;
pub mod jobs;
pub mod manifest;
pub mod objects;
pub mod preflight;
pub mod report;

/// Progress of long work, shown by the caller: the terminal's bars live in `crate::progress`.
pub trait Progress {
    /// `done` units of the work are finished.
    fn set(&mut self, done: u64);
}

/// Progress nobody watches.
pub struct NoProgress;

impl Progress for NoProgress {
    fn set(&mut self, _done: u64) {}
}
