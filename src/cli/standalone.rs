//! `moodscape standalone`: the plugin in its own window, on JACK or ALSA input, without a DAW.
//!
//! Everything after `standalone` goes to nice-plug's standalone wrapper, e.g.
//! `moodscape standalone --backend jack` or `moodscape standalone --backend dummy` (no audio
//! device, handy for trying the editor; pick a mood on the pad by hand). `--osc HOST:PORT` (before
//! the wrapper's own options) turns the OSC output on, as the editor's OSC switch does:
//! `moodscape standalone --osc 127.0.0.1:9000 --backend jack`.

use std::sync::OnceLock;

use crate::live::OscSettings;

/// OSC settings given on the command line; the plugin instance the wrapper creates starts with
/// them (the editor can still change them).
static OSC_PRESET: OnceLock<OscSettings> = OnceLock::new();

/// The `--osc` settings of this process, if it is a standalone started with them.
pub(crate) fn osc_preset() -> Option<OscSettings> {
    OSC_PRESET.get().cloned()
}

/// Arguments for nice-plug's standalone wrapper (`moodscape standalone --help` lists them).
#[derive(clap::Args)]
pub struct Args {
    /// Send the mood over OSC to HOST:PORT (e.g. 127.0.0.1:9000), as the editor's OSC switch does.
    #[arg(long, value_name = "HOST:PORT")]
    pub osc: Option<String>,
    /// OSC address prefix, with --osc.
    #[arg(long, default_value = crate::live::osc::DEFAULT_PREFIX)]
    pub osc_prefix: String,
    /// Passed through unchanged: --backend, --sample-rate, --period-size, --input-device, ...
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub wrapper_args: Vec<String>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if let Some(target) = &args.osc {
        let settings =
            OscSettings::for_target(target, &args.osc_prefix).map_err(anyhow::Error::msg)?;
        let _ = OSC_PRESET.set(settings);
    }
    let argv = std::iter::once("moodscape standalone".to_string()).chain(args.wrapper_args);
    if nice_plug::prelude::nice_export_standalone_with_args::<crate::Moodscape, _>(argv) {
        Ok(())
    } else {
        anyhow::bail!("the standalone could not start an audio backend (try --backend dummy)")
    }
}
