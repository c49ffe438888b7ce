//! `moodscape analyze <AUDIO>`: rolling mood features of a file, one record per update.
//!
//! Records are serde structs written as JSON lines or CSV by [`RecordWriter`], which takes any
//! `Serialize` record: to add columns, wrap [`AnalyzeRecord`] in a struct with
//! `#[serde(flatten)]` (or add a flattened `Option` field) and the CSV header follows.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use anyhow::{bail, Context};
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::analysis::{feature_names, AnalyzerConfig, FeatureSummary, Mode};
use crate::cli::vocabulary::{name_of_code, quadrant_name, QuadrantShares, QUADRANTS};
use crate::va::mood_analyzer::{analyze_mood_file, MoodState};
use crate::va::targets::join_csv;

/// Output encodings.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
}

#[derive(clap::Args, Debug)]
#[command(after_help = "\
Every record carries `valence` and `arousal` on [-1, 1] (0 neutral), and their quadrant as
`quadrant` (the code) and `quadrant_name`:
  Q1 pleasant-excited     +valence +arousal
  Q2 unpleasant-excited   -valence +arousal
  Q3 unpleasant-calm      -valence -arousal
  Q4 pleasant-calm        +valence -arousal
The key is `key` (the tonic, e.g. \"F#\") and `mode` (major or minor).
The clip summary (mean VA over the windows, its quadrant, and `quadrant_shares`: the share of
windows in each named quadrant) ends JSONL output as one {\"summary\": ...} line. With
--format csv it goes to --summary FILE (a one-row CSV), or to stderr without one.\
")]
pub struct Args {
    /// Audio file to analyse (WAV, FLAC, MP3 or Ogg Vorbis).
    pub audio: PathBuf,
    /// Also write the clip summary to this file, in the --format chosen (CSV: a header and one
    /// row). With --format csv this is where the summary belongs; without it the summary goes
    /// to stderr.
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,
    /// Output encoding.
    #[arg(long, value_enum, default_value_t = OutputFormat::Jsonl)]
    pub format: OutputFormat,
    /// Include the whole named feature vector in every record.
    #[arg(long)]
    pub features: bool,
    /// Length of the rolling window in seconds (the plugin's default Window).
    #[arg(long, default_value_t = crate::va::mood::MOOD_WINDOW_SECONDS)]
    pub window: f32,
    /// Seconds between updates.
    #[arg(long, default_value_t = 0.5)]
    pub hop: f32,
    /// Also stream every update over OSC to HOST:PORT (e.g. 127.0.0.1:9000), the messages the
    /// plugin sends, at the pace of the file (see --osc-fast).
    #[arg(long, value_name = "HOST:PORT")]
    pub osc: Option<String>,
    /// OSC address prefix, with --osc.
    #[arg(long, default_value = crate::live::osc::DEFAULT_PREFIX)]
    pub osc_prefix: String,
    /// With --osc: send as fast as the analysis runs instead of at the pace of the file.
    #[arg(long)]
    pub osc_fast: bool,
}

/// `--osc`: streams each update as the plugin's OSC bundle, paced like playback unless asked not.
struct OscStream {
    /// The plugin's sender, with fixed settings.
    sender: crate::live::OscSender,
    /// When the file "started playing", to pace updates to their time stamps.
    started: std::time::Instant,
    /// Send without waiting for the file's time.
    fast: bool,
    /// Whether a send error was already reported, so a dead receiver warns once.
    warned: bool,
}

impl OscStream {
    fn open(target: &str, prefix: &str, fast: bool) -> anyhow::Result<Self> {
        let settings =
            crate::live::OscSettings::for_target(target, prefix).map_err(anyhow::Error::msg)?;
        let sender = crate::live::OscSender::for_settings(settings).map_err(anyhow::Error::msg)?;
        Ok(Self {
            sender,
            started: std::time::Instant::now(),
            fast,
            warned: false,
        })
    }

    fn send(&mut self, summary: &FeatureSummary, va: Option<crate::va::Va>, silent: bool) {
        if !self.fast {
            let due = self.started + std::time::Duration::from_secs_f64(summary.t.max(0.0));
            std::thread::sleep(due.saturating_duration_since(std::time::Instant::now()));
        }
        let frame = crate::live::OscFrame::from_summary(summary, va, silent);
        if !self.sender.send(&frame) && !self.warned {
            self.warned = true;
            eprintln!("moodscape: warning: {}", self.sender.config().status());
        }
    }
}

/// The whole feature vector, serialised as `name: value` pairs in [`feature_names`] order.
#[derive(Debug, Clone, Copy)]
pub struct NamedFeatures<'a>(pub &'a [f32]);

impl Serialize for NamedFeatures<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in feature_names().iter().zip(self.0) {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// One update of `moodscape analyze`.
#[derive(Debug, Clone, Serialize)]
pub struct AnalyzeRecord<'a> {
    /// End of the analysed window, seconds from the start of the file.
    pub t: f64,
    /// Tempo estimate (BPM).
    pub tempo_bpm: f32,
    /// Pulse clarity behind the tempo (0..1).
    pub tempo_confidence: f32,
    /// Tonic name, e.g. "F#".
    pub key: &'static str,
    /// Major or minor.
    pub mode: Mode,
    /// Best major minus best minor key correlation.
    pub mode_strength: f32,
    /// K-weighted gated loudness (LUFS).
    pub loudness_db: f32,
    /// RMS level (dBFS, AES17).
    pub rms_db: f32,
    /// The full feature vector, present with `--features`.
    #[serde(flatten)]
    pub features: Option<NamedFeatures<'a>>,
}

impl<'a> AnalyzeRecord<'a> {
    pub fn new(summary: &'a FeatureSummary, with_features: bool) -> Self {
        Self {
            t: summary.t,
            tempo_bpm: summary.tempo_bpm,
            tempo_confidence: summary.tempo_confidence,
            key: summary.key_name(),
            mode: summary.mode,
            mode_strength: summary.mode_strength,
            loudness_db: summary.loudness_db,
            rms_db: summary.rms_db,
            features: with_features.then_some(NamedFeatures(&summary.values)),
        }
    }
}

/// A record's fields in serialisation order (serde_json's own map would sort them).
struct OrderedFields(Vec<(String, serde_json::Value)>);

impl<'de> Deserialize<'de> for OrderedFields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = OrderedFields;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a flat record")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut fields = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    fields.push(entry);
                }
                Ok(OrderedFields(fields))
            }
        }
        deserializer.deserialize_map(FieldsVisitor)
    }
}

