//! Writes the model card (`models/va-forest.md`) from a training report.

use std::fmt::Write;

use super::evaluation::METRIC_NAMES;
use super::train::{TrainReport, Variant};

/// Goals from the issue: (metric index, goal, label).
const GOALS: [(usize, f64, &str); 3] = [
    (
        15,
        0.764,
        "quadrant macro-F1 per clip ≥ 0.764 (Panda et al. 2018)",
    ),
    (10, 0.80, "arousal r ≥ 0.80 (per clip)"),
    (7, 0.65, "valence r ≥ 0.65 (per clip)"),
];

/// Renders the card as Markdown.
pub fn render(report: &TrainReport) -> String {
    let o = &report.options;
    let f = &o.forest;
    let mut md = String::new();
    let shipped_index = Variant::ALL
        .iter()
        .position(|v| *v == report.shipped)
        .unwrap_or(0);
    let shipped = &report.variants[shipped_index];
    let _ = writeln!(
        md,
        "# Model card: valence/arousal forest (`models/va-forest.bin`)\n"
    );
    let _ = writeln!(
        md,
        "Written by the training command itself. Reproduce with:\n\n```\n{}\n```\n",
        o.command
    );
    let _ = writeln!(
        md,
        "## Headline (shipped variant: {})\n",
        report.shipped.name()
    );
    let _ = writeln!(
        md,
        "| goal | measured (95 % CI, bootstrap over clips) | met? |"
    );
    let _ = writeln!(md, "|---|---|---|");
    for (index, goal, label) in GOALS {
        let estimate = shipped.bootstrap[index];
        let verdict = if estimate.mean >= goal {
            "yes".to_string()
        } else {
            format!("no, short by {:.3}", goal - estimate.mean)
        };
        let _ = writeln!(md, "| {label} | {estimate} | {verdict} |");
    }
    let _ = writeln!(md);

    let _ = writeln!(md, "## Data\n");
    let _ = writeln!(
        md,
        "- 4Q audio emotion dataset (Panda, Malheiro & Paiva 2018), `{}/music-4q`: {} clips with \
         features (Q1..Q4: {:?}); {} failed to decode{}.",
        o.data_dir.display(),
        report.clips,
        report.clips_per_quadrant,
        report.failed_clips.len(),
        if report.failed_clips.is_empty() {
            String::new()
        } else {
            format!(" ({})", report.failed_clips.join(", "))
        }
    );
    let _ = writeln!(
        md,
        "- Targets: mean Warriner et al. (2013) valence and arousal (`V.Mean.Sum`, `A.Mean.Sum`) \
         of each clip's `MoodsFoundStr` tags, mapped from 1-9 to [-1, 1] by (x - 5) / 4. {} tags \
         were not in the norms. Target spread (SD over clips): valence {:.3}, arousal {:.3}. \
         The signs of the targets match the quadrant label for {:.1} % of clips: the ceiling \
         for the sign-based quadrant metrics, which are scored against the dataset's label.",
        report.missing_tags,
        report.target_spread.0,
        report.target_spread.1,
        report.sign_ceiling * 100.0
    );
    let _ = writeln!(
        md,
        "- Features: the plugin's own `Analyzer` (analysis schema v{}, {} features) with the \
         default configuration (10 s window, 0.5 s hop), run over each clip by \
         `analysis::analyze_file` (the decoder and streaming path the CLI uses). Every emitted \
         summary is one row: {} rows. Non-finite features are replaced by the training median \
         (the same rule runs in the plugin).",
        report.schema_version, report.features, report.rows
    );
    let _ = writeln!(md, "\n## Split\n");
    let _ = writeln!(
        md,
        "- {}-fold cross-validation grouped by clip (all windows of a clip fall into the same \
         fold), stratified by quadrant, repeated {} times with different fold assignments \
         (seeds 1000..{}). Every number below is out-of-fold.",
        o.folds,
        o.repeats,
        1000 + o.repeats - 1
    );
    let _ = writeln!(
        md,
        "- Per-window metrics score every window of every held-out clip; per-clip metrics score \
         the mean of a clip's window predictions."
    );
    let _ = writeln!(
        md,
        "- Intervals: 95 % percentile bootstrap over clips ({} resamples; each resample scores \
         all repeats and averages them). The t-interval across repeats, which only shows seed \
         sensitivity, is listed separately.",
        o.resamples
    );
    let _ = writeln!(
        md,
        "- Folds are not grouped by artist: {:.1} % of held-out clips share an artist with the \
         training folds (first repeat), which may flatter the scores slightly.",
        report.artist_overlap * 100.0
    );
    let _ = writeln!(
        md,
        "\n## Model and hyper-parameters (fixed in advance, never tuned on test folds)\n"
    );
    let _ = writeln!(
        md,
        "- Random forest per axis, trees grown by smartcore 0.4 (`RandomForestRegressor`, one \
         tree per seed because smartcore seeds all trees of one forest alike): {} trees, \
         max depth {}, min samples per leaf {}, m = {} features per split, each tree on a random \
         {:.0} % of the training clips and every {}-th window of each (random phase).",
        f.n_trees,
        f.max_depth,
        f.min_samples_leaf,
        f.mtry,
        f.clip_fraction * 100.0,
        f.thin
    );
    let _ = writeln!(
        md,
        "- Calibration: least-squares line from each forest's out-of-bag predictions (clips a \
         tree never saw, inside the training folds only) to the target, slope limited to \
         [0.25, 4]. Shipped: valence {:.3} + {:.3}·f, arousal {:.3} + {:.3}·f.",
        report.calibration[0].0,
        report.calibration[0].1,
        report.calibration[1].0,
        report.calibration[1].1
    );
    let _ = writeln!(
        md,
        "- Quadrant shifts (variant \"blend + quadrant shifts\"): one valence and one arousal \
         offset, subtracted from the blend, chosen on a 0.01 grid over [-0.25, 0.25] to maximise \
         per-clip macro-F1 against the quadrant labels of the training clips, scored on \
         out-of-fold predictions inside the training folds (forest out-of-bag, ridge from 4 \
         inner folds grouped by clip). Learned on all clips: valence {:+.2}, arousal {:+.2} \
         (in the shipped file only if that variant is shipped).",
        report.shifts[0], report.shifts[1]
    );
    let _ = writeln!(
        md,
        "- Ridge: standardised features, penalty {} × rows, inputs clipped to ±8 SD.",
        o.ridge_lambda
    );
    let _ = writeln!(
        md,
        "- Shipped variant: the forest-based candidate with the best mean per-clip macro-F1 in \
         the cross-validation above ({}). This choice among four candidates is itself made on \
         the out-of-fold scores, a mild optimistic bias.",
        report.shipped.name()
    );
    let _ = writeln!(
        md,
        "- Model file: {:.2} MB, {} tree nodes; one prediction (both axes) takes {:.1} µs.",
        report.model_bytes as f64 / 1e6,
        report.model_nodes,
        report.predict_micros
    );
    let _ = writeln!(
        md,
        "\n## Every metric (mean over repeats, 95 % CI bootstrap over clips)\n"
    );
    let _ = write!(md, "| metric |");
    for variant in &report.variants {
        let _ = write!(md, " {} |", variant.name);
    }
    let _ = writeln!(md);
    let _ = writeln!(md, "|---|{}", "---|".repeat(report.variants.len()));
    for (index, name) in METRIC_NAMES.iter().enumerate() {
        let _ = write!(md, "| {name} |");
        for variant in &report.variants {
            let _ = write!(md, " {} |", variant.bootstrap[index]);
        }
        let _ = writeln!(md);
    }
    let _ = write!(md, "| spread of clip predictions (V, A), repeat 1 |");
    for variant in &report.variants {
        let _ = write!(
            md,
            " {:.3}, {:.3} |",
            variant.spread_clip.0, variant.spread_clip.1
        );
    }
    let _ = writeln!(md);
    let _ = writeln!(
        md,
        "\nSeed sensitivity, shipped variant (t-interval over the {} repeat means):\n",
        o.repeats
    );
    for (index, name) in METRIC_NAMES.iter().enumerate() {
        let _ = writeln!(md, "- {name}: {}", shipped.across_repeats[index]);
    }
    let _ = writeln!(md, "\nPer-clip confusion, shipped variant, repeat 1 (rows: true quadrant, columns: predicted):\n");
    let _ = writeln!(md, "| | Q1 | Q2 | Q3 | Q4 |\n|---|---|---|---|---|");
    for (q, row) in shipped.confusion_clip.iter().enumerate() {
        let _ = writeln!(
            md,
            "| Q{} | {} | {} | {} | {} |",
            q + 1,
            row[0],
            row[1],
            row[2],
            row[3]
        );
    }
    let _ = writeln!(
        md,
        "\n## 20 most important features\n\nPermutation importance of the calibrated forest: \
         mean loss of held-out R² when the feature is shuffled across a test fold's windows \
         (first repeat, all {} folds, every 4th test window).\n",
        o.folds
    );
    let _ = writeln!(
        md,
        "| rank | feature | ΔR² valence | ΔR² arousal |\n|---|---|---|---|"
    );
    for (rank, item) in report.importance.iter().enumerate() {
        let _ = writeln!(
            md,
            "| {} | `{}` | {:.4} | {:.4} |",
            rank + 1,
            item.feature,
            item.valence,
            item.arousal
        );
    }
    let _ = writeln!(
        md,
        "\n## Runtime (2 CPU cores, {} worker threads)\n",
        o.workers
    );
    let _ = writeln!(
        md,
        "- Feature extraction: {:.0} s (0 when every clip came from the cache in `{}`).",
        report.extraction_seconds,
        o.cache_dir.display()
    );
    let _ = writeln!(
        md,
        "- Cross-validation: {:.0} s ({:.1} s per forest); final fit: {:.0} s.",
        report.cv_seconds, report.seconds_per_forest, report.final_seconds
    );
    md
}
