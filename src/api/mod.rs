//! The script API: one `#[export_module]` per area, registered as static modules `s3::`,
//! `batch::`, `iam::`, `manifest::`, `report::`, `sim::`, plus the global functions.
//!
//! Every function reaches the backend through the [`Host`] stored in the engine's tag, takes its
//! options as a map checked by [`Opts`] (unknown keys are errors), and throws [`Error`] maps.

pub mod batch;
pub mod cost;
pub mod globals;
pub mod iam;
pub mod manifest;
pub mod preflight;
pub mod report;
pub mod restore;
pub mod s3;
pub mod sim;
pub mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use rhai::{
    Array, Dynamic, Engine, EvalAltResult, ImmutableString, Map, Module, NativeCallContext, Shared,
};
use serde_json::Value as Json;

use crate::backend::Backend;
use crate::errors::{Error, Result};

/// What a script runs against: the backend and the run's settings.
pub struct Host {
    pub backend: Box<dyn Backend>,
    /// `--var NAME=VALUE` pairs.
    pub vars: BTreeMap<String, String>,
    /// Names `arg()` asked for, to warn about `--var`s no script used (typos).
    pub used_vars: std::cell::RefCell<BTreeSet<String>>,
    /// `--yes`: `confirm()` answers yes without asking.
    pub yes: bool,
    /// No progress output.
    pub quiet: bool,
    /// Set by Ctrl-C; long waits check it.
    pub interrupted: Arc<AtomicBool>,
}

/// The cloneable handle stored in the engine's default tag.
#[derive(Clone)]
pub struct HostRef(pub Rc<Host>);

/// The host of the engine running this call.
pub fn host(ctx: &NativeCallContext) -> Result<Rc<Host>> {
    ctx.tag()
        .and_then(|tag| tag.clone().try_cast::<HostRef>())
        .map(|h| h.0)
        .ok_or_else(|| Error::internal("the engine has no s3thaw host"))
}

/// Result of a function exported to scripts.
pub type RhaiResult<T> = std::result::Result<T, Box<EvalAltResult>>;

