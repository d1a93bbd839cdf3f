//! Loading an organisation's NEWS2 response wording.

use std::path::Path;

use anyhow::Context;
use doorstep_core::news2::ResponseProtocol;

/// The protocol in `path`, checked, or Doorstep's community wording when no file is given.
pub fn load(path: Option<&Path>) -> anyhow::Result<ResponseProtocol> {
    let Some(path) = path else {
        return Ok(ResponseProtocol::default());
    };
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read the response protocol {}; check the path",
            path.display()
        )
    })?;
    let protocol: ResponseProtocol = toml::from_str(&text).with_context(|| {
        format!(
            "{} is not a valid response protocol: it needs id, version, name and setting, then \
             [score_zero], [low], [single_parameter_three], [medium] and [high], each with \
             monitoring, response and next_set_minutes (see docs/response-protocol.example.toml)",
            path.display()
        )
    })?;
    // Unknown keys first: a misspelt key is the likelier cause of what validation would refuse.
    if let Some(key) = unknown_key(&text, &protocol) {
        anyhow::bail!(
            "{} has a key Doorstep does not know ({key}): check its spelling against docs/response-protocol.example.toml",
            path.display()
        );
    }
    protocol
        .validate()
        .with_context(|| format!("{} cannot be used", path.display()))?;
    Ok(protocol)
}

/// The first key in the file that the protocol does not have: a misspelt `next_set_minutes`
/// would otherwise be dropped silently and leave "at the next visit".
fn unknown_key(text: &str, protocol: &ResponseProtocol) -> Option<String> {
    let written: toml::Table = toml::from_str(text).ok()?;
    let known = toml::Table::try_from(protocol).ok()?;
    for (key, value) in &written {
        let Some(known_value) = known.get(key) else {
            return Some(key.clone());
        };
        if let (Some(table), Some(known_table)) = (value.as_table(), known_value.as_table()) {
            let known_keys = ["monitoring", "response", "next_set_minutes"];
            if let Some(inner) = table.keys().find(|inner| {
                !known_table.contains_key(*inner) && !known_keys.contains(&inner.as_str())
            }) {
                return Some(format!("{key}.{inner}"));
            }
        }
    }
    None
}

/// A protocol as an administrator reads it: each trigger's interval and words.
pub fn describe(protocol: &ResponseProtocol) -> String {
    let interval = |minutes: Option<u32>| match minutes {
        None => "at the next planned visit".to_owned(),
        Some(0) => "continuous".to_owned(),
        Some(minutes) if minutes % 60 == 0 => format!("within {} h", minutes / 60),
        Some(minutes) => format!("within {minutes} min"),
    };
    let mut lines = vec![
        format!(
            "{} ({} v{}, {})",
            protocol.name,
            protocol.id,
            protocol.version,
            protocol.setting.label()
        ),
        format!(
            "Postnatal period without NEWS2: {} days; a complete set ranks for {} h; a medicines list is out of date after {} days",
            protocol.postnatal_days,
            protocol.complete_set_window_hours,
            protocol.medicines_review_days
        ),
    ];
    for (name, guidance) in [
        ("Score 0", &protocol.score_zero),
        ("Score 1-4", &protocol.low),
        ("Single 3", &protocol.single_parameter_three),
        ("Score 5-6", &protocol.medium),
        ("Score 7+", &protocol.high),
    ] {
        lines.push(format!(
            "{name:<10} next set {}: {}",
            interval(guidance.next_set_minutes),
            guidance.response
        ));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_misspelt_key_is_refused_not_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let example =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/response-protocol.example.toml");
        let text = std::fs::read_to_string(example).unwrap().replacen(
            "next_set_minutes = 30",
            "next_set_minute = 30",
            1,
        );
        let path = dir.path().join("typo.toml");
        std::fs::write(&path, text).unwrap();
        let error = format!("{:#}", load(Some(&path)).unwrap_err());
        assert!(error.contains("low.next_set_minute"), "{error}");
    }

    #[test]
    fn the_example_protocol_in_docs_loads() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/response-protocol.example.toml");
        let protocol = load(Some(&path)).unwrap();
        assert_ne!(protocol, ResponseProtocol::default());
        assert!(protocol.high.response.contains("999"));
    }
}
