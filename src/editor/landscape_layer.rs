//! Draws the landscape with its own OpenGL pass: both keyframes of a crossfade stay on the GPU
//! and one shader mixes them, so a morph costs one quad per frame and no texture uploads.
//!
//! Why not an egui image: egui repaints through its blended, dithered shader, and a crossfade
//! there means either blending the 256 px pictures on the CPU and re-uploading the result 30
//! times a second, or two blended quads over the whole landscape. Under software OpenGL (the usual
//! case in a VM or a CI box) that drawing was most of the editor's CPU. Here the pictures are
//! uploaded once per keyframe, blending is off, and each fragment reads two texels and mixes them.
//!
//! The GL objects belong to one window's context: a [`LandscapeLayer`] is made when the window
//! opens and dropped when it closes (the context takes its objects with it).

use egui::{Rect, Ui};
use egui_glow::glow::{self, HasContext};
use image::RgbImage;
use std::sync::{Arc, Mutex, MutexGuard};

/// Vertex shader: a quad over the whole viewport (egui sets the viewport to the callback's
/// rectangle) from `gl_VertexID` alone, so no vertex buffer is needed.
const VERTEX_SHADER: &str = r#"
uniform vec4 u_uv;
out vec2 v_uv;
void main() {
    vec2 corner = vec2(float(gl_VertexID & 1), float(gl_VertexID >> 1));
    v_uv = mix(u_uv.xy, u_uv.zw, corner);
    gl_Position = vec4(corner.x * 2.0 - 1.0, 1.0 - corner.y * 2.0, 0.0, 1.0);
}
"#;

/// Fragment shader: the crossfade, in the same gamma space as the 8-bit pictures (what the CPU
/// blend of [`crate::live::Morph::current`] computes).
const FRAGMENT_SHADER: &str = r#"
uniform sampler2D u_from;
uniform sampler2D u_to;
uniform float u_mix;
in vec2 v_uv;
out vec4 f_colour;
void main() {
    vec3 to = texture(u_to, v_uv).rgb;
    if (u_mix < 1.0) {
        to = mix(texture(u_from, v_uv).rgb, to, u_mix);
    }
    f_colour = vec4(to, 1.0);
}
"#;

/// What the editor asks the next frame to draw.
#[derive(Default)]
struct Frame {
    /// Pictures not yet on the GPU: `(from, to)` of the newest crossfade.
    pending: Option<(RgbImage, RgbImage)>,
    /// Part of the pictures on show, `[u0, v0, u1, v1]` in texture coordinates.
    uv: [f32; 4],
    /// Crossfade progress, 0 (all `from`) to 1 (all `to`).
    mix: f32,
}

/// GL objects, made on the first paint (the context is only current inside egui's painter).
struct Gl {
    /// The crossfade shader.
    program: glow::Program,
    /// Core profiles draw nothing without a bound vertex array, even an empty one.
    vertex_array: glow::VertexArray,
    /// `[from, to]`.
    textures: [glow::Texture; 2],
    /// Where [`Frame::uv`] goes (`u_uv`).
    uv: Option<glow::UniformLocation>,
    /// Where [`Frame::mix`] goes (`u_mix`).
    mix: Option<glow::UniformLocation>,
}

/// State shared between the editor (which sets what to draw) and the paint callback (which runs
/// inside egui's painter, on the same GUI thread: the lock is never contended).
#[derive(Default)]
struct Shared {
    /// Set by the editor before each paint.
    frame: Frame,
    /// `None` until the first paint makes the objects.
    gl: Option<Gl>,
    /// Why the layer cannot draw, once it has failed; it then stops trying.
    error: Option<String>,
}

/// The landscape's drawing for one open window.
pub struct LandscapeLayer {
    /// What the paint callback draws, set from [`LandscapeLayer::draw`].
    shared: Arc<Mutex<Shared>>,
    /// The paint callback, made once and handed to egui every frame.
    callback: Arc<egui_glow::CallbackFn>,
    /// Whether a picture has been handed over (before that there is nothing to draw).
    has_picture: bool,
}

impl Default for LandscapeLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl LandscapeLayer {
    pub fn new() -> Self {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let for_callback = shared.clone();
        let callback = Arc::new(egui_glow::CallbackFn::new(move |_info, painter| {
            paint(&mut lock(&for_callback), painter.gl());
        }));
        Self {
            shared,
            callback,
            has_picture: false,
        }
    }

    /// Hands over a new crossfade; it goes to the GPU on the next frame.
    pub fn set_pictures(&mut self, from: &RgbImage, to: &RgbImage) {
        lock(&self.shared).frame.pending = Some((from.clone(), to.clone()));
        self.has_picture = true;
    }

    /// Whether there is a picture to draw and the layer can draw it.
    pub fn is_ready(&self) -> bool {
        self.has_picture && self.error().is_none()
    }

    /// Why the layer cannot draw, if it failed.
    pub fn error(&self) -> Option<String> {
        lock(&self.shared).error.clone()
    }