/// The exported modules, built once: `exported_module!` walks every function's metadata, and
/// each engine (a run, every REPL `:reset`, every test) used to build them all again. Without
/// rhai's `sync` feature a `Shared<Module>` is an `Rc`, so the cache is per thread.
struct Modules {
    globals: Shared<Module>,
    /// The static modules, as scripts name them.
    named: Vec<(&'static str, Shared<Module>)>,
    /// Methods of the host-backed types, in the global namespace as Rhai's methods must be.
    methods: Vec<Shared<Module>>,
}

impl Modules {
    fn build() -> Modules {
        let mut batch = rhai::exported_module!(batch::batch_api);
        batch.combine_flatten(rhai::exported_module!(preflight::preflight_api));
        Modules {
            globals: rhai::exported_module!(globals::globals_api).into(),
            named: vec![
                ("s3", rhai::exported_module!(s3::s3_api).into()),
                ("iam", rhai::exported_module!(iam::iam_api).into()),
                ("batch", batch.into()),
                (
                    "manifest",
                    rhai::exported_module!(manifest::manifest_api).into(),
                ),
                ("report", rhai::exported_module!(report::report_api).into()),
                ("sim", rhai::exported_module!(sim::sim_api).into()),
                (
                    "restore",
                    rhai::exported_module!(restore::restore_api).into(),
                ),
                ("cost", rhai::exported_module!(cost::cost_api).into()),
            ],
            methods: vec![
                rhai::exported_module!(manifest::manifest_methods).into(),
                rhai::exported_module!(report::report_methods).into(),
            ],
        }
    }
}

thread_local! {
    static MODULES: Modules = Modules::build();
}

/// Registers every area with `engine`.
pub fn register(engine: &mut Engine) {
    // `new` is reserved in Rhai, but the API promises `manifest::new()`: let it be a name.
    #[allow(deprecated)]
    engine.on_parse_token(|token, _, _| match token {
        rhai::Token::Reserved(word) if word.as_str() == "new" => rhai::Token::Identifier(word),
        other => other,
    });
    MODULES.with(|modules| {
        engine.register_global_module(modules.globals.clone());
        // `sleep(3)` and `sleep(0.5)` must be s3thaw's `sleep` (virtual clock, Ctrl-C), not
        // Rhai's built-in, which an exact integer or float match would pick otherwise.
        rhai::FuncRegistration::new("sleep")
            .with_params_info(["seconds: int"])
            .with_comments(["/// Waits `seconds` (an integer): the virtual clock on the simulator.\n///\n/// ```rhai\n/// sleep(3);\n/// ```"])
            .register_into_engine(engine, |ctx: rhai::NativeCallContext, s: rhai::INT| {
                globals::globals_api::sleep(ctx, Dynamic::from(s))
            });
        rhai::FuncRegistration::new("sleep")
            .with_params_info(["seconds: float"])
            .with_comments(["/// Waits `seconds` (a fraction): the virtual clock on the simulator.\n///\n/// ```rhai\n/// sleep(0.5);\n/// ```"])
            .register_into_engine(engine, |ctx: rhai::NativeCallContext, s: rhai::FLOAT| {
                globals::globals_api::sleep(ctx, Dynamic::from(s))
            });
        for (name, module) in &modules.named {
            engine.register_static_module(*name, module.clone());
        }
        for module in &modules.methods {
            engine.register_global_module(module.clone());
        }
    });
}

/// An options map being read: each key is taken once, and [`Opts::finish`] refuses the rest.
pub struct Opts {
    function: &'static str,
    map: Map,
    known: Vec<&'static str>,
}

impl Opts {
    pub fn new(function: &'static str, map: Map) -> Opts {
        Opts {
            function,
            map,
            known: Vec::new(),
        }
    }

    pub fn empty(function: &'static str) -> Opts {
        Opts::new(function, Map::new())
    }

    /// The value of `key`, with `()` meaning absent.
    pub fn take(&mut self, key: &'static str) -> Option<Dynamic> {
        self.known.push(key);
        self.map.remove(key).filter(|v| !v.is_unit())
    }

    fn wrong_type(&self, key: &str, wanted: &str, value: &Dynamic) -> Error {
        Error::invalid_argument(format!(
            "{}: option `{key}` must be {wanted}, not {}",
            self.function,
            value.type_name()
        ))
    }

    pub fn string(&mut self, key: &'static str) -> Result<Option<String>> {
        match self.take(key) {
            None => Ok(None),
            Some(v) if v.is_string() => Ok(Some(v.to_string())),
            Some(v) => Err(self.wrong_type(key, "a string", &v)),
        }
    }

    pub fn int(&mut self, key: &'static str) -> Result<Option<i64>> {
        match self.take(key) {
            None => Ok(None),
            Some(v) => v
                .as_int()
                .map(Some)
                .map_err(|_| self.wrong_type(key, "an integer", &v)),
        }
    }

    pub fn bool(&mut self, key: &'static str) -> Result<Option<bool>> {
        match self.take(key) {
            None => Ok(None),
            Some(v) => v
                .as_bool()
                .map(Some)
                .map_err(|_| self.wrong_type(key, "true or false", &v)),
        }
    }

    pub fn map(&mut self, key: &'static str) -> Result<Option<Map>> {
        match self.take(key) {
            None => Ok(None),
            Some(v) if v.is_map() => Ok(v.try_cast::<Map>()),
            Some(v) => Err(self.wrong_type(key, "a map", &v)),
        }
    }

    pub fn array(&mut self, key: &'static str) -> Result<Option<Array>> {
        match self.take(key) {
            None => Ok(None),
            Some(v) if v.is_array() => Ok(v.try_cast::<Array>()),
            Some(v) => Err(self.wrong_type(key, "an array", &v)),
        }
    }

