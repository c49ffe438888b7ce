//! The mood over OSC (UDP), for VJ tools: TouchDesigner, Resolume, VDMX, Max, MadMapper.
//!
//! The sender runs on the analysis thread (and in `moodscape analyze --osc`), never on the audio
//! thread: encoding allocates and sending is a system call. Its socket is non-blocking, and every
//! failure (a bad host, a port of 0, nothing listening, a full send buffer) only changes the
//! status the editor shows; the analysis goes on whatever the network does.
//!
//! One bundle per update carries `/prefix/valence f`, `/prefix/arousal f`, `/prefix/quadrant s`,
//! `/prefix/silent i` and, once the first analysis window is in, `/prefix/tempo f`, `/prefix/key s`,
//! `/prefix/mode s` and `/prefix/loudness f`. Updates go out twice a second and, between those,
//! whenever a value moves (at most 20 times a second).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rosc::{OscBundle, OscMessage, OscPacket, OscTime, OscType};
use serde::{Deserialize, Serialize};

use super::LiveState;
use crate::analysis::{key_name, FeatureSummary, Mode};
use crate::va::mood_analyzer::MoodState;
use crate::va::summary::quadrant_label;
use crate::va::Va;

/// Where the mood goes unless the user says otherwise: this machine, TouchDesigner's habit.
pub const DEFAULT_HOST: &str = "127.0.0.1";
/// The port most OSC examples (TouchDesigner, Resolume) listen on.
pub const DEFAULT_PORT: u16 = 9000;
/// Address prefix; change it per instance to tell several apart.
pub const DEFAULT_PREFIX: &str = "/moodscape";
/// An unchanged state is re-sent this often: the analysis rate, and a receiver that joins late
/// catches up within it.
pub const REFRESH_INTERVAL: Duration = Duration::from_millis(500);
/// Changes go out at once, but never more often than this (20 bundles a second).
pub const MIN_INTERVAL: Duration = Duration::from_millis(50);
/// After a send error the status keeps showing it this long, so an error that recurs every other
/// send (nothing listening on a local port) does not flicker.
const ERROR_HOLD: Duration = Duration::from_secs(2);
/// Valence or arousal moving by this much counts as a change worth a bundle of its own.
const VA_STEP: f32 = 0.01;
/// Tempo (BPM) or loudness (dB) moving by this much counts as a change.
const READOUT_STEP: f32 = 0.5;
/// Longest prefix accepted: keeps every bundle far below a UDP datagram.
const MAX_PREFIX_LEN: usize = 200;

/// What the user sets: saved with the project, edited in the editor or given as `--osc`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OscSettings {
    /// Off by default: nothing leaves the machine unless asked.
    pub enabled: bool,
    /// Receiver address: an IPv4 or IPv6 address, or `localhost`. No DNS names, because a lookup
    /// can block the analysis thread for seconds.
    pub host: String,
    /// Receiver UDP port, 1..=65535.
    pub port: u16,
    /// Address prefix, `/moodscape` by default; several instances can use different ones.
    pub prefix: String,
}

impl Default for OscSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            host: DEFAULT_HOST.into(),
            port: DEFAULT_PORT,
            prefix: DEFAULT_PREFIX.into(),
        }
    }
}

