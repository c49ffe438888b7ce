//! The egui editor: the landscape, a VA pad with the recent trajectory, the live readouts and the
//! parameters. Everything it shows comes from atomics in [`LiveState`]; it never blocks audio.

use egui::{Color32, Pos2, Rect, Stroke, Vec2};
use nice_plug::context::gui::GuiContext;
use nice_plug::editor::dpi::LogicalSize;
use nice_plug::prelude::*;
use nice_plug_egui::widgets::ParamSlider;
use nice_plug_egui::{
    create_egui_editor, EguiEditor, EguiEditorState, EguiNiceSettings, NiceEguiApp,
};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod landscape_layer;

use landscape_layer::LandscapeLayer;

use crate::live::{
    drift_view, LandscapeUpdate, LandscapeWorker, LiveState, Morph, OscConfig, OscSettings,
};
use crate::params::MoodscapeParams;
use crate::va::mood_analyzer::MoodState;
use crate::va::summary::quadrant_label;
use crate::va::Va;

pub type MoodscapeEditor = EguiEditor<EditorApp>;

/// Set once any editor window of this process has been built: `moodscape standalone` watches it,
/// because nice-plug's standalone wrapper answers a window that failed to open by blocking
/// forever without a reason.
static WINDOW_BUILT: AtomicBool = AtomicBool::new(false);

/// Whether an editor window of this process has been built.
pub(crate) fn window_built() -> bool {
    WINDOW_BUILT.load(Ordering::Acquire)
}

/// Smallest logical size at which the layout still reads.
const MIN_SIZE: (f32, f32) = (640.0, 400.0);
/// Width of the control column on the right; the landscape takes everything else.
pub const SIDE_PANEL_WIDTH: f32 = 300.0;
/// Frame pacing while the picture morphs: the morph is time-driven, 30 fps keeps it smooth (and
/// [`LandscapeLayer`] makes a morphing frame cost one quad, with no texture upload).
const FRAME_INTERVAL: Duration = Duration::from_millis(33);
/// Frame pacing while the picture is still: enough for the readouts and the trajectory, and it
/// spares the GPU (or, without one, the CPU) from redrawing an unchanged window 30 times a second.
const IDLE_FRAME_INTERVAL: Duration = Duration::from_millis(100);
/// Frame pacing while only the Motion drift moves the view: the drift moves it by a fraction of
/// a pixel per frame even at this rate (about 0.2 px at the default Motion), and with bilinear
/// sampling that reads as continuous, so drifting costs no more frames than a still editor.
const DRIFT_FRAME_INTERVAL: Duration = IDLE_FRAME_INTERVAL;
/// Environment variable that turns the landscape off (`off`): no landscape thread, no generator,
/// no upscaler. `benches/editor_cpu.rs` uses it as the same-run baseline: the editor's cost
/// without any landscape.
pub const LANDSCAPE_SWITCH: &str = "MOODSCAPE_LANDSCAPE";
/// Time between two points of the VA history on the pad: by time, not per frame, so the trail
/// covers the same seconds at 10 or 30 fps, and a 30 fps morph does not draw three times the
/// segments (each is a feathered quad to tessellate and rasterise).
const TRAJECTORY_STEP: Duration = Duration::from_millis(100);
/// Points of VA history drawn on the pad: 20 s.
const TRAJECTORY_POINTS: usize = 200;

pub fn create(params: Arc<MoodscapeParams>, live: Arc<LiveState>) -> Option<MoodscapeEditor> {
    let (width, height) = params.editor_size.load();
    let state =
        EguiEditorState::from_size(LogicalSize::new(f64::from(width), f64::from(height)), 1.0);
    let settings = EguiNiceSettings::new()
        .with_tile("Moodscape")
        // egui's dithering hides banding in its own gradients, which this editor does not draw;
        // it costs a noise function per fragment, a real share of software OpenGL's time.
        .with_graphics_config(nice_plug_egui::GraphicsConfig {
            dithering: false,
            ..Default::default()
        })
        .with_resize_hint(
            ResizeHint::resizable().with_min_logical_size(LogicalSize::new(MIN_SIZE.0, MIN_SIZE.1)),
        );
    create_egui_editor(
        state,
        Default::default(),
        settings,
        EditorApp {
            params,
            live,
            gui_context: None,
            trajectory: VecDeque::with_capacity(TRAJECTORY_POINTS),
            last_trajectory_point: None,
            style: Arc::new(AtomicU32::new(0)),
            worker: None,
            morph: None,
            layer: None,
            landscape_status: String::new(),
            last_frame: Instant::now(),
            opened: Instant::now(),
            landscape_off: std::env::var(LANDSCAPE_SWITCH).is_ok_and(|v| v == "off"),
            osc_form: OscForm::default(),
        },
    )
}

