//! Known-answer suite for tempo, key and mode, on drum grooves, piano and tonal material that the
//! test synthesises itself (nothing is committed as data), run through the real [`Analyzer`].
//!
//! Tempo: 60-200 BPM in 7 BPM steps, six styles, four sample rates, with and without noise.
//! Each (style, tempo) is rendered twice: clean at one rate and noisy at another, the rates
//! rotating so every style meets every rate.
//!
//! Half-time convention: **the felt pulse** (the period at which kick and snare alternate). A
//! half-time groove notated at N BPM (snare on 3, eighth-note hats) is rendered here as its felt
//! pulse B = N/2 with snare every second beat and hats on sixteenths of B, and B is the expected
//! answer. The notated reading cannot be the convention: that signal is sample for sample a
//! backbeat at N/2 with sixteenth hats, which must read N/2. Felt pulses 60-130 are tested (notated
//! 120-260); a felt 200 would be notated 400.
//!
//! Key: all 24 keys, each as a cadence of triads, a scale and an accompanied melody, scored with
//! the MIREX weights (1 correct, 0.5 fifth, 0.3 relative, 0.2 parallel).

mod analysis_signals;

use analysis_signals::{midi_hz, Noise};
use moodscape::analysis::{key_name, Analyzer, AnalyzerConfig, FeatureSummary, Mode};

/// Seconds rendered per case: the 10 s window plus margin for the resampler's latency.
const SECONDS: f32 = 10.5;
/// Sample rates the cases rotate through.
const RATES: [u32; 4] = [22_050, 32_000, 44_100, 48_000];
/// Tolerance for "correct" tempo (relative).
const TEMPO_TOLERANCE: f32 = 0.04;

/// One summary over the first 10 s, through the real analyser (one summary keeps the suite fast).
fn summarize(mono: &[f32], rate: u32) -> FeatureSummary {
    let config = AnalyzerConfig {
        window_seconds: 10.0,
        hop_seconds: 10.0,
    };
    let mut analyzer = Analyzer::new(rate as f64, 1, config);
    let mut last = None;
    for block in mono.chunks(1024) {
        analyzer.push_interleaved(block, |s| last = Some(s.clone()));
    }
    last.expect("10.5 s give one summary")
}

// ---------------------------------------------------------------- instruments

/// Kick drum: a sine sweeping 160 -> 50 Hz with a 150 ms decay.
fn kick(out: &mut [f32], start: usize, rate: u32, gain: f32) {
    let len = (0.3 * rate as f32) as usize;
    let mut phase = 0.0f32;
    for i in 0..len.min(out.len().saturating_sub(start)) {
        let t = i as f32 / rate as f32;
        let hz = 50.0 + 110.0 * (-t / 0.04).exp();
        phase += std::f32::consts::TAU * hz / rate as f32;
        out[start + i] += gain * 0.9 * (-t / 0.15).exp() * phase.sin();
    }
}

/// Snare: noise with a 180 Hz body, 90 ms decay; its peak matches the kick's, as in a mix.
fn snare(out: &mut [f32], start: usize, rate: u32, gain: f32, noise: &mut Noise) {
    let len = (0.25 * rate as f32) as usize;
    for i in 0..len.min(out.len().saturating_sub(start)) {
        let t = i as f32 / rate as f32;
        let body = (std::f32::consts::TAU * 180.0 * t).sin() * (-t / 0.05).exp();
        out[start + i] += gain * (0.8 * noise.next() * (-t / 0.09).exp() + 0.4 * body);
    }
}

/// Hi-hat: first-differenced (high-passed) noise; closed 25 ms or open 120 ms decay.
fn hat(out: &mut [f32], start: usize, rate: u32, gain: f32, open: bool, noise: &mut Noise) {
    let decay = if open { 0.12 } else { 0.025 };
    let len = ((decay * 5.0) * rate as f32) as usize;
    let mut previous = 0.0;
    for i in 0..len.min(out.len().saturating_sub(start)) {
        let t = i as f32 / rate as f32;
        let white = noise.next();
        out[start + i] += gain * 0.25 * (white - previous) * (-t / decay).exp();
        previous = white;
    }
}

