//! `cargo xtask tidy`: workspace conventions that code review would otherwise have to catch.
//!
//! The same checks run as an ordinary `#[test]`, so `cargo test` enforces them.

use std::fs;
use std::path::{Path, PathBuf};

use crate::workspace_root;

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    if let Some(extra) = args.first() {
        anyhow::bail!("`tidy` takes no arguments, got `{extra}`");
    }
    let problems = check(&workspace_root())?;
    if problems.is_empty() {
        eprintln!("tidy: ok");
        return Ok(());
    }
    for problem in &problems {
        eprintln!("{problem}");
    }
    anyhow::bail!("{} problem(s) found", problems.len())
}

/// Returns one human-readable line per convention broken under `root`.
pub(crate) fn check(root: &Path) -> anyhow::Result<Vec<String>> {
    let mut problems = Vec::new();
    for manifest in member_manifests(root)? {
        let text = fs::read_to_string(&manifest)?;
        if !sets_workspace_lints(&text) {
            problems.push(format!(
                "{}: does not set `[lints] workspace = true`",
                rel(root, &manifest)
            ));
        }
    }
    let mut files = Vec::new();
    for dir in ["crates", "benches", "fuzz", "xtask"] {
        collect_rs(&root.join(dir), &mut files)?;
    }
    for file in files {
        let text = fs::read_to_string(&file)?;
        let first = text.lines().next().unwrap_or("");
        if !first.starts_with("//!") {
            problems.push(format!(
                "{}:1: the file does not open with a `//!` line saying what it is for",
                rel(root, &file)
            ));
        }
    }
    Ok(problems)
}

/// The manifests of the main workspace's members (the fuzz workspace has its own lints).
fn member_manifests(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = vec![
        root.join("benches/Cargo.toml"),
        root.join("xtask/Cargo.toml"),
    ];
    for entry in fs::read_dir(root.join("crates"))? {
        let manifest = entry?.path().join("Cargo.toml");
        if manifest.is_file() {
            out.push(manifest);
        }
    }
    out.sort();
    Ok(out)
}

/// True when the manifest has a `[lints]` table containing `workspace = true`.
fn sets_workspace_lints(manifest: &str) -> bool {
    let mut in_lints = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_lints = line == "[lints]";
        } else if in_lints && line.replace(' ', "") == "workspace=true" {
            return true;
        }
    }
    manifest
        .lines()
        .any(|l| l.replace(' ', "") == "lints.workspace=true")
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            // Build output and fuzzer working directories are not source.
            if !matches!(
                name,
                "target" | "corpus" | "artifacts" | "coverage" | "seeds"
            ) {
                collect_rs(&path, out)?;
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

fn rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_is_tidy() {
        let problems = check(&workspace_root()).unwrap();
        assert!(
            problems.is_empty(),
            "tidy problems:\n{}",
            problems.join("\n")
        );
    }

    #[test]
    fn lints_detection() {
        assert!(sets_workspace_lints(
            "[package]\nname = \"a\"\n\n[lints]\nworkspace = true\n"
        ));
        assert!(sets_workspace_lints("lints.workspace = true\n"));
        assert!(!sets_workspace_lints(
            "[package]\nworkspace = true\n[lints]\n"
        ));
        assert!(!sets_workspace_lints("[lints.rust]\nworkspace = true\n"));
    }
}