/// Per-window editor state.
pub struct EditorApp {
    /// Parameters to draw and edit.
    params: Arc<MoodscapeParams>,
    /// Readouts from the analysis thread.
    live: Arc<LiveState>,
    /// Host connection for parameter edits; set when the window is built.
    gui_context: Option<GuiContext>,
    /// Recent smoothed VA points, oldest first.
    trajectory: VecDeque<Pos2>,
    /// When the newest trajectory point was taken.
    last_trajectory_point: Option<Instant>,
    /// The Style parameter mirrored for the landscape thread.
    style: Arc<AtomicU32>,
    /// Paints keyframes while the window is open; `None` while closed.
    worker: Option<LandscapeWorker>,
    /// Crossfade between keyframes; `None` until the first keyframe.
    morph: Option<Morph>,
    /// Draws the morph on the GPU; `None` while the window is closed or the landscape is off.
    layer: Option<LandscapeLayer>,
    /// Why there is no landscape, if there is none.
    landscape_status: String,
    /// When the previous frame was drawn, to drive the morph by time.
    last_frame: Instant,
    /// When the window opened: the clock of the Motion drift.
    opened: Instant,
    /// Landscape turned off by [`LANDSCAPE_SWITCH`] (the CPU bench's baseline).
    landscape_off: bool,
    /// The OSC fields as typed, applied on Enter or when a field loses focus.
    osc_form: OscForm,
}

impl EditorApp {
    /// Takes new keyframes (handing each crossfade to the GPU once) and advances the morph.
    fn update_landscape(&mut self) {
        let now = Instant::now();
        let elapsed = now.duration_since(self.last_frame).as_secs_f32();
        self.last_frame = now;
        self.style
            .store(self.params.seed.value().max(0) as u32, Ordering::Relaxed);
        let morph_seconds = self.params.morph_seconds.value();
        match self.worker.as_ref().and_then(LandscapeWorker::latest) {
            Some(LandscapeUpdate::Keyframe(keyframe)) => {
                let morph = match self.morph.as_mut() {
                    Some(morph) => {
                        morph.retarget(keyframe.image);
                        morph
                    }
                    None => self.morph.insert(Morph::new(keyframe.image, morph_seconds)),
                };
                if let Some(layer) = self.layer.as_mut() {
                    layer.set_pictures(morph.from(), morph.to());
                }
                self.landscape_status.clear();
            }
            Some(LandscapeUpdate::Error(error)) => self.landscape_status = error,
            None => {}
        }
        if let Some(morph) = self.morph.as_mut() {
            morph.advance(elapsed, morph_seconds);
        }
        if let Some(error) = self.layer.as_ref().and_then(LandscapeLayer::error) {
            self.landscape_status = error;
        }
    }

    /// Whether the landscape is on screen (a keyframe has arrived and the GPU layer works).
    fn picture_shown(&self) -> bool {
        self.layer.as_ref().is_some_and(LandscapeLayer::is_ready)
    }
}

impl NiceEguiApp for EditorApp {
    fn build(
        &mut self,
        _egui_ctx: egui::Context,
        nice_gui_ctx: GuiContext,
        _frame: &mut nice_plug_egui::Frame,
    ) -> Result<(), nice_plug_egui::baseview::HandlerError> {
        self.gui_context = Some(nice_gui_ctx);
        WINDOW_BUILT.store(true, Ordering::Release);
        self.last_frame = Instant::now();
        self.opened = self.last_frame;
        if self.landscape_off {
            self.landscape_status = format!("landscape off ({LANDSCAPE_SWITCH}=off)");
            return Ok(());
        }
        self.layer = Some(LandscapeLayer::new());
        match LandscapeWorker::spawn(self.live.clone(), self.style.clone()) {
            Ok(worker) => self.worker = Some(worker),
            Err(error) => self.landscape_status = format!("landscape thread failed: {error}"),
        }
        Ok(())
    }

    fn editor_closed(&mut self) {
        // Generation only runs while somebody is looking.
        self.worker = None;
        self.morph = None;
        self.layer = None;
    }

