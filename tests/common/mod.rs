//! Shared pieces of the host tests (`host_clap`, `host_vst3`): where the bundles are, the
//! deterministic test signals, the bit-exact comparison, the checks on the MIDI CC stream that
//! both plugin formats must satisfy, and thread counting.
//!
//! Each test binary uses a different subset of this module.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// Display name both formats must report.
pub const PLUGIN_NAME: &str = "Moodscape";
/// CLAP plugin id.
pub const CLAP_ID: &str = "dev.moodscape.moodscape";
/// Default controller carrying valence.
pub const CC_VALENCE: u8 = 20;
/// Default controller carrying arousal.
pub const CC_AROUSAL: u8 = 21;
/// Default MIDI channel of the CCs, zero-based (MIDI channel 1).
pub const CC_CHANNEL: u8 = 0;
/// Block sizes the issue asks for; each must see at least [`SECONDS_PER_CASE`] of audio.
pub const BLOCK_SIZES: [usize; 4] = [1, 64, 511, 4096];
/// Sample rates the issue asks for; each must see at least [`SECONDS_PER_CASE`] of audio.
pub const SAMPLE_RATES: [f64; 5] = [22_050.0, 44_100.0, 48_000.0, 96_000.0, 192_000.0];
/// Audio pushed through per block size and per sample rate.
pub const SECONDS_PER_CASE: f64 = 10.0;
/// String ids of the parameters the tests and users depend on.
pub const PARAM_IDS: [&str; 6] = [
    "smoothing",
    "window",
    "freeze",
    "cc_valence",
    "cc_arousal",
    "cc_channel",
];
/// Read-only outputs the plugin may expose; checked when present.
pub const OUTPUT_PARAM_IDS: [&str; 2] = ["valence", "arousal"];
/// Written to output buffers before each process call, so an output the plugin leaves
/// untouched cannot pass for a copy of the input (no test signal contains this NaN payload).
pub const SENTINEL_BITS: u32 = 0x7fb0_0b1e;

/// `bundled/` in the target directory this test was built into. Cargo sets
/// `CARGO_TARGET_TMPDIR` to `<target-dir>/tmp`, honouring `CARGO_TARGET_DIR` and
/// `build.target-dir` exactly as `cargo xtask bundle` does, so tests built into another target
/// directory load the bundles built there, not a stale `./target/bundled`.
pub fn bundle_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is <target-dir>/tmp")
        .join("bundled")
}

/// The target directory the running test executable sits in, found from its own path
/// (`<target-dir>/<profile>/deps/<test>-<hash>`): an independent check on [`bundle_dir`].
pub fn target_dir_of_this_executable() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    exe.ancestors()
        .nth(3)
        .expect("<target-dir>/<profile>/deps/<test>")
        .to_path_buf()
}

/// Fails unless `binary` (the plugin library inside a bundle) is newer than every source it is
/// built from: a stale bundle would make every host test check yesterday's plugin.
pub fn assert_bundle_fresh(binary: &Path) {
    let built = std::fs::metadata(binary)
        .and_then(|meta| meta.modified())
        .unwrap_or_else(|error| panic!("{}: {error}", binary.display()));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sources = vec![
        root.join("Cargo.toml"),
        root.join("Cargo.lock"),
        root.join("build.rs"),
    ];
    collect_files(&root.join("src"), &mut sources);
    collect_files(&root.join("models"), &mut sources);
    let newest = sources
        .iter()
        .filter_map(|path| Some((path, std::fs::metadata(path).ok()?.modified().ok()?)))
        .max_by_key(|(_, modified)| *modified)
        .expect("the sources exist");
    assert!(
        newest.1 <= built,
        "{} is older than {}: rebuild it with `cargo xtask bundle moodscape --profile ci` \
         (or run `cargo xtask test`, which bundles first)",
        binary.display(),
        newest.0.display()
    );
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Environment variable that makes a `ci` build of the plugin allocate inside `process()` (see
/// `Moodscape::alloc_canary`); the allocation guard must then abort the process.
pub const ALLOC_CANARY_ENV: &str = "MOODSCAPE_ALLOC_CANARY";

/// Whether this process is the child [`assert_alloc_canary_caught`] started: it must then load
/// the plugin and process a block, and should die there.
pub fn in_alloc_canary_child() -> bool {
    std::env::var_os(ALLOC_CANARY_ENV).is_some()
}

/// Runs the test `test_name` of this executable again in a child process with the plugin's
/// allocation canary armed, and fails unless the child dies of the allocation guard: that proves
/// the bundle is a build whose guard is live (a `ci` build), so "process() never allocates" is
/// really checked by every other test. A release bundle has neither guard nor canary; its child
/// processes happily and this fails.
pub fn assert_alloc_canary_caught(test_name: &str) {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test_name, "--nocapture", "--test-threads=1"])
        .env(ALLOC_CANARY_ENV, "1")
        .output()
        .expect("re-running the test executable");
    let stderr = String::from_utf8_lossy(&output.stderr);
    // The guard ends in `handle_alloc_error`: std prints "memory allocation of N bytes failed"
    // and aborts. Any other failure (a panic, a missing bundle) is not the canary.
    let aborted = {
        use std::os::unix::process::ExitStatusExt;
        output.status.signal() == Some(6)
    };
    let guard_message = stderr
        .lines()
        .find(|line| line.to_ascii_lowercase().contains("memory allocation of"));
    assert!(
        aborted && guard_message.is_some(),
        "the plugin allocated inside process() and nothing noticed ({}): the bundle in {} is not \
         a `ci` build (debug assertions arm nice-plug's allocation guard). Rebuild it with \
         `cargo xtask bundle moodscape --profile ci`.\nchild stderr:\n{stderr}",
        output.status,
        bundle_dir().display()
    );
    eprintln!(
        "allocation canary caught: {}",
        guard_message.unwrap_or_default()
    );
}

