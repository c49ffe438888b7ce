//! MusiCNN's forward pass shares the live analysis thread, so it must not fan out to other
//! cores (candle's stock matmul would, through rayon). Its own binary, so no other test's
//! threads run meanwhile.

use moodscape::pretrained::musicnn::{Musicnn, MEL_BANDS, PATCH_FRAMES};

/// CPU seconds of this thread and of all the process's other threads, from /proc.
fn cpu_split() -> Option<(f64, f64)> {
    let own = std::fs::read_link("/proc/thread-self").ok()?;
    let own_tid = own.file_name()?.to_owned();
    let (mut mine, mut others) = (0.0, 0.0);
    for entry in std::fs::read_dir("/proc/self/task").ok()? {
        let entry = entry.ok()?;
        let Ok(text) = std::fs::read_to_string(entry.path().join("schedstat")) else {
            continue; // the thread ended meanwhile
        };
        let nanos: f64 = text.split_whitespace().next()?.parse().ok()?;
        if entry.file_name() == own_tid {
            mine += nanos * 1e-9;
        } else {
            others += nanos * 1e-9;
        }
    }
    Some((mine, others))
}

#[test]
fn forward_runs_on_the_calling_thread_only() {
    let network = Musicnn::embedded().expect("embedded weights load");
    let patches = 4;
    let mel: Vec<f32> = (0..patches * PATCH_FRAMES * MEL_BANDS)
        .map(|i| 1.5 + ((i % 89) as f32 * 0.41).sin())
        .collect();
    // Warm up (lazy statics, page faults) before measuring.
    network
        .forward(&mel[..PATCH_FRAMES * MEL_BANDS], 1)
        .unwrap();
    let Some((mine_before, others_before)) = cpu_split() else {
        println!("no /proc/thread-self: cannot measure per-thread CPU here, skipped");
        return;
    };
    let outputs = network.forward(&mel, patches).unwrap();
    assert_eq!(outputs.len(), patches);
    let (mine_after, others_after) = cpu_split().unwrap();
    let mine = mine_after - mine_before;
    let others = others_after - others_before;
    println!("forward of {patches} patches: calling thread {mine:.3} CPU-s, other threads {others:.3} CPU-s");
    assert!(mine > 0.0, "the calling thread did the work");
    assert!(
        others < 0.1 * mine,
        "other threads took {others:.3} CPU-s against the caller's {mine:.3}: forward fans out"
    );
}