    fn resized(&mut self, new_size: nice_plug_egui::baseview::WindowSize) {
        let logical = new_size.logical;
        self.params
            .editor_size
            .store((logical.width.round() as u32, logical.height.round() as u32));
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut nice_plug_egui::Frame) {
        let va = self.live.va();
        let now = Instant::now();
        if self
            .last_trajectory_point
            .is_none_or(|last| now.duration_since(last) >= TRAJECTORY_STEP)
        {
            if self.trajectory.len() == TRAJECTORY_POINTS {
                self.trajectory.pop_front();
            }
            self.trajectory.push_back(Pos2::new(va.valence, va.arousal));
            self.last_trajectory_point = Some(now);
        }
        let va_now = Pos2::new(va.valence, va.arousal);

        self.update_landscape();
        let Some(gui_context) = self.gui_context.as_ref() else {
            return;
        };
        let setter = gui_context.param_setter();
        egui::Panel::right("controls")
            .resizable(false)
            .exact_size(SIDE_PANEL_WIDTH)
            .show(ui, |ui| {
                let side = ui.available_width();
                if let Some(picked) = va_pad(ui, &self.trajectory, va_now, side) {
                    // Picking a mood by hand holds it: freeze on, then the pad drives the picture.
                    if !self.params.freeze.value() {
                        setter.begin_set_parameter(&self.params.freeze);
                        setter.set_parameter(&self.params.freeze, true);
                        setter.end_set_parameter(&self.params.freeze);
                    }
                    self.live.valence.store(picked.valence, Ordering::Relaxed);
                    self.live.arousal.store(picked.arousal, Ordering::Relaxed);
                }
                ui.separator();
                egui::ScrollArea::vertical().show(ui, |ui| {
                    readouts(ui, &self.live);
                    ui.separator();
                    controls(ui, &self.params, &setter);
                    ui.separator();
                    osc_section(ui, &self.params.osc, &mut self.osc_form);
                });
            });
        let picture_shown = self.picture_shown();
        // The picture covers the whole panel: filling it black first would only double the
        // drawing.
        let frame = if picture_shown {
            egui::Frame::NONE
        } else {
            egui::Frame::NONE.fill(Color32::BLACK)
        };
        egui::CentralPanel::default().frame(frame).show(ui, |ui| {
            let rect = ui.max_rect();
            match (self.layer.as_ref(), self.morph.as_ref()) {
                (Some(layer), Some(morph)) if picture_shown => {
                    // The drift is a window over the 256 px keyframe: texture coordinates
                    // only, no pixels are touched.
                    let seconds = self.opened.elapsed().as_secs_f64();
                    let view = drift_view(seconds, self.params.motion.value());
                    let cover = cover_uv(rect.size());
                    let [u0, v0] = view.map([cover.min.x, cover.min.y]);
                    let [u1, v1] = view.map([cover.max.x, cover.max.y]);
                    let uv = Rect::from_min_max(Pos2::new(u0, v0), Pos2::new(u1, v1));
                    layer.draw(ui, rect, uv, morph.progress());
                }
                _ => {
                    let message = if self.landscape_status.is_empty() {
                        "painting…"
                    } else {
                        self.landscape_status.as_str()
                    };
                    ui.centered_and_justified(|ui| {
                        ui.add(egui::Label::new(message).wrap());
                    });
                }
            }
        });
        let morphing = self.morph.as_ref().is_some_and(Morph::is_moving);
        let drifting = picture_shown && self.params.motion.value() > 0.0;
        ui.ctx().request_repaint_after(if morphing {
            FRAME_INTERVAL
        } else if drifting {
            DRIFT_FRAME_INTERVAL
        } else {
            IDLE_FRAME_INTERVAL
        });
    }
}

/// Texture coordinates that make a square picture cover `size` without distortion.
fn cover_uv(size: Vec2) -> Rect {
    let aspect = (size.x / size.y.max(1.0)).max(1e-3);
    if aspect >= 1.0 {
        let visible = 1.0 / aspect;
        Rect::from_min_max(
            Pos2::new(0.0, 0.5 - visible / 2.0),
            Pos2::new(1.0, 0.5 + visible / 2.0),
        )
    } else {
        Rect::from_min_max(
            Pos2::new(0.5 - aspect / 2.0, 0.0),
            Pos2::new(0.5 + aspect / 2.0, 1.0),
        )
    }
}