fn require(path: PathBuf) -> PathBuf {
    assert!(
        path.exists(),
        "{} is missing: run `cargo xtask bundle moodscape --profile ci` first \
         (or `cargo xtask test`, which bundles and then runs the tests)",
        path.display()
    );
    path
}

/// The CLAP bundle (a single shared object on Linux).
pub fn clap_bundle() -> PathBuf {
    require(bundle_dir().join("Moodscape.clap"))
}

/// The VST3 bundle directory; also checks that the Linux binary sits where hosts look for it.
pub fn vst3_bundle() -> PathBuf {
    let bundle = require(bundle_dir().join("Moodscape.vst3"));
    require(
        bundle
            .join("Contents")
            .join("x86_64-linux")
            .join("Moodscape.so"),
    );
    bundle
}

/// Serialises the tests of one binary. They count the process's threads and load a plugin
/// whose analysis thread competes for the two CI cores, so running them side by side would make
/// the thread count meaningless and the timings noisy.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    // A failed test poisons the lock; the next test must still run.
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Threads of this process right now.
pub fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task is readable on Linux")
        .count()
}

/// The parameter id nice-plug gives a string id in both CLAP and VST3 (a Java-style string hash
/// with the top bit cleared, which VST3 reserves for the host). Mirrors
/// `nice_plug::wrapper::util::hash_param_id`, which is not public.
pub fn param_hash(id: &str) -> u32 {
    let hash = id.bytes().fold(0u32, |hash, byte| {
        hash.wrapping_mul(31).wrapping_add(u32::from(byte))
    });
    hash & !(1 << 31)
}

/// What one stretch of test input contains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Deterministic music-like material: a slowly changing chord, a beat and a little noise.
    Music,
    /// Digital silence, with negative zeros mixed in.
    Silence,
    /// NaNs: quiet, signalling, negative and with payloads.
    NaNs,
    /// Positive infinity.
    PosInf,
    /// Negative infinity.
    NegInf,
    /// Subnormal numbers of both signs.
    Denormals,
    /// Full-scale (±1.0) square wave, different period per channel.
    Square,
    /// Every hostile value above plus ±f32::MAX, interleaved sample by sample.
    Mixed,
}

/// NaN bit patterns the plugin must pass through untouched.
const NAN_BITS: [u32; 6] = [
    0x7fc0_0000, // f32::NAN
    0xffc0_0000, // negative quiet NaN
    0x7f80_0001, // signalling NaN
    0x7fc1_2345, // quiet NaN with payload
    0xff81_2345, // negative signalling NaN with payload
    0x7fff_ffff, // all-ones payload
];
/// Subnormal bit patterns.
const DENORMAL_BITS: [u32; 5] = [
    0x0000_0001, // smallest positive subnormal
    0x007f_ffff, // largest subnormal
    0x8000_0001, // smallest negative subnormal
    0x0040_0000,
    0x8040_0000,
];

/// Cheap, stateless per-sample hash so any block split yields the same signal.
fn hash(frame: u64, channel: usize) -> u64 {
    let mut x = frame
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add((channel as u64 + 1).wrapping_mul(0xd1b5_4a32_d192_ed03));
    x ^= x >> 31;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^ (x >> 29)
}

