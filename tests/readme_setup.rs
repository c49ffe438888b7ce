//! The README's set-up section tells a new user the truth: its literal `apt-get install` line
//! names exactly the packages `.ci/run` installs (both from `.ci/apt-packages.txt`), it states the
//! minimum Rust version `Cargo.toml` declares, and `cargo xtask --help` lists the project's jobs.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The package names in `.ci/apt-packages.txt` (comments and blank lines dropped).
fn ci_packages() -> BTreeSet<String> {
    repo_file(".ci/apt-packages.txt")
        .lines()
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .filter(|line| !line.is_empty())
        .flat_map(|line| line.split_whitespace())
        .map(str::to_string)
        .collect()
}

/// The packages on the README's `sudo apt-get install` line (options dropped).
fn readme_packages(readme: &str) -> BTreeSet<String> {
    let lines: Vec<&str> = readme
        .lines()
        .filter(|line| line.trim_start().starts_with("sudo apt-get install"))
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "the README needs exactly one literal `sudo apt-get install …` line"
    );
    lines[0]
        .split_whitespace()
        .skip(3)
        .filter(|word| !word.starts_with('-'))
        .map(str::to_string)
        .collect()
}

#[test]
fn readme_apt_line_matches_the_ci_package_list() {
    let ci = ci_packages();
    assert!(
        ci.contains("libasound2-dev") && ci.contains("chromium"),
        "{ci:?}"
    );
    let readme = readme_packages(&repo_file("README.md"));
    let missing: Vec<_> = ci.difference(&readme).collect();
    let extra: Vec<_> = readme.difference(&ci).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "README apt line and .ci/apt-packages.txt disagree: missing from README {missing:?}, \
         not in .ci/apt-packages.txt {extra:?}"
    );
    // `.ci/run` must read the list rather than keep its own copy.
    let run = repo_file(".ci/run");
    assert!(
        run.contains(".ci/apt-packages.txt"),
        ".ci/run ignores the list"
    );
    for package in &ci {
        assert!(
            !run.contains(&format!(" {package} ")) && !run.contains(&format!(" {package}\n")),
            ".ci/run names {package} itself: keep one source of truth"
        );
    }
}

#[test]
fn readme_states_the_minimum_rust_version_from_cargo_toml() {
    let manifest = repo_file("Cargo.toml");
    let version = manifest
        .lines()
        .find_map(|line| line.strip_prefix("rust-version = "))
        .expect("Cargo.toml declares rust-version")
        .trim_matches('"');
    let readme = repo_file("README.md");
    assert!(
        readme.contains(&format!("Rust {version} or newer")),
        "the README must say `Rust {version} or newer`"
    );
    // And the other set-up facts a new user asked for.
    for needle in [
        "cargo install --path .",
        "target/release/moodscape",
        "../shared/data",
        "running JACK server",
        "--input-device",
        "target/bundled/",
    ] {
        assert!(readme.contains(needle), "README lacks `{needle}`");
    }
}

/// The xtask binary `cargo xtask` builds (release, as the alias in .cargo/config.toml runs it).
fn xtask_binary() -> Option<PathBuf> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let path = target.join("release").join("xtask");
    path.exists().then_some(path)
}

#[test]
fn xtask_help_lists_the_projects_jobs_and_succeeds() {
    let Some(xtask) = xtask_binary() else {
        eprintln!(
            "SKIPPED xtask_help_lists_the_projects_jobs_and_succeeds: no target/release/xtask \
             (`cargo xtask test` builds it)"
        );
        return;
    };
    for flag in ["--help", "-h", "help"] {
        let output = Command::new(&xtask).arg(flag).output().unwrap();
        assert!(output.status.success(), "`cargo xtask {flag}` failed");
        let text = String::from_utf8_lossy(&output.stdout);
        for job in [
            "test",
            "train-va",
            "train-landscape",
            "bench",
            "bundle moodscape",
        ] {
            assert!(
                text.contains(&format!("  {job}")),
                "{flag}: no `{job}` in {text}"
            );
        }
    }
    let bare = Command::new(&xtask).output().unwrap();
    assert!(
        !bare.status.success(),
        "a bare `cargo xtask` is a usage error"
    );
    assert!(String::from_utf8_lossy(&bare.stderr).contains("train-landscape"));
}
