//! Writes the model card (`models/va-forest.md`) from a training report.

use std::fmt::Write;

use super::evaluation::{VariantScores, METRIC_NAMES};
use super::train::{TrainReport, SHIPPED};

/// Goals from issue 10: (metric index, goal, label).
const GOALS: [(usize, f64, &str); 3] = [
    (15, 0.78, "quadrant macro-F1 per clip ≥ 0.78"),
    (10, 0.82, "arousal r ≥ 0.82 (per clip)"),
    (7, 0.72, "valence r ≥ 0.72 (per clip)"),
];
/// Full-range goal: SD of out-of-fold clip predictions over SD of the targets, each axis.
const SPREAD_GOAL: f64 = 0.85;

fn spread_ratio(scores: &VariantScores, report: &TrainReport) -> (f64, f64) {
    (
        scores.spread_clip.0 / report.target_spread.0.max(1e-9),
        scores.spread_clip.1 / report.target_spread.1.max(1e-9),
    )
}

fn row(md: &mut String, scores: &VariantScores, report: &TrainReport) {
    let (v, a) = spread_ratio(scores, report);
    let _ = writeln!(
        md,
        "| {} | {} | {} | {} | {:.2} / {:.2} |",
        scores.name, scores.bootstrap[7], scores.bootstrap[10], scores.bootstrap[15], v, a
    );
}