impl Signal {
    /// Sample `frame` (counted from the start of the run) of `channel` at `sample_rate`.
    pub fn sample(self, channel: usize, frame: u64, sample_rate: f64) -> f32 {
        match self {
            Signal::Music => {
                let t = frame as f64 / sample_rate;
                // A chord whose root moves every two seconds and a 2 Hz pulse: enough movement
                // for an analyser to have something to say, different on each channel.
                let roots = [110.0, 146.83, 98.0, 130.81];
                let root = roots[(t / 2.0) as usize % roots.len()];
                let pulse = 0.5 + 0.5 * (std::f64::consts::TAU * 2.0 * t).cos().max(0.0);
                let detune = 1.0 + 0.002 * channel as f64;
                let chord = [1.0, 1.25, 1.5, 2.0]
                    .iter()
                    .map(|ratio| (std::f64::consts::TAU * root * ratio * detune * t).sin())
                    .sum::<f64>()
                    / 4.0;
                let noise = (hash(frame, channel) >> 40) as f64 / (1u64 << 24) as f64 - 0.5;
                (0.5 * pulse * chord + 0.05 * noise) as f32
            }
            Signal::Silence => {
                if hash(frame, channel) & 1 == 0 {
                    0.0
                } else {
                    -0.0
                }
            }
            Signal::NaNs => f32::from_bits(NAN_BITS[(frame as usize + channel) % NAN_BITS.len()]),
            Signal::PosInf => f32::INFINITY,
            Signal::NegInf => f32::NEG_INFINITY,
            Signal::Denormals => {
                f32::from_bits(DENORMAL_BITS[(frame as usize + 2 * channel) % DENORMAL_BITS.len()])
            }
            Signal::Square => {
                let period = 64 + 36 * channel as u64;
                if frame % period < period / 2 {
                    1.0
                } else {
                    -1.0
                }
            }
            Signal::Mixed => {
                let pick = hash(frame, channel) % 8;
                match pick {
                    0 => Signal::NaNs.sample(channel, frame, sample_rate),
                    1 => f32::INFINITY,
                    2 => f32::NEG_INFINITY,
                    3 => Signal::Denormals.sample(channel, frame, sample_rate),
                    4 => f32::MAX,
                    5 => f32::MIN,
                    6 => Signal::Square.sample(channel, frame, sample_rate),
                    _ => f32::MIN_POSITIVE,
                }
            }
        }
    }
}

/// A sequence of signals, each lasting a number of frames; what a test feeds one activation.
#[derive(Debug, Clone)]
pub struct Program {
    /// Signal and the frame (exclusive) where it ends, in order.
    segments: Vec<(Signal, u64)>,
    /// Rate the frame counts were computed for; the music generator needs it too.
    pub sample_rate: f64,
}

impl Program {
    /// An empty program at `sample_rate`; add segments with [`Program::then`].
    pub fn new(sample_rate: f64) -> Self {
        Self {
            segments: Vec::new(),
            sample_rate,
        }
    }

    /// Appends `seconds` of `signal`.
    pub fn then(mut self, signal: Signal, seconds: f64) -> Self {
        let start = self.total_frames();
        let frames = (seconds * self.sample_rate).round() as u64;
        self.segments.push((signal, start + frames));
        self
    }

    /// Length of the whole program in frames.
    pub fn total_frames(&self) -> u64 {
        self.segments.last().map_or(0, |&(_, end)| end)
    }

    /// Frame where the first segment of `signal` starts, if any.
    pub fn start_of(&self, signal: Signal) -> Option<u64> {
        let mut start = 0;
        for &(segment, end) in &self.segments {
            if segment == signal {
                return Some(start);
            }
            start = end;
        }
        None
    }

    /// Fills `out` with `channel` from `start_frame` on. Frames past the end repeat the last
    /// segment.
    pub fn fill(&self, channel: usize, start_frame: u64, out: &mut [f32]) {
        let mut segment = self
            .segments
            .iter()
            .position(|&(_, end)| start_frame < end)
            .unwrap_or(self.segments.len().saturating_sub(1));
        for (offset, sample) in out.iter_mut().enumerate() {
            let frame = start_frame + offset as u64;
            while segment + 1 < self.segments.len() && frame >= self.segments[segment].1 {
                segment += 1;
            }
            *sample = self.segments[segment]
                .0
                .sample(channel, frame, self.sample_rate);
        }
    }
}

/// The input of the mood-tracking checks: silence, then music. Any working VA estimate must
/// move between the two, so a mood stuck on one value is a bug.
pub fn silence_then_music(sample_rate: f64) -> Program {
    Program::new(sample_rate)
        .then(Signal::Silence, 3.0)
        .then(Signal::Music, 5.0)
}

