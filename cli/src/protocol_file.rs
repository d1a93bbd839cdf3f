//! Loading an organisation's NEWS2 response wording.

use std::path::Path;

use anyhow::Context;
use doorstep_core::news2::ResponseProtocol;

/// The protocol in `path`, or the RCP's wording when no file is given.
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
    toml::from_str(&text).with_context(|| {
        format!(
            "{} is not a valid response protocol: it needs [score_zero], [low], \
             [single_parameter_three], [medium] and [high], each with monitoring and response",
            path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_protocol_in_docs_loads() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/response-protocol.example.toml");
        let protocol = load(Some(&path)).unwrap();
        assert_ne!(protocol, ResponseProtocol::default());
        assert!(protocol.high.response.contains("999"));
    }
}
