//! Values that are valid but rare enough to be a slip more often than a reading: SpO2 39 where 93
//! was meant, a respiration rate of 61. The core asks for them to be checked before a set is
//! saved, and keeps the confirmation with the set.

use serde::Serialize;

use crate::vitals::{Field, VitalSigns};

/// One row of the table: below `low` or above `high` asks "check this value". Temperatures are
/// in tenths of a degree, as the chart reads them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnusualRange {
    pub field: Field,
    pub low: i32,
    pub high: i32,
    pub unit: &'static str,
}

/// The table. Each bound is the edge of what the issue's clinical reviewers asked for; a value on
/// the bound itself is not unusual.
pub const UNUSUAL: [UnusualRange; 5] = [
    UnusualRange {
        field: Field::Spo2,
        low: 70,
        high: i32::MAX,
        unit: "%",
    },
    UnusualRange {
        field: Field::RespirationRate,
        low: 6,
        high: 45,
        unit: "breaths/min",
    },
    UnusualRange {
        field: Field::Pulse,
        low: 35,
        high: 180,
        unit: "beats/min",
    },
    UnusualRange {
        field: Field::SystolicBp,
        low: 60,
        high: 250,
        unit: "mmHg",
    },
    UnusualRange {
        field: Field::Temperature,
        low: 340,
        high: 415,
        unit: "°C",
    },
];

/// A value that asks to be checked, and why, in words that carry the bound but not the value (the
/// shell shows the value beside it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Unusual {
    pub field: Field,
    pub message: String,
}

fn reading(vitals: &VitalSigns, field: Field) -> Option<i32> {
    match field {
        Field::Spo2 => vitals.spo2.map(i32::from),
        Field::RespirationRate => vitals.respiration_rate.map(i32::from),
        Field::Pulse => vitals.pulse.map(i32::from),
        Field::SystolicBp => vitals.systolic_bp.map(i32::from),
        Field::Temperature => vitals.temperature.map(|t| t.tenths()),
        Field::Spo2Scale | Field::OnOxygen | Field::Consciousness => None,
    }
}

fn shown(range: &UnusualRange, bound: i32) -> String {
    if range.field == Field::Temperature {
        format!("{:.1} {}", f64::from(bound) / 10.0, range.unit)
    } else {
        format!("{bound} {}", range.unit)
    }
}

/// Every present value outside its usual range, in the table's order.
pub fn unusual_values(vitals: &VitalSigns) -> Vec<Unusual> {
    UNUSUAL
        .iter()
        .filter_map(|range| {
            let value = reading(vitals, range.field)?;
            let side = if value < range.low {
                format!("below {}", shown(range, range.low))
            } else if value > range.high {
                format!("above {}", shown(range, range.high))
            } else {
                return None;
            };
            Some(Unusual {
                field: range.field,
                message: format!(
                    "{} is {side}, which is rare: check this value",
                    capitalised(range.field.label())
                ),
            })
        })
        .collect()
}

fn capitalised(label: &str) -> String {
    let mut chars = label.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vitals::VitalsInput;

    fn vitals(json: &str) -> VitalSigns {
        VitalsInput::from_json(json).unwrap().0.validate().unwrap()
    }

    #[test]
    fn each_bound_is_usual_and_one_step_beyond_is_not() {
        // (field's JSON key, the bound, one step beyond it)
        let table = [
            ("spo2", "70", "69"),
            ("respiration_rate", "6", "5"),
            ("respiration_rate", "45", "46"),
            ("pulse", "35", "34"),
            ("pulse", "180", "181"),
            ("systolic_bp", "60", "59"),
            ("systolic_bp", "250", "251"),
            ("temperature", "34.0", "33.9"),
            ("temperature", "41.5", "41.6"),
        ];
        for (key, bound, beyond) in table {
            let at_bound = vitals(&format!("{{\"{key}\": {bound}}}"));
            assert!(unusual_values(&at_bound).is_empty(), "{key} {bound}");
            let past = vitals(&format!("{{\"{key}\": {beyond}}}"));
            let found = unusual_values(&past);
            assert_eq!(found.len(), 1, "{key} {beyond}");
            assert_eq!(found[0].field.key(), key);
        }
    }

    #[test]
    fn the_issue_examples_ask_for_a_check_with_the_bound_in_words() {
        let found = unusual_values(&vitals(r#"{"spo2": 39, "respiration_rate": 61}"#));
        let messages: Vec<&str> = found.iter().map(|u| u.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "SpO2 is below 70 %, which is rare: check this value",
                "Respiration rate is above 45 breaths/min, which is rare: check this value",
            ]
        );
        let ordinary = vitals(
            r#"{"respiration_rate": 18, "spo2": 96, "on_oxygen": false, "systolic_bp": 128, "pulse": 76, "consciousness": "A", "temperature": 37.1}"#,
        );
        assert!(unusual_values(&ordinary).is_empty());
    }
}
