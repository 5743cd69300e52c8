//! Typed workflows over a [`Backend`](crate::backend::Backend): what the script bindings
//! (`api`), the CLI's subcommands and the tests call alike. No Rhai types here.

pub mod restore;