/// Fills an output buffer with the sentinel before a process call.
pub fn fill_sentinel(out: &mut [f32]) {
    out.fill(f32::from_bits(SENTINEL_BITS));
}

/// Panics, naming the first differing sample, unless `output` is a bit-for-bit copy of `input`
/// (NaN payloads and signed zeros included).
pub fn assert_bit_exact(input: &[f32], output: &[f32], context: impl FnOnce() -> String) {
    assert_eq!(input.len(), output.len(), "{}: length differs", context());
    if let Some(index) = input
        .iter()
        .zip(output)
        .position(|(a, b)| a.to_bits() != b.to_bits())
    {
        let (a, b) = (input[index], output[index]);
        panic!(
            "{}: sample {index} changed: in {a:?} ({:#010x}) -> out {b:?} ({:#010x}){}",
            context(),
            a.to_bits(),
            b.to_bits(),
            if b.to_bits() == SENTINEL_BITS {
                " (the plugin never wrote this output sample)"
            } else {
                ""
            }
        );
    }
}

/// Where the plugin is configured to send the mood: zero-based channel and the two controllers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CcRoute {
    /// Zero-based MIDI channel (the parameter counts 1-16).
    pub channel: u8,
    /// Controller carrying valence.
    pub valence: u8,
    /// Controller carrying arousal.
    pub arousal: u8,
}

impl Default for CcRoute {
    /// The defaults the README gives: CC 20 and 21 on channel 1.
    fn default() -> Self {
        Self {
            channel: CC_CHANNEL,
            valence: CC_VALENCE,
            arousal: CC_AROUSAL,
        }
    }
}

/// The README's mapping: "[-1, 1] mapped to 0..127 with neutral at 64", i.e. the straight line
/// through (-1, 0) and (1, 127), rounded; 0 lands on 63.5, which rounds up to the promised 64.
pub fn readme_cc_value(mood: f32) -> u8 {
    let value = ((mood as f64 + 1.0) / 2.0 * 127.0).round();
    assert!((0.0..=127.0).contains(&value), "{mood} is outside [-1, 1]");
    value as u8
}

/// One MIDI control change the plugin emitted, as either host saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CcMessage {
    /// Frame since activation at which the event is timed.
    pub frame: u64,
    /// Zero-based MIDI channel.
    pub channel: u8,
    /// Controller number.
    pub controller: u8,
    /// Raw value byte, unmasked, so an out-of-range value is visible.
    pub value: u8,
}

/// Everything the plugin emitted during one activation, plus what the checks need to know
/// about how it was driven.
#[derive(Debug, Clone, Default)]
pub struct CcLog {
    /// The CC messages in the order received.
    pub messages: Vec<CcMessage>,
    /// Events that were not MIDI control changes, described; the plugin should send none.
    pub unexpected: Vec<String>,
    /// Sample rate of the activation, to turn the refresh and rate-limit promises into frames.
    pub sample_rate: f64,
    /// Largest block processed; events are only timed at block granularity.
    pub max_block: usize,
    /// Frames processed in total.
    pub frames: u64,
    /// Frames of the first non-empty block, to check "sent right after activation".
    pub first_block_frames: Option<usize>,
}

impl CcLog {
    /// Messages of one controller in order.
    pub fn of(&self, controller: u8) -> Vec<CcMessage> {
        self.messages
            .iter()
            .copied()
            .filter(|m| m.controller == controller)
            .collect()
    }

    /// Checks everything the plugin promises about its CC stream over the whole activation:
    /// only CC 20/21 on channel 1, values in 0..=127, both sent in the first block after
    /// activation, a refresh at least once per second and no more than ~20 messages per second
    /// per controller.
    pub fn assert_valid(&self, label: &str) {
        self.assert_valid_on(label, CcRoute::default());
    }

