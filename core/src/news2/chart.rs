//! The observation chart's coloured bands, read off the scoring functions themselves: each
//! parameter's accepted range is swept value by value through [`super::bands`] and runs of equal
//! score become one band. The chart therefore cannot disagree with the score, and no front end
//! keeps a second copy of the RCP table.

use serde::Serialize;

use super::bands;
use crate::vitals::{Spo2Scale, limits};

/// Values from `from` to `to` (inclusive, at the chart's precision) score `score`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Band {
    pub from: f64,
    pub to: f64,
    pub score: u8,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ParameterBands {
    /// The field key, as in the vitals contract (`respiration_rate`, `spo2`…).
    pub parameter: &'static str,
    pub unit: &'static str,
    pub bands: Vec<Band>,
    /// What the bands assume, when they cannot show everything (Scale 2 above 92%).
    pub note: Option<&'static str>,
}

fn sweep(values: impl Iterator<Item = (f64, u8)>, step: f64) -> Vec<Band> {
    let mut out: Vec<Band> = Vec::new();
    for (value, score) in values {
        match out.last_mut() {
            Some(band) if band.score == score && (value - band.to - step).abs() < step / 2.0 => {
                band.to = value;
            }
            _ => out.push(Band {
                from: value,
                to: value,
                score,
            }),
        }
    }
    out
}

fn integers(range: std::ops::RangeInclusive<i64>, score: impl Fn(i64) -> u8) -> Vec<Band> {
    sweep(range.map(|value| (value as f64, score(value))), 1.0)
}

/// The bands of every numeric parameter on `scale`, in chart order.
pub fn chart_bands(scale: Spo2Scale) -> Vec<ParameterBands> {
    let as_u16 = |value: i64| u16::try_from(value).unwrap_or(u16::MAX);
    let as_u8 = |value: i64| u8::try_from(value).unwrap_or(u8::MAX);
    let spo2 = match scale {
        Spo2Scale::Scale1 => ParameterBands {
            parameter: "spo2",
            unit: "%",
            bands: integers(limits::SPO2, |v| bands::spo2_scale_1(as_u8(v))),
            note: None,
        },
        Spo2Scale::Scale2 => ParameterBands {
            parameter: "spo2",
            unit: "%",
            // 93% and above score only on oxygen; the chart shows the on-oxygen bands.
            bands: integers(limits::SPO2, |v| {
                bands::spo2_scale_2(as_u8(v), Some(true)).unwrap_or(3)
            }),
            note: Some("Scale 2: at 93% and above the bands apply on oxygen; on air they score 0"),
        },
    };
    let (low, high) = (
        (limits::TEMPERATURE_CELSIUS.start() * 10.0).round() as i32,
        (limits::TEMPERATURE_CELSIUS.end() * 10.0).round() as i32,
    );
    vec![
        ParameterBands {
            parameter: "respiration_rate",
            unit: "/min",
            bands: integers(limits::RESPIRATION_RATE, |v| {
                bands::respiration_rate(as_u16(v))
            }),
            note: None,
        },
        spo2,
        ParameterBands {
            parameter: "systolic_bp",
            unit: "mmHg",
            bands: integers(limits::SYSTOLIC_BP, |v| bands::systolic_bp(as_u16(v))),
            note: None,
        },
        ParameterBands {
            parameter: "pulse",
            unit: "/min",
            bands: integers(limits::PULSE, |v| bands::pulse(as_u16(v))),
            note: None,
        },
        ParameterBands {
            parameter: "temperature",
            unit: "°C",
            bands: sweep(
                (low..=high).map(|tenths| (f64::from(tenths) / 10.0, bands::temperature(tenths))),
                0.1,
            ),
            note: None,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bands_of(scale: Spo2Scale, parameter: &str) -> Vec<(f64, f64, u8)> {
        chart_bands(scale)
            .into_iter()
            .find(|p| p.parameter == parameter)
            .unwrap()
            .bands
            .into_iter()
            .map(|b| (b.from, b.to, b.score))
            .collect()
    }

    #[test]
    fn bands_match_the_rcp_chart_as_printed() {
        let table = [
            (
                Spo2Scale::Scale1,
                "respiration_rate",
                vec![
                    (1.0, 8.0, 3),
                    (9.0, 11.0, 1),
                    (12.0, 20.0, 0),
                    (21.0, 24.0, 2),
                    (25.0, 80.0, 3),
                ],
            ),
            (
                Spo2Scale::Scale1,
                "spo2",
                vec![
                    (30.0, 91.0, 3),
                    (92.0, 93.0, 2),
                    (94.0, 95.0, 1),
                    (96.0, 100.0, 0),
                ],
            ),
            (
                Spo2Scale::Scale2,
                "spo2",
                vec![
                    (30.0, 83.0, 3),
                    (84.0, 85.0, 2),
                    (86.0, 87.0, 1),
                    (88.0, 92.0, 0),
                    (93.0, 94.0, 1),
                    (95.0, 96.0, 2),
                    (97.0, 100.0, 3),
                ],
            ),
            (
                Spo2Scale::Scale1,
                "systolic_bp",
                vec![
                    (30.0, 90.0, 3),
                    (91.0, 100.0, 2),
                    (101.0, 110.0, 1),
                    (111.0, 219.0, 0),
                    (220.0, 300.0, 3),
                ],
            ),
            (
                Spo2Scale::Scale1,
                "pulse",
                vec![
                    (20.0, 40.0, 3),
                    (41.0, 50.0, 1),
                    (51.0, 90.0, 0),
                    (91.0, 110.0, 1),
                    (111.0, 130.0, 2),
                    (131.0, 300.0, 3),
                ],
            ),
            (
                Spo2Scale::Scale1,
                "temperature",
                vec![
                    (25.0, 35.0, 3),
                    (35.1, 36.0, 1),
                    (36.1, 38.0, 0),
                    (38.1, 39.0, 1),
                    (39.1, 45.0, 2),
                ],
            ),
        ];
        for (scale, parameter, expected) in table {
            let got = bands_of(scale, parameter);
            assert_eq!(
                got.len(),
                expected.len(),
                "{parameter} on {scale:?}: {got:?}"
            );
            for ((from, to, score), (e_from, e_to, e_score)) in got.iter().zip(&expected) {
                assert!(
                    (from - e_from).abs() < 1e-9 && (to - e_to).abs() < 1e-9 && score == e_score,
                    "{parameter} on {scale:?}: {got:?}"
                );
            }
        }
    }
}
