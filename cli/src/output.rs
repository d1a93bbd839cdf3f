//! JSON on stdout for scripts (`--json`), text for people.

use std::io::Write;
use std::process::ExitCode;

use serde_json::Value;

#[derive(Debug, Clone, Copy)]
pub struct Output {
    json: bool,
}

impl Output {
    pub fn new(json: bool) -> Self {
        Self { json }
    }

    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Prints `value` as JSON, or the text `describe` makes; success.
    pub fn print(
        &self,
        value: &Value,
        describe: impl FnOnce() -> String,
    ) -> anyhow::Result<ExitCode> {
        let mut stdout = std::io::stdout().lock();
        if self.json {
            serde_json::to_writer_pretty(&mut stdout, value)?;
            writeln!(stdout)?;
        } else {
            writeln!(stdout, "{}", describe())?;
        }
        Ok(ExitCode::SUCCESS)
    }
}
