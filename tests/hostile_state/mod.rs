//! A plugin state with every value out of range, for the host tests' load checks (CLAP and
//! VST3 save the same JSON).
#![allow(dead_code)]

/// A saved state taken apart: whatever envelope the host format puts around nice-plug's JSON
/// (CLAP: a u64 length; vst3-host: a header with the component's u32 length), and the JSON.
struct Envelope {
    /// Bytes before the JSON.
    prefix: Vec<u8>,
    /// The plugin's state.
    json: serde_json::Value,
    /// Bytes after the JSON.
    suffix: Vec<u8>,
}

fn unwrap_state(saved: &[u8]) -> Envelope {
    let start = saved
        .windows(2)
        .position(|w| w == b"{\"")
        .expect("no JSON in the saved state");
    let mut stream =
        serde_json::Deserializer::from_slice(&saved[start..]).into_iter::<serde_json::Value>();
    let json = stream
        .next()
        .expect("no JSON in the saved state")
        .expect("the saved state is JSON");
    let end = start + stream.byte_offset();
    Envelope {
        prefix: saved[..start].to_vec(),
        json,
        suffix: saved[end..].to_vec(),
    }
}

/// Puts `json` back into the envelope, rewriting the length field that held the old length.
fn rewrap_state(saved: &[u8], envelope: Envelope, json: &serde_json::Value) -> Vec<u8> {
    let old_length = (saved.len() - envelope.prefix.len() - envelope.suffix.len()) as u32;
    let bytes = serde_json::to_vec(json).unwrap();
    let mut prefix = envelope.prefix;
    let at = prefix
        .windows(4)
        .rposition(|w| w == old_length.to_le_bytes())
        .unwrap_or_else(|| panic!("no length field in the envelope {prefix:?}"));
    prefix[at..at + 4].copy_from_slice(&(bytes.len() as u32).to_le_bytes());
    let mut out = prefix;
    out.extend(bytes);
    out.extend(envelope.suffix);
    out
}

/// The plugin's own saved state with hostile values written in: CC channel 999, Valence CC -7,
/// Arousal CC 128, a 1e30 s window, -5 ms smoothing, a 100 000 px square editor.
pub fn hostile_state(saved: &[u8]) -> Vec<u8> {
    let envelope = unwrap_state(saved);
    let mut state = envelope.json.clone();
    let params = state["params"].as_object_mut().expect("params");
    for (id, value) in [
        ("cc_channel", serde_json::json!({ "i32": 999 })),
        ("cc_valence", serde_json::json!({ "i32": -7 })),
        ("cc_arousal", serde_json::json!({ "i32": 128 })),
        ("window", serde_json::json!({ "f32": 1e30 })),
        ("smoothing", serde_json::json!({ "f32": -5.0 })),
    ] {
        assert!(params.contains_key(id), "no {id} in the saved state");
        params.insert(id.into(), value);
    }
    state["fields"]["editor-size"] = serde_json::json!("[100000,100000]");
    rewrap_state(saved, envelope, &state)
}

/// Asserts that a state saved after loading [`hostile_state`] holds only clamped values.
pub fn assert_state_clamped(resaved: &[u8], format: &str) {
    let state = unwrap_state(resaved).json;
    let params = &state["params"];
    for (id, expected) in [
        ("cc_channel", serde_json::json!({ "i32": 16 })),
        ("cc_valence", serde_json::json!({ "i32": 0 })),
        ("cc_arousal", serde_json::json!({ "i32": 119 })),
        ("window", serde_json::json!({ "f32": 30.0 })),
        ("smoothing", serde_json::json!({ "f32": 0.0 })),
    ] {
        assert_eq!(params[id], expected, "{format}: {id} kept out of range");
    }
    assert_eq!(
        state["fields"]["editor-size"],
        serde_json::json!("[7680,4320]"),
        "{format}: editor size kept out of range"
    );
}
