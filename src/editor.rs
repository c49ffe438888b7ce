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
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::live::LiveState;
use crate::params::MoodscapeParams;

pub type MoodscapeEditor = EguiEditor<EditorApp>;

/// Smallest logical size at which the layout still reads.
const MIN_SIZE: (f32, f32) = (640.0, 400.0);
/// Points of VA history drawn on the pad (about 20 s at 30 fps).
const TRAJECTORY_POINTS: usize = 600;
const KEY_NAMES: [&str; 12] = [
    "C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B",
];

pub fn create(params: Arc<MoodscapeParams>, live: Arc<LiveState>) -> Option<MoodscapeEditor> {
    let (width, height) = params.editor_size.load();
    let state =
        EguiEditorState::from_size(LogicalSize::new(f64::from(width), f64::from(height)), 1.0);
    let settings = EguiNiceSettings::new()
        .with_tile("Moodscape")
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
}

impl NiceEguiApp for EditorApp {
    fn build(
        &mut self,
        _egui_ctx: egui::Context,
        nice_gui_ctx: GuiContext,
        _frame: &mut nice_plug_egui::Frame,
    ) -> Result<(), nice_plug_egui::baseview::HandlerError> {
        self.gui_context = Some(nice_gui_ctx);
        Ok(())
    }

    fn resized(&mut self, new_size: nice_plug_egui::baseview::WindowSize) {
        let logical = new_size.logical;
        self.params
            .editor_size
            .store((logical.width.round() as u32, logical.height.round() as u32));
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut nice_plug_egui::Frame) {
        let va = self.live.va();
        if self.trajectory.len() == TRAJECTORY_POINTS {
            self.trajectory.pop_front();
        }
        self.trajectory.push_back(Pos2::new(va.valence, va.arousal));

        let Some(gui_context) = self.gui_context.as_ref() else {
            return;
        };
        let setter = gui_context.param_setter();
        egui::Panel::right("controls")
            .resizable(false)
            .exact_size(300.0)
            .show(ui, |ui| {
                readouts(ui, &self.live);
                ui.separator();
                va_pad(ui, &self.trajectory, 220.0);
                ui.separator();
                controls(ui, &self.params, &setter);
            });
        egui::CentralPanel::default().show(ui, |ui| {
            let available = ui.available_size();
            va_pad(ui, &self.trajectory, available.min_elem());
        });
        ui.ctx().request_repaint();
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
        let warming = live.summaries.load(Ordering::Relaxed) == 0;
        ui.label("Tempo");
        ui.monospace(if warming {
            "listening…".to_string()
        } else {
            format!("{:.1} BPM", live.tempo_bpm.load(Ordering::Relaxed))
        });
        ui.end_row();
        ui.label("Key");
        ui.monospace(if warming {
            "listening…".to_string()
        } else {
            let key = KEY_NAMES[usize::from(live.key.load(Ordering::Relaxed) % 12)];
            format!("{key} {:?}", live.mode()).to_lowercase()
        });
        ui.end_row();
        ui.label("Loudness");
        ui.monospace(format!(
            "{:.1} LUFS",
            live.loudness_db.load(Ordering::Relaxed)
        ));
        ui.end_row();
        ui.label("Level");
        ui.monospace(format!(
            "{:.1} dB rms / {:.1} dB peak",
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
        ui.label("Model");
        ui.label(live.model_status());
        ui.end_row();
    });
}

fn controls(ui: &mut egui::Ui, params: &MoodscapeParams, setter: &ParamSetter) {
    egui::Grid::new("controls").num_columns(2).show(ui, |ui| {
        ui.label("Smoothing");
        ui.add(ParamSlider::for_param(&params.smoothing_ms, setter));
        ui.end_row();
        ui.label("Window");
        ui.add(ParamSlider::for_param(&params.window_seconds, setter));
        ui.end_row();
        ui.label("Freeze");
        ui.add(ParamSlider::for_param(&params.freeze, setter));
        ui.end_row();
        ui.label("Style");
        ui.add(ParamSlider::for_param(&params.seed, setter));
        ui.end_row();
        ui.label("Morph");
        ui.add(ParamSlider::for_param(&params.morph_seconds, setter));
        ui.end_row();
        ui.label("Valence CC");
        ui.add(ParamSlider::for_param(&params.cc_valence, setter));
        ui.end_row();
        ui.label("Arousal CC");
        ui.add(ParamSlider::for_param(&params.cc_arousal, setter));
        ui.end_row();
        ui.label("CC channel");
        ui.add(ParamSlider::for_param(&params.cc_channel, setter));
        ui.end_row();
    });
}

/// The circumplex: valence left to right, arousal bottom to top, the trajectory fading with age.
fn va_pad(ui: &mut egui::Ui, trajectory: &VecDeque<Pos2>, side: f32) {
    let side = side.max(80.0);
    let (rect, _) = ui.allocate_exact_size(Vec2::splat(side), egui::Sense::hover());
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
    if let Some(now) = trajectory.back() {
        painter.circle_filled(to_screen(*now), 6.0, Color32::from_rgb(255, 210, 90));
    }
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
}
