use proptest::prelude::*;

use super::*;
use crate::vitals::{Acvpu, VitalsInput};

/// A complete set scoring 0 on Scale 1, to vary one parameter at a time.
fn neutral() -> VitalsInput {
    VitalsInput {
        respiration_rate: Some(16),
        spo2: Some(97),
        spo2_scale: None,
        on_oxygen: Some(false),
        systolic_bp: Some(120),
        pulse: Some(70),
        consciousness: Some("A".to_owned()),
        temperature: Some(37.0),
        additional: Default::default(),
    }
}

fn score_input(input: &VitalsInput) -> News2Result {
    let vitals = input.validate().expect("test input is valid");
    score(&vitals, input.scale().expect("test scale is valid"))
}

/// Every band edge from the RCP chart, both sides, through validation and the scorer.
#[test]
fn every_band_edge_of_every_parameter() {
    type Setter = fn(&mut VitalsInput, f64);
    type Row<'a> = (Parameter, Setter, &'a [(f64, u8)]);
    let rows: &[Row] = &[
        (
            Parameter::RespirationRate,
            |v, x| v.respiration_rate = Some(x as i64),
            &[
                (1.0, 3),
                (8.0, 3),
                (9.0, 1),
                (11.0, 1),
                (12.0, 0),
                (20.0, 0),
                (21.0, 2),
                (24.0, 2),
                (25.0, 3),
                (80.0, 3),
            ],
        ),
        (
            Parameter::SystolicBp,
            |v, x| v.systolic_bp = Some(x as i64),
            &[
                (30.0, 3),
                (90.0, 3),
                (91.0, 2),
                (100.0, 2),
                (101.0, 1),
                (110.0, 1),
                (111.0, 0),
                (219.0, 0),
                (220.0, 3),
                (300.0, 3),
            ],
        ),
        (
            Parameter::Pulse,
            |v, x| v.pulse = Some(x as i64),
            &[
                (20.0, 3),
                (40.0, 3),
                (41.0, 1),
                (50.0, 1),
                (51.0, 0),
                (90.0, 0),
                (91.0, 1),
                (110.0, 1),
                (111.0, 2),
                (130.0, 2),
                (131.0, 3),
                (300.0, 3),
            ],
        ),
        (
            Parameter::Temperature,
            |v, x| v.temperature = Some(x),
            &[
                (25.0, 3),
                (35.0, 3),
                (35.04, 3),
                (35.05, 1),
                (35.1, 1),
                (36.0, 1),
                (36.1, 0),
                (37.5, 0),
                (38.0, 0),
                (38.1, 1),
                (39.0, 1),
                (39.1, 2),
                (45.0, 2),
            ],
        ),
    ];
    for (parameter, set, cases) in rows {
        for &(value, expected) in *cases {
            let mut input = neutral();
            set(&mut input, value);
            let result = score_input(&input);
            assert_eq!(
                result.score_of(*parameter),
                Some(expected),
                "{parameter:?} = {value}"
            );
            assert_eq!(result.total(), Some(expected), "{parameter:?} = {value}");
        }
    }
}

#[test]
fn spo2_band_edges_on_both_scales_on_air_and_on_oxygen() {
    // (SpO2, Scale 1 on air, Scale 1 on oxygen, Scale 2 on air, Scale 2 on oxygen): SpO2 sub-score.
    let table: &[(i64, u8, u8, u8, u8)] = &[
        (30, 3, 3, 3, 3),
        (83, 3, 3, 3, 3),
        (84, 3, 3, 2, 2),
        (85, 3, 3, 2, 2),
        (86, 3, 3, 1, 1),
        (87, 3, 3, 1, 1),
        (88, 3, 3, 0, 0),
        (91, 3, 3, 0, 0),
        (92, 2, 2, 0, 0),
        (93, 2, 2, 0, 1),
        (94, 1, 1, 0, 1),
        (95, 1, 1, 0, 2),
        (96, 0, 0, 0, 2),
        (97, 0, 0, 0, 3),
        (100, 0, 0, 0, 3),
    ];
    for &(spo2, s1_air, s1_o2, s2_air, s2_o2) in table {
        for (scale, on_oxygen, expected) in [
            (1, false, s1_air),
            (1, true, s1_o2),
            (2, false, s2_air),
            (2, true, s2_o2),
        ] {
            let mut input = neutral();
            input.spo2 = Some(spo2);
            input.spo2_scale = Some(scale);
            input.on_oxygen = Some(on_oxygen);
            let result = score_input(&input);
            let context = format!("SpO2 {spo2} scale {scale} oxygen {on_oxygen}");
            assert_eq!(
                result.score_of(Parameter::Spo2),
                Some(expected),
                "{context}"
            );
            let oxygen_points = if on_oxygen { 2 } else { 0 };
            assert_eq!(
                result.score_of(Parameter::AirOrOxygen),
                Some(oxygen_points),
                "{context}"
            );
            assert_eq!(result.total(), Some(expected + oxygen_points), "{context}");
        }
    }
}