    /// [`Self::assert_valid`] for CCs configured to `route`.
    pub fn assert_valid_on(&self, label: &str, route: CcRoute) {
        assert!(
            self.unexpected.is_empty(),
            "{label}: plugin emitted events other than MIDI CC: {:?}",
            &self.unexpected[..self.unexpected.len().min(5)]
        );
        for message in &self.messages {
            assert!(
                message.controller == route.valence || message.controller == route.arousal,
                "{label}: unexpected controller in {message:?}, expected {route:?}"
            );
            assert_eq!(
                message.channel, route.channel,
                "{label}: CC on the wrong channel: {message:?}, expected {route:?}"
            );
            assert!(
                message.value <= 127,
                "{label}: CC value out of 0..=127: {message:?}"
            );
        }
        let first_block = self
            .first_block_frames
            .unwrap_or_else(|| panic!("{label}: no audio was processed"));
        // Events are timed at block starts, so a refresh can come up to one block late.
        let max_gap = self.sample_rate * 1.0 + self.max_block as f64 + 1.0;
        let one_second = self.sample_rate.round() as u64;
        for controller in [route.valence, route.arousal] {
            let stream = self.of(controller);
            let first = stream.first().unwrap_or_else(|| {
                panic!(
                    "{label}: CC {controller} never sent in {:.1} s of audio",
                    self.frames as f64 / self.sample_rate
                )
            });
            assert!(
                first.frame < first_block as u64,
                "{label}: CC {controller} not sent in the first block after activation \
                 (first at frame {}, first block had {first_block} frames)",
                first.frame
            );
            let mut previous = first.frame;
            for message in stream.iter().skip(1) {
                assert!(
                    message.frame >= previous,
                    "{label}: CC {controller} events out of order"
                );
                assert!(
                    (message.frame - previous) as f64 <= max_gap,
                    "{label}: CC {controller} silent for {:.3} s (frames {previous}..{}), \
                     the refresh promises at most 1 s",
                    (message.frame - previous) as f64 / self.sample_rate,
                    message.frame
                );
                previous = message.frame;
            }
            assert!(
                (self.frames - previous) as f64 <= max_gap,
                "{label}: CC {controller} silent for the last {:.3} s of the run",
                (self.frames - previous) as f64 / self.sample_rate
            );
            // Rate limit: no one-second window holds more than 20 messages (+1 for the
            // boundary), i.e. at most ~20 Hz per controller.
            let mut window_start = 0;
            for (index, message) in stream.iter().enumerate() {
                while message.frame - stream[window_start].frame >= one_second {
                    window_start += 1;
                }
                let in_window = index - window_start + 1;
                assert!(
                    in_window <= 21,
                    "{label}: CC {controller} sent {in_window} times within one second \
                     (ending at frame {}), more than the ~20 Hz limit",
                    message.frame
                );
            }
        }
    }

    /// Panics unless the stream carries exactly the held mood `(valence, arousal)`: the valence
    /// value on `route.valence`, the arousal value on `route.arousal`, on `route.channel`, mapped
    /// as the README says, in every message from the first block on. Catches swapped axes,
    /// ignored CC parameters and a wrong mapping.
    pub fn assert_carries(&self, label: &str, route: CcRoute, valence: f32, arousal: f32) {
        self.assert_valid_on(label, route);
        let expected = [
            (route.valence, readme_cc_value(valence), "valence", valence),
            (route.arousal, readme_cc_value(arousal), "arousal", arousal),
        ];
        for (controller, value, axis, mood) in expected {
            let stream = self.of(controller);
            assert!(!stream.is_empty(), "{label}: nothing on CC {controller}");
            if route.valence == route.arousal {
                // Both axes share one controller: each message must be one of the two values.
                let both = [readme_cc_value(valence), readme_cc_value(arousal)];
                for message in &stream {
                    assert!(
                        both.contains(&message.value),
                        "{label}: CC {controller} carried {} but the held mood maps to {both:?}",
                        message.value
                    );
                }
                continue;
            }
            for message in &stream {
                assert_eq!(
                    message.value, value,
                    "{label}: CC {controller} should carry {axis} {mood:+} as {value} (README \
                     mapping), got {message:?}"
                );
            }
        }
    }

    /// Last value each controller was set to, (valence, arousal).
    /// Every activation sends the current mood at once, within its first block.
    pub fn assert_sent_at_activation(&self, cycle: usize) {
        for cc in [CC_VALENCE, CC_AROUSAL] {
            assert!(
                self.of(cc).first().is_some_and(|m| m.frame < 256),
                "cycle {cycle}: CC {cc} not sent in the first block after activation"
            );
        }
    }

    pub fn last_values(&self) -> (Option<u8>, Option<u8>) {
        let last = |controller| self.of(controller).last().map(|m| m.value);
        (last(CC_VALENCE), last(CC_AROUSAL))
    }

    /// Panics unless the mood moved (at least one CC took two different values) from
    /// `from_frame` on. A mood pinned by a NaN, or never computed, fails this.
    pub fn assert_mood_moves(&self, from_frame: u64, label: &str) {
        let valence = self.distinct_values_from(CC_VALENCE, from_frame);
        let arousal = self.distinct_values_from(CC_AROUSAL, from_frame);
        eprintln!("{label}: valence CC values {valence:?}, arousal CC values {arousal:?}");
        assert!(
            valence.len() >= 2 || arousal.len() >= 2,
            "{label}: the mood does not follow the audio: from frame {from_frame} on the \
             valence CC only took {valence:?} and the arousal CC {arousal:?}"
        );
    }

