//! One public vocabulary for moods in every output the CLI writes (analyze JSONL/CSV, its clip
//! summary, the demo's timeline CSV): quadrants as `Q1`..`Q4` plus their names, keys as a tonic
//! (`"F#"`) and a separate mode (`"minor"`).

use serde::Serialize;

use crate::va::Va;

/// Quadrant codes and names, Q1..Q4, as the README and `analyze --help` give them.
pub use crate::va::summary::QUADRANTS;

/// The quadrant legend for help texts: "Q1 pleasant-excited (+V +A), …".
pub const QUADRANT_LEGEND: &str = "Q1 pleasant-excited (+V +A), Q2 unpleasant-excited (-V +A), \
                                   Q3 unpleasant-calm (-V -A), Q4 pleasant-calm (+V -A)";

/// `"Q1"`..`"Q4"` for a point.
pub fn quadrant_code(va: Va) -> &'static str {
    QUADRANTS[usize::from(va.quadrant()) - 1].0
}

/// `"pleasant-excited"`.. for a point.
pub fn quadrant_name(va: Va) -> &'static str {
    QUADRANTS[usize::from(va.quadrant()) - 1].1
}

/// The name of a quadrant code (`"Q3"` → `"unpleasant-calm"`), `None` for anything else.
pub fn name_of_code(code: &str) -> Option<&'static str> {
    QUADRANTS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, name)| *name)
}

/// Share of windows per quadrant, each under its code and name so that no reader has to know
/// the order.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct QuadrantShares {
    /// Share of windows in Q1 (+V +A).
    #[serde(rename = "Q1_pleasant_excited")]
    pub q1: f32,
    /// Share of windows in Q2 (-V +A).
    #[serde(rename = "Q2_unpleasant_excited")]
    pub q2: f32,
    /// Share of windows in Q3 (-V -A).
    #[serde(rename = "Q3_unpleasant_calm")]
    pub q3: f32,
    /// Share of windows in Q4 (+V -A).
    #[serde(rename = "Q4_pleasant_calm")]
    pub q4: f32,
}

impl From<[f32; 4]> for QuadrantShares {
    fn from([q1, q2, q3, q4]: [f32; 4]) -> Self {
        Self { q1, q2, q3, q4 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_follow_the_signs() {
        for (valence, arousal, code, name) in [
            (0.5, 0.5, "Q1", "pleasant-excited"),
            (-0.5, 0.5, "Q2", "unpleasant-excited"),
            (-0.5, -0.5, "Q3", "unpleasant-calm"),
            (0.5, -0.5, "Q4", "pleasant-calm"),
        ] {
            let va = Va { valence, arousal };
            assert_eq!((quadrant_code(va), quadrant_name(va)), (code, name));
            assert_eq!(name_of_code(code), Some(name));
        }
        assert_eq!(name_of_code("Q0"), None);
        let shares = serde_json::to_value(QuadrantShares::from([0.1, 0.2, 0.3, 0.4])).unwrap();
        assert_eq!(shares["Q3_unpleasant_calm"], serde_json::json!(0.3f32));
    }
}
