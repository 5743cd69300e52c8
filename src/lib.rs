//! s3thaw: bulk restores of archived Amazon S3 objects, scripted in Rhai.
//!
//! The host is thin: `engine` builds a Rhai engine with the script API (`api`), which talks to a
//! `backend` (the embedded simulator or AWS). `formats` reads and writes AWS's file formats,
//! `policy` evaluates IAM policies; both are shared by the simulator and the API.

// Errors are values on the cold path; their size (code, message and context strings) is fine.
#![allow(clippy::result_large_err)]

pub mod api;
pub mod app;
pub mod backend;
pub mod cli;
pub mod docs;
pub mod engine;
pub mod errors;
pub mod formats;
pub mod hints;
pub mod html;
pub mod inspect;
pub mod ops;
pub mod output;
pub mod playbooks;
pub mod policy;
pub mod pricing;
pub mod progress;
pub mod readiness;
pub mod repl;
pub mod serve;
pub mod sigv4;
pub mod timefmt;

pub use errors::{Error, Result};
