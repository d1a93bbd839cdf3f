//! Vital signs as a clinician records them, validated before anything scores them.
//!
//! [`VitalsInput`] is what arrives from a person or a file: any field may be absent and nothing is
//! trusted. [`VitalsInput::validate`] turns it into [`VitalSigns`], whose every present value lies
//! within a physiologically possible range. Values outside these ranges are typing or device errors;
//! they are refused with the field and the accepted range named, never scored.

use std::fmt;
use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::additional::{
    AdditionalError, AdditionalField, AdditionalInput, AdditionalObservations,
};

/// Level of consciousness on the ACVPU scale (NEWS2 uses "new confusion" as C).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Acvpu {
    #[serde(rename = "A")]
    Alert,
    /// New-onset or worsening confusion; long-standing confusion is recorded as Alert.
    #[serde(rename = "C")]
    NewConfusion,
    #[serde(rename = "V")]
    Voice,
    #[serde(rename = "P")]
    Pain,
    #[serde(rename = "U")]
    Unresponsive,
}

impl Acvpu {
    pub const ALL: [Acvpu; 5] = [
        Acvpu::Alert,
        Acvpu::NewConfusion,
        Acvpu::Voice,
        Acvpu::Pain,
        Acvpu::Unresponsive,
    ];

    /// The single letter used on the chart and in the `doorstep news2` contract.
    pub fn letter(self) -> &'static str {
        match self {
            Acvpu::Alert => "A",
            Acvpu::NewConfusion => "C",
            Acvpu::Voice => "V",
            Acvpu::Pain => "P",
            Acvpu::Unresponsive => "U",
        }
    }

    pub fn from_letter(letter: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|level| level.letter().eq_ignore_ascii_case(letter.trim()))
    }

    pub fn description(self) -> &'static str {
        match self {
            Acvpu::Alert => "alert",
            Acvpu::NewConfusion => "new confusion",
            Acvpu::Voice => "responds to voice",
            Acvpu::Pain => "responds to pain",
            Acvpu::Unresponsive => "unresponsive",
        }
    }
}

/// Which SpO2 scoring scale applies.
///
/// Scale 2 is only for patients with confirmed hypercapnic respiratory failure and a prescribed
/// target of 88–92%, on a clinician's documented decision; everyone else is Scale 1.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum Spo2Scale {
    #[default]
    Scale1,
    Scale2,
}

impl From<Spo2Scale> for u8 {
    fn from(scale: Spo2Scale) -> u8 {
        match scale {
            Spo2Scale::Scale1 => 1,
            Spo2Scale::Scale2 => 2,
        }
    }
}

impl TryFrom<u8> for Spo2Scale {
    type Error = String;

    fn try_from(value: u8) -> Result<Self, Self::Error> {
        match value {
            1 => Ok(Spo2Scale::Scale1),
            2 => Ok(Spo2Scale::Scale2),
            other => Err(format!("SpO2 scale is 1 or 2, not {other}")),
        }
    }
}

/// Body temperature in °C, kept exactly as entered.
///
/// The NEWS2 chart defines temperature to one decimal place, so scoring uses
/// [`Temperature::tenths`], the entered value rounded half away from zero at one decimal. The
/// rounding works on the value's shortest decimal form, so 38.05 rounds to 38.1 as a person would
/// expect, not to 38.0 as binary floating point would.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Temperature(f64);

impl Temperature {
    pub fn celsius(self) -> f64 {
        self.0
    }

    /// The temperature in tenths of a degree, as the chart reads it (37.46 → 375).
    pub fn tenths(self) -> i32 {
        decimal_tenths(self.0)
    }
}

/// Rounds to tenths, half away from zero, using the shortest decimal text that reproduces `value`.
fn decimal_tenths(value: f64) -> i32 {
    // `Display` for f64 prints the shortest round-tripping decimal and never uses an exponent, so
    // the text is exactly the number a person typed for any value that came from decimal input.
    let text = format!("{}", value.abs());
    let (whole, fraction) = text.split_once('.').unwrap_or((text.as_str(), ""));
    let whole: i64 = whole.parse().unwrap_or(0);
    let mut fraction_digits = fraction.bytes().map(|b| i64::from(b - b'0'));
    let tenths_digit = fraction_digits.next().unwrap_or(0);
    let hundredths_digit = fraction_digits.next().unwrap_or(0);
    let mut tenths = whole * 10 + tenths_digit;
    if hundredths_digit >= 5 {
        tenths += 1;
    }
    let signed = if value < 0.0 { -tenths } else { tenths };
    // Validated temperatures lie within 25–45 °C, far inside i32.
    i32::try_from(signed).unwrap_or(i32::MAX)
}

