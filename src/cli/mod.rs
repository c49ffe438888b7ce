//! Subcommands of the `moodscape` command-line tool. Each lives in its own module.

pub mod analyze;
