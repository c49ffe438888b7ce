//! Turns the published valence/arousal into a rate-limited stream of MIDI CC messages.
//!
//! Policy: a CC is sent right after activation, then whenever its 7-bit value changes, but never
//! more often than [`CcScheduler::MIN_INTERVAL_SECONDS`]; an unchanged value is re-sent every
//! [`CcScheduler::REFRESH_SECONDS`] so a receiver that joins late (or a host that dropped an
//! event) catches up.

use crate::va::Va;

/// Which mood axis a CC carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CcTarget {
    Valence,
    Arousal,
}

/// One CC message to send at the start of the current block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CcEvent {
    /// The axis this value came from.
    pub target: CcTarget,
    /// MIDI channel, 0..16.
    pub channel: u8,
    /// Controller number, 0..120.
    pub controller: u8,
    /// 7-bit value.
    pub value: u8,
}

/// Maps [-1, 1] to 0..=127 with 0 landing on 64; non-finite input reads as neutral.
pub fn va_to_cc(value: f32) -> u8 {
    let value = if value.is_finite() {
        value.clamp(-1.0, 1.0)
    } else {
        0.0
    };
    ((value + 1.0) * 63.5).round().clamp(0.0, 127.0) as u8
}

/// Per-axis bookkeeping of what was last sent and when.
#[derive(Debug, Clone, Copy, Default)]
struct AxisState {
    /// Value last sent, `None` until the first send after a reset.
    last_value: Option<u8>,
    /// Samples elapsed since that send.
    samples_since_send: u64,
}

/// Decides, block by block, which CCs to emit. Allocation-free; lives on the audio thread.
#[derive(Debug, Clone)]
pub struct CcScheduler {
    /// Samples per second, to turn the policy's seconds into sample counts.
    sample_rate: f32,
    /// State for valence and arousal, in that order.
    axes: [AxisState; 2],
}

impl CcScheduler {
    /// Shortest gap between two messages of one axis (20 Hz at most).
    pub const MIN_INTERVAL_SECONDS: f32 = 0.05;
    /// Longest gap between two messages of one axis.
    pub const REFRESH_SECONDS: f32 = 1.0;

    pub fn new(sample_rate: f32) -> Self {
        Self {
            sample_rate: sample_rate.max(1.0),
            axes: [AxisState::default(); 2],
        }
    }

    /// Forgets what was sent, so the next block re-sends both values.
    pub fn reset(&mut self) {
        self.axes = [AxisState::default(); 2];
    }

    /// Advances by one block of `block_samples` and emits the CCs due at its start.
    pub fn poll(
        &mut self,
        va: Va,
        channel: u8,
        controllers: [u8; 2],
        block_samples: u32,
        mut emit: impl FnMut(CcEvent),
    ) {
        let min_interval = (Self::MIN_INTERVAL_SECONDS * self.sample_rate) as u64;
        let refresh = (Self::REFRESH_SECONDS * self.sample_rate) as u64;
        let targets = [CcTarget::Valence, CcTarget::Arousal];
        let values = [va_to_cc(va.valence), va_to_cc(va.arousal)];
        for axis in 0..2 {
            let state = &mut self.axes[axis];
            let due = match state.last_value {
                None => true,
                Some(last) if last != values[axis] => state.samples_since_send >= min_interval,
                Some(_) => state.samples_since_send >= refresh,
            };
            if due {
                emit(CcEvent {
                    target: targets[axis],
                    channel: channel.min(15),
                    controller: controllers[axis].min(119),
                    value: values[axis],
                });
                state.last_value = Some(values[axis]);
                state.samples_since_send = 0;
            }
            state.samples_since_send += u64::from(block_samples);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_covers_the_range_with_neutral_at_64() {
        assert_eq!(va_to_cc(-1.0), 0);
        assert_eq!(va_to_cc(0.0), 64);
        assert_eq!(va_to_cc(1.0), 127);
        assert_eq!(va_to_cc(f32::NAN), 64);
        assert_eq!(va_to_cc(-7.0), 0);
    }

    #[test]
    fn sends_on_start_on_change_rate_limited_and_refreshes() {
        let mut scheduler = CcScheduler::new(1000.0);
        let mut sent = Vec::new();
        let run = |scheduler: &mut CcScheduler, va: Va, blocks: usize, sent: &mut Vec<CcEvent>| {
            for _ in 0..blocks {
                scheduler.poll(va, 0, [20, 21], 10, |event| sent.push(event));
            }
        };
        let neutral = Va::default();
        run(&mut scheduler, neutral, 1, &mut sent);
        assert_eq!(sent.len(), 2, "both axes are sent at start");
        sent.clear();
        // A change 10 ms later must wait for the 50 ms rate limit.
        let moved = Va {
            valence: 0.5,
            arousal: 0.0,
        };
        run(&mut scheduler, moved, 4, &mut sent);
        assert!(sent.is_empty());
        run(&mut scheduler, moved, 1, &mut sent);
        assert_eq!(sent.len(), 1);
        assert_eq!((sent[0].controller, sent[0].value), (20, va_to_cc(0.5)));
        sent.clear();
        // Unchanged values come back once per second.
        run(&mut scheduler, moved, 100, &mut sent);
        assert_eq!(
            sent.iter()
                .filter(|e| e.target == CcTarget::Valence)
                .count(),
            1
        );
        assert_eq!(
            sent.iter()
                .filter(|e| e.target == CcTarget::Arousal)
                .count(),
            1
        );
    }
}