    /// Draws the pictures over `rect`, showing `uv` of them, `mix` of the way from `from` to `to`.
    pub fn draw(&self, ui: &Ui, rect: Rect, uv: Rect, mix: f32) {
        {
            let mut shared = lock(&self.shared);
            shared.frame.uv = [uv.min.x, uv.min.y, uv.max.x, uv.max.y];
            shared.frame.mix = mix.clamp(0.0, 1.0);
        }
        ui.painter().add(egui::PaintCallback {
            rect,
            callback: self.callback.clone(),
        });
    }
}

/// A poisoned lock only means an earlier frame panicked mid-paint; the data is still usable.
fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn paint(shared: &mut Shared, gl: &glow::Context) {
    if shared.error.is_some() {
        return;
    }
    if shared.gl.is_none() {
        // SAFETY: egui calls us with its context current on this thread.
        match unsafe { Gl::new(gl) } {
            Ok(objects) => shared.gl = Some(objects),
            Err(error) => {
                shared.error = Some(format!("landscape drawing failed: {error}"));
                return;
            }
        }
    }
    let Some(objects) = shared.gl.as_ref() else {
        return;
    };
    // SAFETY: as above; every object used was made in this context.
    unsafe {
        if let Some((from, to)) = shared.frame.pending.take() {
            upload(gl, objects.textures[0], &from);
            upload(gl, objects.textures[1], &to);
        }
        let [u0, v0, u1, v1] = shared.frame.uv;
        gl.disable(glow::BLEND);
        gl.use_program(Some(objects.program));
        gl.uniform_4_f32(objects.uv.as_ref(), u0, v0, u1, v1);
        gl.uniform_1_f32(objects.mix.as_ref(), shared.frame.mix);
        for (unit, texture) in objects.textures.iter().enumerate() {
            gl.active_texture(glow::TEXTURE0 + unit as u32);
            gl.bind_texture(glow::TEXTURE_2D, Some(*texture));
        }
        gl.bind_vertex_array(Some(objects.vertex_array));
        gl.draw_arrays(glow::TRIANGLE_STRIP, 0, 4);
        // egui restores its own state after a callback, but not the active texture unit.
        gl.active_texture(glow::TEXTURE0);
    }
}

/// Uploads an RGB picture into `texture`.
unsafe fn upload(gl: &glow::Context, texture: glow::Texture, picture: &RgbImage) {
    gl.bind_texture(glow::TEXTURE_2D, Some(texture));
    gl.pixel_store_i32(glow::UNPACK_ALIGNMENT, 1);
    gl.tex_image_2d(
        glow::TEXTURE_2D,
        0,
        glow::RGB8 as i32,
        picture.width() as i32,
        picture.height() as i32,
        0,
        glow::RGB,
        glow::UNSIGNED_BYTE,
        glow::PixelUnpackData::Slice(Some(picture.as_raw())),
    );
}

impl Gl {
    unsafe fn new(gl: &glow::Context) -> Result<Self, String> {
        // GLSL 1.50 is what an OpenGL 3.2 core context (baseview's default) guarantees.
        let version = "#version 150\n";
        let program = gl.create_program()?;
        let mut shaders = Vec::new();
        for (kind, source) in [
            (glow::VERTEX_SHADER, VERTEX_SHADER),
            (glow::FRAGMENT_SHADER, FRAGMENT_SHADER),
        ] {
            let shader = gl.create_shader(kind)?;
            gl.shader_source(shader, &format!("{version}{source}"));
            gl.compile_shader(shader);
            if !gl.get_shader_compile_status(shader) {
                return Err(format!("shader: {}", gl.get_shader_info_log(shader).trim()));
            }
            gl.attach_shader(program, shader);
            shaders.push(shader);
        }
        gl.link_program(program);
        for shader in shaders {
            gl.detach_shader(program, shader);
            gl.delete_shader(shader);
        }
        if !gl.get_program_link_status(program) {
            return Err(format!(
                "program: {}",
                gl.get_program_info_log(program).trim()
            ));
        }
        let textures = [gl.create_texture()?, gl.create_texture()?];
        for texture in textures {
            gl.bind_texture(glow::TEXTURE_2D, Some(texture));
            for (parameter, value) in [
                (glow::TEXTURE_MIN_FILTER, glow::LINEAR),
                (glow::TEXTURE_MAG_FILTER, glow::LINEAR),
                (glow::TEXTURE_WRAP_S, glow::CLAMP_TO_EDGE),
                (glow::TEXTURE_WRAP_T, glow::CLAMP_TO_EDGE),
            ] {
                gl.tex_parameter_i32(glow::TEXTURE_2D, parameter, value as i32);
            }
        }
        gl.use_program(Some(program));
        let sampler = |name: &str| gl.get_uniform_location(program, name);
        gl.uniform_1_i32(sampler("u_from").as_ref(), 0);
        gl.uniform_1_i32(sampler("u_to").as_ref(), 1);
        Ok(Self {
            program,
            vertex_array: gl.create_vertex_array()?,
            textures,
            uv: gl.get_uniform_location(program, "u_uv"),
            mix: gl.get_uniform_location(program, "u_mix"),
        })
    }
}