/// Writes serde records as JSON lines or CSV (header from the first record's field names).
pub struct RecordWriter<W: Write> {
    /// Destination.
    out: W,
    /// Encoding.
    format: OutputFormat,
    /// CSV columns fixed by the first record; later records must have the same fields.
    columns: Option<Vec<String>>,
}

impl<W: Write> RecordWriter<W> {
    pub fn new(out: W, format: OutputFormat) -> Self {
        Self {
            out,
            format,
            columns: None,
        }
    }

    /// Writes one record.
    pub fn write<R: Serialize>(&mut self, record: &R) -> anyhow::Result<()> {
        match self.format {
            OutputFormat::Jsonl => {
                serde_json::to_writer(&mut self.out, record)?;
                self.out.write_all(b"\n")?;
            }
            OutputFormat::Csv => {
                let json = serde_json::to_string(record)?;
                let OrderedFields(fields) = serde_json::from_str(&json)?;
                let names: Vec<String> = fields.iter().map(|(k, _)| k.clone()).collect();
                match &self.columns {
                    None => {
                        writeln!(self.out, "{}", join_csv(names.iter().map(String::as_str)))?;
                        self.columns = Some(names);
                    }
                    Some(columns) if *columns != names => {
                        bail!("record fields changed between CSV rows")
                    }
                    Some(_) => {}
                }
                let cells: Vec<String> = fields.iter().map(|(_, v)| csv_cell(v)).collect();
                writeln!(self.out, "{}", join_csv(cells.iter().map(String::as_str)))?;
            }
        }
        Ok(())
    }