    /// Distinct values sent on `controller` at or after `from_frame`.
    pub fn distinct_values_from(&self, controller: u8, from_frame: u64) -> Vec<u8> {
        let mut values: Vec<u8> = self
            .of(controller)
            .iter()
            .filter(|m| m.frame >= from_frame)
            .map(|m| m.value)
            .collect();
        values.sort_unstable();
        values.dedup();
        values
    }
}

/// Prints a timing line; `cargo test -- --nocapture` shows where the time goes.
pub fn report_time(label: &str, started: std::time::Instant, audio_seconds: f64) {
    let elapsed = started.elapsed().as_secs_f64();
    eprintln!(
        "{label}: {audio_seconds:.1} s of audio in {elapsed:.2} s ({:.0}x real time)",
        audio_seconds / elapsed.max(1e-9)
    );
}

/// Thread counts around 100 activation cycles: the analysis thread must exist while active (or the
/// count proves nothing) and be gone afterwards.
pub fn assert_no_thread_leak(
    host: &str,
    before: usize,
    while_active: usize,
    after: usize,
    started: std::time::Instant,
) {
    eprintln!(
        "{host} threads: {before} before, {while_active} while active, {after} after 100 cycles \
         ({:.2} s)",
        started.elapsed().as_secs_f64()
    );
    assert!(
        while_active > before,
        "no analysis thread while active ({before} -> {while_active}): the count proves nothing"
    );
    assert!(
        after <= before + 1,
        "{host}: threads leak across activate/deactivate: {before} before, {after} after 100 cycles"
    );
}

/// The plugin's saved state as JSON (nice-plug's format: `params` by string id, `fields` as JSON
/// strings). Accepts a raw CLAP state or vst3-host's snapshot, whose component part is that JSON.
pub fn state_json(saved: &[u8]) -> serde_json::Value {
    let start = saved
        .iter()
        .position(|&byte| byte == b'{')
        .expect("the state holds a JSON object");
    serde_json::Deserializer::from_slice(&saved[start..])
        .into_iter::<serde_json::Value>()
        .next()
        .expect("a JSON state")
        .expect("the state parses as JSON")
}

/// The edited state as the VST3 component reads it: the JSON alone (vst3-host passes bytes without
/// its snapshot header to the component as they are).
pub fn vst3_state_bytes(state: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(state).unwrap()
}

/// The edited state as nice-plug's CLAP wrapper reads it: a little-endian u64 length, then the
/// JSON.
pub fn clap_state_bytes(state: &serde_json::Value) -> Vec<u8> {
    let json = serde_json::to_vec(state).unwrap();
    let mut bytes = (json.len() as u64).to_le_bytes().to_vec();
    bytes.extend(json);
    bytes
}

/// Sets a plain parameter value in a state, as nice-plug stores it (`{"i32": 5}`, ...).
pub fn set_state_param(state: &mut serde_json::Value, id: &str, value: serde_json::Value) {
    let params = state["params"]
        .as_object_mut()
        .expect("the state has a params map");
    assert!(params.contains_key(id), "the state has no parameter `{id}`");
    params.insert(id.into(), value);
}

/// Sets a persisted field (stored as a JSON string inside the state).
pub fn set_state_field(state: &mut serde_json::Value, key: &str, value: serde_json::Value) {
    let fields = state["fields"]
        .as_object_mut()
        .expect("the state has a fields map");
    assert!(
        fields.contains_key(key),
        "the state has no persisted field `{key}`"
    );
    fields.insert(key.into(), serde_json::Value::String(value.to_string()));
}

/// A project saved with Freeze on, holding `(valence, arousal)`, with the CCs on `route`.
pub fn frozen_state(saved: &[u8], valence: f32, arousal: f32, route: CcRoute) -> serde_json::Value {
    let mut state = state_json(saved);
    set_state_param(&mut state, "freeze", serde_json::json!({ "bool": true }));
    set_state_param(
        &mut state,
        "cc_valence",
        serde_json::json!({ "i32": route.valence }),
    );
    set_state_param(
        &mut state,
        "cc_arousal",
        serde_json::json!({ "i32": route.arousal }),
    );
    set_state_param(
        &mut state,
        "cc_channel",
        serde_json::json!({ "i32": route.channel + 1 }),
    );
    set_state_field(
        &mut state,
        "mood",
        serde_json::json!({ "valence": valence, "arousal": arousal }),
    );
    state
}

