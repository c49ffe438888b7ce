//! `moodscape standalone`: the plugin in its own window, on JACK or ALSA input, without a DAW.
//!
//! Everything after `standalone` goes to nice-plug's standalone wrapper, e.g.
//! `moodscape standalone --backend jack` or `moodscape standalone --backend dummy` (no audio
//! device, handy for trying the editor; pick a mood on the pad by hand).

/// Arguments for nice-plug's standalone wrapper (`moodscape standalone --help` lists them).
#[derive(clap::Args)]
pub struct Args {
    /// Passed through unchanged: --backend, --sample-rate, --period-size, --input-device, ...
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub wrapper_args: Vec<String>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let argv = std::iter::once("moodscape standalone".to_string()).chain(args.wrapper_args);
    if nice_plug::prelude::nice_export_standalone_with_args::<crate::Moodscape, _>(argv) {
        Ok(())
    } else {
        anyhow::bail!("the standalone could not start an audio backend (try --backend dummy)")
    }
}