    /// Flushes and returns the destination.
    pub fn finish(mut self) -> anyhow::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// A JSON value as CSV text (strings unquoted, numbers as JSON writes them, null empty).
fn csv_cell(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// True when the error is stdout closing under us (`| head`): not worth an error.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<serde_json::Error>()
                .and_then(|e| e.io_error_kind())
                .is_some_and(|kind| kind == io::ErrorKind::BrokenPipe)
    })
}

/// An analysis record with the model's valence, arousal and quadrant appended.
#[derive(Debug, Clone, Serialize)]
pub struct MoodRecord<'a> {
    /// The analysis columns.
    #[serde(flatten)]
    pub analysis: AnalyzeRecord<'a>,
    /// The VA columns (empty without a usable model).
    #[serde(flatten)]
    pub va: crate::va::VaColumns,
    /// The quadrant's name ("pleasant-excited"...), so no reader has to know what Q1 means.
    pub quadrant_name: Option<&'static str>,
}

/// The clip summary as `analyze` writes it: [`crate::va::ClipSummary`] with the quadrant named
/// and the per-quadrant shares labelled.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelledClipSummary {
    /// Windows averaged.
    pub windows: usize,
    /// Mean valence over the windows, [-1, 1].
    pub valence: f32,
    /// Mean arousal over the windows, [-1, 1].
    pub arousal: f32,
    /// Quadrant of the mean, "Q1".."Q4".
    pub quadrant: &'static str,
    /// That quadrant's name.
    pub quadrant_name: &'static str,
    /// Spread of valence over the windows.
    pub valence_std: f32,
    /// Spread of arousal over the windows.
    pub arousal_std: f32,
    /// Share of windows per quadrant, under labelled keys.
    pub quadrant_shares: QuadrantShares,
}

impl From<&crate::va::ClipSummary> for LabelledClipSummary {
    fn from(summary: &crate::va::ClipSummary) -> Self {
        Self {
            windows: summary.windows,
            valence: summary.valence,
            arousal: summary.arousal,
            quadrant: summary.quadrant,
            quadrant_name: name_of_code(summary.quadrant).unwrap_or(""),
            valence_std: summary.valence_std,
            arousal_std: summary.arousal_std,
            quadrant_shares: summary.quadrant_shares.into(),
        }
    }
}

impl LabelledClipSummary {
    /// One CSV row under a header; the shares become `share_Q1_pleasant_excited`... columns.
    pub fn to_csv(&self) -> String {
        let shares = self.quadrant_shares;
        let mut header = vec![
            "windows".to_string(),
            "valence".into(),
            "arousal".into(),
            "quadrant".into(),
            "quadrant_name".into(),
            "valence_std".into(),
            "arousal_std".into(),
        ];
        header.extend(
            QUADRANTS
                .iter()
                .map(|(code, name)| format!("share_{code}_{}", name.replace('-', "_"))),
        );
        let row = [
            self.windows.to_string(),
            self.valence.to_string(),
            self.arousal.to_string(),
            self.quadrant.to_string(),
            self.quadrant_name.to_string(),
            self.valence_std.to_string(),
            self.arousal_std.to_string(),
            shares.q1.to_string(),
            shares.q2.to_string(),
            shares.q3.to_string(),
            shares.q4.to_string(),
        ];
        format!(
            "{}\n{}\n",
            join_csv(header.iter().map(String::as_str)),
            join_csv(row.iter().map(String::as_str))
        )
    }
}

