//! What the survey tests (`survey`, `survey_browser`) share: scratch folders, running the
//! binary, and the synthetic songs the kits are built from.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::analysis_signals::{cadence, click_track, write_wav};

/// A fresh, empty folder `target/tmp/<group>/<name>`.
pub fn scratch_dir(group: &str, name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(group)
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the `moodscape` binary of this build.
pub fn moodscape(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_moodscape"))
        .args(args)
        .output()
        .expect("run moodscape")
}

/// The stdout of a run that must succeed.
pub fn succeed(output: Output) -> String {
    assert!(
        output.status.success(),
        "moodscape failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// 12 s of clicks at `bpm` over a cadence, 44.1 kHz mono 16-bit.
pub fn write_song(path: &Path, bpm: f32, tonic: i32, minor: bool) {
    let rate = 44_100;
    let song: Vec<f32> = click_track(bpm, 12.0, rate)
        .iter()
        .zip(&cadence(tonic, minor, 12.0, rate))
        .map(|(c, h)| 0.5 * c + h)
        .collect();
    write_wav(path, &song, rate);
}
