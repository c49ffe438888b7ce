//! The plugin's analysis thread calls `push_interleaved` continuously: once built, the analyser
//! must not touch the heap. nice-plug installs an allocation guard in builds with debug
//! assertions (the `ci` profile); inside `assert_no_alloc` any allocation aborts this test.

use moodscape::analysis::Analyzer;
use nice_assert_no_alloc::assert_no_alloc;

#[test]
fn push_interleaved_does_not_allocate() {
    for (rate, channels) in [
        (48_000.0, 2usize),
        (44_100.0, 2),
        (22_050.0, 1),
        (44_099.0, 1),
        (96_000.0, 6),
    ] {
        let mut analyzer = Analyzer::new(rate, channels, Default::default());
        // Music-like input: a tone with clicks, so every code path (voiced YIN, onsets) runs.
        let block: Vec<f32> = (0..480 * channels)
            .map(|i| {
                let n = (i / channels) as f32;
                0.3 * (n * 0.0577).sin() + if i % 9_600 < 40 { 0.5 } else { 0.0 }
            })
            .collect();
        let mut summaries = 0usize;
        let mut all_finite = true;
        // From the very first block, through the filling window and well past it.
        assert_no_alloc(|| {
            for _ in 0..(14.0 * rate / 480.0) as usize {
                analyzer.push_interleaved(&block, |s| {
                    summaries += 1;
                    all_finite &= s.values.iter().all(|v| v.is_finite());
                });
            }
            analyzer.reset();
            analyzer.push_interleaved(&block, |_| summaries += 1);
        });
        assert!(all_finite);
        assert!(
            summaries >= 27,
            "{rate} Hz x{channels}: {summaries} summaries"
        );
    }
}

/// The guard is live in this build: an allocation inside it must be caught, or the test above
/// would prove nothing. Run in a child process because the guard aborts.
#[test]
fn the_guard_catches_allocations() {
    if std::env::var_os("MOODSCAPE_ALLOC_GUARD_CHILD").is_some() {
        assert_no_alloc(|| std::hint::black_box(vec![1u8; 64]).len());
        return;
    }
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "the_guard_catches_allocations", "--nocapture"])
        .env("MOODSCAPE_ALLOC_GUARD_CHILD", "1")
        .output()
        .unwrap()
        .status;
    assert!(
        !status.success(),
        "an allocation inside assert_no_alloc went unnoticed"
    );
}
