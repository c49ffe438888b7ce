//! CPU and memory of one live instance with its editor open, per thread, against a baseline
//! measured in the same run.
//!
//! Runs `moodscape standalone --backend dummy` (48 kHz, 512-sample periods, the dummy backend's
//! silent input) in an Xvfb window for a warm-up and a measured span, twice:
//! - **baseline**: the editor with the landscape turned off (`MOODSCAPE_LANDSCAPE=off`: no
//!   landscape thread, no generator, no upscaler; the window repaints at its idle 10 fps);
//! - **editor open**: the shipped editor: keyframes generated and upscaled to 256 px on the
//!   landscape thread (with silent input, one every 8 s), crossfaded at 30 fps while morphing,
//!   drifting (Motion, default 50 %) at 10 fps in between;
//! - **restless mood** (reported, not gated): the same, with xdotool clicking the VA pad to a far
//!   mood every second, so a keyframe comes as often as the keyframe policy allows (every 2 s)
//!   and the picture crossfades at 30 fps nearly all the time: the worst case.
//!
//! It reads each thread's CPU time from /proc. The threads are named, so the report splits the
//! cost into the main thread (egui's drawing, plus the standalone's audio thread, which is
//! unnamed and so inherits the name `moodscape`), the analysis thread, the landscape work (the
//! landscape thread plus the generator's and the upscaler's one-thread pools, which do its
//! candle calls while it waits) and the GUI (egui drawing, which under Xvfb includes Mesa's
//! software OpenGL: a real GPU makes it cheaper). Also reports the process's RSS.
//!
//! Checks, each failing the bench loudly: the standalone stayed alive through both spans; the
//! baseline ran no generator or upscaler at all; the editor-open run did upscale, counted in the
//! landscape work; and the budgets: editor open ≤ 15 % of one core, RSS ≤ 200 MB.
//!
//! Run with `cargo bench --bench editor_cpu`; needs Xvfb and xdotool (see .ci/run).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const WARM_UP: Duration = Duration::from_secs(15);
const MEASURE: Duration = Duration::from_secs(20);
/// Budget for the whole process with the editor open, percent of one core.
const CPU_BUDGET_PERCENT: f64 = 15.0;
/// Budget for the resident memory, MB.
const RSS_BUDGET_MB: f64 = 200.0;
/// Thread-name prefixes (Linux keeps 15 bytes of a name) of the landscape work.
const LANDSCAPE_THREADS: [&str; 3] = ["moodscape-lands", "moodscape-gener", "moodscape-upsca"];
/// The upscaler's pool thread.
const UPSCALER_THREAD: &str = "moodscape-upsca";
/// The generator's pool thread.
const GENERATOR_THREAD: &str = "moodscape-gener";

/// utime + stime in clock ticks, per thread name.
fn thread_ticks(pid: u32) -> BTreeMap<String, u64> {
    let mut ticks = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return ticks;
    };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = stat[open + 1..close].to_string();
        let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        let used: u64 =
            fields[11].parse::<u64>().unwrap_or(0) + fields[12].parse::<u64>().unwrap_or(0);
        *ticks.entry(name).or_insert(0) += used;
    }
    ticks
}

fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0)
}

/// One measured span of one standalone process.
struct Span {
    /// Percent of one core per thread name over the span.
    percent: BTreeMap<String, f64>,
    /// Resident memory at the end of the span, MB.
    rss_mb: f64,
    /// Peak resident memory, MB.
    peak_mb: f64,
}

impl Span {
    fn total(&self) -> f64 {
        self.percent.values().sum()
    }

    /// Summed percent of the threads whose names start with any of `prefixes`.
    fn group(&self, prefixes: &[&str]) -> f64 {
        // `+ 0.0`: an empty f64 sum is -0.0, which would print as "-0.00".
        self.percent
            .iter()
            .filter(|(name, _)| prefixes.iter().any(|p| name.starts_with(p)))
            .map(|(_, percent)| percent)
            .sum::<f64>()
            + 0.0
    }
}

/// Runs the standalone with `env` set, warms up, measures, and checks that it stayed alive.
/// Mirrors `editor::SIDE_PANEL_WIDTH` and egui's panel margin: where the VA pad is.
const SIDE_PANEL_WIDTH: i32 = 300;
const PANEL_MARGIN: i32 = 8;