/// The held moods the CC checks use, with the routes they are sent on. Valence and arousal differ
/// in each (a swap shows), the CCs and channel move off their defaults in one (ignored
/// parameters show), and together they pin -1, 0 and +1 to 0, 64 and 127.
pub fn held_mood_cases() -> [(f32, f32, CcRoute); 3] {
    [
        (
            0.6,
            -0.4,
            CcRoute {
                channel: 4,
                valence: 33,
                arousal: 77,
            },
        ),
        (0.0, 0.0, CcRoute::default()),
        (
            -1.0,
            1.0,
            CcRoute {
                channel: 15,
                valence: 0,
                arousal: 119,
            },
        ),
    ]
}

/// Receives OSC on 127.0.0.1 (only loopback in tests) and decodes what arrives.
pub struct OscReceiver {
    /// Bound to an ephemeral loopback port.
    pub socket: std::net::UdpSocket,
}

/// One decoded OSC message: address and arguments.
pub type OscMessage = (String, Vec<rosc::OscType>);

impl OscReceiver {
    pub fn bind() -> Self {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("binding a loopback port");
        Self { socket }
    }

    pub fn port(&self) -> u16 {
        self.socket.local_addr().unwrap().port()
    }

    /// Every bundle that arrives until nothing has come for `quiet`, each as its messages.
    pub fn bundles(&self, quiet: std::time::Duration) -> Vec<Vec<OscMessage>> {
        self.socket.set_read_timeout(Some(quiet)).unwrap();
        let mut buffer = [0u8; 65_536];
        let mut bundles = Vec::new();
        while let Ok(size) = self.socket.recv(&mut buffer) {
            let (_, packet) = rosc::decoder::decode_udp(&buffer[..size])
                .unwrap_or_else(|error| panic!("undecodable OSC packet: {error:?}"));
            let mut messages = Vec::new();
            flatten(packet, &mut messages);
            bundles.push(messages);
        }
        bundles
    }
}

fn flatten(packet: rosc::OscPacket, out: &mut Vec<OscMessage>) {
    match packet {
        rosc::OscPacket::Message(message) => out.push((message.addr, message.args)),
        rosc::OscPacket::Bundle(bundle) => {
            for packet in bundle.content {
                flatten(packet, out);
            }
        }
    }
}

/// The single argument of `address` in `bundle`, if the bundle has that message.
pub fn osc_arg<'a>(bundle: &'a [OscMessage], address: &str) -> Option<&'a rosc::OscType> {
    bundle
        .iter()
        .find(|(addr, _)| addr == address)
        .map(|(addr, args)| {
            assert_eq!(args.len(), 1, "{addr} should carry one argument: {args:?}");
            &args[0]
        })
}

/// The quadrant names the README and the issue give, by the signs of valence and arousal.
pub fn quadrant_name(valence: f32, arousal: f32) -> &'static str {
    match (valence >= 0.0, arousal >= 0.0) {
        (true, true) => "Q1 pleasant-excited",
        (false, true) => "Q2 unpleasant-excited",
        (false, false) => "Q3 unpleasant-calm",
        (true, false) => "Q4 pleasant-calm",
    }
}

/// Checks one bundle's shape under `prefix`: every address is known, the types are right, the
/// values are in range and the quadrant agrees with valence and arousal. Returns (valence,
/// arousal) if it carried them.
pub fn assert_osc_bundle(bundle: &[OscMessage], prefix: &str) -> Option<(f32, f32)> {
    use rosc::OscType;
    let known = [
        "valence", "arousal", "quadrant", "tempo", "key", "mode", "loudness", "silent",
    ];
    for (address, _) in bundle {
        let name = address
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix('/'))
            .unwrap_or_else(|| panic!("{address} is not under {prefix}/"));
        assert!(known.contains(&name), "unknown OSC address {address}");
    }
    let at = |name: &str| osc_arg(bundle, &format!("{prefix}/{name}"));
    if let Some(tempo) = at("tempo") {
        let OscType::Float(tempo) = tempo else {
            panic!("tempo is not a float: {tempo:?}")
        };
        assert!(tempo.is_finite() && *tempo >= 0.0, "tempo {tempo}");
        let Some(OscType::String(key)) = at("key") else {
            panic!("tempo without a string key: {bundle:?}")
        };
        let names = [
            "C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B",
        ];
        assert!(names.contains(&key.as_str()), "key {key}");
        let Some(OscType::String(mode)) = at("mode") else {
            panic!("no string mode: {bundle:?}")
        };
        assert!(mode == "major" || mode == "minor", "mode {mode}");
        let Some(OscType::Float(loudness)) = at("loudness") else {
            panic!("no float loudness: {bundle:?}")
        };
        assert!(loudness.is_finite(), "loudness {loudness}");
        let Some(OscType::Int(silent)) = at("silent") else {
            panic!("no int silent: {bundle:?}")
        };
        assert!(*silent == 0 || *silent == 1, "silent {silent}");
    }
    let valence = at("valence")?;
    let (OscType::Float(valence), Some(OscType::Float(arousal))) = (valence, at("arousal")) else {
        panic!("valence/arousal are not floats: {bundle:?}")
    };
    for value in [valence, arousal] {
        assert!((-1.0..=1.0).contains(value), "VA {value} outside [-1, 1]");
    }
    let Some(OscType::String(quadrant)) = at("quadrant") else {
        panic!("VA without a string quadrant: {bundle:?}")
    };
    assert_eq!(
        quadrant,
        quadrant_name(*valence, *arousal),
        "quadrant vs VA ({valence}, {arousal})"
    );
    Some((*valence, *arousal))
}

