//! The demo's built-in music: about 60 s that walks through the four quadrants of the circumplex.
//!
//! Each section is written with the cues that music-emotion research ties to each quadrant:
//! tempo, mode, loudness, brightness, rhythmic drive and dissonance. Deterministic (seeded noise),
//! so every run of `moodscape demo` hears the same piece.

use rand::{Rng, SeedableRng};
use std::f32::consts::TAU;

/// One section of the demo piece.
#[derive(Debug, Clone, Copy)]
pub struct Section {
    /// Shown in the timeline and the CSV.
    pub name: &'static str,
    /// The circumplex quadrant the section is written for (1 = +V+A … 4 = +V-A).
    pub quadrant: u8,
    /// Length in seconds.
    pub seconds: f32,
    /// Beats per minute.
    pub bpm: f32,
    /// MIDI note of the tonic.
    pub tonic: u8,
    /// Minor (true) or major mode.
    pub minor: bool,
    /// Output gain, linear.
    pub gain: f32,
    /// Harmonic richness of the pad and lead, 0 (sine) to 1 (bright saw).
    pub brightness: f32,
    /// Drum intensity, 0 (none) to 3 (a loud four-on-the-floor kit with sixteenth hats).
    pub drums: f32,
    /// Adds a tritone cluster and drive, 0 to 1.
    pub tension: f32,
}

/// The piece, in the order the issue asks for: calm major, tense minor, energetic major, sad slow.
pub const SECTIONS: [Section; 4] = [
    Section {
        name: "calm major",
        quadrant: 4,
        seconds: 15.0,
        bpm: 66.0,
        tonic: 60,
        minor: false,
        gain: 0.18,
        brightness: 0.15,
        drums: 0.0,
        tension: 0.0,
    },
    Section {
        name: "tense minor",
        quadrant: 2,
        seconds: 15.0,
        bpm: 165.0,
        tonic: 57,
        minor: true,
        gain: 0.7,
        brightness: 1.0,
        drums: 3.0,
        tension: 1.0,
    },
    Section {
        name: "energetic major",
        quadrant: 1,
        seconds: 15.0,
        bpm: 160.0,
        tonic: 62,
        minor: false,
        gain: 0.8,
        brightness: 1.0,
        drums: 3.0,
        tension: 0.0,
    },
    Section {
        name: "sad and slow",
        quadrant: 3,
        seconds: 15.0,
        bpm: 50.0,
        tonic: 40,
        minor: true,
        gain: 0.1,
        brightness: 0.0,
        drums: 0.0,
        tension: 0.9,
    },
];

/// Where a section sits in the rendered audio.
#[derive(Debug, Clone, Copy)]
pub struct SectionSpan {
    /// The section.
    pub section: Section,
    /// Start time in seconds.
    pub start: f32,
    /// End time in seconds.
    pub end: f32,
}

/// Scale degrees (semitones above the tonic) of the chords each mode cycles through, one per bar.
const MAJOR_PROGRESSION: [[i32; 3]; 4] = [[0, 4, 7], [7, 11, 14], [9, 12, 16], [5, 9, 12]];
const MINOR_PROGRESSION: [[i32; 3]; 4] = [[0, 3, 7], [8, 12, 15], [5, 8, 12], [7, 10, 14]];

fn midi_to_hz(note: f32) -> f32 {
    440.0 * 2f32.powf((note - 69.0) / 12.0)
}

/// Band-limited-ish oscillator: `brightness` blends a sine into a 12-partial saw.
fn tone(phase: f32, brightness: f32) -> f32 {
    let mut saw = 0.0;
    for partial in 1..=12 {
        saw += (phase * partial as f32).sin() / partial as f32;
    }
    (1.0 - brightness) * phase.sin() + brightness * saw * 0.6
}