/// Piano-like note: 6 inharmonic-free partials with a 5 ms attack and a decay that is faster for
/// upper partials.
fn piano(out: &mut [f32], note: i32, start: usize, seconds: f32, rate: u32, gain: f32) {
    let f0 = midi_hz(note);
    let len = (seconds * rate as f32) as usize;
    for i in 0..len.min(out.len().saturating_sub(start)) {
        let t = i as f32 / rate as f32;
        let attack = (t / 0.005).min(1.0);
        let release = ((seconds - t) / 0.02).clamp(0.0, 1.0);
        let mut v = 0.0;
        for h in 1..=6 {
            let partial = f0 * h as f32;
            if partial > 0.45 * rate as f32 {
                break;
            }
            let decay = (-t * (1.5 + 0.8 * h as f32)).exp();
            v += (std::f32::consts::TAU * partial * t).sin() * decay / h as f32;
        }
        out[start + i] += gain * attack * release * v;
    }
}

// ---------------------------------------------------------------- grooves

/// The groove styles of the suite.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Style {
    FourOnTheFloor,
    RockBackbeat,
    HalfTime,
    SwungEighths,
    Breakbeat,
    PianoOnly,
}

const STYLES: [Style; 6] = [
    Style::FourOnTheFloor,
    Style::RockBackbeat,
    Style::HalfTime,
    Style::SwungEighths,
    Style::Breakbeat,
    Style::PianoOnly,
];

impl Style {
    fn label(self) -> &'static str {
        match self {
            Style::FourOnTheFloor => "four-on-the-floor",
            Style::RockBackbeat => "rock backbeat",
            Style::HalfTime => "half-time (felt pulse)",
            Style::SwungEighths => "swung eighths",
            Style::Breakbeat => "syncopated breakbeat",
            Style::PianoOnly => "sparse piano, no drums",
        }
    }

    fn has_drums(self) -> bool {
        self != Style::PianoOnly
    }

    /// Tempi tested: from `first` to 200 in `step` BPM steps (half-time: felt tempi to 130, see
    /// the module comment).
    fn tempi(self, first: usize, step: usize) -> Vec<f32> {
        let top = if self == Style::HalfTime { 130 } else { 200 };
        (first..=top).step_by(step).map(|b| b as f32).collect()
    }
}

/// An instrument hit: position in beats within the bar, instrument, velocity.
#[derive(Clone, Copy)]
enum Hit {
    Kick(f32, f32),
    Snare(f32, f32),
    Hat(f32, f32, bool),
    /// Piano: beat, velocity, MIDI notes (0 = unused slot), duration in beats.
    Piano(f32, f32, [i32; 4], f32),
}