impl OscSettings {
    /// Enabled settings for `HOST:PORT` (`[v6]:PORT` for IPv6), as `--osc` takes them.
    pub fn for_target(target: &str, prefix: &str) -> Result<Self, String> {
        let (host, port) = target.rsplit_once(':').ok_or_else(|| {
            format!("OSC target `{target}` is not HOST:PORT (e.g. 127.0.0.1:9000)")
        })?;
        let port = port
            .parse::<u16>()
            .map_err(|_| format!("OSC port `{port}` is not a number in 1..=65535"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let settings = Self {
            enabled: true,
            host: host.into(),
            port,
            prefix: prefix.into(),
        };
        settings.target()?;
        settings.check_prefix()?;
        Ok(settings)
    }

    /// The receiver's socket address, or why there is none. Never does a DNS lookup.
    pub fn target(&self) -> Result<SocketAddr, String> {
        let host = self.host.trim();
        let ip = if host.eq_ignore_ascii_case("localhost") {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            host.parse::<IpAddr>().map_err(|_| {
                format!("OSC host `{host}` is not an IP address (use e.g. 127.0.0.1 or localhost)")
            })?
        };
        if ip.is_unspecified() || ip.is_multicast() {
            return Err(format!(
                "OSC host {ip} cannot receive: give the receiver's address"
            ));
        }
        if self.port == 0 {
            return Err("OSC port 0 is not a port: use 1..=65535 (often 9000)".into());
        }
        Ok(SocketAddr::new(ip, self.port))
    }

    /// Checks that the prefix makes valid OSC addresses: `/` first, no spaces or pattern
    /// characters (`#*,?[]{}`), not too long. A lone `/` means no prefix.
    pub fn check_prefix(&self) -> Result<(), String> {
        let prefix = self.prefix.as_str();
        if !prefix.starts_with('/') {
            return Err(format!("OSC prefix `{prefix}` must start with `/`"));
        }
        if prefix.len() > MAX_PREFIX_LEN {
            return Err(format!(
                "OSC prefix is longer than {MAX_PREFIX_LEN} characters"
            ));
        }
        if let Some(bad) = prefix
            .chars()
            .find(|c| c.is_whitespace() || c.is_control() || "#*,?[]{}".contains(*c))
        {
            return Err(format!(
                "OSC prefix `{prefix}` contains `{bad}`, which OSC reserves"
            ));
        }
        Ok(())
    }

    /// The full address of one value, e.g. `/moodscape/valence`.
    fn address(&self, name: &str) -> String {
        format!("{}/{name}", self.prefix.trim_end_matches('/'))
    }
}

/// The settings shared between the parameters (which persist them), the editor (which edits them
/// and shows the status) and the sender on the analysis thread. Never touched by the audio thread.
#[derive(Debug, Default)]
pub struct OscConfig {
    /// Current settings.
    settings: Mutex<OscSettings>,
    /// Bumped on every change, so the sender re-reads the settings only when they moved.
    generation: AtomicU64,
    /// What the sender is doing, or why it cannot, for the editor.
    status: Mutex<String>,
}

impl OscConfig {
    /// A config holding `settings`.
    pub fn new(settings: OscSettings) -> Self {
        Self {
            settings: Mutex::new(settings),
            ..Self::default()
        }
    }

    /// A copy of the current settings.
    pub fn settings(&self) -> OscSettings {
        self.settings
            .lock()
            .map(|settings| settings.clone())
            .unwrap_or_default()
    }

    /// Replaces the settings; the sender picks them up on its next step.
    pub fn set(&self, settings: OscSettings) {
        if let Ok(mut current) = self.settings.lock() {
            if *current != settings {
                *current = settings;
                self.generation.fetch_add(1, Ordering::Release);
            }
        }
    }

    /// Changes whenever the settings do.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The status line for the editor: "OSC off" while off, else the sender's latest report
    /// (or a note that it starts with the audio, while no analysis thread runs).
    pub fn status(&self) -> String {
        if !self.settings().enabled {
            return "OSC off".into();
        }
        match self.status.lock() {
            Ok(status) if !status.is_empty() && status.as_str() != "OSC off" => status.clone(),
            _ => "OSC on, starts with the audio".into(),
        }
    }

    fn set_status(&self, status: String) {
        if let Ok(mut current) = self.status.lock() {
            *current = status;
        }
    }
}

/// The values one bundle carries.
#[derive(Debug, Clone, PartialEq)]
pub struct OscFrame {
    /// The mood; `None` leaves out valence, arousal and quadrant (the CLI without a model).
    pub va: Option<Va>,
    /// The musical readouts; `None` until the first analysis window is in.
    pub readout: Option<OscReadout>,
}

/// The musical readouts of the latest analysis window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OscReadout {
    /// Tempo, BPM.
    pub tempo_bpm: f32,
    /// Tonic name, e.g. "F#".
    pub key: &'static str,
    /// Major or minor.
    pub mode: Mode,
    /// K-weighted loudness, LUFS.
    pub loudness_db: f32,
    /// The mood model's silence gate is closed (`va::silence`): the mood is held, not estimated.
    pub silent: bool,
}

impl OscFrame {
    /// What the live pipeline has published.
    pub fn from_live(live: &LiveState) -> Self {
        let readout = (live.summaries.load(Ordering::Relaxed) > 0).then(|| OscReadout {
            tempo_bpm: live.tempo_bpm.load(Ordering::Relaxed),
            key: key_name(live.key.load(Ordering::Relaxed)),
            mode: live.mode(),
            loudness_db: live.loudness_db.load(Ordering::Relaxed),
            silent: live.mood_state() == MoodState::Silent,
        });
        Self {
            va: Some(live.va()),
            readout,
        }
    }

