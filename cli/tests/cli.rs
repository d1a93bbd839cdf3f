//! The `doorstep` command's contract, end to end: each test spawns the real binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

fn doorstep(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_doorstep"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the doorstep binary starts");
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_owned();
    let writer = std::thread::spawn(move || input.write_all(stdin.as_bytes()));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    output
}

fn json_lines(output: &Output) -> Vec<Value> {
    String::from_utf8(output.stdout.clone())
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

const COMPLETE_HIGH: &str = r#"{"respiration_rate": 26, "spo2": 93, "spo2_scale": 1, "on_oxygen": true, "systolic_bp": 95, "pulse": 120, "consciousness": "A", "temperature": 38.6}"#;

#[test]
fn jsonl_answers_each_line_in_order_with_the_contract_keys() {
    let input = format!(
        "{COMPLETE_HIGH}\n{}\n{}\n",
        r#"{"respiration_rate": 16, "spo2": 97, "on_oxygen": false, "systolic_bp": 120, "pulse": 70, "consciousness": "A", "temperature": 37.0}"#,
        r#"{"pulse": 72}"#
    );
    let output = doorstep(&["news2", "--jsonl"], &input);
    assert!(output.status.success(), "{output:?}");
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 3);

    // RR 3, SpO2 2, oxygen 2, SBP 2, pulse 2, alert 0, temperature 1.
    assert_eq!(lines[0]["total"], 12);
    assert_eq!(lines[0]["risk"], "high");
    assert_eq!(lines[0]["partial"], false);
    assert_eq!(lines[0]["missing"], json!([]));
    assert_eq!(
        lines[0]["scores"],
        json!({"respiration_rate": 3, "spo2": 2, "on_oxygen": 2, "systolic_bp": 2, "pulse": 2, "consciousness": 0, "temperature": 1})
    );
    // The default wording is the community's, not the ward's.
    assert_eq!(lines[0]["monitoring"], "continuous: stay with the patient");
    assert!(
        lines[0]["response"]
            .as_str()
            .unwrap()
            .starts_with("emergency: call 999")
    );
    for key in [
        "total",
        "risk",
        "partial",
        "missing",
        "scores",
        "monitoring",
        "response",
    ] {
        assert!(
            lines[2].get(key).is_some(),
            "{key} missing from {}",
            lines[2]
        );
    }

    assert_eq!(lines[1]["total"], 0);
    assert_eq!(lines[1]["risk"], "low");
    assert_eq!(lines[1]["monitoring"], "next set at the planned visit");

    assert_eq!(lines[2]["partial"], true);
    assert_eq!(lines[2]["total"], Value::Null);
    assert_eq!(lines[2]["risk"], Value::Null);
    assert_eq!(
        lines[2]["missing"],
        json!([
            "respiration_rate",
            "spo2",
            "on_oxygen",
            "systolic_bp",
            "consciousness",
            "temperature"
        ])
    );
    assert_eq!(lines[2]["scores"], json!({"pulse": 0}));
    assert!(
        lines[2]["response"]
            .as_str()
            .unwrap()
            .contains("do not treat this set as low risk")
    );
}

#[test]
fn jsonl_refuses_bad_lines_names_the_field_continues_and_exits_1() {
    let input = [
        r#"{"spo2": 101}"#,
        COMPLETE_HIGH,
        r#"{"consciousness": "Q"}"#,
        "not json",
        "",
        r#"{"respiration_rate": -3}"#,
        r#"{"temperature": 98.6}"#,
        r#"{"heart_rate": 80}"#,
        COMPLETE_HIGH,
    ]
    .join("\n");
    let output = doorstep(&["news2", "--jsonl"], &input);
    assert_eq!(output.status.code(), Some(1));
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 9);
    let expected_fields = [
        json!("spo2"),
        Value::Null,
        json!("consciousness"),
        Value::Null,
        Value::Null,
        json!("respiration_rate"),
        json!("temperature"),
        json!("heart_rate"),
        Value::Null,
    ];
    for (index, (line, field)) in lines.iter().zip(expected_fields).enumerate() {
        if index == 1 || index == 8 {
            assert_eq!(line["total"], 12, "line {index}");
            assert!(line.get("error").is_none());
        } else {
            assert_eq!(line["field"], field, "line {index}: {line}");
            assert!(line["error"].as_str().unwrap().len() > 10, "line {index}");
            assert!(
                line.get("total").is_none(),
                "an error line carries no score"
            );
        }
    }
    assert!(lines[0]["error"].as_str().unwrap().contains("30 to 100"));
}