/// Kills a child process (Xvfb or the standalone) when the test ends, pass or fail.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `binary standalone ARGS` on `display` and waits for its window; returns the process
/// and the window's id. A start whose window has not appeared after 30 s is killed and tried
/// again, three starts at most: now and then (about once in 40 starts under Xvfb) baseview fails
/// to create the window, and the standalone would only give up after a minute
/// (`src/cli/standalone.rs`).
pub fn start_standalone_window(binary: &str, args: &[&str], display: &str) -> (KillOnDrop, String) {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    const STARTS: usize = 3;
    for start in 1..=STARTS {
        let mut standalone = KillOnDrop(
            Command::new(binary)
                .arg("standalone")
                .args(args)
                .env("DISPLAY", display)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start the standalone"),
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let found = Command::new("xdotool")
                .args(["search", "--name", "Moodscape"])
                .env("DISPLAY", display)
                .output()
                .expect("xdotool is needed (apt-get install xdotool)");
            if let Some(id) = String::from_utf8_lossy(&found.stdout).lines().next() {
                return (standalone, id.trim().to_string());
            }
            if let Ok(Some(status)) = standalone.0.try_wait() {
                panic!("the standalone exited before its window appeared ({status})");
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        eprintln!("start {start} of {STARTS}: no standalone window after 30 s; starting again");
        drop(standalone);
    }
    panic!("no Moodscape window appeared in {STARTS} starts");
}

/// A running Xvfb server, stopped with SIGTERM when dropped: Xvfb then removes its lock file and
/// socket. SIGKILL (what [`KillOnDrop`] sends) left both behind, so every test run used up a
/// display number for good, and after 30 runs on one machine no display was left.
pub struct XvfbServer(std::process::Child);

impl Drop for XvfbServer {
    fn drop(&mut self) {
        use std::time::{Duration, Instant};
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        if let Ok(pid) = libc::pid_t::try_from(self.0.id()) {
            // SAFETY: `kill` only sends a signal, to a child this guard owns and has not reaped.
            unsafe { libc::kill(pid, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(3);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.0.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Whether X display `number` is taken. A lock file whose server process is gone is stale (left
/// by a killed Xvfb): it and its socket are removed and the number counts as free.
fn display_taken(number: u32) -> bool {
    let lock = format!("/tmp/.X{number}-lock");
    let socket = format!("/tmp/.X11-unix/X{number}");
    let Ok(text) = std::fs::read_to_string(&lock) else {
        return Path::new(&lock).exists() || Path::new(&socket).exists();
    };
    match text.trim().parse::<u32>() {
        Ok(pid) if !Path::new(&format!("/proc/{pid}")).exists() => {
            let _ = std::fs::remove_file(&socket);
            std::fs::remove_file(&lock).is_err()
        }
        _ => true,
    }
}

/// An Xvfb display of its own on the first free number in `displays` (each test binary takes
/// its own range so parallel binaries never race for one display); stopped when the guard drops.
pub fn start_xvfb(displays: std::ops::Range<u32>) -> (XvfbServer, String) {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    for number in displays.clone() {
        if display_taken(number) {
            continue;
        }
        let display = format!(":{number}");
        let child = Command::new("Xvfb")
            .args([
                display.as_str(),
                "-screen",
                "0",
                "1280x800x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb is needed (see .ci/run)");
        let guard = XvfbServer(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if Path::new(&format!("/tmp/.X11-unix/X{number}")).exists() {
                return (guard, display);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    panic!(
        "could not start Xvfb on any display :{}..:{}",
        displays.start,
        displays.end - 1
    );
}
