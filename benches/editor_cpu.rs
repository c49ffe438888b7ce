//! CPU and memory of one live instance with its editor open, per thread.
//!
//! Runs `moodscape standalone --backend dummy` (48 kHz, 512-sample periods, the dummy backend's
//! silent input) in an Xvfb window for a warm-up and a measured span, and reads each thread's CPU
//! time from /proc. The threads are named, so the report splits the cost into the audio thread
//! (`process()`), the analysis thread, the landscape thread and the GUI thread (egui drawing at
//! 30 fps, which under Xvfb includes Mesa's software OpenGL: a real GPU makes it cheaper). With
//! the editor closed only the audio and analysis threads exist. Also reports the process's RSS.
//!
//! Run with `cargo bench --bench editor_cpu`; needs Xvfb (see .ci/run).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const WARM_UP: Duration = Duration::from_secs(15);
const MEASURE: Duration = Duration::from_secs(20);

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

fn main() {
    let display = ":77";
    let mut xvfb = Command::new("Xvfb")
        .args([display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb is needed (apt-get install xvfb)");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !Path::new("/tmp/.X11-unix/X77").exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut standalone = Command::new(env!("CARGO_BIN_EXE_moodscape"))
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
        .stderr(Stdio::null())
        .spawn()
        .expect("start the standalone");
    let pid = standalone.id();
    std::thread::sleep(WARM_UP);
    let before = thread_ticks(pid);
    let start = Instant::now();
    std::thread::sleep(MEASURE);
    let after = thread_ticks(pid);
    let seconds = start.elapsed().as_secs_f64();
    let rss = status_kib(pid, "VmRSS:");
    let peak = status_kib(pid, "VmHWM:");
    let _ = standalone.kill();
    let _ = standalone.wait();
    let _ = xvfb.kill();
    let _ = xvfb.wait();

    // SAFETY: sysconf has no preconditions.
    let ticks_per_second = unsafe { libc_sysconf_clk_tck() } as f64;
    println!("editor open, dummy backend 48 kHz / 512, {seconds:.0} s after {WARM_UP:?} warm-up");
    println!("{:<24} {:>10}", "thread", "% of a core");
    let mut total = 0.0;
    for (name, used) in &after {
        let delta = used.saturating_sub(*before.get(name).unwrap_or(&0)) as f64;
        let percent = 100.0 * delta / ticks_per_second / seconds;
        total += percent;
        if percent > 0.0 {
            println!("{name:<24} {percent:>10.2}");
        }
    }
    println!("{:<24} {total:>10.2}", "whole process");
    println!(
        "RSS {:.0} MB (peak {:.0} MB)",
        rss as f64 / 1024.0,
        peak as f64 / 1024.0
    );
}

extern "C" {
    fn sysconf(name: i32) -> i64;
}

/// Clock ticks per second for /proc CPU times (`_SC_CLK_TCK` is 2 on Linux).
unsafe fn libc_sysconf_clk_tck() -> i64 {
    sysconf(2)
}