#[test]
fn every_consciousness_level() {
    for (letter, expected) in [("A", 0), ("C", 3), ("V", 3), ("P", 3), ("U", 3)] {
        let mut input = neutral();
        input.consciousness = Some(letter.to_owned());
        let result = score_input(&input);
        assert_eq!(
            result.score_of(Parameter::Consciousness),
            Some(expected),
            "{letter}"
        );
    }
}

#[test]
fn risk_and_trigger_follow_charts_three_and_four() {
    // (changes to the neutral set, total, risk, trigger)
    type Change = fn(&mut VitalsInput);
    let cases: &[(&str, Change, u8, ClinicalRisk, Trigger)] = &[
        (
            "nothing abnormal",
            |_| {},
            0,
            ClinicalRisk::Low,
            Trigger::ScoreZero,
        ),
        (
            "pulse 95",
            |v| v.pulse = Some(95),
            1,
            ClinicalRisk::Low,
            Trigger::Low,
        ),
        (
            "total 4 without a 3",
            |v| {
                v.respiration_rate = Some(22); // 2
                v.pulse = Some(112); // 2
            },
            4,
            ClinicalRisk::Low,
            Trigger::Low,
        ),
        (
            "a single 3 alone",
            |v| v.respiration_rate = Some(26),
            3,
            ClinicalRisk::LowMedium,
            Trigger::SingleParameterThree,
        ),
        (
            "new confusion alone",
            |v| v.consciousness = Some("C".to_owned()),
            3,
            ClinicalRisk::LowMedium,
            Trigger::SingleParameterThree,
        ),
        (
            "a 3 and total 4",
            |v| {
                v.pulse = Some(35); // 3
                v.temperature = Some(38.5); // 1
            },
            4,
            ClinicalRisk::LowMedium,
            Trigger::SingleParameterThree,
        ),
        (
            "a 3 and total 5",
            |v| {
                v.pulse = Some(35); // 3
                v.on_oxygen = Some(true); // 2
            },
            5,
            ClinicalRisk::Medium,
            Trigger::Medium,
        ),
        (
            "total 5 without a 3",
            |v| {
                v.on_oxygen = Some(true); // 2
                v.spo2 = Some(93); // 2
                v.pulse = Some(95); // 1
            },
            5,
            ClinicalRisk::Medium,
            Trigger::Medium,
        ),
        (
            "total 6",
            |v| {
                v.on_oxygen = Some(true);
                v.spo2 = Some(93);
                v.systolic_bp = Some(95);
            },
            6,
            ClinicalRisk::Medium,
            Trigger::Medium,
        ),
        (
            "total 7",
            |v| {
                v.on_oxygen = Some(true); // 2
                v.spo2 = Some(93); // 2
                v.pulse = Some(131); // 3
            },
            7,
            ClinicalRisk::High,
            Trigger::High,
        ),
        (
            "the maximum, 20",
            |v| {
                v.respiration_rate = Some(30);
                v.spo2 = Some(85);
                v.on_oxygen = Some(true);
                v.systolic_bp = Some(80);
                v.pulse = Some(140);
                v.consciousness = Some("U".to_owned());
                v.temperature = Some(34.0);
            },
            20,
            ClinicalRisk::High,
            Trigger::High,
        ),
    ];
    for (name, change, total, risk, trigger) in cases {
        let mut input = neutral();
        change(&mut input);
        let result = score_input(&input);
        assert_eq!(
            result.outcome,
            Outcome::Complete {
                total: *total,
                risk: *risk,
                trigger: *trigger
            },
            "{name}"
        );
        assert_eq!(result.algorithm_version, ALGORITHM_VERSION);
    }
}