/// One bar of the style (`beats_per_bar`, hits).
fn pattern(style: Style) -> (f32, Vec<Hit>) {
    use Hit::*;
    let mut hits = Vec::new();
    match style {
        Style::FourOnTheFloor => {
            for beat in 0..4 {
                let b = beat as f32;
                hits.push(Kick(b, 1.0));
                hits.push(Hat(b + 0.5, 0.7, true));
                if beat % 2 == 1 {
                    hits.push(Snare(b, 0.6));
                }
            }
            (4.0, hits)
        }
        Style::RockBackbeat => {
            hits.extend([
                Kick(0.0, 1.0),
                Snare(1.0, 1.0),
                Kick(2.0, 1.0),
                Snare(3.0, 1.0),
            ]);
            hits.push(Kick(2.5, 0.7));
            for eighth in 0..8 {
                let accent = if eighth % 2 == 0 { 0.8 } else { 0.5 };
                hits.push(Hat(eighth as f32 * 0.5, accent, false));
            }
            (4.0, hits)
        }
        Style::HalfTime => {
            // Felt beats: kick on 1 and the "a" of 1, snare on 2; sixteenth hats.
            hits.extend([Kick(0.0, 1.0), Kick(0.75, 0.6), Snare(1.0, 1.0)]);
            for sixteenth in 0..8 {
                let accent = if sixteenth % 2 == 0 { 0.7 } else { 0.4 };
                hits.push(Hat(sixteenth as f32 * 0.25, accent, false));
            }
            (2.0, hits)
        }
        Style::SwungEighths => {
            // Shuffle: hats on the beat and on the last triplet of it.
            hits.extend([
                Kick(0.0, 1.0),
                Snare(1.0, 0.9),
                Kick(2.0, 1.0),
                Snare(3.0, 0.9),
            ]);
            for beat in 0..4 {
                hits.push(Hat(beat as f32, 0.8, false));
                hits.push(Hat(beat as f32 + 2.0 / 3.0, 0.5, false));
            }
            (4.0, hits)
        }
        Style::Breakbeat => {
            // An Amen-like bar on a sixteenth grid: syncopated kicks and ghosted snares.
            for (step, velocity) in [(0, 1.0), (2, 0.9), (10, 1.0), (11, 0.8)] {
                hits.push(Kick(step as f32 * 0.25, velocity));
            }
            for (step, velocity) in [(4, 1.0), (7, 0.5), (9, 0.5), (12, 1.0), (15, 0.5)] {
                hits.push(Snare(step as f32 * 0.25, velocity));
            }
            for eighth in 0..8 {
                hits.push(Hat(eighth as f32 * 0.5, 0.6, false));
            }
            (4.0, hits)
        }
        Style::PianoOnly => {
            // C major: chord on 1, a melody note on 2, a softer chord on 3, two notes on 4.
            hits.push(Piano(0.0, 1.0, [48, 60, 64, 67], 1.8));
            hits.push(Piano(1.0, 0.6, [72, 0, 0, 0], 0.9));
            hits.push(Piano(2.0, 0.8, [43, 59, 62, 67], 1.8));
            hits.push(Piano(3.0, 0.5, [74, 0, 0, 0], 0.45));
            hits.push(Piano(3.5, 0.45, [71, 0, 0, 0], 0.45));
            (4.0, hits)
        }
    }
}

/// Renders `seconds` of the style at `bpm`, with +-4 ms timing jitter and +-10 % velocity
/// variation (a drummer, not a sequencer), plus white noise 20 dB below the groove when `noisy`.
fn render(style: Style, bpm: f32, rate: u32, noisy: bool, seed: u64) -> Vec<f32> {
    let n = (SECONDS * rate as f32) as usize;
    let mut out = vec![0.0f32; n];
    let mut noise = Noise::new(seed);
    let mut humanise = Noise::new(seed ^ 0x9e37_79b9);
    let beat_seconds = 60.0 / bpm;
    let (bar_beats, hits) = pattern(style);
    let mut bar = 0;
    while bar as f32 * bar_beats * beat_seconds < SECONDS {
        for hit in &hits {
            let beat = match *hit {
                Hit::Kick(b, _) | Hit::Snare(b, _) | Hit::Hat(b, _, _) | Hit::Piano(b, _, _, _) => {
                    b
                }
            };
            let t = (bar as f32 * bar_beats + beat) * beat_seconds + 0.004 * humanise.next();
            let start = (t.max(0.0) * rate as f32) as usize;
            if start >= n {
                continue;
            }
            let velocity_jitter = 1.0 + 0.1 * humanise.next();
            match *hit {
                Hit::Kick(_, v) => kick(&mut out, start, rate, v * velocity_jitter),
                Hit::Snare(_, v) => snare(&mut out, start, rate, v * velocity_jitter, &mut noise),
                Hit::Hat(_, v, open) => {
                    hat(&mut out, start, rate, v * velocity_jitter, open, &mut noise)
                }
                Hit::Piano(_, v, notes, beats) => {
                    for note in notes.into_iter().filter(|&m| m > 0) {
                        let length = beats * beat_seconds;
                        piano(
                            &mut out,
                            note,
                            start,
                            length,
                            rate,
                            0.12 * v * velocity_jitter,
                        );
                    }
                }
            }
        }
        bar += 1;
    }
    if noisy {
        let rms = (out.iter().map(|x| x * x).sum::<f32>() / n as f32).sqrt();
        // Uniform noise in [-1, 1] has RMS 1/sqrt(3).
        let gain = 0.1 * rms * 3f32.sqrt();
        for x in out.iter_mut() {
            *x += gain * noise.next();
        }
    }
    out
}