/// A field of an observation set, named as in the `doorstep news2` contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    RespirationRate,
    Spo2,
    Spo2Scale,
    OnOxygen,
    SystolicBp,
    Pulse,
    Consciousness,
    Temperature,
}

impl Field {
    pub const ALL: [Field; 8] = [
        Field::RespirationRate,
        Field::Spo2,
        Field::Spo2Scale,
        Field::OnOxygen,
        Field::SystolicBp,
        Field::Pulse,
        Field::Consciousness,
        Field::Temperature,
    ];

    /// The JSON key and CLI flag stem.
    pub fn key(self) -> &'static str {
        match self {
            Field::RespirationRate => "respiration_rate",
            Field::Spo2 => "spo2",
            Field::Spo2Scale => "spo2_scale",
            Field::OnOxygen => "on_oxygen",
            Field::SystolicBp => "systolic_bp",
            Field::Pulse => "pulse",
            Field::Consciousness => "consciousness",
            Field::Temperature => "temperature",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|field| field.key() == key)
    }

    /// How the field reads to a clinician.
    pub fn label(self) -> &'static str {
        match self {
            Field::RespirationRate => "respiration rate",
            Field::Spo2 => "SpO2",
            Field::Spo2Scale => "SpO2 scale",
            Field::OnOxygen => "air or oxygen",
            Field::SystolicBp => "systolic blood pressure",
            Field::Pulse => "pulse",
            Field::Consciousness => "consciousness",
            Field::Temperature => "temperature",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// The accepted range of each measured value. Wide enough for any reading a living patient can
/// produce, narrow enough to catch a slipped digit (SpO2 955, pulse 7) or a wrong unit (98.6 °F).
pub mod limits {
    use std::ops::RangeInclusive;

    pub const RESPIRATION_RATE: RangeInclusive<i64> = 1..=80;
    pub const SPO2: RangeInclusive<i64> = 30..=100;
    pub const SYSTOLIC_BP: RangeInclusive<i64> = 30..=300;
    pub const PULSE: RangeInclusive<i64> = 20..=300;
    pub const TEMPERATURE_CELSIUS: RangeInclusive<f64> = 25.0..=45.0;
}

/// Why a value was refused. The message names the field and what would be accepted; it never
/// repeats the rejected value's context beyond the field, so it is safe to show and to log.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum VitalsError {
    #[error("{} must be a whole number from {} to {} {unit}", field.label(), range.start(), range.end())]
    IntegerOutOfRange {
        field: Field,
        range: RangeInclusive<i64>,
        unit: &'static str,
    },
    #[error("{} must be a number from {:.1} to {:.1} °C", field.label(), range.start(), range.end())]
    TemperatureOutOfRange {
        field: Field,
        range: RangeInclusive<f64>,
    },
    #[error(
        "consciousness must be one of A (alert), C (new confusion), V (voice), P (pain), U (unresponsive)"
    )]
    UnknownConsciousness { field: Field },
    #[error("spo2_scale must be 1 or 2")]
    UnknownScale { field: Field },
    #[error("on_oxygen must be true (on oxygen) or false (on air)")]
    NotABoolean { field: Field },
    #[error("{} must be a {expected}", field.label())]
    WrongType {
        field: Field,
        expected: &'static str,
    },
    #[error(
        "unknown field; the fields are respiration_rate, spo2, spo2_scale, on_oxygen, systolic_bp, pulse, consciousness and temperature, and beside them diastolic_bp, blood_glucose, pain_score, oxygen_device, oxygen_flow, gcs_eye, gcs_verbal, gcs_motor, fetal_heart_rate and urine_protein"
    )]
    UnknownField { key: String },
    /// An additional observation (never scored) was refused.
    #[error(transparent)]
    Additional(#[from] AdditionalError),
    #[error("each line must be one JSON object of vital signs: {detail}")]
    NotAnObject { detail: String },
}