#[test]
fn each_missing_parameter_makes_the_set_partial() {
    type Clear = fn(&mut VitalsInput);
    let cases: &[(Field, Clear)] = &[
        (Field::RespirationRate, |v| v.respiration_rate = None),
        (Field::Spo2, |v| v.spo2 = None),
        (Field::OnOxygen, |v| v.on_oxygen = None),
        (Field::SystolicBp, |v| v.systolic_bp = None),
        (Field::Pulse, |v| v.pulse = None),
        (Field::Consciousness, |v| v.consciousness = None),
        (Field::Temperature, |v| v.temperature = None),
    ];
    for (field, clear) in cases {
        let mut input = neutral();
        clear(&mut input);
        let result = score_input(&input);
        assert!(result.is_partial(), "{field}");
        assert_eq!(result.total(), None, "{field}");
        assert_eq!(result.risk(), None, "{field}");
        assert_eq!(
            result.outcome,
            Outcome::Partial {
                missing: vec![*field],
                lower_bound: 0,
                minimum_risk: None
            },
        );
    }
}

#[test]
fn an_empty_set_is_partial_and_never_low() {
    let result = score(&VitalSigns::default(), Spo2Scale::Scale1);
    assert_eq!(result.total(), None);
    assert_eq!(result.effective_risk(), None);
    let Outcome::Partial { missing, .. } = &result.outcome else {
        panic!("partial expected")
    };
    assert_eq!(missing.len(), 7);
    let guidance = ResponseProtocol::default().guidance_for(&result);
    assert!(
        guidance
            .response
            .contains("do not treat this set as low risk"),
        "{guidance:?}"
    );
}

#[test]
fn a_partial_set_reports_the_risk_its_present_values_force() {
    let mut input = neutral();
    input.temperature = None;
    input.respiration_rate = Some(26); // 3
    let result = score_input(&input);
    assert_eq!(
        result.outcome,
        Outcome::Partial {
            missing: vec![Field::Temperature],
            lower_bound: 3,
            minimum_risk: Some(ClinicalRisk::LowMedium),
        }
    );
    input.pulse = Some(135); // 3 more: at least 6, medium
    let result = score_input(&input);
    assert_eq!(result.effective_risk(), Some(ClinicalRisk::Medium));
    let guidance = ResponseProtocol::default().guidance_for(&result);
    assert!(
        guidance
            .response
            .starts_with("the values present already mean at least medium risk"),
        "{guidance:?}"
    );
    assert!(guidance.response.contains("temperature"), "{guidance:?}");
}

#[test]
fn scale_2_high_saturation_with_oxygen_unknown_is_not_scored() {
    let mut input = neutral();
    input.spo2_scale = Some(2);
    input.spo2 = Some(97);
    input.on_oxygen = None;
    let result = score_input(&input);
    assert_eq!(result.score_of(Parameter::Spo2), None);
    assert_eq!(result.total(), None);
    assert_eq!(
        result.outcome,
        Outcome::Partial {
            missing: vec![Field::OnOxygen],
            lower_bound: 0,
            minimum_risk: None
        }
    );
}

#[test]
fn organisation_wording_replaces_the_text_but_not_the_band() {
    let mut protocol = ResponseProtocol::default();
    protocol.high.response = "call 999 and request an emergency ambulance".to_owned();
    let mut input = neutral();
    input.respiration_rate = Some(30);
    input.pulse = Some(140);
    input.systolic_bp = Some(85);
    let result = score_input(&input);
    assert_eq!(result.risk(), Some(ClinicalRisk::High));
    assert_eq!(
        protocol.guidance_for(&result).response,
        "call 999 and request an emergency ambulance"
    );
}