/// One tempo case's outcome.
struct TempoCase {
    style: Style,
    bpm: f32,
    rate: u32,
    noisy: bool,
    estimate: f32,
    clarity: f32,
}

impl TempoCase {
    fn ratio(&self) -> f32 {
        self.estimate / self.bpm
    }
    fn within(&self) -> bool {
        (self.ratio() - 1.0).abs() <= TEMPO_TOLERANCE
    }
    /// Off by a factor of 2 or 1/2 (within the same tolerance).
    fn octave_error(&self) -> bool {
        [2.0f32, 0.5]
            .iter()
            .any(|r| (self.ratio() / r - 1.0).abs() <= TEMPO_TOLERANCE)
    }
}

/// Which tempi and seeds a suite run uses.
#[derive(Clone, Copy)]
struct Grid {
    /// First tempo (BPM).
    first: usize,
    /// Step between tempi (BPM).
    step: usize,
    /// Added to every case's noise and humanising seed.
    seed: u64,
}

/// The suite the estimator's thresholds were chosen on.
const TUNING_GRID: Grid = Grid {
    first: 60,
    step: 7,
    seed: 11,
};

/// Tempi and seeds that no threshold was chosen on: other tempi in 5 BPM steps, other noise and
/// humanising.
const HELD_OUT_GRID: Grid = Grid {
    first: 64,
    step: 5,
    seed: 9011,
};

fn run_tempo_suite(grid: Grid) -> Vec<TempoCase> {
    let mut cases = Vec::new();
    let mut counter = 0usize;
    for style in STYLES {
        for bpm in style.tempi(grid.first, grid.step) {
            for noisy in [false, true] {
                let rate = RATES[counter % RATES.len()];
                counter += 1;
                let signal = render(style, bpm, rate, noisy, counter as u64 + grid.seed);
                let summary = summarize(&signal, rate);
                cases.push(TempoCase {
                    style,
                    bpm,
                    rate,
                    noisy,
                    estimate: summary.tempo_bpm,
                    clarity: summary.tempo_confidence,
                });
            }
        }
    }
    cases
}

/// Prints the per-style table and the misses; returns (share within 4 %, octave errors on drum
/// styles).
fn report(cases: &[TempoCase]) -> (f32, usize) {
    println!("| style | cases | within 4 % | off by 2x or 1/2 | other | mean pulse clarity |");
    println!("|---|---|---|---|---|---|");
    for style in STYLES {
        let of_style: Vec<&TempoCase> = cases.iter().filter(|c| c.style == style).collect();
        let within = of_style.iter().filter(|c| c.within()).count();
        let octave = of_style.iter().filter(|c| c.octave_error()).count();
        let clarity = of_style.iter().map(|c| c.clarity).sum::<f32>() / of_style.len() as f32;
        println!(
            "| {} | {} | {within} ({:.0} %) | {octave} | {} | {clarity:.2} |",
            style.label(),
            of_style.len(),
            100.0 * within as f32 / of_style.len() as f32,
            of_style.len() - within - octave,
        );
    }
    let within = cases.iter().filter(|c| c.within()).count();
    let octave = cases.iter().filter(|c| c.octave_error()).count();
    let share = within as f32 / cases.len() as f32;
    println!(
        "| all | {} | {within} ({:.1} %) | {octave} | {} | |",
        cases.len(),
        100.0 * share,
        cases.len() - within - octave
    );
    println!("\nmisses:");
    for c in cases.iter().filter(|c| !c.within()) {
        println!(
            "  {} {} BPM @ {} Hz{}: read {:.1} (clarity {:.2})",
            c.style.label(),
            c.bpm,
            c.rate,
            if c.noisy { " + noise" } else { "" },
            c.estimate,
            c.clarity
        );
    }
    let drum_octave_errors = cases
        .iter()
        .filter(|c| c.style.has_drums() && c.octave_error())
        .count();
    println!("octave errors on drum styles: {drum_octave_errors}");
    (share, drum_octave_errors)
}

