//! The landscape thread paints upscaled keyframes while it exists, and nothing upscales once it
//! is gone (the editor drops it when it closes), and every picture-writing path shares the one
//! painter.

use moodscape::landscape::{LandscapePainter, Latent, DISPLAY_SIDE};
use moodscape::live::{LandscapeUpdate, LandscapeWorker, LiveState};
use moodscape::va::Va;
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Both tests start upscaler threads; the thread counts need them to run one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Names of this process's threads (Linux keeps the first 15 bytes).
fn thread_names() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .map(|tasks| {
            tasks
                .flatten()
                .filter_map(|task| std::fs::read_to_string(task.path().join("comm")).ok())
                .map(|name| name.trim().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn upscaler_threads() -> usize {
    thread_names()
        .iter()
        .filter(|name| name.starts_with("moodscape-upsca"))
        .count()
}

/// rayon retires a dropped pool's thread asynchronously: give it a moment.
fn wait_until_no_upscaler() {
    let deadline = Instant::now() + Duration::from_secs(5);
    while upscaler_threads() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn keyframes_are_upscaled_while_open_and_nothing_upscales_after_close() {
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    wait_until_no_upscaler();
    assert_eq!(upscaler_threads(), 0, "no upscaler before the editor opens");
    let live = Arc::new(LiveState::default());
    let mut worker =
        LandscapeWorker::spawn(live, Arc::new(AtomicU32::new(3))).expect("spawn the thread");
    let deadline = Instant::now() + Duration::from_secs(30);
    let keyframe = loop {
        match worker.latest() {
            Some(LandscapeUpdate::Keyframe(keyframe)) => break keyframe,
            Some(LandscapeUpdate::Error(error)) => panic!("landscape thread failed: {error}"),
            None => {}
        }
        assert!(Instant::now() < deadline, "no keyframe within 30 s");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(
        keyframe.image.dimensions(),
        (DISPLAY_SIDE, DISPLAY_SIDE),
        "keyframes arrive upscaled"
    );
    assert_eq!(
        upscaler_threads(),
        1,
        "the upscaler runs on its own one thread"
    );

    worker.stop();
    wait_until_no_upscaler();
    assert_eq!(
        upscaler_threads(),
        0,
        "an upscaler thread outlived the landscape thread: {:?}",
        thread_names()
    );
}

#[test]
fn painter_sizes_use_the_learned_upscale_above_the_native_size() {
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let painter = LandscapePainter::embedded().expect("embedded models load");
    let latent = Latent::from_seed(5);
    let va = Va {
        valence: 0.4,
        arousal: -0.2,
    };
    let native = painter.generator().generate(&latent, va).unwrap();
    let native_side = native.width();
    assert_eq!(painter.paint(&latent, va, native_side).unwrap(), native);
    let big = painter.paint(&latent, va, DISPLAY_SIDE).unwrap();
    let softened = moodscape::landscape::picture::soften_generator_grid(&native);
    assert_eq!(big, painter.upscaler().upscale(&softened).unwrap());
    let odd = painter.paint(&latent, va, 100).unwrap();
    assert_eq!(odd.dimensions(), (100, 100));
    assert!(painter.paint(&latent, va, 0).is_err());
    assert!(painter.paint(&latent, va, 5000).is_err());
}