#[test]
fn jsonl_answers_two_thousand_sets() {
    let input: String = (0..2_000)
        .map(|i| {
            format!(
                r#"{{"respiration_rate": {}, "spo2": {}, "on_oxygen": {}, "systolic_bp": {}, "pulse": {}, "consciousness": "A", "temperature": 37.{}}}"#,
                10 + i % 20,
                88 + i % 12,
                i % 3 == 0,
                90 + i % 100,
                45 + i % 90,
                i % 10
            ) + "\n"
        })
        .collect();
    let output = doorstep(&["news2", "--jsonl"], &input);
    assert!(output.status.success());
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 2_000);
    assert!(lines.iter().all(|line| line["total"].is_u64()));
}

#[test]
fn flags_print_a_readable_result_and_json_on_request() {
    let args = [
        "news2",
        "--respiration-rate",
        "22",
        "--spo2",
        "93",
        "--spo2-scale",
        "2",
        "--on-oxygen",
        "--systolic-bp",
        "104",
        "--pulse",
        "112",
        "--consciousness",
        "A",
        "--temperature",
        "38.4",
    ];
    let output = doorstep(&args, "");
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.starts_with("NEWS2 9: HIGH clinical risk"), "{text}");
    assert!(text.contains("SpO2 (Scale 2)"), "{text}");

    let mut json_args = args.to_vec();
    json_args.insert(0, "--json");
    let output = doorstep(&json_args, "");
    let lines = json_lines(&output);
    assert_eq!(lines[0]["total"], 9);
    assert_eq!(lines[0]["spo2_scale"], 2);
    assert_eq!(lines[0]["scores"]["spo2"], 1);
}

#[test]
fn flags_without_on_oxygen_mean_air_and_missing_flags_make_a_partial_set() {
    let output = doorstep(&["--json", "news2", "--pulse", "135"], "");
    assert!(output.status.success());
    let lines = json_lines(&output);
    assert_eq!(lines[0]["partial"], true);
    assert_eq!(lines[0]["scores"], json!({"on_oxygen": 0, "pulse": 3}));
    assert_eq!(lines[0]["minimum_risk"], "low-medium");

    let output = doorstep(&["news2", "--pulse", "135"], "");
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.starts_with("INCOMPLETE SET: no NEWS2 score."),
        "{text}"
    );
}

#[test]
fn an_invalid_flag_value_exits_1_naming_the_field() {
    let output = doorstep(&["news2", "--spo2", "104"], "");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("SpO2 must be a whole number from 30 to 100"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());

    let output = doorstep(&["--json", "news2", "--consciousness", "Z"], "");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(json_lines(&output)[0]["field"], "consciousness");
}

#[test]
fn an_organisation_protocol_changes_the_words_not_the_band() {
    let protocol = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/response-protocol.example.toml"
    );
    let output = doorstep(
        &["news2", "--jsonl", "--response-protocol", protocol],
        COMPLETE_HIGH,
    );
    let lines = json_lines(&output);
    assert_eq!(lines[0]["risk"], "high");
    assert!(
        lines[0]["response"]
            .as_str()
            .unwrap()
            .starts_with("time-critical")
    );

    let output = doorstep(
        &[
            "news2",
            "--jsonl",
            "--response-protocol",
            "/nonexistent.toml",
        ],
        "",
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8(output.stderr)
            .unwrap()
            .contains("cannot read the response protocol")
    );
}

#[test]
fn triage_ranks_a_synthetic_caseload_by_risk() {
    let args = [
        "--json",
        "triage",
        "--patients",
        "60",
        "--seed",
        "7",
        "--now",
        "2026-11-25T09:00:00Z",
    ];
    let first = doorstep(&args, "");
    assert!(first.status.success());
    let list: Value = serde_json::from_slice(&first.stdout).unwrap();
    let list = list.as_array().unwrap();
    assert!(!list.is_empty());
    let rank = |entry: &Value| match entry["news2"]["risk"]
        .as_str()
        .or(entry["news2"]["minimum_risk"].as_str())
    {
        Some("high") => 4,
        Some("medium") => 3,
        Some("low-medium") => 2,
        _ => 1,
    };
    for pair in list.windows(2) {
        assert!(
            rank(&pair[0]) >= rank(&pair[1]),
            "{} before {}",
            pair[0],
            pair[1]
        );
    }
    for entry in list {
        assert!(entry["nhs_number"].as_str().unwrap().starts_with("999"));
        assert!(rank(entry) >= 2 || entry["news2"]["partial"] == true);
    }
    // The same seed and time give the same caseload.
    let second = doorstep(&args, "");
    assert_eq!(first.stdout, second.stdout);

    let text = doorstep(
        &["triage", "--seed", "7", "--now", "2026-11-25T09:00:00Z"],
        "",
    );
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("Synthetic caseload: 40 patients"), "{text}");
}