/// The goals: at least 95 % within 4 % and no octave error on a drum style.
fn assert_goals(cases: &[TempoCase]) {
    let (share, drum_octave_errors) = report(cases);
    assert!(share >= 0.95, "only {:.1} % within 4 %", 100.0 * share);
    assert_eq!(drum_octave_errors, 0, "octave errors on drum styles");
    // Every style on its own, so that one style's gain cannot hide another's loss. The
    // syncopated breakbeat's misses are 2:3 and 4:3 readings at 88-104 BPM (the
    // autocorrelation's pick is a dotted value, and neither its binary levels nor the bar's fit
    // the grid).
    for (style, floor) in [
        (Style::FourOnTheFloor, 0.95),
        (Style::RockBackbeat, 0.95),
        (Style::HalfTime, 0.95),
        (Style::SwungEighths, 0.95),
        (Style::Breakbeat, 0.8),
        (Style::PianoOnly, 0.95),
    ] {
        let of_style: Vec<&TempoCase> = cases.iter().filter(|c| c.style == style).collect();
        let within = of_style.iter().filter(|c| c.within()).count() as f32;
        assert!(
            within / of_style.len() as f32 >= floor,
            "{}: {within} of {} within 4 %",
            style.label(),
            of_style.len()
        );
    }
}

#[test]
fn tempo_known_answers_across_styles_rates_and_noise() {
    assert_goals(&run_tempo_suite(TUNING_GRID));
}

#[test]
fn tempo_known_answers_hold_on_tempi_and_seeds_not_tuned_on() {
    assert_goals(&run_tempo_suite(HELD_OUT_GRID));
}

#[test]
fn a_143_bpm_backbeat_reads_143_not_71_5() {
    // The case from the issue: kick, snare on 2 and 4, eighth-note hats.
    for rate in [44_100, 48_000] {
        let signal = render(Style::RockBackbeat, 143.0, rate, false, 5);
        let summary = summarize(&signal, rate);
        println!("143 BPM backbeat @ {rate} Hz: {:.2} BPM", summary.tempo_bpm);
        assert!(
            (summary.tempo_bpm / 143.0 - 1.0).abs() <= TEMPO_TOLERANCE,
            "read {}",
            summary.tempo_bpm
        );
    }
}

#[test]
fn half_time_reads_the_felt_pulse_not_the_notated_tempo() {
    // Notated 150 BPM with the snare on 3: the felt pulse, 75, is the documented answer.
    let signal = render(Style::HalfTime, 75.0, 44_100, false, 3);
    let summary = summarize(&signal, 44_100);
    println!("half-time, notated 150: {:.2} BPM", summary.tempo_bpm);
    assert!(
        (summary.tempo_bpm / 75.0 - 1.0).abs() <= TEMPO_TOLERANCE,
        "read {} (150 would be the notated tempo)",
        summary.tempo_bpm
    );
}