impl VitalsError {
    /// The contract key of the field at fault (for an unknown field, the key as given); `None` when
    /// the input was not an object at all.
    pub fn field_key(&self) -> Option<&str> {
        match self {
            VitalsError::IntegerOutOfRange { field, .. }
            | VitalsError::TemperatureOutOfRange { field, .. }
            | VitalsError::UnknownConsciousness { field }
            | VitalsError::UnknownScale { field }
            | VitalsError::NotABoolean { field }
            | VitalsError::WrongType { field, .. } => Some(field.key()),
            VitalsError::UnknownField { key } => Some(key),
            VitalsError::Additional(error) => Some(error.field().key()),
            VitalsError::NotAnObject { .. } => None,
        }
    }
}

/// Raw vital signs as entered; nothing here is trusted until [`VitalsInput::validate`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VitalsInput {
    pub respiration_rate: Option<i64>,
    pub spo2: Option<i64>,
    pub spo2_scale: Option<u8>,
    pub on_oxygen: Option<bool>,
    pub systolic_bp: Option<i64>,
    pub pulse: Option<i64>,
    pub consciousness: Option<String>,
    pub temperature: Option<f64>,
    /// Observations entered beside the vital signs; never scored.
    #[serde(flatten)]
    pub additional: AdditionalInput,
}

/// Validated vital signs: every present value is within its accepted range. Any may be absent; a
/// set with an absent parameter is partial and NEWS2 will not give it a total.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VitalSigns {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub respiration_rate: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spo2: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_oxygen: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systolic_bp: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pulse: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consciousness: Option<Acvpu>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<Temperature>,
}

fn checked_integer<T: TryFrom<i64>>(
    field: Field,
    value: Option<i64>,
    range: RangeInclusive<i64>,
    unit: &'static str,
) -> Result<Option<T>, VitalsError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let out_of_range = || VitalsError::IntegerOutOfRange {
        field,
        range: range.clone(),
        unit,
    };
    if !range.contains(&value) {
        return Err(out_of_range());
    }
    T::try_from(value).map(Some).map_err(|_| out_of_range())
}

impl VitalsInput {
    /// Parses one JSON object in the `doorstep news2` contract shape. Types are checked per field so
    /// the error can name the field: a fractional pulse is refused, not truncated.
    pub fn from_json(line: &str) -> Result<(Self, Spo2Scale), VitalsError> {
        let value: Value =
            serde_json::from_str(line).map_err(|error| VitalsError::NotAnObject {
                detail: error.to_string(),
            })?;
        let Value::Object(object) = value else {
            return Err(VitalsError::NotAnObject {
                detail: "found a JSON value that is not an object".to_owned(),
            });
        };
        let input = Self::from_json_object(&object)?;
        let scale = input.scale()?;
        Ok((input, scale))
    }

    /// As [`VitalsInput::from_json`], from an already parsed object.
    pub fn from_json_object(object: &Map<String, Value>) -> Result<Self, VitalsError> {
        let mut input = VitalsInput::default();
        for (key, value) in object {
            let Some(field) = Field::from_key(key) else {
                match AdditionalField::from_key(key) {
                    Some(field) => input.additional.set(field, value)?,
                    None => return Err(VitalsError::UnknownField { key: key.clone() }),
                }
                continue;
            };
            if value.is_null() {
                continue;
            }
            match field {
                Field::RespirationRate => {
                    input.respiration_rate = Some(json_integer(field, value)?)
                }
                Field::Spo2 => input.spo2 = Some(json_integer(field, value)?),
                Field::SystolicBp => input.systolic_bp = Some(json_integer(field, value)?),
                Field::Pulse => input.pulse = Some(json_integer(field, value)?),
                Field::Spo2Scale => {
                    input.spo2_scale = Some(
                        value
                            .as_u64()
                            .and_then(|n| u8::try_from(n).ok())
                            .ok_or(VitalsError::UnknownScale { field })?,
                    );
                }
                Field::OnOxygen => {
                    input.on_oxygen =
                        Some(value.as_bool().ok_or(VitalsError::NotABoolean { field })?);
                }
                Field::Consciousness => {
                    input.consciousness = Some(
                        value
                            .as_str()
                            .ok_or(VitalsError::UnknownConsciousness { field })?
                            .to_owned(),
                    );
                }
                Field::Temperature => {
                    input.temperature = Some(value.as_f64().ok_or(VitalsError::WrongType {
                        field,
                        expected: "number in °C",
                    })?);
                }
            }
        }
        Ok(input)
    }

