//! The streaming MusiCNN path: patch timing, any rate and channel count, hostile input, silence,
//! and agreement with the offline reference front end on the same audio.

use std::sync::Arc;

use moodscape::pretrained::musicnn::{
    mel_patches_for_clip, Musicnn, MusicnnPatch, MusicnnStream, HOP, PATCH_FRAMES, RMS_FLOOR_DB,
    SAMPLE_RATE,
};

fn network() -> Arc<Musicnn> {
    Arc::new(Musicnn::embedded().expect("embedded weights load"))
}

/// A test signal with some music-like structure: a few partials and a pulse, per channel.
/// Channels differ in gain, but their mean is the mono signal at any rate.
fn music(rate: f64, channels: usize, seconds: f64) -> Vec<f32> {
    let frames = (rate * seconds) as usize;
    let mut out = Vec::with_capacity(frames * channels);
    for i in 0..frames {
        let t = i as f64 / rate;
        let pulse = (-(t % 0.5) / 0.05).exp();
        let tone = [196.0, 246.9, 293.7, 587.3]
            .iter()
            .map(|f| (2.0 * std::f64::consts::PI * f * t).sin())
            .sum::<f64>();
        for c in 0..channels {
            // Channels differ, but their mean is the mono signal.
            let gain = 1.0 + 0.3 * (c as f64 - (channels - 1) as f64 / 2.0);
            out.push((0.1 * tone * gain * (0.5 + pulse)) as f32);
        }
    }
    out
}

/// Pushes `samples` in host-sized blocks and collects the patches.
fn run(stream: &mut MusicnnStream, samples: &[f32], block: usize) -> Vec<MusicnnPatch> {
    let mut patches = Vec::new();
    for chunk in samples.chunks(block) {
        stream.push_interleaved(chunk, |p| patches.push(*p));
    }
    patches
}

fn all_finite(patch: &MusicnnPatch) -> bool {
    patch.rms_db.is_finite()
        && patch.output.embedding.iter().all(|x| x.is_finite())
        && patch.output.taggram.iter().all(|x| x.is_finite())
}

/// Seconds per frame.
const FRAME_SECONDS: f64 = HOP as f64 / SAMPLE_RATE as f64;

#[test]
fn long_stream_gives_patches_at_the_right_times() {
    let net = network();
    let seconds = 13.0;
    let mut stream = MusicnnStream::new(net.clone(), 48_000.0, 2, 3.0);
    assert_eq!(stream.hop_frames(), PATCH_FRAMES);
    let patches = run(&mut stream, &music(48_000.0, 2, seconds), 512);
    let frames = (seconds / FRAME_SECONDS) as usize;
    assert_eq!(patches.len(), frames / PATCH_FRAMES, "one per 187 frames");
    for (k, p) in patches.iter().enumerate() {
        let expected = ((k + 1) * PATCH_FRAMES) as f64 * FRAME_SECONDS;
        assert!(
            (p.t_end - expected).abs() < 1e-9,
            "{} vs {expected}",
            p.t_end
        );
        assert!(all_finite(p));
        assert!(p.rms_db > -30.0 && p.rms_db < 0.0, "level {}", p.rms_db);
    }

    // A 1 s hop: 62 frames between patches after the first full one.
    let mut stream = MusicnnStream::new(net, 48_000.0, 2, 1.0);
    assert_eq!(stream.hop_frames(), 62);
    let patches = run(&mut stream, &music(48_000.0, 2, 6.0), 480);
    let frames = (6.0 / FRAME_SECONDS) as usize;
    assert_eq!(patches.len(), 1 + (frames - PATCH_FRAMES) / 62);
    for pair in patches.windows(2) {
        assert!((pair[1].t_end - pair[0].t_end - 62.0 * FRAME_SECONDS).abs() < 1e-9);
    }
}

#[test]
fn any_rate_and_channel_count_works() {
    let net = network();
    for (rate, channels) in [
        (22_050.0, 1),
        (44_100.0, 2),
        (44_099.0, 2),
        (96_000.0, 6),
        (192_000.0, 1),
    ] {
        let mut stream = MusicnnStream::new(net.clone(), rate, channels, 3.0);
        let patches = run(
            &mut stream,
            &music(rate, channels, 6.1),
            1000 * channels + 1,
        );
        assert_eq!(patches.len(), 2, "{rate} Hz × {channels}");
        assert!(patches.iter().all(all_finite), "{rate} Hz × {channels}");
        // The same music at another rate gives nearly the same taggram.
        let mut reference = MusicnnStream::new(net.clone(), 16_000.0, 1, 3.0);
        let mono: Vec<f32> = music(16_000.0, 1, 6.1);
        let expected = run(&mut reference, &mono, 4096);
        let diff = patches[1]
            .output
            .taggram
            .iter()
            .zip(&expected[1].output.taggram)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        println!("{rate} Hz × {channels}: taggram max |diff| vs 16 kHz mono {diff:.3}");
        assert!(
            diff < 0.05,
            "{rate} Hz × {channels}: taggram differs by {diff}"
        );
    }
}