#[test]
fn pulse_clarity_is_low_without_a_beat() {
    // A steady beat against an unpulsed signal: sustained chords that change at irregular times
    // over noise.
    let rate = 22_050;
    let groove = summarize(&render(Style::RockBackbeat, 120.0, rate, false, 9), rate);
    let mut unpulsed = vec![0.0f32; (SECONDS * rate as f32) as usize];
    let mut noise = Noise::new(4);
    for x in unpulsed.iter_mut() {
        *x = 0.02 * noise.next();
    }
    let mut t = 0.0f32;
    for (i, length) in [1.7f32, 2.9, 0.8, 2.3, 1.1, 3.1].iter().enumerate() {
        let start = (t * rate as f32) as usize;
        for note in [48 + i as i32, 55 + i as i32, 64 - i as i32] {
            piano(&mut unpulsed, note, start, *length, rate, 0.1);
        }
        t += length;
    }
    let free = summarize(&unpulsed, rate);
    println!(
        "pulse clarity: groove {:.2}, unpulsed {:.2} (tempo {:.1})",
        groove.tempo_confidence, free.tempo_confidence, free.tempo_bpm
    );
    assert!(groove.tempo_confidence > 0.4);
    assert!(free.tempo_confidence < 0.25);
    assert!(free.tempo_confidence < 0.5 * groove.tempo_confidence);
}

// ---------------------------------------------------------------- key and mode

/// Tonal material of the key suite.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Material {
    Triads,
    Scale,
    Melody,
}

const MATERIALS: [Material; 3] = [Material::Triads, Material::Scale, Material::Melody];

/// Scale degrees in semitones: major, and harmonic minor (the raised 7th leads to the tonic).
fn scale(minor: bool) -> [i32; 7] {
    if minor {
        [0, 2, 3, 5, 7, 8, 11]
    } else {
        [0, 2, 4, 5, 7, 9, 11]
    }
}

/// Renders 10.5 s of `material` in the key (`tonic` pitch class, `minor`).
fn render_key(material: Material, tonic: i32, minor: bool, rate: u32) -> Vec<f32> {
    let mut out = vec![0.0f32; (SECONDS * rate as f32) as usize];
    let degrees = scale(minor);
    // Tonic in octave 4 (C4..B4), or one octave lower from F# up so the range stays central.
    let home = 60 + tonic - if tonic >= 6 { 12 } else { 0 };
    let note = |degree: i32| {
        let octave = degree.div_euclid(7);
        home + 12 * octave + degrees[degree.rem_euclid(7) as usize]
    };
    let at = |t: f32| (t * rate as f32) as usize;
    match material {
        Material::Triads => {
            // I-IV-V-I / i-iv-V-i, 1.25 s per chord, bass an octave below.
            let mut t = 0.0;
            while t < SECONDS {
                for root in [0, 3, 4, 0] {
                    for (voice, degree) in [root - 7, root, root + 2, root + 4].iter().enumerate() {
                        let gain = if voice == 0 { 0.12 } else { 0.08 };
                        piano(&mut out, note(*degree), at(t), 1.25, rate, gain);
                    }
                    t += 1.25;
                }
            }
        }
        Material::Scale => {
            // Up and down one octave, eighth notes at 120 BPM, the tonic held at both ends.
            let mut t = 0.0;
            while t < SECONDS {
                piano(&mut out, note(0), at(t), 0.75, rate, 0.12);
                t += 0.75;
                for degree in (1..=7).chain((1..=6).rev()) {
                    piano(&mut out, note(degree), at(t), 0.25, rate, 0.12);
                    t += 0.25;
                }
            }
        }
        Material::Melody => {
            // A two-phrase tune (scale degrees, durations in beats at 100 BPM) over root bass
            // notes of I, V, I.
            let tune: [(i32, f32); 16] = [
                (0, 1.0),
                (2, 1.0),
                (4, 1.0),
                (2, 1.0),
                (3, 0.5),
                (2, 0.5),
                (1, 1.0),
                (6, 1.0),
                (1, 1.0),
                (4, 1.0),
                (3, 1.0),
                (2, 0.5),
                (1, 0.5),
                (-1, 1.0),
                (0, 2.0),
                (-3, 1.0),
            ];
            let beat = 0.6;
            let mut t = 0.0;
            while t < SECONDS {
                let phrase_start = t;
                for (degree, beats) in tune {
                    piano(&mut out, note(degree) + 12, at(t), beats * beat, rate, 0.12);
                    t += beats * beat;
                }
                // Bass: tonic for 4 beats, dominant for 4, tonic for the rest.
                let bass = [(0, 0.0, 4.0), (4, 4.0, 4.0), (0, 8.0, 8.0)];
                for (degree, from, beats) in bass {
                    let root = note(degree) - 12 - if degree == 4 { 12 } else { 0 };
                    piano(
                        &mut out,
                        root,
                        at(phrase_start + from * beat),
                        beats * beat,
                        rate,
                        0.08,
                    );
                }
            }
        }
    }
    out
}

