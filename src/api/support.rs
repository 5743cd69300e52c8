//! The one boundary helper every binding goes through.
//!
//! A binding's body is ordinary Rust returning [`RhaiResult`]; [`call`] finds the [`Host`] of the
//! engine running the call and gives any error the position of the script's call. The position
//! needs doing here because rhai (1.27) gives none to errors raised by module-qualified native
//! functions: without it an uncaught `s3::get_object` error could not point at its line.
//! [`pure`] does the same for bindings that need no host.

use rhai::NativeCallContext;

use crate::api::{Host, RhaiResult, host};

/// Runs a binding's body with the host, positioning its errors at the script's call.
pub fn call<T>(
    ctx: &NativeCallContext,
    body: impl FnOnce(&Host) -> RhaiResult<T>,
) -> RhaiResult<T> {
    let pos = ctx.call_position();
    let result = match host(ctx) {
        Ok(host) => body(&host),
        Err(e) => Err(e.into()),
    };
    at(pos, result)
}

/// Runs a binding's body that needs no host, positioning its errors at the script's call.
pub fn pure<T>(ctx: &NativeCallContext, body: impl FnOnce() -> RhaiResult<T>) -> RhaiResult<T> {
    at(ctx.call_position(), body())
}

/// Gives an error without a position the position `pos`.
pub fn at<T>(pos: rhai::Position, result: RhaiResult<T>) -> RhaiResult<T> {
    result.map_err(|mut e| {
        if e.position().is_none() {
            e.set_position(pos);
        }
        e
    })
}