fn readouts(ui: &mut egui::Ui, live: &LiveState) {
    let va = live.va();
    ui.heading("Moodscape");
    egui::Grid::new("readouts").num_columns(2).show(ui, |ui| {
        ui.label("Valence");
        ui.monospace(format!("{:+.2}", va.valence));
        ui.end_row();
        ui.label("Arousal");
        ui.monospace(format!("{:+.2}", va.arousal));
        ui.end_row();
        // Silence and warming hold the mood; say so instead of naming a stale quadrant.
        ui.label("Mood");
        ui.monospace(match live.mood_state() {
            MoodState::Silent => "silence (held)",
            MoodState::Warming => "listening…",
            MoodState::Ready => quadrant_label(va),
        });
        ui.end_row();
        let warming = live.summaries.load(Ordering::Relaxed) == 0;
        ui.label("Tempo");
        ui.monospace(if warming {
            "listening…".to_string()
        } else {
            format!("{:.1} BPM", live.tempo_bpm.load(Ordering::Relaxed))
        });
        ui.end_row();
        ui.label("Key");
        ui.monospace(live.key_label().unwrap_or_else(|| "listening…".into()));
        ui.end_row();
        ui.label("Loudness");
        ui.monospace(format!(
            "{:.1} LUFS",
            live.loudness_db.load(Ordering::Relaxed)
        ));
        ui.end_row();
        ui.label("Level");
        ui.monospace(format!(
            "{:.0} rms / {:.0} peak dB",
            live.rms_db.load(Ordering::Relaxed),
            live.peak_db.load(Ordering::Relaxed)
        ));
        ui.end_row();
        let dropped = live.dropped_frames.load(Ordering::Relaxed);
        ui.label("Dropped");
        ui.colored_label(
            if dropped == 0 {
                ui.visuals().text_color()
            } else {
                Color32::from_rgb(255, 120, 80)
            },
            format!("{dropped} frames"),
        );
        ui.end_row();
    });
    ui.add(egui::Label::new(format!("Model: {}", live.model_status())).wrap());
}

/// Parameter sliders sized to fit the side panel.
fn slider<'a, P: Param>(param: &'a P, setter: &'a ParamSetter<'a>) -> ParamSlider<'a, P> {
    ParamSlider::for_param(param, setter).with_width(140.0)
}

fn controls(ui: &mut egui::Ui, params: &MoodscapeParams, setter: &ParamSetter) {
    egui::Grid::new("controls").num_columns(2).show(ui, |ui| {
        ui.label("Smoothing");
        ui.add(slider(&params.smoothing_ms, setter));
        ui.end_row();
        ui.label("Window");
        ui.add(slider(&params.window_seconds, setter));
        ui.end_row();
        ui.label("Freeze");
        ui.add(slider(&params.freeze, setter));
        ui.end_row();
        ui.label("Style");
        ui.add(slider(&params.seed, setter));
        ui.end_row();
        ui.label("Morph");
        ui.add(slider(&params.morph_seconds, setter));
        ui.end_row();
        ui.label("Motion");
        ui.add(slider(&params.motion, setter));
        ui.end_row();
        ui.label("Valence CC");
        ui.add(slider(&params.cc_valence, setter));
        ui.end_row();
        ui.label("Arousal CC");
        ui.add(slider(&params.cc_arousal, setter));
        ui.end_row();
        ui.label("CC channel");
        ui.add(slider(&params.cc_channel, setter));
        ui.end_row();
    });
}

/// The OSC settings while the user edits them.
#[derive(Default)]
struct OscForm {
    /// Host as typed.
    host: String,
    /// Port as typed.
    port: String,
    /// Address prefix as typed.
    prefix: String,
    /// Settings generation the texts were filled from; a state load changes it and refills them.
    loaded: Option<u64>,
    /// Why the typed port was not applied, shown until the next apply.
    error: Option<String>,
}