/// MIREX key score of an estimate against the truth (tonic pitch classes, minor flags).
fn mirex_score(truth: (i32, bool), estimate: (i32, bool)) -> f32 {
    let up = (estimate.0 - truth.0).rem_euclid(12);
    if truth == estimate {
        1.0
    } else if truth.1 == estimate.1 && (up == 7 || up == 5) {
        0.5
    } else if truth.1 != estimate.1 && ((!truth.1 && up == 9) || (truth.1 && up == 3)) {
        0.3
    } else if truth.1 != estimate.1 && up == 0 {
        0.2
    } else {
        0.0
    }
}

#[test]
fn mirex_weights_are_the_standard_ones() {
    // C major as the truth.
    assert_eq!(mirex_score((0, false), (0, false)), 1.0);
    assert_eq!(mirex_score((0, false), (7, false)), 0.5);
    assert_eq!(mirex_score((0, false), (5, false)), 0.5);
    assert_eq!(mirex_score((0, false), (9, true)), 0.3);
    assert_eq!(mirex_score((0, false), (0, true)), 0.2);
    assert_eq!(mirex_score((0, false), (2, false)), 0.0);
    // A minor as the truth: C major is its relative.
    assert_eq!(mirex_score((9, true), (0, false)), 0.3);
    assert_eq!(mirex_score((9, true), (4, true)), 0.5);
}

#[test]
fn key_known_answers_in_all_24_keys_with_mirex_weighting() {
    let mut rows = Vec::new();
    let mut total = 0.0;
    let mut count = 0;
    let mut sign_failures = Vec::new();
    for (index, material) in MATERIALS.into_iter().enumerate() {
        let mut material_score = 0.0;
        let mut correct = 0;
        for minor in [false, true] {
            for tonic in 0..12 {
                let rate = RATES[(index + tonic as usize) % RATES.len()];
                let summary = summarize(&render_key(material, tonic, minor, rate), rate);
                let estimate = (summary.key as i32, summary.mode == Mode::Minor);
                let score = mirex_score((tonic, minor), estimate);
                material_score += score;
                correct += (score == 1.0) as usize;
                // The mode-strength sign must follow the mode of the material.
                if (summary.mode_strength > 0.0) == minor {
                    sign_failures.push(format!(
                        "{material:?} {} {}: mode strength {:+.3}",
                        key_name(tonic as u8),
                        if minor { "minor" } else { "major" },
                        summary.mode_strength
                    ));
                }
                if score < 1.0 {
                    println!(
                        "{material:?} {} {}: read {} {} (score {score})",
                        key_name(tonic as u8),
                        if minor { "minor" } else { "major" },
                        summary.key_name(),
                        summary.mode
                    );
                }
            }
        }
        rows.push(format!(
            "| {material:?} | 24 | {correct} | {:.3} |",
            material_score / 24.0
        ));
        total += material_score;
        count += 24;
    }
    let weighted = total / count as f32;
    println!("| material | keys | exactly right | MIREX weighted |\n|---|---|---|---|");
    println!("{}", rows.join("\n"));
    println!("| all | {count} | | {weighted:.3} |");
    println!("mode-strength sign wrong: {sign_failures:#?}");
    assert!(weighted >= 0.9, "MIREX weighted score {weighted:.3}");
    assert!(
        sign_failures.is_empty(),
        "mode strength must be > 0 for major and < 0 for minor material"
    );
}