/// Renders the card as Markdown.
pub fn render(report: &TrainReport) -> String {
    let o = &report.options;
    let mut md = String::new();
    let shipped = &report.ablation[SHIPPED];
    let _ = writeln!(
        md,
        "# Model card: valence/arousal heads on MusiCNN + engine features (`models/va-forest.bin`)\n"
    );
    let _ = writeln!(
        md,
        "Written by the training command itself (the file keeps its historical name; it holds \
         ridge heads now). Reproduce with:\n\n```\n{}\n```\n",
        o.command
    );
    let _ = writeln!(md, "## Headline (shipped: {})\n", shipped.name);
    let _ = writeln!(
        md,
        "Out-of-fold, {} × {}-fold CV grouped by clip; 95 % CI from a bootstrap over clips.\n",
        o.repeats, o.folds
    );
    let _ = writeln!(md, "| goal | measured | met? |");
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
    let (v, a) = spread_ratio(shipped, report);
    let verdict = if v >= SPREAD_GOAL && a >= SPREAD_GOAL {
        "yes".to_string()
    } else {
        "no".to_string()
    };
    let _ = writeln!(
        md,
        "| full range: SD(pred) / SD(target) ≥ {SPREAD_GOAL} per axis (clip means, repeat 1) | \
         valence {v:.2}, arousal {a:.2} | {verdict} |"
    );
    let (v, a) = spread_ratio(&report.by_artist, report);
    let _ = writeln!(
        md,
        "\nFolds grouped by **artist** ({} artists; no artist in both training and test): \
         valence r {}, arousal r {}, macro-F1 {}, spread {v:.2} / {a:.2}. With folds grouped by \
         clip, {:.1} % of held-out clips share an artist with the training folds.\n",
        report.artists,
        report.by_artist.bootstrap[7],
        report.by_artist.bootstrap[10],
        report.by_artist.bootstrap[15],
        report.artist_overlap * 100.0
    );

    let _ = writeln!(md, "## Ablation (per clip; all calibrated the same way)\n");
    let _ = writeln!(
        md,
        "| features | valence r | arousal r | quadrant macro-F1 | spread ratio V / A |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|");
    for scores in &report.ablation {
        row(&mut md, scores, report);
    }
    row(&mut md, &report.uncalibrated, report);
    row(&mut md, &report.by_artist, report);

    let _ = writeln!(md, "\n## Which features carry valence\n");
    let engine = &report.ablation[0];
    let musicnn = &report.ablation[3];
    let _ = writeln!(
        md,
        "- Valence r per clip: engine features alone {:.3}, MusiCNN alone {:.3}, all {:.3}; with \
         artist-grouped folds {:.3}. The gap between clip- and artist-grouped folds is the part \
         of valence that rides on artist (and genre) identity.",
        engine.bootstrap[7].mean,
        musicnn.bootstrap[7].mean,
        shipped.bootstrap[7].mean,
        report.by_artist.bootstrap[7].mean
    );
    let _ = writeln!(
        md,
        "- Engine features most correlated with the valence target (clip means, all clips):\n"
    );
    let _ = writeln!(
        md,
        "| feature | r with valence | r with arousal |\n|---|---|---|"
    );
    for link in &report.engine_links {
        let _ = writeln!(
            md,
            "| `{}` | {:+.3} | {:+.3} |",
            link.feature, link.valence_r, link.arousal_r
        );
    }

    let _ = writeln!(md, "\n## Data\n");
    let _ = writeln!(
        md,
        "- 4Q audio emotion dataset (Panda, Malheiro & Paiva 2018), `{}/music-4q`: {} clips with \
         rows (Q1..Q4: {:?}); {} without{}.",
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
        "- Targets: mean Warriner et al. (2013) valence and arousal of each clip's \
         `MoodsFoundStr` tags, mapped from 1-9 to [-1, 1] by (x - 5) / 4. {} tags were not in the \
         norms. Target spread (SD over clips): valence {:.3}, arousal {:.3}. The signs of the \
         targets match the quadrant label for {:.1} % of clips: the ceiling for the sign-based \
         quadrant metrics, which are scored against the dataset's label.",
        report.missing_tags,
        report.target_spread.0,
        report.target_spread.1,
        report.sign_ceiling * 100.0
    );
    let _ = writeln!(
        md,
        "- Rows: the plugin's own path. Each clip streams through the analysis engine (schema v{}, \
         {:.0} s window, a summary every 0.5 s) and through `MusicnnStream` (3 s patches); a row \
         is one summary's engine features plus the mean and deviation of the embedding (200) and \
         taggram (50) over the patches ending inside its window (`va::mood::assemble_row`, as in \
         the plugin and the CLI). Summaries before the first patch give no row (the plugin shows \
         no estimate then either). Every {}-th summary is kept: {} rows, {} features. \
         Non-finite features are replaced by the training median (the same rule runs live).",
        report.schema_version,
        o.window_seconds,
        o.row_step,
        report.rows,
        report.features
    );

    let _ = writeln!(md, "\n## Model, split and calibration\n");
    let _ = writeln!(
        md,
        "- Ridge regression per axis on standardised features (inputs clipped to ±8 SD), the \
         penalty (× rows) chosen from {:?} by leave-one-fold-out inside the training folds \
         (squared error of clip means). Shipped penalties: valence {}, arousal {}.",
        o.lambdas, report.final_lambdas.0, report.final_lambdas.1
    );
    let _ = writeln!(
        md,
        "- Full-range calibration `offset + slope × ridge`: matches the mean and SD of the inner \
         out-of-fold clip predictions to the targets', fitted inside the training folds only. \
         Ridge shrinks towards the mean; this undoes the shrinkage at the cost of a larger \
         squared error (r is unchanged by it). Then one valence and one arousal shift (0.01 \
         grid over ±0.2) moves the quadrant boundaries to maximise macro-F1 of the signs of those \
         same inner predictions against the training clips' quadrant labels. Shipped (shift \
         included in the offset): valence {:.3} + {:.3}·x, arousal {:.3} + {:.3}·x.",
        report.calibration[0].0,
        report.calibration[0].1,
        report.calibration[1].0,
        report.calibration[1].1
    );
    let _ = writeln!(
        md,
        "- {}-fold CV grouped by clip, stratified by quadrant, {} repeats (seeds 1000..); the \
         artist row uses {}-fold folds grouped by artist (seeds 2000..). Per-clip metrics score \
         the mean of a clip's window predictions. Intervals: 95 % percentile bootstrap over \
         clips ({} resamples, each scoring all repeats).",
        o.folds, o.repeats, o.folds, o.resamples
    );
    let _ = writeln!(
        md,
        "- Model file: {:.2} MB; one prediction (both axes) takes {:.1} µs.",
        report.model_bytes as f64 / 1e6,
        report.predict_micros
    );

    let _ = writeln!(
        md,
        "\n## Every metric, shipped set (mean over repeats, 95 % CI bootstrap over clips)\n"
    );
    let _ = writeln!(md, "| metric | clip folds | artist folds |\n|---|---|---|");
    for (index, name) in METRIC_NAMES.iter().enumerate() {
        let _ = writeln!(
            md,
            "| {name} | {} | {} |",
            shipped.bootstrap[index], report.by_artist.bootstrap[index]
        );
    }
    let _ = writeln!(
        md,
        "\nPer-clip confusion, shipped, repeat 1 (rows: true quadrant, columns: predicted):\n"
    );
    let _ = writeln!(md, "| | Q1 | Q2 | Q3 | Q4 |\n|---|---|---|---|---|");
    for (q, counts) in shipped.confusion_clip.iter().enumerate() {
        let _ = writeln!(
            md,
            "| Q{} | {} | {} | {} | {} |",
            q + 1,
            counts[0],
            counts[1],
            counts[2],
            counts[3]
        );
    }
    let _ = writeln!(
        md,
        "\n## Runtime ({} worker threads, 2 CPU cores)\n",
        o.workers
    );
    let _ = writeln!(
        md,
        "- Engine features: {:.0} s; MusiCNN patches: {:.0} s (both near 0 when read from the \
         caches in `{}`).\n- Cross-validation: {:.0} s; final fit: {:.1} s.",
        report.engine_seconds,
        report.patch_seconds,
        o.cache_dir.display(),
        report.cv_seconds,
        report.final_seconds
    );
    md
}
