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

use std::path::Path;
use std::time::Duration;

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
    let asks_for_help = args
        .wrapper_args
        .iter()
        .any(|a| matches!(a.as_str(), "-h" | "--help" | "-V" | "--version"));
    // Without a window the wrapper logs "blocking indefinitely" and hangs; say why instead.
    if !asks_for_help {
        display_reachable()?;
    }
    let argv = std::iter::once("moodscape standalone".to_string()).chain(args.wrapper_args);
    if !asks_for_help {
        watch_for_the_window();
    }
    if nice_plug::prelude::nice_export_standalone_with_args::<crate::Moodscape, _>(argv) {
        Ok(())
    } else {
        anyhow::bail!("the standalone could not start an audio backend (try --backend dummy)")
    }
}

/// How long the editor's window may take to appear (loading is quick; this allows a machine
/// that is busy with other work).
const WINDOW_TIMEOUT: Duration = Duration::from_secs(60);

/// Exits with a reason if no editor window was built within [`WINDOW_TIMEOUT`]. Once in a while
/// (seen about once in 40 starts under Xvfb) baseview fails to create the window, and nice-plug's
/// wrapper then logs "No GUI available ... blocking indefinitely" and hangs with the error to
/// itself until it is closed, which it cannot be.
fn watch_for_the_window() {
    let spawned = std::thread::Builder::new()
        .name("moodscape-window-watch".into())
        .spawn(|| {
            let start = std::time::Instant::now();
            while start.elapsed() < WINDOW_TIMEOUT {
                if crate::editor::window_built() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            eprintln!(
                "error: the standalone's window did not open within {} s (the windowing library \
                 gave no reason); start it again",
                WINDOW_TIMEOUT.as_secs()
            );
            std::process::exit(1);
        });
    if let Err(error) = spawned {
        eprintln!("warning: cannot watch for the standalone's window: {error}");
    }
}

/// Checks that an X11 display (the editor's windowing, baseview, speaks X11) can be reached.
#[cfg(target_os = "linux")]
fn display_reachable() -> anyhow::Result<()> {
    const HINT: &str = "the standalone opens a window: run it in a desktop session, or under \
                        `xvfb-run` on a headless machine";
    let display = std::env::var("DISPLAY").unwrap_or_default();
    if display.trim().is_empty() {
        anyhow::bail!("no display: DISPLAY is not set ({HINT})");
    }
    if x11_server_answers(&display) == Some(false) {
        anyhow::bail!("no X server answers on DISPLAY={display} ({HINT})");
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn display_reachable() -> anyhow::Result<()> {
    Ok(())
}

/// Whether the X server of `display` ("[host]:N[.S]") accepts a connection; `None` when the form
/// is one this check does not understand (then the wrapper gets to try).
#[cfg(target_os = "linux")]
fn x11_server_answers(display: &str) -> Option<bool> {
    let (host, rest) = display.rsplit_once(':')?;
    let number: u16 = rest.split('.').next()?.parse().ok()?;
    let host = host.strip_prefix("unix/").unwrap_or(host);
    if host.is_empty() || host == "unix" {
        let socket = format!("/tmp/.X11-unix/X{number}");
        if Path::new(&socket).exists() && std::os::unix::net::UnixStream::connect(&socket).is_ok() {
            return Some(true);
        }
        // X servers on Linux also listen on an abstract socket of the same name, with no file.
        return Some(abstract_socket_answers(&socket) || tcp_answers("localhost", number));
    }
    if host.starts_with('/') {
        // launchd-style socket path: leave it to the wrapper.
        return None;
    }
    Some(tcp_answers(host, number))
}

/// Connects to the Linux abstract socket named `name`.
#[cfg(target_os = "linux")]
fn abstract_socket_answers(name: &str) -> bool {
    use std::os::linux::net::SocketAddrExt;
    std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
        .and_then(|address| std::os::unix::net::UnixStream::connect_addr(&address))
        .is_ok()
}

/// X11 over TCP listens on port 6000 + display number.
#[cfg(target_os = "linux")]
fn tcp_answers(host: &str, number: u16) -> bool {
    use std::net::ToSocketAddrs;
    let Ok(addresses) = (host, 6000 + number).to_socket_addrs() else {
        return false;
    };
    addresses.into_iter().any(|address| {
        std::net::TcpStream::connect_timeout(&address, Duration::from_secs(2)).is_ok()
    })
}
