//! `cargo xtask`: nice-plug's bundler plus the project's own one-command jobs.
//!
//! - `cargo xtask bundle moodscape --release` — the plugin bundles (nice-plug-xtask).
//! - `cargo xtask test` — bundles with the `ci` profile, then runs the whole test suite on it.
//! - `cargo xtask train-va [ARGS]`, `cargo xtask train-landscape [ARGS]` — retrain a model.
//! - `cargo xtask bench` — the benchmarks, each reported against a baseline from the same run.
use std::process::{Command, ExitCode};

/// Profile for tests and CI: optimised, no LTO, debug assertions on (see Cargo.toml).
const CI_PROFILE: &str = "ci";

fn cargo(args: &[&str], extra: &[String]) -> ExitCode {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo).args(args).args(extra).status();
    match status {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(status) => ExitCode::from(status.code().unwrap_or(1).clamp(1, 255) as u8),
        Err(error) => {
            eprintln!("xtask: could not run cargo: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one `moodscape` subcommand from an optimised build.
fn moodscape(subcommand: &str, extra: &[String]) -> ExitCode {
    cargo(
        &["run", "--release", "--bin", "moodscape", "--", subcommand],
        extra,
    )
}

/// What `cargo xtask`, `cargo xtask help` and `cargo xtask --help` print.
const USAGE: &str = "\
Usage: cargo xtask <COMMAND> [ARGS]

The project's own jobs:
  test [ARGS]                 bundle with the `ci` profile, then run the whole test suite on it
  train-va [ARGS]             retrain models/va-forest.bin from ../shared/data (moodscape train-va)
  train-landscape [ARGS]      retrain the landscape GAN (moodscape train-landscape; resumable)
  bench [ARGS]                every benchmark, each against a baseline measured in the same run

nice-plug's bundler:
  bundle moodscape --release  build target/bundled/Moodscape.clap, Moodscape.vst3 and the
                              standalone Moodscape
  bundle-universal ...        macOS universal bundles (see nice-plug-xtask)

Options to train-va and train-landscape follow the command, e.g.
`cargo xtask train-landscape --minutes 30`; `cargo xtask train-va --help` lists them.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = args.get(1..).unwrap_or_default();
    match args.first().map(String::as_str) {
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        None => {
            eprint!("xtask: no command given\n\n{USAGE}");
            ExitCode::FAILURE
        }
        Some("test") => {
            let bundled = cargo(
                &["xtask", "bundle", "moodscape", "--profile", CI_PROFILE],
                &[],
            );
            if bundled != ExitCode::SUCCESS {
                return bundled;
            }
            cargo(&["test", "--profile", CI_PROFILE], rest)
        }
        Some("train-va") => moodscape("train-va", rest),
        Some("train-landscape") => moodscape("train-landscape", rest),
        Some("bench") => cargo(&["bench", "--profile", "release"], rest),
        _ => match nice_plug_xtask::main() {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("xtask: {error:#}");
                ExitCode::FAILURE
            }
        },
    }
}
