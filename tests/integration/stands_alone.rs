//! The repository stands alone: a clone with nothing beside it builds, tests and reads its docs.
//! Nothing tracked may read a path outside the checkout (the sibling `shared` folder, or the
//! absolute paths of the machine it was written on).

use std::path::PathBuf;
use std::process::Command;

use crate::common::project_root;

/// Where the code, tests, playbooks and docs live; each is read by someone who has only the clone.
const CHECKED: &[&str] = &[
    "src",
    "tests",
    "scripts",
    "stdlib",
    "docs",
    "benches",
    "README.md",
    ".ci",
];

/// Spelled in two halves so this file does not name them itself.
fn outside_paths() -> [String; 2] {
    [format!("../{}", "shared"), format!("/{}/", "work")]
}

/// The files git tracks under `CHECKED`, plus the untracked ones not ignored (a file about to be
/// committed counts too). Outside a git checkout (an unpacked source archive), every file there.
fn tracked_files() -> Vec<String> {
    let root = project_root();
    let listed = Command::new("git")
        .args([
            "ls-files",
            "--cached",
            "--others",
            "--exclude-standard",
            "--",
        ])
        .args(CHECKED)
        .current_dir(&root)
        .output();
    if let Ok(out) = listed
        && out.status.success()
    {
        return String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect();
    }
    let mut files = Vec::new();
    let mut pending: Vec<PathBuf> = CHECKED.iter().map(|p| root.join(p)).collect();
    while let Some(path) = pending.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).expect("read a source folder") {
                pending.push(entry.expect("a folder entry").path());
            }
        } else if path.is_file() {
            let relative = path.strip_prefix(&root).expect("under the root");
            files.push(relative.display().to_string());
        }
    }
    files
}

/// The lines of `text` that name a path outside the repository, as `LINE: text`.
fn outside_references(text: &str) -> Vec<String> {
    let needles = outside_paths();
    text.lines()
        .enumerate()
        .filter(|(_, line)| needles.iter().any(|n| line.contains(n.as_str())))
        .map(|(n, line)| format!("{}: {}", n + 1, line.trim()))
        .collect()
}

#[test]
fn nothing_tracked_reads_a_path_outside_the_repository() {
    let files = tracked_files();
    assert!(
        files.iter().any(|f| f == "README.md") && files.iter().any(|f| f.starts_with("src/")),
        "git ls-files listed too little to be the repository: {files:?}"
    );
    let mut found = Vec::new();
    for file in &files {
        let Ok(bytes) = std::fs::read(project_root().join(file)) else {
            continue; // deleted in the work tree, not yet committed
        };
        for hit in outside_references(&String::from_utf8_lossy(&bytes)) {
            found.push(format!("{file}:{hit}"));
        }
    }
    assert!(
        found.is_empty(),
        "these name a path outside the repository (copy what they need into it, e.g. \
         tests/fixtures/ or docs/):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_sees_both_kinds_of_outside_path() {
    let [shared, work] = outside_paths();
    let text = format!("fine\nread {shared}/fixtures/a.csv\nfine\nsee {work}main/x\n");
    assert_eq!(
        outside_references(&text),
        vec![
            format!("2: read {shared}/fixtures/a.csv"),
            format!("4: see {work}main/x"),
        ]
    );
    assert!(outside_references("a policy on shared/??/*\nwork/ and homework/\n").is_empty());
}