/// Clicks the VA pad at alternating far-apart moods every second until `stop`: a restless mood
/// that asks for a keyframe (and a crossfade at 30 fps) as often as the keyframe policy allows.
fn restless_mood(
    display: String,
    window: String,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let text = Command::new("xdotool")
            .args(["getwindowgeometry", "--shell", &window])
            .env("DISPLAY", &display)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let field = |name: &str| -> i32 {
            text.lines()
                .find_map(|line| line.strip_prefix(&format!("{name}=")))
                .and_then(|value| value.trim().parse().ok())
                .unwrap_or(0)
        };
        let (x, y, width) = (field("X"), field("Y"), field("WIDTH"));
        let side = (SIDE_PANEL_WIDTH - 2 * PANEL_MARGIN) as f32;
        let point = |valence: f32, arousal: f32| {
            (
                x + width - SIDE_PANEL_WIDTH + PANEL_MARGIN + ((valence + 1.0) / 2.0 * side) as i32,
                y + PANEL_MARGIN + ((1.0 - arousal) / 2.0 * side) as i32,
            )
        };
        let moods = [
            point(0.7, -0.7),
            point(-0.7, 0.7),
            point(0.7, 0.7),
            point(-0.7, -0.7),
        ];
        let mut index = 0;
        while !stop.load(Ordering::Relaxed) {
            let (px, py) = moods[index % moods.len()];
            let _ = Command::new("xdotool")
                .args(["mousemove", &px.to_string(), &py.to_string(), "click", "1"])
                .env("DISPLAY", &display)
                .status();
            index += 1;
            std::thread::sleep(Duration::from_secs(1));
        }
    })
}

/// Starts the standalone with `env` set and waits for its window. A start whose window has not
/// appeared after 30 s is killed and tried again (three starts at most): now and then baseview
/// fails to create the window (see `src/cli/standalone.rs`).
fn start_standalone(display: &str, label: &str, env: &[(&str, &str)]) -> (Child, String) {
    const STARTS: usize = 3;
    for start in 1..=STARTS {
        let mut command = Command::new(env!("CARGO_BIN_EXE_moodscape"));
        command
            .args([
                "standalone",
                "--backend",
                "dummy",
                "--sample-rate",
                "48000",
                "--period-size",
                "512",
            ])
            .env("DISPLAY", display)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut standalone = command.spawn().expect("start the standalone");
        if let Some(window) = wait_for_window(display, label, &mut standalone) {
            return (standalone, window);
        }
        eprintln!("{label}: start {start} of {STARTS} opened no window in 30 s; starting again");
        let _ = standalone.kill();
        let _ = standalone.wait();
    }
    panic!("{label}: no Moodscape window appeared in {STARTS} starts");
}

fn measure(display: &str, label: &str, env: &[(&str, &str)], restless: bool) -> Span {
    let (mut standalone, window) = start_standalone(display, label, env);
    let pid = standalone.id();
    let stop = Arc::new(AtomicBool::new(false));
    let clicker = restless.then(|| restless_mood(display.to_string(), window, stop.clone()));
    std::thread::sleep(WARM_UP);
    let before = thread_ticks(pid);
    let start = Instant::now();
    std::thread::sleep(MEASURE);
    let after = thread_ticks(pid);
    let seconds = start.elapsed().as_secs_f64();
    let rss = status_kib(pid, "VmRSS:");
    let peak = status_kib(pid, "VmHWM:");
    stop.store(true, Ordering::Relaxed);
    if let Some(clicker) = clicker {
        let _ = clicker.join();
    }
    // A crashed or exited standalone would read as a cheap one: refuse to report it.
    let alive = standalone.try_wait().expect("query the standalone");
    let _ = standalone.kill();
    let _ = standalone.wait();
    if let Some(status) = alive {
        panic!("{label}: the standalone exited during the measurement ({status})");
    }
    assert!(
        after.values().sum::<u64>() > 0 && rss > 0,
        "{label}: no /proc readings for the standalone"
    );

    // SAFETY: sysconf has no preconditions.
    let ticks_per_second = unsafe { libc_sysconf_clk_tck() } as f64;
    let percent = after
        .iter()
        .map(|(name, used)| {
            let delta = used.saturating_sub(*before.get(name).unwrap_or(&0)) as f64;
            (name.clone(), 100.0 * delta / ticks_per_second / seconds)
        })
        .collect();
    Span {
        percent,
        rss_mb: rss as f64 / 1024.0,
        peak_mb: peak as f64 / 1024.0,
    }
}