    /// A value spelled as a string and parsed (storage classes, tiers, statuses...).
    pub fn parse<T: FromStr<Err = Error>>(&mut self, key: &'static str) -> Result<Option<T>> {
        let function = self.function;
        self.string(key)?
            .map(|s| {
                s.parse().map_err(|e: Error| {
                    Error::invalid_argument(format!("{function}: option `{key}`: {}", e.message))
                })
            })
            .transpose()
    }

    /// An array of strings, each parsed.
    pub fn parse_list<T: FromStr<Err = Error>>(
        &mut self,
        key: &'static str,
    ) -> Result<Option<Vec<T>>> {
        let function = self.function;
        let Some(items) = self.array(key)? else {
            return Ok(None);
        };
        items
            .into_iter()
            .map(|item| {
                let text = item.into_immutable_string().map_err(|t| {
                    Error::invalid_argument(format!(
                        "{function}: option `{key}` must hold strings, not {t}"
                    ))
                })?;
                text.parse().map_err(|e: Error| {
                    Error::invalid_argument(format!("{function}: option `{key}`: {}", e.message))
                })
            })
            .collect::<Result<Vec<T>>>()
            .map(Some)
    }

    /// A duration: `"90s"`, `"15m"`, `"5h"`, `"2d"` or an integer number of seconds.
    pub fn duration(&mut self, key: &'static str) -> Result<Option<Duration>> {
        match self.take(key) {
            None => Ok(None),
            Some(v) => duration_of(&v).map(Some).map_err(|e| {
                Error::invalid_argument(format!("{}: option `{key}`: {}", self.function, e.message))
            }),
        }
    }

