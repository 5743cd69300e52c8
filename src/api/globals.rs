//! Global functions: `arg`, `backend`, `account_id`, `region`, `sleep`, `now`, `confirm`.

use rhai::plugin::*;

use rhai::{Array, Dynamic};

use crate::errors::Error;

fn convert(name: &str, text: &str, default: &Dynamic) -> Result<Dynamic, Error> {
    let bad = |wanted: &str| {
        Error::invalid_argument(format!("--var {name}={text}: `{text}` is not {wanted}"))
    };
    if default.is_int() {
        return text
            .trim()
            .parse::<i64>()
            .map(Into::into)
            .map_err(|_| bad("an integer"));
    }
    if default.is_float() {
        return text
            .trim()
            .parse::<f64>()
            .map(Into::into)
            .map_err(|_| bad("a number"));
    }
    if default.is_bool() {
        return match text.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" | "on" => Ok(true.into()),
            "false" | "no" | "0" | "off" => Ok(false.into()),
            _ => Err(bad("true or false")),
        };
    }
    if default.is_array() {
        let items = default.clone().into_array().unwrap_or_default();
        let element = items.first().cloned().unwrap_or_else(|| "".into());
        let parts: Array = text
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| convert(name, p, &element))
            .collect::<Result<_, _>>()?;
        return Ok(parts.into());
    }
    if default.is_string() || default.is_unit() {
        return Ok(text.to_string().into());
    }
    Err(Error::invalid_argument(format!(
        "arg(\"{name}\", ..): a default of type {} cannot be given on the command line",
        default.type_name()
    )))
}

#[export_module]
pub mod globals_api {
    use std::io::IsTerminal;

    use rhai::{Dynamic, NativeCallContext};

    use super::convert;
    use crate::api::{RhaiResult, duration_of, support, time_of};
    use crate::errors::Error;

    /// The value of `--var NAME=VALUE`, converted to the type of `default` (integer, float,
    /// bool, string, or an array from a comma-separated list); `default` when not given.
    ///
    /// ```rhai
    /// let tier = arg("tier", "STANDARD");
    /// let days = arg("days", 1);
    /// ```
    #[rhai_fn(return_raw)]
    pub fn arg(ctx: NativeCallContext, name: &str, default: Dynamic) -> RhaiResult<Dynamic> {
        support::call(&ctx, |host| {
            host.used_vars.borrow_mut().insert(name.to_string());
            match host.vars.get(name) {
                None => Ok(default),
                Some(text) => Ok(convert(name, text, &default)?),
            }
        })
    }

    /// Dollars as people read them: cents, thousands separators, `<$0.01` for a cost that is
    /// not zero but rounds to it.
    ///
    /// ```rhai
    /// print(usd(1234.5678));   // $1,234.57
    /// ```
    pub fn usd(amount: f64) -> String {
        crate::output::usd(amount)
    }

    /// A count as people read it, with thousands separators.
    ///
    /// ```rhai
    /// print(`${thousands(1234567)} objects`);   // 1,234,567 objects
    /// ```
    pub fn thousands(n: i64) -> String {
        let digits = crate::readiness::thousands(n.unsigned_abs());
        if n < 0 { format!("-{digits}") } else { digits }
    }

    /// `"sim"` or `"aws"`.
    ///
    /// ```rhai
    /// if backend() == "sim" { print("rehearsal"); }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn backend(ctx: NativeCallContext) -> RhaiResult<String> {
        support::call(&ctx, |host| Ok(host.backend.kind().to_string()))
    }

    /// The AWS account id in use.
    ///
    /// ```rhai
    /// print(account_id());
    /// ```
    #[rhai_fn(return_raw)]
    pub fn account_id(ctx: NativeCallContext) -> RhaiResult<String> {
        support::call(&ctx, |host| Ok(host.backend.account_id()?))
    }

    /// The region in use.
    ///
    /// ```rhai
    /// print(region());
    /// ```
    #[rhai_fn(return_raw)]
    pub fn region(ctx: NativeCallContext) -> RhaiResult<String> {
        support::call(&ctx, |host| Ok(host.backend.region()))
    }

    /// Waits for a duration (`"90s"`, `"15m"`, `"5h"`, `"2d"` or seconds). On the simulator
    /// the virtual clock jumps forward instead.
    ///
    /// ```rhai
    /// sleep("5h");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn sleep(ctx: NativeCallContext, duration: Dynamic) -> RhaiResult<()> {
        support::call(&ctx, |host| {
            let duration = duration_of(&duration)?;
            if host.backend.clock_is_virtual() {
                return Ok(host.backend.sleep(duration)?);
            }
            // Real time: sleep in short steps so Ctrl-C stops a long sleep within a moment.
            let until = std::time::Instant::now() + duration;
            loop {
                let left = until.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    return Ok(());
                }
                if host.interrupted.load(std::sync::atomic::Ordering::Relaxed) {
                    return Err(Error::new("Interrupted", "interrupted while sleeping").into());
                }
                host.backend
                    .sleep(left.min(std::time::Duration::from_millis(250)))?;
            }
        })
    }

    /// The current time as an RFC 3339 string (virtual time on the simulator).
    ///
    /// ```rhai
    /// print(now());
    /// ```
    #[rhai_fn(return_raw)]
    pub fn now(ctx: NativeCallContext) -> RhaiResult<String> {
        support::call(&ctx, |host| Ok(time_of(host.backend.now()?).to_string()))
    }

    /// Asks a yes/no question on a terminal. Without a terminal the answer is `true` only when
    /// s3thaw runs with `--yes` (and `--yes` always answers `true`).
    ///
    /// ```rhai
    /// if !confirm("Start the restore job?") { throw "stopped by the operator"; }
    /// ```
    #[rhai_fn(return_raw)]
    pub fn confirm(ctx: NativeCallContext, question: &str) -> RhaiResult<bool> {
        support::call(&ctx, |host| {
            if host.yes {
                return Ok(true);
            }
            if !std::io::stdin().is_terminal() {
                eprintln!("{question} [y/N] no (not a terminal; run with --yes to agree)");
                return Ok(false);
            }
            Ok(crate::api::ask_terminal(question)?)
        })
    }
}