    /// One analysis summary and its mood, as `moodscape analyze` has them; `silent` is the
    /// silence gate's verdict on that window.
    pub fn from_summary(summary: &FeatureSummary, va: Option<Va>, silent: bool) -> Self {
        Self {
            va,
            readout: Some(OscReadout {
                tempo_bpm: summary.tempo_bpm,
                key: summary.key_name(),
                mode: summary.mode,
                loudness_db: summary.loudness_db,
                silent,
            }),
        }
    }

    /// Quadrant name of the mood, if there is one.
    pub fn quadrant(&self) -> Option<&'static str> {
        self.va.map(quadrant_label)
    }

    /// Whether `self` differs from `earlier` enough to be sent before the next refresh.
    fn moved_from(&self, earlier: &Self) -> bool {
        let va_moved = match (self.va, earlier.va) {
            (Some(now), Some(then)) => {
                (now.valence - then.valence).abs() >= VA_STEP
                    || (now.arousal - then.arousal).abs() >= VA_STEP
            }
            (now, then) => now.is_some() != then.is_some(),
        };
        let readout_moved = match (self.readout, earlier.readout) {
            (Some(now), Some(then)) => {
                now.key != then.key
                    || now.mode != then.mode
                    || now.silent != then.silent
                    || (now.tempo_bpm - then.tempo_bpm).abs() >= READOUT_STEP
                    || (now.loudness_db - then.loudness_db).abs() >= READOUT_STEP
            }
            (now, then) => now.is_some() != then.is_some(),
        };
        va_moved || readout_moved || self.quadrant() != earlier.quadrant()
    }

    /// The frame as one OSC bundle under `settings.prefix`.
    pub fn to_packet(&self, settings: &OscSettings) -> OscPacket {
        let message = |name: &str, arg: OscType| {
            OscPacket::Message(OscMessage {
                addr: settings.address(name),
                args: vec![arg],
            })
        };
        let finite = |value: f32| if value.is_finite() { value } else { 0.0 };
        let mut content = Vec::with_capacity(8);
        if let (Some(va), Some(quadrant)) = (self.va, self.quadrant()) {
            content.push(message("valence", OscType::Float(finite(va.valence))));
            content.push(message("arousal", OscType::Float(finite(va.arousal))));
            content.push(message("quadrant", OscType::String(quadrant.into())));
        }
        if let Some(readout) = self.readout {
            content.push(message("tempo", OscType::Float(finite(readout.tempo_bpm))));
            content.push(message("key", OscType::String(readout.key.into())));
            content.push(message("mode", OscType::String(readout.mode.to_string())));
            content.push(message(
                "loudness",
                OscType::Float(finite(readout.loudness_db)),
            ));
            content.push(message("silent", OscType::Int(i32::from(readout.silent))));
        }
        OscPacket::Bundle(OscBundle {
            // "Immediately", in OSC's words.
            timetag: OscTime {
                seconds: 0,
                fractional: 1,
            },
            content,
        })
    }
}

