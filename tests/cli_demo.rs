//! `moodscape demo --input FILE` speaks the same vocabulary as `analyze`: no "written for Q0"
//! for a file, quadrants as codes plus names, key and mode in their own columns, and it says
//! how the animation maps to the audio.

mod analysis_signals;

use std::path::Path;
use std::process::Command;

use analysis_signals::{cadence, click_track, write_wav};

#[test]
fn demo_on_a_file_reads_it_without_inventing_a_quadrant() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli_demo");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let rate = 22_050;
    let song: Vec<f32> = click_track(120.0, 14.0, rate)
        .iter()
        .zip(&cadence(9, true, 14.0, rate))
        .map(|(c, h)| 0.5 * c + h)
        .collect();
    let input = dir.join("song.wav");
    write_wav(&input, &song, rate);
    let out = dir.join("demo");
    let output = Command::new(env!("CARGO_BIN_EXE_moodscape"))
        .args(["demo", "--input", input.to_str().unwrap(), "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!stdout.contains("Q0"), "{stdout}");
    assert!(!stdout.contains("written for"), "{stdout}");
    let file_row = stdout
        .lines()
        .find(|l| l.starts_with("(file)"))
        .unwrap_or_else(|| panic!("no row for the file: {stdout}"));
    let names = [
        "Q1 pleasant-excited",
        "Q2 unpleasant-excited",
        "Q3 unpleasant-calm",
        "Q4 pleasant-calm",
    ];
    assert!(names.iter().any(|n| file_row.contains(n)), "{file_row}");
    assert!(stdout.contains("animation in real time, 8 fps"), "{stdout}");

    let csv = std::fs::read_to_string(out.join("va-timeline.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).expect(name);
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert!(rows.len() >= 26, "{} rows", rows.len());
    let last = rows.last().unwrap();
    // The same key vocabulary as `analyze`: tonic and mode apart.
    assert_eq!(
        (last[column("key")], last[column("mode")]),
        ("A", "minor"),
        "{csv}"
    );
    for row in &rows {
        let valence: f32 = row[column("valence")].parse().unwrap();
        let arousal: f32 = row[column("arousal")].parse().unwrap();
        let expected = match (valence >= 0.0, arousal >= 0.0) {
            (true, true) => names[0],
            (false, true) => names[1],
            (false, false) => names[2],
            (true, false) => names[3],
        };
        assert_eq!(
            format!(
                "{} {}",
                row[column("quadrant")],
                row[column("quadrant_name")]
            ),
            expected
        );
        // A file was written for no quadrant: the cells stay empty rather than "0".
        assert_eq!(row[column("intended_quadrant")], "");
        assert_eq!(row[column("intended_quadrant_name")], "");
    }
}
