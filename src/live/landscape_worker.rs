//! The landscape thread: while the editor is open, it watches the mood and paints keyframes.
//!
//! It never runs on the audio thread and never blocks the GUI: each keyframe is generated and
//! upscaled to [`DISPLAY_SIDE`] here (the generator and the upscaler each run their candle calls
//! on a one-thread pool of their own, in turn, while this thread waits), then travels through a
//! bounded channel that the editor drains without waiting. The thread, the models and their pools
//! exist only while the editor is open: closing it stops all generation and upscaling.

use crossbeam::channel::{bounded, Receiver, TryRecvError};
use image::RgbImage;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{KeyframePolicy, LiveState};
use crate::landscape::{LandscapePainter, DISPLAY_SIDE};
use crate::va::Va;

/// How often the thread checks the mood.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// A freshly painted landscape.
#[derive(Debug, Clone)]
pub struct Keyframe {
    /// The picture, [`DISPLAY_SIDE`] pixels a side (upscaled from the generator's 64).
    pub image: RgbImage,
    /// The mood it was painted for.
    pub va: Va,
}

/// What the thread tells the editor.
#[derive(Debug, Clone)]
pub enum LandscapeUpdate {
    /// A new picture to morph towards.
    Keyframe(Keyframe),
    /// Why no pictures come (no model, corrupt model, failed generation).
    Error(String),
}

/// Owns the landscape thread; dropping it stops and joins the thread.
pub struct LandscapeWorker {
    /// Asks the thread to exit.
    stop: Arc<AtomicBool>,
    /// Joined on stop so nothing paints after the editor closed.
    handle: Option<JoinHandle<()>>,
    /// Keyframes and errors, oldest first.
    updates: Receiver<LandscapeUpdate>,
}

impl LandscapeWorker {
    /// Starts painting. `style` mirrors the Style parameter.
    pub fn spawn(live: Arc<LiveState>, style: Arc<AtomicU32>) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let (sender, updates) = bounded(4);
        let thread_stop = stop.clone();
        let handle = std::thread::Builder::new()
            .name("moodscape-landscape".into())
            .spawn(move || {
                let painter = match LandscapePainter::embedded() {
                    Ok(painter) => painter,
                    Err(error) => {
                        let _ = sender.try_send(LandscapeUpdate::Error(error.to_string()));
                        return;
                    }
                };
                let mut policy = KeyframePolicy::new(style.load(Ordering::Relaxed));
                let mut last = Instant::now();
                while !thread_stop.load(Ordering::Acquire) {
                    let now = Instant::now();
                    let elapsed = now.duration_since(last).as_secs_f64();
                    last = now;
                    let request = policy.update(elapsed, live.va(), style.load(Ordering::Relaxed));
                    if let Some(request) = request {
                        let painted = painter.paint(&request.latent, request.va, DISPLAY_SIDE);
                        let update = match painted {
                            Ok(image) => LandscapeUpdate::Keyframe(Keyframe {
                                image,
                                va: request.va,
                            }),
                            Err(error) => LandscapeUpdate::Error(error.to_string()),
                        };
                        // A full queue means the editor is not drawing; the next keyframe will do.
                        let _ = sender.try_send(update);
                    }
                    std::thread::sleep(POLL_INTERVAL);
                }
            })?;
        Ok(Self {
            stop,
            handle: Some(handle),
            updates,
        })
    }

    /// The newest update waiting, if any, without blocking. Older keyframes are skipped, but an
    /// error is returned even when followed by nothing else.
    pub fn latest(&self) -> Option<LandscapeUpdate> {
        let mut latest = None;
        loop {
            match self.updates.try_recv() {
                Ok(update) => latest = Some(update),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => return latest,
            }
        }
    }

    /// Stops and joins the thread. Idempotent.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

impl Drop for LandscapeWorker {
    fn drop(&mut self) {
        self.stop();
    }
}
