//! `docs/simulator.md` names, for each behaviour, the test that proves it. A citation that names
//! no test proves nothing: every cited integration test must exist in its file under
//! `tests/integration/`, and every cited unit test (or module of unit tests) in `src/`.
//!
//! The citations read `` `tests/integration/FILE.rs: test_name` ``, further names of the same file
//! follow as `` , `other_test` ``; unit tests read `` unit test `module::test_name` `` and
//! `` unit tests in `module` ``.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::common::project_root;

/// What the doc cites.
#[derive(Debug, PartialEq, Eq)]
enum Citation {
    /// A test function in `tests/integration/FILE.rs`.
    Integration { file: String, test: String },
    /// A unit test `module::test` in the file of that module under `src/`.
    Unit { module: String, test: String },
    /// A module under `src/` that has unit tests.
    UnitModule { module: String },
}

fn is_test_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The citations of a Markdown text, in order.
fn citations(markdown: &str) -> Vec<Citation> {
    let mut found = Vec::new();
    for line in markdown.lines() {
        // The file a bare `, `name`` after a citation belongs to; one table row (line) at most.
        let mut file: Option<String> = None;
        let mut before = String::new();
        for (n, part) in line.split('`').enumerate() {
            if n % 2 == 0 {
                before = part.to_string();
                continue;
            }
            if let Some((path, test)) = part.split_once(": ")
                && let Some(name) = path
                    .strip_prefix("tests/integration/")
                    .and_then(|p| p.strip_suffix(".rs"))
            {
                if name == "FILE" {
                    continue; // the doc's own description of the format
                }
                file = Some(name.to_string());
                found.push(Citation::Integration {
                    file: name.to_string(),
                    test: test.trim().to_string(),
                });
            } else if before.trim_end().ends_with("unit tests in") {
                found.push(Citation::UnitModule {
                    module: part.to_string(),
                });
                file = None;
            } else if before.trim_end().ends_with("unit test") {
                if let Some((module, test)) = part.rsplit_once("::") {
                    found.push(Citation::Unit {
                        module: module.to_string(),
                        test: test.to_string(),
                    });
                }
                file = None;
            } else if let Some(f) = &file
                && before.trim() == ","
                && is_test_name(part)
            {
                found.push(Citation::Integration {
                    file: f.clone(),
                    test: part.to_string(),
                });
            } else {
                file = None;
            }
        }
    }
    found
}

/// The names of the `#[test]` functions in Rust source.
fn test_names(source: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut after_test_attribute = false;
    for line in source.lines().map(str::trim) {
        if line == "#[test]" {
            after_test_attribute = true;
        } else if after_test_attribute && line.starts_with("#[") {
            // #[ignore], #[cfg(..)] between the attribute and the function
        } else if after_test_attribute {
            if let Some(rest) = line.strip_prefix("fn ") {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                names.insert(name);
            }
            after_test_attribute = false;
        }
    }
    names
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read a source folder") {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The files under `src/` that hold module `module` (`clock`, `formats::keys`): `clock.rs`
/// or `clock/mod.rs` at any depth, or `formats/keys.rs`.
fn module_files(src: &Path, module: &str) -> Vec<PathBuf> {
    let tail = module.replace("::", "/");
    let mut all = Vec::new();
    rust_files(src, &mut all);
    all.into_iter()
        .filter(|p| {
            let p = p.to_string_lossy().replace('\\', "/");
            p.ends_with(&format!("/{tail}.rs")) || p.ends_with(&format!("/{tail}/mod.rs"))
        })
        .collect()
}

/// The citations that name nothing, with why.
fn missing(citations: &[Citation], root: &Path) -> Vec<String> {
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    let mut missing = Vec::new();
    for c in citations {
        match c {
            Citation::Integration { file, test } => {
                let path = root.join("tests/integration").join(format!("{file}.rs"));
                if !test_names(&read(&path)).contains(test) {
                    missing.push(format!("tests/integration/{file}.rs has no test `{test}`"));
                }
            }
            Citation::Unit { module, test } => {
                let files = module_files(&root.join("src"), module);
                if !files.iter().any(|f| test_names(&read(f)).contains(test)) {
                    missing.push(format!("no unit test `{module}::{test}` under src/"));
                }
            }
            Citation::UnitModule { module } => {
                let files = module_files(&root.join("src"), module);
                if !files.iter().any(|f| !test_names(&read(f)).is_empty()) {
                    missing.push(format!("no module `{module}` with unit tests under src/"));
                }
            }
        }
    }
    missing
}

#[test]
fn every_test_docs_simulator_md_cites_exists() {
    let root = project_root();
    let doc = std::fs::read_to_string(root.join("docs/simulator.md")).expect("docs/simulator.md");
    let cited = citations(&doc);
    let integration = cited
        .iter()
        .filter(|c| matches!(c, Citation::Integration { .. }))
        .count();
    assert!(
        integration >= 30 && cited.len() > integration,
        "found only {integration} integration citations of {} in docs/simulator.md: {cited:?}",
        cited.len()
    );
    let missing = missing(&cited, &root);
    assert!(
        missing.is_empty(),
        "docs/simulator.md cites tests that do not exist:\n{}",
        missing.join("\n")
    );
}

#[test]
fn citations_are_read_as_the_doc_writes_them() {
    let doc = "Each names its test (`tests/integration/FILE.rs: test_name`).\n\
        | A rule | `tests/integration/jobs.rs: first_test`, `second_test`, tutorial output |\n\
        | B rule | `tests/integration/cli.rs: third`, unit test `clock::expiry_rounds`, `sim::advance` |\n\
        | C rule | same test, unit tests in `formats::keys` |\n";
    let cited = citations(doc);
    let integration = |file: &str, test: &str| Citation::Integration {
        file: file.into(),
        test: test.into(),
    };
    assert_eq!(
        cited,
        vec![
            integration("jobs", "first_test"),
            integration("jobs", "second_test"),
            integration("cli", "third"),
            Citation::Unit {
                module: "clock".into(),
                test: "expiry_rounds".into()
            },
            Citation::UnitModule {
                module: "formats::keys".into()
            },
        ]
    );
    // Against this repository: a renamed test and a missing module are both reported.
    let root = project_root();
    let report = missing(
        &[
            integration("cited_tests", "citations_are_read_as_the_doc_writes_them"),
            integration("cited_tests", "a_test_that_was_renamed"),
            Citation::Unit {
                module: "clock".into(),
                test: "expiry_rounds_up_to_midnight_utc".into(),
            },
            Citation::UnitModule {
                module: "no_such_module".into(),
            },
        ],
        &root,
    );
    assert_eq!(
        report,
        vec![
            "tests/integration/cited_tests.rs has no test `a_test_that_was_renamed`".to_string(),
            "no module `no_such_module` with unit tests under src/".to_string(),
        ]
    );
}
