//! `doorstep news2`: score one set from flags, or a stream of JSON Lines.

use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::process::ExitCode;

use clap::Args;
use doorstep_core::news2::{self, ResponseProtocol};
use doorstep_core::vitals::{VitalsError, VitalsInput};

use crate::report;

#[derive(Debug, Args)]
pub struct News2Args {
    /// Read one JSON object per line from stdin and write one result per line to stdout.
    #[arg(long, conflicts_with_all = [
        "respiration_rate", "spo2", "spo2_scale", "on_oxygen", "systolic_bp", "pulse",
        "consciousness", "temperature",
    ])]
    jsonl: bool,

    /// Respiration rate, breaths per minute.
    #[arg(long, value_name = "PER_MIN", allow_negative_numbers = true)]
    respiration_rate: Option<i64>,
    /// Oxygen saturation, %.
    #[arg(long, value_name = "PERCENT", allow_negative_numbers = true)]
    spo2: Option<i64>,
    /// SpO2 scale: 2 only on a documented clinical decision (hypercapnic respiratory failure).
    #[arg(long, value_name = "1|2")]
    spo2_scale: Option<u8>,
    /// The patient is on supplemental oxygen (without this flag: on air).
    #[arg(long)]
    on_oxygen: bool,
    /// Systolic blood pressure, mmHg.
    #[arg(long, value_name = "MMHG", allow_negative_numbers = true)]
    systolic_bp: Option<i64>,
    /// Pulse, beats per minute.
    #[arg(long, value_name = "PER_MIN", allow_negative_numbers = true)]
    pulse: Option<i64>,
    /// ACVPU: A (alert), C (new confusion), V (voice), P (pain), U (unresponsive).
    #[arg(long, value_name = "A|C|V|P|U")]
    consciousness: Option<String>,
    /// Temperature, °C.
    #[arg(long, value_name = "CELSIUS", allow_negative_numbers = true)]
    temperature: Option<f64>,
}

pub fn run(args: &News2Args, json: bool, protocol: &ResponseProtocol) -> anyhow::Result<ExitCode> {
    if args.jsonl {
        return score_lines(io::stdin().lock(), io::stdout().lock(), protocol);
    }
    let input = VitalsInput {
        respiration_rate: args.respiration_rate,
        spo2: args.spo2,
        spo2_scale: args.spo2_scale,
        on_oxygen: Some(args.on_oxygen),
        systolic_bp: args.systolic_bp,
        pulse: args.pulse,
        consciousness: args.consciousness.clone(),
        temperature: args.temperature,
        additional: Default::default(),
    };
    let scored = input
        .scale()
        .and_then(|scale| Ok((input.validate()?, scale)));
    let mut stdout = io::stdout().lock();
    match scored {
        Ok((vitals, scale)) => {
            let result = news2::score(&vitals, scale);
            if json {
                writeln!(stdout, "{}", report::result_json(&result, protocol))?;
            } else {
                writeln!(
                    stdout,
                    "{}",
                    report::result_text(&vitals, &result, &protocol.guidance_for(&result))
                )?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            if json {
                writeln!(stdout, "{}", report::error_json(&error))?;
            } else {
                eprintln!("error: {error}");
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

fn score_line(line: &str) -> Result<news2::News2Result, VitalsError> {
    let (input, scale) = VitalsInput::from_json(line)?;
    Ok(news2::score(&input.validate()?, scale))
}

/// One output line per input line, in order; a refused line does not stop the stream.
pub fn score_lines(
    input: impl Read,
    output: impl Write,
    protocol: &ResponseProtocol,
) -> anyhow::Result<ExitCode> {
    let mut input = BufReader::with_capacity(64 * 1024, input);
    let mut output = BufWriter::with_capacity(64 * 1024, output);
    let mut any_refused = false;
    let mut line = String::new();
    loop {
        line.clear();
        if input.read_line(&mut line)? == 0 {
            break;
        }
        let object = match score_line(line.trim_end_matches(['\n', '\r'])) {
            Ok(result) => report::result_json(&result, protocol),
            Err(error) => {
                any_refused = true;
                report::error_json(&error)
            }
        };
        serde_json::to_writer(&mut output, &object)?;
        output.write_all(b"\n")?;
        // Flush only when the next read would wait, so a co-process sees each answer at once while
        // a file of thousands of lines is written in large blocks.
        if input.buffer().is_empty() {
            output.flush()?;
        }
    }
    output.flush()?;
    Ok(if any_refused {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