/// An open socket and where it sends.
#[derive(Debug)]
struct Link {
    /// Non-blocking UDP socket, connected to `target` so that a local "nothing listening" comes
    /// back as an error the status can show.
    socket: UdpSocket,
    /// Receiver, for the status line.
    target: SocketAddr,
    /// The settings the link was opened with (prefix included).
    settings: OscSettings,
}

/// Sends [`OscFrame`]s as configured by an [`OscConfig`], reporting into its status.
#[derive(Debug)]
pub struct OscSender {
    /// Settings and status, shared with the editor.
    config: Arc<OscConfig>,
    /// Generation of the settings the link reflects; `None` before the first look.
    applied: Option<u64>,
    /// Open socket, `None` while off or misconfigured.
    link: Option<Link>,
    /// Last frame sent, to send changes early.
    last_frame: Option<OscFrame>,
    /// When the last bundle went out, for the refresh and the rate limit.
    last_sent: Option<Instant>,
    /// When the last send failed, to hold the error on screen.
    last_error: Option<Instant>,
    /// Bundles sent since the link opened, for the status line.
    bundles_sent: u64,
}

impl OscSender {
    pub fn new(config: Arc<OscConfig>) -> Self {
        Self {
            config,
            applied: None,
            link: None,
            last_frame: None,
            last_sent: None,
            last_error: None,
            bundles_sent: 0,
        }
    }

    /// A sender for fixed settings (the CLI). Fails with the reason if they cannot work.
    pub fn for_settings(settings: OscSettings) -> Result<Self, String> {
        let mut sender = Self::new(Arc::new(OscConfig::new(settings)));
        sender.refresh_config();
        match sender.link {
            Some(_) => Ok(sender),
            None => Err(sender.config.status()),
        }
    }

    /// The shared settings and status.
    pub fn config(&self) -> &Arc<OscConfig> {
        &self.config
    }

    /// Bundles sent successfully since the link last opened.
    pub fn bundles_sent(&self) -> u64 {
        self.bundles_sent
    }

    /// One step of the live pipeline: picks up new settings, then sends the published state if a
    /// refresh is due or something moved. Does nothing (and allocates nothing) while off.
    pub fn poll(&mut self, live: &LiveState) {
        self.refresh_config();
        if self.link.is_none() {
            return;
        }
        let frame = OscFrame::from_live(live);
        let now = Instant::now();
        let due = match (self.last_sent, &self.last_frame) {
            (Some(at), Some(last)) => {
                let since = now.duration_since(at);
                since >= REFRESH_INTERVAL || (since >= MIN_INTERVAL && frame.moved_from(last))
            }
            _ => true,
        };
        if due {
            self.send(&frame);
            self.last_sent = Some(now);
            self.last_frame = Some(frame);
        }
    }

    /// Sends `frame` now, whatever the rate policy says; returns whether it left. Errors go to
    /// the status line, never to the caller.
    pub fn send(&mut self, frame: &OscFrame) -> bool {
        self.refresh_config();
        let Some(link) = self.link.as_ref() else {
            return false;
        };
        let outcome = match rosc::encoder::encode(&frame.to_packet(&link.settings)) {
            Err(error) => Err(format!("OSC error: cannot encode the bundle: {error}")),
            Ok(bytes) => link.socket.send(&bytes).map(drop).map_err(|error| {
                let hint = match error.kind() {
                    std::io::ErrorKind::ConnectionRefused => {
                        "; nothing is listening there (is the receiver running?)"
                    }
                    std::io::ErrorKind::WouldBlock => "; the network is busy, bundle dropped",
                    _ => "",
                };
                format!("OSC error: cannot send to {}: {error}{hint}", link.target)
            }),
        };
        match outcome {
            Ok(()) => {
                self.bundles_sent += 1;
                if self.last_error.is_some_and(|at| at.elapsed() >= ERROR_HOLD) {
                    self.last_error = None;
                    self.config.set_status(sending_status(link));
                }
                true
            }
            Err(status) => {
                self.last_error = Some(Instant::now());
                self.config.set_status(status);
                false
            }
        }
    }