    /// Checks each entered value on its own, as a form does while values are typed: the values
    /// that pass, and one error for each value that does not. Nothing here is scored; a field
    /// with an error is simply absent, so the set reads as partial until it is fixed.
    pub fn validate_each(object: &Map<String, Value>) -> (VitalSigns, Vec<VitalsError>) {
        let mut valid = Map::new();
        let mut errors = Vec::new();
        for (key, value) in object {
            let single: Map<String, Value> =
                std::iter::once((key.clone(), value.clone())).collect();
            let checked = Self::from_json_object(&single).and_then(|input| {
                input.additional.check_values()?;
                input.validate()
            });
            match checked {
                Ok(_) => {
                    valid.insert(key.clone(), value.clone());
                }
                Err(error) => errors.push(error),
            }
        }
        match Self::from_json_object(&valid).and_then(|input| input.validate()) {
            Ok(signs) => (signs, errors),
            Err(error) => {
                errors.push(error);
                (VitalSigns::default(), errors)
            }
        }
    }

    /// The SpO2 scale the input asks for; Scale 1 when it names none.
    pub fn scale(&self) -> Result<Spo2Scale, VitalsError> {
        match self.spo2_scale {
            None => Ok(Spo2Scale::Scale1),
            Some(n) => Spo2Scale::try_from(n).map_err(|_| VitalsError::UnknownScale {
                field: Field::Spo2Scale,
            }),
        }
    }

    /// The additional observations entered with these vital signs, each in range and consistent
    /// with `vitals` (the validated signs of the same set); `pregnant`: whether the record says so
    /// on the day the set is taken.
    pub fn validate_additional(
        &self,
        vitals: &VitalSigns,
        pregnant: bool,
    ) -> Result<AdditionalObservations, VitalsError> {
        Ok(self.additional.validate(crate::additional::Context {
            systolic_bp: vitals.systolic_bp,
            on_oxygen: vitals.on_oxygen,
            pregnant,
        })?)
    }

    /// Checks every present value; the first failure names its field.
    pub fn validate(&self) -> Result<VitalSigns, VitalsError> {
        self.scale()?;
        let consciousness = match &self.consciousness {
            None => None,
            Some(letter) => Some(Acvpu::from_letter(letter).ok_or(
                VitalsError::UnknownConsciousness {
                    field: Field::Consciousness,
                },
            )?),
        };
        let temperature = match self.temperature {
            None => None,
            Some(celsius) if limits::TEMPERATURE_CELSIUS.contains(&celsius) => {
                Some(Temperature(celsius))
            }
            Some(_) => {
                return Err(VitalsError::TemperatureOutOfRange {
                    field: Field::Temperature,
                    range: limits::TEMPERATURE_CELSIUS,
                });
            }
        };
        Ok(VitalSigns {
            respiration_rate: checked_integer(
                Field::RespirationRate,
                self.respiration_rate,
                limits::RESPIRATION_RATE,
                "breaths/min",
            )?,
            spo2: checked_integer(Field::Spo2, self.spo2, limits::SPO2, "%")?,
            on_oxygen: self.on_oxygen,
            systolic_bp: checked_integer(
                Field::SystolicBp,
                self.systolic_bp,
                limits::SYSTOLIC_BP,
                "mmHg",
            )?,
            pulse: checked_integer(Field::Pulse, self.pulse, limits::PULSE, "beats/min")?,
            consciousness,
            temperature,
        })
    }
}

fn json_integer(field: Field, value: &Value) -> Result<i64, VitalsError> {
    if let Some(n) = value.as_i64() {
        return Ok(n);
    }
    // 18.0 is a whole number written as a float; accept it, refuse 18.5.
    if let Some(f) = value.as_f64()
        && f.fract() == 0.0
        && f.abs() < 1e9
    {
        return Ok(f as i64);
    }
    Err(VitalsError::WrongType {
        field,
        expected: "whole number",
    })
}

