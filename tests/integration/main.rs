//! The integration tests, one binary of many modules (as casey/just does): each former
//! `tests/*.rs` binary linked the whole AWS SDK, so ten of them cost minutes per build.
//! Run one area with `cargo test --test integration contract::`.

mod common;
mod support;

mod awscli;
mod bodies;
mod cited_tests;
mod cli;
mod clients;
mod contract;
mod copy;
mod doc_examples;
mod estimate;
mod formats;
mod fuzz;
mod golden;
mod hostile;
mod html;
mod jobs;
mod repl;
mod restore;
mod script_limits;
mod simulator;
mod stands_alone;
mod tracking;
mod tutorial;
