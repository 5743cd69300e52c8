//! Helpers shared by the integration tests: run scripts in-process against a fresh simulator, or
//! run the real binary, each test in its own state directory.

#![allow(dead_code, clippy::result_large_err)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rhai::{Dynamic, Map};
use s3thaw::backend::sim::Simulator;
use s3thaw::engine::{RunSettings, Session, error_of};
use s3thaw::errors::Error;

/// A fresh simulated world in a temporary directory.
pub(crate) struct World {
    pub dir: tempfile::TempDir,
}

impl World {
    pub(crate) fn new() -> World {
        World {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub(crate) fn state(&self) -> &Path {
        self.dir.path()
    }

    /// Evaluates a script in-process and returns its value or its error.
    pub(crate) fn eval_with(&self, script: &str, vars: &[(&str, &str)]) -> Result<Dynamic, Error> {
        let sim = Simulator::open(self.state()).expect("open simulator");
        let settings = RunSettings {
            vars: vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            yes: true,
            quiet: true,
        };
        let mut session = Session::new(Box::new(sim), settings, Some(&project_root()));
        session
            .engine
            .eval_with_scope::<Dynamic>(&mut session.scope, script)
            .map_err(|e| error_of(&e))
    }

    pub(crate) fn eval(&self, script: &str) -> Result<Dynamic, Error> {
        self.eval_with(script, &[])
    }

    /// Evaluates a script that must succeed, for its effects.
    pub(crate) fn run(&self, script: &str) {
        if let Err(e) = self.eval(script) {
            panic!("script failed: {e:?}");
        }
    }

    /// Evaluates a script that must succeed and return a map.
    pub(crate) fn map(&self, script: &str) -> Map {
        match self.eval(script) {
            Ok(value) => value
                .try_cast::<Map>()
                .unwrap_or_else(|| panic!("script did not return a map")),
            Err(e) => panic!("script failed: {e:?}"),
        }
    }

    /// Evaluates a script that must fail, returning the error.
    pub(crate) fn error(&self, script: &str) -> Error {
        match self.eval(script) {
            Ok(value) => panic!("script succeeded with {value:?}"),
            Err(e) => e,
        }
    }

    /// Runs the real binary with this world's state.
    pub(crate) fn cli(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_s3thaw"));
        cmd.args(args);
        if matches!(args.first(), Some(&"run") | Some(&"repl")) {
            cmd.arg("--state").arg(self.state());
        }
        cmd.current_dir(project_root())
            .env("XDG_STATE_HOME", self.state());
        cmd.output().expect("run s3thaw")
    }
}

pub(crate) fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A file in AWS's own formats under `tests/fixtures/` (see its README).
pub(crate) fn fixture(path: &str) -> String {
    project_root()
        .join("tests/fixtures")
        .join(path)
        .display()
        .to_string()
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A field of a map as a string.
pub(crate) fn s(map: &Map, key: &str) -> String {
    map.get(key)
        .unwrap_or_else(|| panic!("no `{key}` in {map:?}"))
        .to_string()
}

/// A field of a map as an integer.
pub(crate) fn i(map: &Map, key: &str) -> i64 {
    map.get(key)
        .and_then(|v| v.as_int().ok())
        .unwrap_or_else(|| panic!("no integer `{key}` in {map:?}"))
}

/// An array value as strings.
pub(crate) fn strings(value: &rhai::Dynamic) -> Vec<String> {
    value
        .clone()
        .into_array()
        .unwrap_or_else(|t| panic!("an array, not {t}"))
        .iter()
        .map(|v| v.to_string())
        .collect()
}

/// A field of a map as a map.
pub(crate) fn m(map: &Map, key: &str) -> Map {
    map.get(key)
        .and_then(|v| v.clone().try_cast::<Map>())
        .unwrap_or_else(|| panic!("no map `{key}` in {map:?}"))
}

/// Tutorial steps 1-4: bucket, three GLACIER samples, manifest, role. Leaves `cfg`,
/// `location` and `role` in scope.
pub(crate) const SETUP: &str = r#"
import "tutorial" as t;
let cfg = t::config(arg("tier", "STANDARD"), arg("days", 1));
t::create_bucket(cfg);
t::upload_samples(cfg);
let location = t::upload_manifest(cfg);
let role = t::create_role(cfg);
"#;

/// A field of a map as a bool.
pub(crate) fn b(map: &Map, key: &str) -> bool {
    map.get(key)
        .and_then(|v| v.as_bool().ok())
        .unwrap_or_else(|| panic!("no bool `{key}` in {map:?}"))
}

/// A field of a map as an array.
pub(crate) fn a(map: &Map, key: &str) -> rhai::Array {
    map.get(key)
        .and_then(|v| v.clone().try_cast::<rhai::Array>())
        .unwrap_or_else(|| panic!("no array `{key}` in {map:?}"))
}
