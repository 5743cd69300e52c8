//! Typed workflows over a [`Backend`](crate::backend::Backend): what the script bindings
//! (`api`), the CLI's subcommands and the tests call alike. No Rhai types here, and nothing
//! here imports `api`, `cli` or `app`.

pub mod copy;
pub mod cost;
pub mod jobs;
pub mod manifest;
pub mod pace;
pub mod preflight;
pub mod report;
pub mod restore;

/// Progress of long work, shown by the caller (the terminal's bars live in `crate::progress`),
/// and the caller's Ctrl-C, polled between steps.
pub trait Progress {
    /// `done` units of the work are finished.
    fn set(&mut self, done: u64);
    /// Whether the caller asked to stop.
    fn interrupted(&self) -> bool {
        false
    }
}