#[test]
fn hostile_input_gives_finite_outputs_and_silence_sits_at_the_floor() {
    let net = network();
    let mut stream = MusicnnStream::new(net.clone(), 44_100.0, 2, 3.0);
    let mut hostile = music(44_100.0, 2, 6.2);
    for (i, x) in hostile.iter_mut().enumerate() {
        match i % 97 {
            0 => *x = f32::NAN,
            1 => *x = f32::INFINITY,
            2 => *x = f32::NEG_INFINITY,
            3 => *x = 1e30,
            4 => *x = 1e-40,
            _ => {}
        }
    }
    let patches = run(&mut stream, &hostile, 777);
    assert_eq!(patches.len(), 2);
    assert!(patches.iter().all(all_finite));

    let mut stream = MusicnnStream::new(net, 48_000.0, 2, 3.0);
    let patches = run(&mut stream, &vec![0.0; 48_000 * 2 * 7], 1024);
    assert_eq!(patches.len(), 2);
    for p in &patches {
        assert!(all_finite(p));
        assert_eq!(p.rms_db, RMS_FLOOR_DB);
    }
    // Reset restarts time.
    stream.reset();
    let again = run(&mut stream, &vec![0.0; 48_000 * 2 * 4], 1024);
    assert_eq!(again.len(), 1);
    assert!((again[0].t_end - patches[0].t_end).abs() < 1e-12);
}

#[test]
fn quiet_patches_can_skip_the_network_without_moving_the_others() {
    // Music, 6 s of digital silence, music: with the skip, the silent patches vanish and the
    // music patches keep their times and outputs exactly.
    let net = network();
    let mut audio = music(44_100.0, 2, 6.0);
    audio.extend(std::iter::repeat_n(0.0, 44_100 * 2 * 6));
    audio.extend(music(44_100.0, 2, 6.0));
    let all = run(
        &mut MusicnnStream::new(net.clone(), 44_100.0, 2, 3.0),
        &audio,
        512,
    );
    let mut skipping = MusicnnStream::new(net, 44_100.0, 2, 3.0);
    skipping.skip_patches_below_db(-60.0);
    let kept = run(&mut skipping, &audio, 512);
    let loud: Vec<&MusicnnPatch> = all.iter().filter(|p| p.rms_db >= -60.0).collect();
    assert!(
        all.len() > loud.len() && !loud.is_empty(),
        "the test audio needs both silent and loud patches: {} of {}",
        loud.len(),
        all.len()
    );
    assert_eq!(kept.len(), loud.len());
    for (kept, loud) in kept.iter().zip(loud) {
        assert_eq!(kept.t_end, loud.t_end);
        assert_eq!(kept.output.embedding, loud.output.embedding);
    }
}

#[test]
fn streamed_patches_equal_the_offline_path_away_from_the_start() {
    let net = network();
    let audio = music(16_000.0, 1, 9.1);
    let (mel, count) = mel_patches_for_clip(&audio);
    assert_eq!(count, 3);
    let offline = net.forward(&mel, count).unwrap();
    let mut stream = MusicnnStream::new(net, 16_000.0, 1, 3.0);
    let streamed = run(&mut stream, &audio, 333);
    assert_eq!(streamed.len(), 3);
    // Patch 0 holds frame 0, which the offline path reflect-pads and the stream zero-pads.
    for k in 1..3 {
        let emb = streamed[k]
            .output
            .embedding
            .iter()
            .zip(&offline[k].embedding)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        let tags = streamed[k]
            .output
            .taggram
            .iter()
            .zip(&offline[k].taggram)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(emb < 1e-4 && tags < 1e-5, "patch {k}: {emb} {tags}");
    }
}

/// Between patches the stream must not touch the heap (it shares the analysis thread, whose
/// engine never allocates). The network's forward pass, once per patch, may.
#[test]
fn pushing_between_patches_does_not_allocate() {
    use nice_assert_no_alloc::assert_no_alloc;
    let net = network();
    for (rate, channels) in [
        (48_000.0, 2usize),
        (44_100.0, 2),
        (22_050.0, 1),
        (44_099.0, 1),
    ] {
        let mut stream = MusicnnStream::new(net.clone(), rate, channels, 3.0);
        let audio = music(rate, channels, 5.0);
        let block = 480 * channels;
        // Up to 2.9 s no patch is due: every push must stay off the heap.
        let before_patch = ((2.9 * rate) as usize / 480) * block;
        let mut patches = 0;
        assert_no_alloc(|| {
            for chunk in audio[..before_patch].chunks(block) {
                stream.push_interleaved(chunk, |_| patches += 1);
            }
        });
        assert_eq!(patches, 0);
        // The first patch (allocates inside forward), then the gap to the next is clean again.
        let mut rest = audio[before_patch..].chunks(block);
        while patches == 0 {
            let chunk = rest.next().expect("a patch within 5 s");
            stream.push_interleaved(chunk, |_| patches += 1);
        }
        assert_no_alloc(|| {
            for chunk in rest {
                stream.push_interleaved(chunk, |_| patches += 1);
            }
        });
        assert_eq!(patches, 1, "{rate} Hz × {channels}");
    }
}