/// Renders the whole piece as interleaved stereo at `sample_rate`.
pub fn render(sample_rate: u32) -> (Vec<f32>, Vec<SectionSpan>) {
    let rate = sample_rate as f32;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2018);
    let total_seconds: f32 = SECTIONS.iter().map(|s| s.seconds).sum();
    let frames = (total_seconds * rate) as usize;
    let mut out = vec![0.0f32; frames * 2];
    let mut spans = Vec::new();
    let mut start = 0.0;
    for section in SECTIONS {
        spans.push(SectionSpan {
            section,
            start,
            end: start + section.seconds,
        });
        start += section.seconds;
    }

    for span in &spans {
        let section = span.section;
        let first = (span.start * rate) as usize;
        let last = ((span.end * rate) as usize).min(frames);
        let beat = 60.0 / section.bpm;
        let progression = if section.minor {
            &MINOR_PROGRESSION
        } else {
            &MAJOR_PROGRESSION
        };
        let scale: &[i32] = if section.minor {
            &[0, 2, 3, 5, 7, 8, 10, 12]
        } else {
            &[0, 2, 4, 5, 7, 9, 11, 12]
        };
        let mut melody_note = 0usize;
        let mut melody_step = usize::MAX;
        for frame in first..last {
            let t = frame as f32 / rate - span.start;
            let beat_position = t / beat;
            let bar = (beat_position / 4.0) as usize;
            let chord = progression[bar % 4];
            let tonic = f32::from(section.tonic);

            // Pad: the chord, slowly swelling at each bar.
            let bar_phase = (beat_position / 4.0).fract();
            let swell = (bar_phase * 8.0).min(1.0);
            let mut pad = 0.0;
            for degree in chord {
                let hz = midi_to_hz(tonic + degree as f32);
                pad += tone(TAU * hz * t, section.brightness);
            }
            if section.tension > 0.0 {
                // A tritone above the root grinds against the chord.
                let hz = midi_to_hz(tonic + chord[0] as f32 + 6.0);
                pad += section.tension * tone(TAU * hz * t, section.brightness);
            }
            pad *= 0.22 * swell;

            // Bass on every beat.
            let beat_fraction = beat_position.fract();
            let bass_hz = midi_to_hz(tonic + chord[0] as f32 - 24.0);
            let bass = (TAU * bass_hz * t).sin() * (-beat_fraction * 3.0).exp() * 0.5;

            // Lead: a scale walk on eighths (fast sections) or quarters (slow ones).
            let subdivision = if section.bpm > 100.0 { 2.0 } else { 1.0 };
            let step = (beat_position * subdivision) as usize;
            if step != melody_step {
                melody_step = step;
                let jump: i32 = rng.gen_range(-2..=2);
                melody_note = (melody_note as i32 + jump).clamp(0, scale.len() as i32 - 1) as usize;
            }
            let step_fraction = (beat_position * subdivision).fract();
            let lead_hz = midi_to_hz(tonic + 12.0 + scale[melody_note] as f32);
            let lead =
                tone(TAU * lead_hz * t, section.brightness) * (-step_fraction * 2.5).exp() * 0.3;

            // Drums: kick on beats, snare on 2 and 4, hats on sixteenths, all scaled by intensity.
            let mut drums = 0.0;
            if section.drums > 0.0 {
                let kick_time = beat_fraction * beat;
                let kick_hz = 50.0 + 90.0 * (-kick_time * 30.0).exp();
                drums += (TAU * kick_hz * kick_time).sin() * (-kick_time * 12.0).exp();
                let beat_index = beat_position as usize % 4;
                let noise: f32 = rng.gen_range(-1.0..1.0);
                if beat_index % 2 == 1 {
                    drums += 0.6 * noise * (-kick_time * 20.0).exp();
                }
                let hat_time = (beat_position * 4.0).fract() * beat / 4.0;
                drums += 0.15 * noise * (-hat_time * 80.0).exp();
                drums *= section.drums;
            }

            let mut sample = pad + bass + lead + drums;
            if section.tension > 0.0 {
                sample = (sample * (1.0 + 2.0 * section.tension)).tanh();
            }
            // Short fades at section edges avoid clicks between sections.
            let edge = (t.min(span.end - span.start - t) / 0.05).clamp(0.0, 1.0);
            // A soft limiter: transparent at the quiet sections' levels, keeps peaks inside ±1.
            // The limiter comes after the pan, so neither channel can pass ±1.
            let sample = sample * section.gain * edge;
            let pan = 0.1 * (TAU * 0.1 * t).sin();
            out[frame * 2] = (sample * (1.0 - pan)).tanh();
            out[frame * 2 + 1] = (sample * (1.0 + pan)).tanh();
        }
    }
    (out, spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn piece_is_about_a_minute_finite_and_not_clipping() {
        let (audio, spans) = render(22_050);
        assert_eq!(spans.len(), 4);
        let seconds = audio.len() as f32 / 2.0 / 22_050.0;
        assert!((55.0..=65.0).contains(&seconds), "{seconds} s");
        assert!(audio.iter().all(|s| s.is_finite() && s.abs() <= 1.0));
        let rms = |span: &SectionSpan| {
            let a = (span.start * 22_050.0) as usize * 2;
            let b = (span.end * 22_050.0) as usize * 2;
            (audio[a..b].iter().map(|s| s * s).sum::<f32>() / (b - a) as f32).sqrt()
        };
        assert!(
            rms(&spans[1]) > 2.0 * rms(&spans[0]),
            "tense is louder than calm"
        );
        assert!(
            rms(&spans[2]) > 2.0 * rms(&spans[3]),
            "energetic is louder than sad"
        );
    }
}