/// Starts Xvfb on a display nobody uses (other benches or tests may hold theirs) and waits for
/// its socket.
fn start_xvfb() -> (Child, String) {
    for number in 140..200 {
        if Path::new(&format!("/tmp/.X11-unix/X{number}")).exists()
            || Path::new(&format!("/tmp/.X{number}-lock")).exists()
        {
            continue;
        }
        let display = format!(":{number}");
        let mut child = Command::new("Xvfb")
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
            .expect("Xvfb is needed (apt-get install xvfb)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if Path::new(&format!("/tmp/.X11-unix/X{number}")).exists() {
                return (child, display);
            }
            if child.try_wait().ok().flatten().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("could not start Xvfb on any display :140..:199");
}

/// Waits until the standalone's window exists, so a run never measures a process that is still
/// (or forever) connecting to the display; `None` after 30 s.
fn wait_for_window(display: &str, label: &str, standalone: &mut Child) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Some(status) = standalone.try_wait().expect("query the standalone") {
            panic!("{label}: the standalone exited before its window appeared ({status})");
        }
        let found = Command::new("xdotool")
            .args(["search", "--name", "Moodscape"])
            .env("DISPLAY", display)
            .output()
            .expect("xdotool is needed (apt-get install xdotool)");
        let text = String::from_utf8_lossy(&found.stdout).into_owned();
        if let Some(id) = text.lines().next() {
            return Some(id.trim().to_string());
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    None
}

/// Kills Xvfb when the bench ends, also when a check panics.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn main() {
    let (xvfb, display) = start_xvfb();
    let xvfb = KillOnDrop(xvfb);
    let display = display.as_str();
    let baseline = measure(
        display,
        "baseline",
        &[("MOODSCAPE_LANDSCAPE", "off")],
        false,
    );
    let open = measure(display, "editor open", &[], false);
    let restless = measure(display, "restless mood", &[], true);
    drop(xvfb);

    println!(
        "dummy backend 48 kHz / 512, {MEASURE:?} per run after {WARM_UP:?} warm-up, all runs now"
    );
    let runs = [&baseline, &open, &restless];
    println!(
        "{:<28} {:>12} {:>12} {:>14}",
        "thread (% of one core)", "baseline", "editor open", "restless mood"
    );
    let names: std::collections::BTreeSet<&String> =
        runs.iter().flat_map(|run| run.percent.keys()).collect();
    let row = |label: &str, values: [f64; 3]| {
        println!(
            "{label:<28} {:>12.2} {:>12.2} {:>14.2}",
            values[0], values[1], values[2]
        );
    };
    for name in names {
        let values = runs.map(|run| run.percent.get(name).copied().unwrap_or(0.0));
        if values.iter().any(|&v| v > 0.0) {
            row(name, values);
        }
    }
    row(
        "landscape work (3 threads)",
        runs.map(|run| run.group(&LANDSCAPE_THREADS)),
    );
    row(
        "  of which the upscaler",
        runs.map(|run| run.group(&[UPSCALER_THREAD])),
    );
    row("whole process", runs.map(Span::total));
    row("RSS, MB", runs.map(|run| run.rss_mb));
    row("peak RSS, MB", runs.map(|run| run.peak_mb));
    println!(
        "editor open: {:.2}x the baseline; restless mood (the VA pad clicked to a far mood every \
         second: a keyframe every {} s, crossfading at 30 fps nearly all the time; not gated): \
         {:.2}x the baseline",
        open.total() / baseline.total().max(1e-9),
        2,
        restless.total() / baseline.total().max(1e-9)
    );

    let mut failures = Vec::new();
    if baseline.group(&[UPSCALER_THREAD, GENERATOR_THREAD]) > 0.0
        || baseline
            .percent
            .keys()
            .any(|name| LANDSCAPE_THREADS.iter().any(|p| name.starts_with(p)))
    {
        failures.push("the baseline (no landscape) started landscape threads".to_string());
    }
    if open.group(&[UPSCALER_THREAD]) <= 0.0 {
        failures.push("the editor-open run never upscaled: nothing was measured".to_string());
    }
    if open.total() > CPU_BUDGET_PERCENT {
        failures.push(format!(
            "editor open uses {:.1} % of one core, budget {CPU_BUDGET_PERCENT} %",
            open.total()
        ));
    }
    if open.rss_mb > RSS_BUDGET_MB {
        failures.push(format!(
            "RSS {:.0} MB, budget {RSS_BUDGET_MB} MB",
            open.rss_mb
        ));
    }
    if failures.is_empty() {
        println!(
            "within budget: editor open {:.1} % <= {CPU_BUDGET_PERCENT} % of one core, RSS {:.0} MB <= {RSS_BUDGET_MB} MB",
            open.total(),
            open.rss_mb
        );
    } else {
        for failure in &failures {
            eprintln!("FAILED: {failure}");
        }
        std::process::exit(1);
    }
}

extern "C" {
    fn sysconf(name: i32) -> i64;
}

/// Clock ticks per second for /proc CPU times (`_SC_CLK_TCK` is 2 on Linux).
unsafe fn libc_sysconf_clk_tck() -> i64 {
    sysconf(2)
}
