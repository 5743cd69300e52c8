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

#[cfg(test)]
mod tests {
    //! Every exported function that can fail goes through [`call`] or [`pure`] (or delegates to
    //! one of its module's functions that does), so no error leaves a binding without the
    //! position of the script's call. Functions without `return_raw` cannot raise errors and
    //! need neither. The scan reads the sources as `cargo fmt` lays them out: an exported
    //! module is `#[export_module]` then `pub mod name {` and ends at a `}` in column 0; its
    //! functions start at `    pub fn` and end at the next `    }`.

    use std::collections::BTreeSet;

    struct Exported {
        file: String,
        module: String,
        name: String,
        raw: bool,
        body: String,
    }

    /// The functions of every `#[export_module]` in `text`.
    fn exported(file: &str, text: &str) -> Vec<Exported> {
        let lines: Vec<&str> = text.lines().collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < lines.len() {
            if lines[i].trim() != "#[export_module]" {
                i += 1;
                continue;
            }
            let Some(module) = lines
                .get(i + 1)
                .and_then(|l| l.strip_prefix("pub mod "))
                .and_then(|l| l.strip_suffix(" {"))
            else {
                panic!(
                    "{file}:{}: #[export_module] without `pub mod name {{`",
                    i + 1
                );
            };
            i += 2;
            let mut attributes = String::new();
            while i < lines.len() && lines[i] != "}" {
                let line = lines[i];
                if line.starts_with("    #[") {
                    attributes.push_str(line);
                } else if let Some(signature) = line.strip_prefix("    pub fn ") {
                    let name = signature
                        .split(['(', '<'])
                        .next()
                        .unwrap_or_default()
                        .to_string();
                    let start = i;
                    while i < lines.len() && lines[i] != "    }" {
                        i += 1;
                    }
                    out.push(Exported {
                        file: file.to_string(),
                        module: module.to_string(),
                        name,
                        raw: attributes.contains("return_raw"),
                        body: lines[start..i.min(lines.len())].join("\n"),
                    });
                    attributes.clear();
                } else if !line.starts_with("    ///") {
                    attributes.clear();
                }
                i += 1;
            }
        }
        out
    }

    /// What is wrong with `f`, if anything.
    fn problem(f: &Exported, siblings: &BTreeSet<&str>) -> Option<String> {
        if !f.raw {
            return None;
        }
        let through_helper =
            f.body.contains("support::call(&ctx") || f.body.contains("support::pure(&ctx");
        let delegates = siblings
            .iter()
            .any(|s| *s != f.name && f.body.contains(&format!("{s}(ctx")));
        (!through_helper && !delegates).then(|| {
            format!(
                "{}: {}::{} can fail but neither goes through support::call/support::pure nor delegates to a function of its module that does",
                f.file, f.module, f.name
            )
        })
    }

    fn check(file: &str, text: &str) -> Vec<String> {
        let functions = exported(file, text);
        functions
            .iter()
            .filter_map(|f| {
                let siblings: BTreeSet<&str> = functions
                    .iter()
                    .filter(|g| g.module == f.module)
                    .map(|g| g.name.as_str())
                    .collect();
                problem(f, &siblings)
            })
            .collect()
    }

    #[test]
    fn every_binding_that_can_fail_goes_through_the_helper() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api");
        let mut problems = Vec::new();
        let mut scanned = 0;
        for entry in std::fs::read_dir(&dir).expect("src/api is readable") {
            let path = entry.expect("a directory entry").path();
            let file = path
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            if !file.ends_with(".rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("a source file");
            scanned += exported(&file, &text).len();
            problems.extend(check(&file, &text));
        }
        assert!(scanned > 50, "only {scanned} exported functions found");
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn the_scan_catches_a_binding_that_skips_the_helper() {
        let text = "#[export_module]\npub mod demo_api {\n    /// Fails alone.\n    #[rhai_fn(return_raw)]\n    pub fn bad(ctx: NativeCallContext) -> RhaiResult<()> {\n        Err(Error::internal(\"x\").into())\n    }\n\n    #[rhai_fn(return_raw)]\n    pub fn good(ctx: NativeCallContext, m: Map) -> RhaiResult<()> {\n        support::pure(&ctx, || Ok(()))\n    }\n\n    #[rhai_fn(name = \"good\", return_raw)]\n    pub fn good_default(ctx: NativeCallContext) -> RhaiResult<()> {\n        good(ctx, Map::new())\n    }\n\n    pub fn infallible() -> i64 {\n        1\n    }\n}\n";
        let problems = check("demo.rs", text);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("demo_api::bad"), "{problems:?}");
    }
}