impl VitalSigns {
    /// Back to raw input form, e.g. to re-validate or to show in an edit form.
    pub fn to_input(&self, scale: Spo2Scale) -> VitalsInput {
        VitalsInput {
            respiration_rate: self.respiration_rate.map(i64::from),
            spo2: self.spo2.map(i64::from),
            spo2_scale: Some(u8::from(scale)),
            on_oxygen: self.on_oxygen,
            systolic_bp: self.systolic_bp.map(i64::from),
            pulse: self.pulse.map(i64::from),
            consciousness: self.consciousness.map(|c| c.letter().to_owned()),
            temperature: self.temperature.map(Temperature::celsius),
            additional: AdditionalInput::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_value_is_checked_alone_so_a_bad_one_does_not_hide_the_good_ones() {
        let entered = serde_json::json!({
            "respiration_rate": 18,
            "pulse": 400,
            "temperature": 36.8,
            "consciousness": "Q",
        });
        let (signs, errors) = VitalsInput::validate_each(entered.as_object().unwrap());
        assert_eq!(signs.respiration_rate, Some(18));
        assert_eq!(signs.pulse, None);
        assert!(signs.temperature.is_some());
        let fields: Vec<_> = errors.iter().filter_map(VitalsError::field_key).collect();
        assert_eq!(fields, ["pulse", "consciousness"]);
    }

    #[test]
    fn temperature_rounds_at_one_decimal_like_a_person_would() {
        let cases = [
            (37.5, 375),
            (38.05, 381),
            (38.04, 380),
            (36.05, 361),
            (35.0, 350),
            (35.04, 350),
            (35.05, 351),
            (39.149, 391),
            (39.0, 390),
            (25.0, 250),
            (45.0, 450),
        ];
        for (celsius, tenths) in cases {
            assert_eq!(Temperature(celsius).tenths(), tenths, "{celsius}");
        }
    }

    #[test]
    fn impossible_values_are_refused_naming_field_and_range() {
        let cases: &[(&str, Option<&str>, &str)] = &[
            (
                r#"{"spo2": 101}"#,
                Some("spo2"),
                "SpO2 must be a whole number from 30 to 100 %",
            ),
            (
                r#"{"respiration_rate": -4}"#,
                Some("respiration_rate"),
                "from 1 to 80",
            ),
            (r#"{"pulse": 0}"#, Some("pulse"), "from 20 to 300"),
            (
                r#"{"systolic_bp": 400}"#,
                Some("systolic_bp"),
                "from 30 to 300",
            ),
            (
                r#"{"temperature": 98.6}"#,
                Some("temperature"),
                "from 25.0 to 45.0 °C",
            ),
            (
                r#"{"temperature": 24.9}"#,
                Some("temperature"),
                "from 25.0 to 45.0 °C",
            ),
            (
                r#"{"consciousness": "X"}"#,
                Some("consciousness"),
                "one of A",
            ),
            (r#"{"consciousness": 1}"#, Some("consciousness"), "one of A"),
            (r#"{"spo2_scale": 3}"#, Some("spo2_scale"), "1 or 2"),
            (r#"{"on_oxygen": "yes"}"#, Some("on_oxygen"), "true"),
            (r#"{"pulse": 88.5}"#, Some("pulse"), "whole number"),
            (r#"{"pulse": "88"}"#, Some("pulse"), "whole number"),
            (r#"{"puls": 88}"#, Some("puls"), "unknown field"),
            (r#"[1,2]"#, None, "JSON object"),
            (r#"{"pulse": "#, None, "JSON object"),
        ];
        for (line, field, message) in cases {
            let error = VitalsInput::from_json(line)
                .and_then(|(input, _)| input.validate())
                .unwrap_err();
            assert_eq!(error.field_key(), *field, "{line}");
            assert!(error.to_string().contains(message), "{line}: {error}");
        }
    }

    #[test]
    fn range_edges_are_accepted() {
        let line = r#"{"respiration_rate": 80, "spo2": 30, "systolic_bp": 300, "pulse": 20, "temperature": 45.0}"#;
        let (input, _) = VitalsInput::from_json(line).unwrap();
        let vitals = input.validate().unwrap();
        assert_eq!(vitals.respiration_rate, Some(80));
        assert_eq!(vitals.spo2, Some(30));
        let line = r#"{"respiration_rate": 1, "spo2": 100, "systolic_bp": 30, "pulse": 300, "temperature": 25}"#;
        assert!(VitalsInput::from_json(line).unwrap().0.validate().is_ok());
    }

    #[test]
    fn consciousness_letters_are_case_insensitive_and_whole_floats_accepted() {
        let (input, scale) = VitalsInput::from_json(
            r#"{"consciousness": "c", "pulse": 88.0, "spo2_scale": 2, "spo2": null}"#,
        )
        .unwrap();
        assert_eq!(scale, Spo2Scale::Scale2);
        let vitals = input.validate().unwrap();
        assert_eq!(vitals.consciousness, Some(Acvpu::NewConfusion));
        assert_eq!(vitals.pulse, Some(88));
        assert_eq!(vitals.spo2, None);
    }
}
