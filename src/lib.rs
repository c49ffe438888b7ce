//! Moodscape: listens to music, estimates its mood as valence/arousal and paints a landscape.
//!
//! The DSP and ML live in plugin-free modules (`analysis`, `va`, `landscape`) so the CLI, the
//! trainers, the tests and the benchmarks use exactly the code the plugin runs.

pub mod analysis;
pub mod audio_file;
pub mod cli;
pub mod landscape;
pub mod va;