/// On/off, host, port and prefix of the OSC output, and what the sender reports.
fn osc_section(ui: &mut egui::Ui, config: &OscConfig, form: &mut OscForm) {
    let settings = config.settings();
    if form.loaded != Some(config.generation()) {
        form.host = settings.host.clone();
        form.port = settings.port.to_string();
        form.prefix = settings.prefix.clone();
        form.loaded = Some(config.generation());
    }
    let mut enabled = settings.enabled;
    let mut apply = ui.checkbox(&mut enabled, "OSC out (UDP)").changed();
    egui::Grid::new("osc").num_columns(2).show(ui, |ui| {
        for (label, text) in [
            ("Host", &mut form.host),
            ("Port", &mut form.port),
            ("Prefix", &mut form.prefix),
        ] {
            ui.label(label);
            let field = ui.add(egui::TextEdit::singleline(text).desired_width(140.0));
            apply |= field.lost_focus();
            ui.end_row();
        }
    });
    if apply {
        match form.port.trim().parse::<u16>() {
            Ok(port) => {
                form.error = None;
                config.set(OscSettings {
                    enabled,
                    host: form.host.trim().to_string(),
                    port,
                    prefix: form.prefix.trim().to_string(),
                });
                form.loaded = Some(config.generation());
            }
            Err(_) => {
                form.error = Some(format!(
                    "OSC error: port `{}` is not a number in 1..=65535",
                    form.port.trim()
                ))
            }
        }
    }
    let status = form.error.clone().unwrap_or_else(|| config.status());
    let colour = if status.starts_with("OSC error") {
        Color32::from_rgb(255, 120, 80)
    } else {
        ui.visuals().text_color()
    };
    ui.add(egui::Label::new(egui::RichText::new(status).color(colour)).wrap());
}

/// The circumplex: valence left to right, arousal bottom to top, the trajectory fading with age
/// and the mood `now` as a dot. Returns the mood under the pointer while it is clicked or dragged.
fn va_pad(ui: &mut egui::Ui, trajectory: &VecDeque<Pos2>, now: Pos2, side: f32) -> Option<Va> {
    let side = side.max(80.0);
    let (rect, response) = ui.allocate_exact_size(Vec2::splat(side), egui::Sense::click_and_drag());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 4.0, Color32::from_gray(24));
    let grid = Stroke::new(1.0, Color32::from_gray(70));
    painter.line_segment([rect.center_top(), rect.center_bottom()], grid);
    painter.line_segment([rect.left_center(), rect.right_center()], grid);
    let to_screen = |va: Pos2| -> Pos2 {
        Pos2::new(
            rect.left() + (va.x.clamp(-1.0, 1.0) + 1.0) * 0.5 * rect.width(),
            rect.bottom() - (va.y.clamp(-1.0, 1.0) + 1.0) * 0.5 * rect.height(),
        )
    };
    let count = trajectory.len().max(1) as f32;
    for (index, pair) in trajectory.iter().zip(trajectory.iter().skip(1)).enumerate() {
        let alpha = (255.0 * index as f32 / count) as u8;
        painter.line_segment(
            [to_screen(*pair.0), to_screen(*pair.1)],
            Stroke::new(2.0, Color32::from_rgba_unmultiplied(120, 200, 255, alpha)),
        );
    }
    if let Some(last) = trajectory.back() {
        painter.line_segment(
            [to_screen(*last), to_screen(now)],
            Stroke::new(2.0, Color32::from_rgb(120, 200, 255)),
        );
    }
    painter.circle_filled(to_screen(now), 6.0, Color32::from_rgb(255, 210, 90));
    let font = egui::FontId::proportional(12.0);
    let text = Color32::from_gray(160);
    let inset = Rect::from_min_max(rect.min + Vec2::splat(4.0), rect.max - Vec2::splat(4.0));
    painter.text(
        inset.right_center(),
        egui::Align2::RIGHT_BOTTOM,
        "pleasant",
        font.clone(),
        text,
    );
    painter.text(
        inset.left_center(),
        egui::Align2::LEFT_BOTTOM,
        "unpleasant",
        font.clone(),
        text,
    );
    painter.text(
        inset.center_top(),
        egui::Align2::LEFT_TOP,
        " excited",
        font.clone(),
        text,
    );
    painter.text(
        inset.center_bottom(),
        egui::Align2::LEFT_BOTTOM,
        " calm",
        font,
        text,
    );

    if !(response.is_pointer_button_down_on() || response.clicked()) {
        return None;
    }
    let pointer = response.interact_pointer_pos()?;
    Some(Va {
        valence: ((pointer.x - rect.left()) / rect.width() * 2.0 - 1.0).clamp(-1.0, 1.0),
        arousal: ((rect.bottom() - pointer.y) / rect.height() * 2.0 - 1.0).clamp(-1.0, 1.0),
    })
}