/// A second NEWS2 scorer, written from CLINICAL.md's chart as data rather than code, so that a
/// slip in either implementation shows as a disagreement.
mod reference {
    /// (lowest, highest, points) rows; every accepted value falls in exactly one row.
    const RR: &[(i64, i64, u8)] = &[(1, 8, 3), (9, 11, 1), (12, 20, 0), (21, 24, 2), (25, 80, 3)];
    const SPO2_SCALE_1: &[(i64, i64, u8)] = &[(30, 91, 3), (92, 93, 2), (94, 95, 1), (96, 100, 0)];
    const SPO2_SCALE_2_ALWAYS: &[(i64, i64, u8)] =
        &[(30, 83, 3), (84, 85, 2), (86, 87, 1), (88, 92, 0)];
    const SPO2_SCALE_2_OXYGEN: &[(i64, i64, u8)] = &[(93, 94, 1), (95, 96, 2), (97, 100, 3)];
    const SBP: &[(i64, i64, u8)] = &[
        (30, 90, 3),
        (91, 100, 2),
        (101, 110, 1),
        (111, 219, 0),
        (220, 300, 3),
    ];
    const PULSE: &[(i64, i64, u8)] = &[
        (20, 40, 3),
        (41, 50, 1),
        (51, 90, 0),
        (91, 110, 1),
        (111, 130, 2),
        (131, 300, 3),
    ];
    /// Temperature rows in tenths of a degree.
    const TEMPERATURE: &[(i64, i64, u8)] = &[
        (250, 350, 3),
        (351, 360, 1),
        (361, 380, 0),
        (381, 390, 1),
        (391, 450, 2),
    ];

    fn lookup(rows: &[(i64, i64, u8)], value: i64) -> Option<u8> {
        rows.iter()
            .find(|(lo, hi, _)| (*lo..=*hi).contains(&value))
            .map(|r| r.2)
    }

    #[derive(Debug)]
    pub struct Set {
        pub rr: i64,
        pub spo2: i64,
        pub scale_2: bool,
        pub oxygen: bool,
        pub sbp: i64,
        pub pulse: i64,
        pub alert: bool,
        pub temperature_tenths: i64,
    }

    /// (scores in chart order, total, risk word)
    pub fn score(set: &Set) -> ([u8; 7], u8, &'static str) {
        let spo2 = if !set.scale_2 {
            lookup(SPO2_SCALE_1, set.spo2)
        } else if set.oxygen {
            lookup(SPO2_SCALE_2_ALWAYS, set.spo2).or(lookup(SPO2_SCALE_2_OXYGEN, set.spo2))
        } else {
            lookup(SPO2_SCALE_2_ALWAYS, set.spo2).or(Some(0))
        };
        let scores = [
            lookup(RR, set.rr).unwrap_or(99),
            spo2.unwrap_or(99),
            if set.oxygen { 2 } else { 0 },
            lookup(SBP, set.sbp).unwrap_or(99),
            lookup(PULSE, set.pulse).unwrap_or(99),
            if set.alert { 0 } else { 3 },
            lookup(TEMPERATURE, set.temperature_tenths).unwrap_or(99),
        ];
        let total: u8 = scores.iter().sum();
        let risk = if total >= 7 {
            "high"
        } else if total >= 5 {
            "medium"
        } else if scores.contains(&3) {
            "low-medium"
        } else {
            "low"
        };
        (scores, total, risk)
    }
}

fn complete_set() -> impl Strategy<Value = (reference::Set, Acvpu)> {
    (
        (1i64..=80, 30i64..=100, any::<bool>(), any::<bool>()),
        (
            30i64..=300,
            20i64..=300,
            prop::sample::select(Acvpu::ALL.to_vec()),
            250i64..=450,
        ),
    )
        .prop_map(
            |((rr, spo2, scale_2, oxygen), (sbp, pulse, level, temperature_tenths))| {
                let set = reference::Set {
                    rr,
                    spo2,
                    scale_2,
                    oxygen,
                    sbp,
                    pulse,
                    alert: level == Acvpu::Alert,
                    temperature_tenths,
                };
                (set, level)
            },
        )
}