    /// Refuses keys nobody took: a typo must never pass silently.
    pub fn finish(self) -> Result<()> {
        if self.map.is_empty() {
            return Ok(());
        }
        let unknown: Vec<&str> = self.map.keys().map(|k| k.as_str()).collect();
        let mut known = self.known.clone();
        known.sort_unstable();
        known.dedup();
        Err(Error::invalid_argument(format!(
            "{}: unknown option{} `{}`; known options: {}",
            self.function,
            if unknown.len() > 1 { "s" } else { "" },
            unknown.join("`, `"),
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )))
    }
}

/// A duration given as a string with a unit or an integer number of seconds.
pub fn duration_of(value: &Dynamic) -> Result<Duration> {
    if let Ok(seconds) = value.as_int() {
        return u64::try_from(seconds)
            .ok()
            .filter(|s| *s <= crate::timefmt::MAX_DURATION_SECS)
            .map(Duration::from_secs)
            .ok_or_else(|| {
                Error::invalid_argument(format!(
                    "a duration must be 0 to {} seconds (100 years), not {seconds}",
                    crate::timefmt::MAX_DURATION_SECS
                ))
            });
    }
    if let Ok(seconds) = value.as_float() {
        return crate::timefmt::duration_from_secs(seconds);
    }
    if value.is_string() {
        return crate::timefmt::parse_duration(&value.to_string());
    }
    Err(Error::invalid_argument(format!(
        "a duration is a string like \"15m\" or an integer of seconds, not {}",
        value.type_name()
    )))
}

/// A script value (map or JSON text) as JSON, for policy documents.
pub fn json_of(what: &str, value: &Dynamic) -> Result<Json> {
    if value.is_string() {
        return serde_json::from_str(&value.to_string()).map_err(|e| {
            Error::new(
                "MalformedPolicyDocument",
                format!("{what} is not valid JSON: {e}"),
            )
            .status(400)
        });
    }
    rhai::serde::from_dynamic(value)
        .map_err(|e| Error::invalid_argument(format!("{what} cannot be converted to JSON: {e}")))
}

/// JSON as a script value.
pub fn dynamic_of(json: &Json) -> Dynamic {
    rhai::serde::to_dynamic(json).unwrap_or(Dynamic::UNIT)
}

/// A map of strings (tags, metadata) from a script map.
pub fn string_map(what: &str, map: Map) -> Result<BTreeMap<String, String>> {
    map.into_iter()
        .map(|(k, v)| {
            if v.is_string() || v.is_int() || v.is_bool() || v.is_float() {
                Ok((k.to_string(), v.to_string()))
            } else {
                Err(Error::invalid_argument(format!(
                    "{what}: value of `{k}` must be a string, not {}",
                    v.type_name()
                )))
            }
        })
        .collect()
}

/// A map of strings as a script map.
pub fn map_of_strings(map: &BTreeMap<String, String>) -> Map {
    map.iter()
        .map(|(k, v)| (k.as_str().into(), v.clone().into()))
        .collect()
}

/// Builds an object map from pairs.
pub fn object<const N: usize>(pairs: [(&str, Dynamic); N]) -> Map {
    pairs.into_iter().map(|(k, v)| (k.into(), v)).collect()
}

/// An optional string as a script value (`()` when absent).
pub fn opt_str(value: Option<impl Into<ImmutableString>>) -> Dynamic {
    value.map_or(Dynamic::UNIT, |s| Dynamic::from(s.into()))
}

/// An optional timestamp as an RFC 3339 string or `()`.
pub fn opt_time(value: Option<time::OffsetDateTime>) -> Dynamic {
    value.map_or(Dynamic::UNIT, |t| crate::timefmt::rfc3339(t).into())
}

pub fn time_of(value: time::OffsetDateTime) -> Dynamic {
    crate::timefmt::rfc3339(value).into()
}

/// Guards a destructive call (`s3::empty_bucket`, `s3::delete_bucket`, `iam::delete_role`,
/// `iam::delete_policy`): on a backend that confirms destructive calls (aws) it goes ahead only
/// with `--yes` or a `y` typed at a terminal; on the simulator it always does. Without a terminal and without `--yes` the call
/// fails with `ConfirmationRequired` before anything is deleted.
pub fn confirm_destructive(host: &Host, what: &str) -> Result<()> {
    use std::io::IsTerminal;
    if !host.backend.confirms_destructive() || host.yes {
        return Ok(());
    }
    let account = host.backend.account_id().unwrap_or_else(|_| "?".into());
    if !std::io::stdin().is_terminal() {
        return Err(Error::new(
            "ConfirmationRequired",
            format!("{what} in AWS account {account} needs confirmation"),
        )
        .hint("run with --yes to agree, or from a terminal to be asked"));
    }
    if ask_terminal(&format!(
        "{what} in AWS account {account}? This cannot be undone."
    ))? {
        Ok(())
    } else {
        Err(Error::new(
            "NotConfirmed",
            format!("{what}: not confirmed, nothing was deleted"),
        ))
    }
}

/// Asks a yes/no question on the terminal (stderr, stdin); only `y` or `yes` is a yes.
pub fn ask_terminal(question: &str) -> Result<bool> {
    use std::io::{BufRead, Write};
    eprint!("{question} [y/N] ");
    std::io::stderr().flush().ok();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Error::internal(format!("reading the answer: {e}")))?;
    Ok(matches!(
        line.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_engine_gets_the_cached_modules() {
        // The second engine reuses what the first built: both see every area.
        for _ in 0..2 {
            let mut engine = Engine::new();
            register(&mut engine);
            let tier = engine
                .eval::<String>(r#"batch::restore_operation(#{ tier: "BULK" }).tier"#)
                .map_err(|e| e.to_string());
            assert_eq!(tier.as_deref(), Ok("BULK"));
            let rows = engine
                .eval::<i64>(r#"let m = manifest::new(); m.add("b", "k"); m.len()"#)
                .map_err(|e| e.to_string());
            assert_eq!(rows, Ok(1));
        }
    }
}
