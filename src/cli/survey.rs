//! `moodscape survey kit` and `moodscape survey report`: the owner's song-vs-picture survey.

use crate::landscape::ImageVaLabeller;
use crate::survey::kit::{balanced_order, build_kit, collect_audio, KitOptions, ProxyRaters};
use crate::survey::{build_report, parse_ratings, read_items};
use anyhow::Context;
use std::path::{Path, PathBuf};

/// Where `survey kit` looks for songs when none are given: the 4Q clips in the shared data.
const DEFAULT_MUSIC: &str = "../shared/data/music-4q/audio";

/// The two steps of a survey.
#[derive(clap::Subcommand)]
pub enum Args {
    /// Pick songs, paint each one's landscape, and write a rating page for people.
    Kit(KitArgs),
    /// Read people's ratings and report how far each song's mood is from its picture's.
    Report(ReportArgs),
}

/// Options of `survey kit`.
#[derive(clap::Args)]
pub struct KitArgs {
    /// Audio files or folders (searched recursively). Songs are drawn from the folders in
    /// turn, so mood-sorted folders give a balanced kit.
    #[arg(default_value = DEFAULT_MUSIC)]
    music: Vec<PathBuf>,
    /// Number of songs.
    #[arg(long, default_value_t = 20)]
    count: usize,
    /// Seed for the song draw, the codes and the landscapes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output folder; give its `survey/` subfolder to raters and keep `items.csv`.
    #[arg(long, default_value = "moodscape-survey")]
    out: PathBuf,
    /// Also write `proxy-ratings.csv`: machine stand-ins for people (4Q mood tags for songs
    /// found in this shared-data folder, the image labeller for pictures).
    #[arg(long)]
    proxy_data: Option<PathBuf>,
}

/// Options of `survey report`.
#[derive(clap::Args)]
pub struct ReportArgs {
    /// Ratings files (`rater,code,valence,arousal`, 1-9), e.g. the ones survey.html saves.
    #[arg(required = true)]
    ratings: Vec<PathBuf>,
    /// The kit folder (holding `items.csv`).
    #[arg(long, default_value = "moodscape-survey")]
    kit: PathBuf,
    /// Also write the full report, per item, as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    match args {
        Args::Kit(args) => kit(args),
        Args::Report(args) => report(args),
    }
}

fn kit(args: KitArgs) -> anyhow::Result<()> {
    if args.music == [PathBuf::from(DEFAULT_MUSIC)] && !Path::new(DEFAULT_MUSIC).exists() {
        anyhow::bail!(
            "no music given, and the default {DEFAULT_MUSIC} (the 4Q training clips beside the \
             project) is not here: pass your songs, e.g. `moodscape survey kit ~/music/survey-songs \
             --count 20`"
        );
    }
    let files = collect_audio(&args.music)?;
    let candidates = balanced_order(&files, args.seed);
    let model = crate::va::VaModel::embedded().context("the VA model")?;
    let painter =
        crate::landscape::LandscapePainter::embedded().context("the landscape painter")?;
    let labeller;
    let proxy = match &args.proxy_data {
        Some(data) => {
            labeller = ImageVaLabeller::embedded()?;
            let (clips, _) = crate::va::targets::load_labels(data)?;
            let song_labels = clips.into_iter().map(|c| (c.song, c.va)).collect();
            Some(ProxyRaters {
                song_labels,
                labeller: &labeller,
            })
        }
        None => None,
    };
    let options = KitOptions {
        count: args.count,
        seed: args.seed,
    };
    let items = build_kit(
        &candidates,
        &args.out,
        &options,
        &model,
        &painter,
        proxy.as_ref(),
    )?;
    eprintln!(
        "wrote a {}-song survey to {}: give raters {}/survey/ (open survey.html); keep items.csv",
        items.len(),
        args.out.display(),
        args.out.display()
    );
    Ok(())
}

fn report(args: ReportArgs) -> anyhow::Result<()> {
    let items_path = args.kit.join("items.csv");
    if !items_path.is_file() {
        anyhow::bail!(
            "no {} here: pass the folder `survey kit` wrote with --kit DIR (it holds items.csv)",
            items_path.display()
        );
    }
    let items = read_items(&items_path)?;
    let mut ratings = Vec::new();
    for path in &args.ratings {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        ratings.extend(parse_ratings(&text, &path.display().to_string())?);
    }
    let report = build_report(&items, &ratings)?;
    print!("{}", report.to_markdown());
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
