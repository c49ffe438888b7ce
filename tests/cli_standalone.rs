//! `moodscape standalone` without a display exits with a clear error instead of hanging (the
//! wrapper used to log "blocking indefinitely" and wait forever).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs the standalone with `display` as DISPLAY (unset for `None`); kills it after 30 s.
fn standalone_with_display(display: Option<&str>) -> (Option<i32>, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_moodscape"));
    command
        .args(["standalone", "--backend", "dummy"])
        .env_remove("WAYLAND_DISPLAY")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    match display {
        Some(display) => command.env("DISPLAY", display),
        None => command.env_remove("DISPLAY"),
    };
    let mut child = command.spawn().expect("run moodscape");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > Duration::from_secs(30) {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    let status = status.unwrap_or_else(|| panic!("standalone hung without a display: {stderr}"));
    (status.code(), stderr)
}

#[test]
fn standalone_without_a_display_fails_fast_with_a_reason() {
    let (code, stderr) = standalone_with_display(None);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("no display"), "{stderr}");
    assert!(!stderr.contains("blocking indefinitely"), "{stderr}");

    // A display number no X server listens on (no socket file, no abstract socket, no TCP).
    let (code, stderr) = standalone_with_display(Some(":987"));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("no X server answers on DISPLAY=:987"),
        "{stderr}"
    );
}