    /// Re-opens the link when the settings changed. The status says what happened.
    fn refresh_config(&mut self) {
        let generation = self.config.generation();
        if self.applied == Some(generation) {
            return;
        }
        self.applied = Some(generation);
        self.link = None;
        self.last_frame = None;
        self.last_sent = None;
        self.last_error = None;
        self.bundles_sent = 0;
        let settings = self.config.settings();
        if !settings.enabled {
            self.config.set_status("OSC off".into());
            return;
        }
        match open_link(settings) {
            Ok(link) => {
                self.config.set_status(sending_status(&link));
                self.link = Some(link);
            }
            Err(error) => self.config.set_status(format!("OSC error: {error}")),
        }
    }
}

fn sending_status(link: &Link) -> String {
    format!(
        "OSC sending to {} under {}",
        link.target,
        link.settings.address("*")
    )
}

/// Checks the settings and opens a non-blocking socket connected to the receiver.
fn open_link(settings: OscSettings) -> Result<Link, String> {
    let target = settings.target()?;
    settings.check_prefix()?;
    let local = match target {
        SocketAddr::V4(_) => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
        SocketAddr::V6(_) => SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0),
    };
    let socket =
        UdpSocket::bind(local).map_err(|error| format!("cannot open a UDP socket: {error}"))?;
    socket
        .connect(target)
        .map_err(|error| format!("cannot reach {target}: {error}"))?;
    socket
        .set_nonblocking(true)
        .map_err(|error| format!("cannot make the UDP socket non-blocking: {error}"))?;
    Ok(Link {
        socket,
        target,
        settings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_without_dns_and_reject_nonsense() {
        let v4 = OscSettings::for_target("127.0.0.1:9000", "/m").unwrap();
        assert_eq!(v4.target().unwrap(), "127.0.0.1:9000".parse().unwrap());
        let v6 = OscSettings::for_target("[::1]:7000", "/m").unwrap();
        assert_eq!(v6.target().unwrap(), "[::1]:7000".parse().unwrap());
        let local = OscSettings::for_target("localhost:9001", "/m").unwrap();
        assert_eq!(local.target().unwrap().port(), 9001);
        for bad in [
            "example.invalid:9000",
            "127.0.0.1",
            "127.0.0.1:0",
            "127.0.0.1:70000",
            "0.0.0.0:9000",
        ] {
            assert!(OscSettings::for_target(bad, "/m").is_err(), "{bad}");
        }
        for bad_prefix in ["moodscape", "/mood scape", "/mood*", ""] {
            assert!(
                OscSettings::for_target("127.0.0.1:9000", bad_prefix).is_err(),
                "{bad_prefix:?}"
            );
        }
    }

    #[test]
    fn quadrants_and_silence_are_named() {
        let frame = |valence, arousal, loudness_db: f32| OscFrame {
            va: Some(Va { valence, arousal }),
            readout: Some(OscReadout {
                tempo_bpm: 120.0,
                key: "A",
                mode: Mode::Minor,
                loudness_db,
                silent: loudness_db < -60.0,
            }),
        };
        assert_eq!(
            frame(0.5, 0.5, -20.0).quadrant(),
            Some("Q1 pleasant-excited")
        );
        assert_eq!(
            frame(-0.5, 0.5, -20.0).quadrant(),
            Some("Q2 unpleasant-excited")
        );
        assert_eq!(
            frame(-0.5, -0.5, -20.0).quadrant(),
            Some("Q3 unpleasant-calm")
        );
        assert_eq!(frame(0.5, -0.5, -20.0).quadrant(), Some("Q4 pleasant-calm"));
        assert!(frame(0.0, 0.0, -20.0).moved_from(&frame(0.0, 0.0, -100.0)));
        assert!(!frame(0.001, 0.0, -20.0).moved_from(&frame(0.0, 0.0, -20.0)));
    }
}