/// The clip summary ends the output: one `{"summary": ...}` line in JSONL. CSV stdout must stay
/// one table, so there it goes to `--summary FILE`, or to stderr without one.
fn write_clip_summary<W: Write>(
    writer: &mut RecordWriter<W>,
    args: &Args,
    summary: &crate::va::ClipSummary,
) -> anyhow::Result<()> {
    let summary = LabelledClipSummary::from(summary);
    if let Some(path) = &args.summary {
        let text = match args.format {
            OutputFormat::Jsonl => format!("{}\n", serde_json::to_string(&summary)?),
            OutputFormat::Csv => summary.to_csv(),
        };
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    match args.format {
        OutputFormat::Jsonl => writer.write(&serde_json::json!({ "summary": summary })),
        OutputFormat::Csv if args.summary.is_none() => {
            eprintln!(
                "summary: {} (--summary FILE writes it as CSV)",
                serde_json::to_string(&summary)?
            );
            Ok(())
        }
        OutputFormat::Csv => Ok(()),
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if args.audio.is_dir() {
        bail!(
            "{} is a directory: give one audio file (WAV, FLAC, MP3 or Ogg Vorbis), e.g. \
             `for f in {}/*.ogg; do moodscape analyze \"$f\" > \"$f.jsonl\"; done`",
            args.audio.display(),
            args.audio.display()
        );
    }
    if !(args.window.is_finite() && args.window > 0.0) {
        bail!("--window must be a positive number of seconds");
    }
    if !(args.hop.is_finite() && args.hop > 0.0 && args.hop <= args.window) {
        bail!("--hop must be positive and no longer than --window");
    }
    let config = AnalyzerConfig {
        window_seconds: args.window,
        hop_seconds: args.hop,
    };
    // A missing or broken model or network costs the VA columns (left empty), never the
    // analysis.
    let mut osc = args
        .osc
        .as_deref()
        .map(|target| OscStream::open(target, &args.osc_prefix, args.osc_fast))
        .transpose()?;
    let va_model = crate::va::VaModel::embedded()
        .inspect_err(|e| eprintln!("moodscape: warning: {e}; valence/arousal left empty"))
        .ok();
    let network = match crate::va::mood_analyzer::shared_network() {
        Ok(network) => Some(network.clone()),
        Err(error) => {
            if va_model.is_some() {
                eprintln!("moodscape: warning: {error}; valence/arousal left empty");
            }
            None
        }
    };
    let va_model = va_model.filter(|_| network.is_some());
    let mut clip = crate::va::ClipAccumulator::default();
    let stdout = io::stdout().lock();
    let mut writer = RecordWriter::new(BufWriter::new(stdout), args.format);
    let mut write_error: Option<anyhow::Error> = None;
    let outcome = analyze_mood_file(&args.audio, config, network, |frame| {
        // Silent and warming rows carry no estimate and stay out of the clip summary.
        let ready = frame.state == MoodState::Ready;
        let va = va_model
            .as_ref()
            .filter(|_| ready)
            .map(|model| model.predict_values(frame.row));
        va.inspect(|va| clip.add(*va));
        if let Some(osc) = osc.as_mut() {
            osc.send(frame.summary, va, frame.state == MoodState::Silent);
        }
        if write_error.is_none() {
            let mut va_columns = crate::va::VaColumns::from(va);
            va_columns.mood_state = frame.state.name();
            let record = MoodRecord {
                analysis: AnalyzeRecord::new(frame.summary, args.features),
                va: va_columns,
                quadrant_name: va.map(quadrant_name),
            };
            if let Err(e) = writer.write(&record) {
                write_error = Some(e);
            }
        }
    })?;
    if let (None, Some(summary)) = (&write_error, clip.summary()) {
        write_error = write_clip_summary(&mut writer, &args, &summary).err();
    }
    let result = match write_error {
        Some(e) => Err(e),
        None => writer.finish().map(drop),
    };
    match result {
        Err(e) if is_broken_pipe(&e) => return Ok(()),
        Err(e) => return Err(e).context("cannot write output"),
        Ok(()) => {}
    }
    if outcome.frames == 0 {
        bail!(
            "{} holds {:.2} s of audio, shorter than one update ({} s)",
            args.audio.display(),
            outcome.duration_seconds,
            config.sanitized().hop_seconds
        );
    }
    Ok(())
}
