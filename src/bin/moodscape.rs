//! `moodscape`: the offline face of the plugin's pipeline.
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "moodscape",
    version,
    about = "Music mood analysis and emotional landscapes"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a built-in four-mood piece (or a file) through the live pipeline; write the VA
    /// timeline, landscape keyframes and a morph animation to ./moodscape-demo/.
    Demo(moodscape::cli::demo::Args),
    /// Run the plugin with its editor as a standalone app (JACK, ALSA or a dummy backend).
    Standalone(moodscape::cli::standalone::Args),
    /// Rolling mood features of an audio file, one record per update.
    Analyze(moodscape::cli::analyze::Args),
    /// Train and cross-validate the valence/arousal model (models/va-forest.bin + card).
    TrainVa(moodscape::cli::train_va::Args),
    /// Train the image VA labeller on OASIS and label the landscape photos (models/image-va.bin).
    LabelImages(moodscape::cli::label_images::Args),
    /// Train the VA-conditioned landscape GAN (models/landscape-gen.safetensors).
    TrainLandscape(moodscape::cli::train_landscape::Args),
    /// Metrics of the landscape generator (emotion consistency, diversity, realism).
    EvalLandscape(moodscape::cli::eval_landscape::Args),
    /// Render one landscape for a valence/arousal pair.
    Render(moodscape::cli::render::Args),
    /// Render a labelled valence/arousal grid of landscapes.
    Grid(moodscape::cli::grid::Args),
    /// The song-vs-picture survey: build a rating kit, then report people's ratings.
    #[command(subcommand)]
    Survey(moodscape::cli::survey::Args),
}

fn main() {
    let cli = Cli::parse();
    let result: anyhow::Result<()> = match cli.command {
        Command::Demo(args) => moodscape::cli::demo::run(args),
        Command::Standalone(args) => moodscape::cli::standalone::run(args),
        Command::Analyze(args) => moodscape::cli::analyze::run(args),
        Command::TrainVa(args) => moodscape::cli::train_va::run(args),
        Command::LabelImages(args) => moodscape::cli::label_images::run(args),
        Command::TrainLandscape(args) => moodscape::cli::train_landscape::run(args),
        Command::EvalLandscape(args) => moodscape::cli::eval_landscape::run(args),
        Command::Render(args) => moodscape::cli::render::run(args),
        Command::Grid(args) => moodscape::cli::grid::run(args),
        Command::Survey(args) => moodscape::cli::survey::run(args),
    };
    if let Err(error) = result {
        eprintln!("moodscape: {error:#}");
        std::process::exit(1);
    }
}
