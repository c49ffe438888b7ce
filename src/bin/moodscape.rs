//! `moodscape`: the offline face of the plugin's pipeline.
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "moodscape", version, about = "Music mood analysis and emotional landscapes")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Rolling mood features of an audio file, one record per update.
    Analyze(moodscape::cli::analyze::Args),
}

fn main() {
    let cli = Cli::parse();
    let result: anyhow::Result<()> = match cli.command {
        Command::Analyze(args) => moodscape::cli::analyze::run(args),
    };
    if let Err(error) = result {
        eprintln!("moodscape: {error:#}");
        std::process::exit(1);
    }
}
