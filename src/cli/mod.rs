//! Subcommands of the `moodscape` command-line tool. Each lives in its own module.

pub mod analyze;
pub mod demo;
pub mod eval_landscape;
pub mod grid;
pub mod label_images;
pub mod render;
pub mod standalone;
pub mod survey;
pub mod train_landscape;
pub mod train_va;
pub mod vocabulary;