fn to_input(set: &reference::Set, level: Acvpu) -> VitalsInput {
    VitalsInput {
        respiration_rate: Some(set.rr),
        spo2: Some(set.spo2),
        spo2_scale: Some(if set.scale_2 { 2 } else { 1 }),
        on_oxygen: Some(set.oxygen),
        systolic_bp: Some(set.sbp),
        pulse: Some(set.pulse),
        consciousness: Some(level.letter().to_owned()),
        temperature: Some(set.temperature_tenths as f64 / 10.0),
        additional: Default::default(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    #[test]
    fn agrees_with_an_independent_table_driven_scorer((set, level) in complete_set()) {
        let result = score_input(&to_input(&set, level));
        let (expected_scores, expected_total, expected_risk) = reference::score(&set);
        let scores: Vec<u8> = Parameter::ALL.iter().map(|p| result.score_of(*p).unwrap_or(99)).collect();
        prop_assert_eq!(scores.as_slice(), expected_scores.as_slice());
        prop_assert_eq!(result.total(), Some(expected_total));
        prop_assert_eq!(result.risk().map(ClinicalRisk::word), Some(expected_risk));
    }

    #[test]
    fn removing_parameters_never_yields_a_total_and_never_understates_the_floor(
        (set, level) in complete_set(),
        removed in prop::collection::btree_set(0usize..7, 1..=7),
    ) {
        let full_input = to_input(&set, level);
        let full = score_input(&full_input);
        let mut input = full_input;
        for index in &removed {
            match index {
                0 => input.respiration_rate = None,
                1 => input.spo2 = None,
                2 => input.on_oxygen = None,
                3 => input.systolic_bp = None,
                4 => input.pulse = None,
                5 => input.consciousness = None,
                _ => input.temperature = None,
            }
        }
        let partial = score_input(&input);
        prop_assert!(partial.is_partial());
        prop_assert_eq!(partial.total(), None);
        prop_assert_eq!(partial.risk(), None);
        let Outcome::Partial { lower_bound, minimum_risk, missing } = &partial.outcome else {
            return Err(TestCaseError::fail("partial expected"));
        };
        prop_assert!(missing.len() == removed.len());
        prop_assert!(Some(*lower_bound) <= full.total());
        prop_assert!(*minimum_risk != Some(ClinicalRisk::Low));
        if let Some(floor) = minimum_risk {
            prop_assert!(Some(*floor) <= full.risk());
        }
    }

    #[test]
    fn out_of_range_values_are_never_scored(
        field in 0usize..5,
        value in prop_oneof![-1_000i64..=0, 301i64..=100_000],
    ) {
        let mut input = neutral();
        match field {
            0 => input.respiration_rate = Some(value),
            1 => input.spo2 = Some(value),
            2 => input.systolic_bp = Some(value),
            3 => input.pulse = Some(value),
            _ => input.temperature = Some(value as f64),
        }
        prop_assert!(input.validate().is_err());
    }
}

/// Per protocol and trigger, the minutes to the next set: RCP Chart 4's frequencies, with the
/// community's "at the planned visit" for a score of 0 and its 4–6-hourly at the outer end.
#[test]
fn next_set_due_per_band_and_protocol() {
    use super::protocol::Setting;
    let table: [(ResponseProtocol, [Option<u32>; 5]); 3] = [
        (
            ResponseProtocol::community(),
            [None, Some(360), Some(60), Some(60), Some(0)],
        ),
        (
            ResponseProtocol::ambulance(),
            [Some(720), Some(240), Some(60), Some(60), Some(0)],
        ),
        (
            ResponseProtocol::royal_college_of_physicians(),
            [Some(720), Some(240), Some(60), Some(60), Some(0)],
        ),
    ];
    let triggers = [
        Trigger::ScoreZero,
        Trigger::Low,
        Trigger::SingleParameterThree,
        Trigger::Medium,
        Trigger::High,
    ];
    for (protocol, expected) in table {
        protocol.validate().unwrap();
        for (trigger, minutes) in triggers.into_iter().zip(expected) {
            assert_eq!(
                protocol.for_trigger(trigger).next_set_minutes,
                minutes,
                "{} {trigger:?}",
                protocol.id
            );
        }
        assert_eq!(
            protocol.setting == Setting::Community,
            protocol.id == "doorstep-community"
        );
    }
    // A set's due time: taken at 10:00, medium risk, community: due 11:00.
    let mut input = neutral();
    input.respiration_rate = Some(22); // 2
    input.pulse = Some(115); // 2
    input.temperature = Some(38.5); // 1
    let result = score_input(&input);
    assert_eq!(result.risk(), Some(ClinicalRisk::Medium));
    let taken: chrono::DateTime<chrono::Utc> = "2026-06-01T10:00:00Z".parse().unwrap();
    let response = ResponseProtocol::community().response_for(&result, Vec::new());
    assert_eq!(
        response.next_due(taken),
        Some("2026-06-01T11:00:00Z".parse().unwrap())
    );
}

#[test]
fn the_default_protocol_speaks_to_the_community_not_the_ward() {
    let protocol = ResponseProtocol::default();
    assert_eq!(protocol.id, "doorstep-community");
    let all: Vec<&str> = [
        &protocol.score_zero,
        &protocol.low,
        &protocol.single_parameter_three,
        &protocol.medium,
        &protocol.high,
    ]
    .iter()
    .map(|guidance| guidance.response.as_str())
    .collect();
    for text in &all {
        for ward in ["registrar", "level 2", "ward", "medical team"] {
            assert!(!text.contains(ward), "{text}");
        }
    }
    assert!(protocol.high.response.contains("call 999"));
    assert!(protocol.high.response.contains("NEWS2 score"));
    assert!(protocol.medium.response.contains("111"));
    assert!(
        protocol
            .single_parameter_three
            .response
            .contains("urgent community response")
    );
    assert!(
        ResponseProtocol::ambulance()
            .high
            .response
            .contains("pre-alert")
    );
    assert_eq!(
        ResponseProtocol::shipped("rcp-news2-hospital"),
        Some(ResponseProtocol::royal_college_of_physicians())
    );
}

#[test]
fn a_protocol_may_change_words_but_not_lengthen_the_rcp_intervals() {
    use super::protocol::ProtocolError;
    type Change = fn(&mut ResponseProtocol);
    let cases: [(Change, Option<ProtocolError>); 8] = [
        (|_| {}, None),
        (|p| p.id = String::new(), Some(ProtocolError::BadId)),
        (
            |p| p.id = "has space".to_owned(),
            Some(ProtocolError::BadId),
        ),
        (|p| p.version = 0, Some(ProtocolError::BadVersion)),
        (
            |p| p.high.response = " ".to_owned(),
            Some(ProtocolError::EmptyWording("high")),
        ),
        (
            |p| p.high.next_set_minutes = Some(15),
            Some(ProtocolError::IntervalTooLong("high")),
        ),
        (
            |p| p.medium.next_set_minutes = None,
            Some(ProtocolError::IntervalTooLong("medium")),
        ),
        (
            |p| p.postnatal_days = 7,
            Some(ProtocolError::BadPostnatalDays),
        ),
    ];
    for (change, expected) in cases {
        let mut protocol = ResponseProtocol::community();
        change(&mut protocol);
        assert_eq!(protocol.validate().err(), expected);
    }
    // "At the next visit" is the community's for a score of 0 only.
    let mut hospital = ResponseProtocol::royal_college_of_physicians();
    hospital.score_zero.next_set_minutes = None;
    assert_eq!(
        hospital.validate(),
        Err(ProtocolError::IntervalTooLong("score_zero"))
    );
}

#[test]
fn a_partial_set_is_due_as_its_floor_demands() {
    let mut input = neutral();
    input.temperature = None;
    input.respiration_rate = Some(26); // 3: at least low-medium
    let result = score_input(&input);
    let guidance = ResponseProtocol::community().guidance_for(&result);
    assert_eq!(guidance.next_set_minutes, Some(60));
    let empty = score(&VitalSigns::default(), Spo2Scale::Scale1);
    assert_eq!(
        ResponseProtocol::community()
            .guidance_for(&empty)
            .next_set_minutes,
        None
    );
}
