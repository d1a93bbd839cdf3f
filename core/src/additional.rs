//! Observations recorded beside the NEWS2 vital signs and never part of its score: what a crew
//! or a midwife records next to them (diastolic pressure, blood glucose, pain, the oxygen given,
//! GCS; for a pregnancy the fetal heart and urine protein).
//!
//! They arrive in the same JSON object as the vital signs (the `--vitals` contract), are checked
//! here against accepted ranges with errors that name the field and the range, and are stored
//! with the set. Nothing in NEWS2 reads them: [`crate::news2`] sees only [`crate::vitals::VitalSigns`].

use std::collections::BTreeMap;
use std::fmt;
use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An additional observation, named as in the `--vitals` contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdditionalField {
    DiastolicBp,
    BloodGlucose,
    PainScore,
    OxygenDevice,
    OxygenFlow,
    GcsEye,
    GcsVerbal,
    GcsMotor,
    FetalHeartRate,
    UrineProtein,
}

impl AdditionalField {
    pub const ALL: [AdditionalField; 10] = [
        AdditionalField::DiastolicBp,
        AdditionalField::BloodGlucose,
        AdditionalField::PainScore,
        AdditionalField::OxygenDevice,
        AdditionalField::OxygenFlow,
        AdditionalField::GcsEye,
        AdditionalField::GcsVerbal,
        AdditionalField::GcsMotor,
        AdditionalField::FetalHeartRate,
        AdditionalField::UrineProtein,
    ];

    /// The JSON key.
    pub fn key(self) -> &'static str {
        match self {
            AdditionalField::DiastolicBp => "diastolic_bp",
            AdditionalField::BloodGlucose => "blood_glucose",
            AdditionalField::PainScore => "pain_score",
            AdditionalField::OxygenDevice => "oxygen_device",
            AdditionalField::OxygenFlow => "oxygen_flow",
            AdditionalField::GcsEye => "gcs_eye",
            AdditionalField::GcsVerbal => "gcs_verbal",
            AdditionalField::GcsMotor => "gcs_motor",
            AdditionalField::FetalHeartRate => "fetal_heart_rate",
            AdditionalField::UrineProtein => "urine_protein",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|field| field.key() == key)
    }

    /// How the field reads to a clinician.
    pub fn label(self) -> &'static str {
        match self {
            AdditionalField::DiastolicBp => "diastolic blood pressure",
            AdditionalField::BloodGlucose => "blood glucose",
            AdditionalField::PainScore => "pain score",
            AdditionalField::OxygenDevice => "oxygen device",
            AdditionalField::OxygenFlow => "oxygen flow rate",
            AdditionalField::GcsEye => "GCS eye opening",
            AdditionalField::GcsVerbal => "GCS verbal response",
            AdditionalField::GcsMotor => "GCS motor response",
            AdditionalField::FetalHeartRate => "fetal heart rate",
            AdditionalField::UrineProtein => "urine protein",
        }
    }
}

impl fmt::Display for AdditionalField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// The accepted range of each value: wide enough for any reading a living patient (or fetus) can
/// give, narrow enough to catch a slipped digit or a wrong unit (glucose in mg/dL, 110).
pub mod limits {
    use std::ops::RangeInclusive;

    pub const DIASTOLIC_BP: RangeInclusive<i64> = 10..=200;
    pub const BLOOD_GLUCOSE_MMOL_PER_L: RangeInclusive<f64> = 0.5..=50.0;
    pub const PAIN_SCORE: RangeInclusive<i64> = 0..=10;
    /// From an infant's low-flow oxygen to high-flow nasal oxygen.
    pub const OXYGEN_FLOW_L_PER_MIN: RangeInclusive<f64> = 0.01..=60.0;
    pub const GCS_EYE: RangeInclusive<i64> = 1..=4;
    pub const GCS_VERBAL: RangeInclusive<i64> = 1..=5;
    pub const GCS_MOTOR: RangeInclusive<i64> = 1..=6;
    pub const FETAL_HEART_RATE: RangeInclusive<i64> = 50..=250;
}

/// How oxygen is given (the devices of the BTS guideline for oxygen use in adults, 2017).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OxygenDevice {
    NasalCannula,
    SimpleMask,
    VenturiMask,
    ReservoirMask,
    HighFlowNasal,
    TracheostomyMask,
    CpapOrNiv,
}

impl OxygenDevice {
    pub const ALL: [OxygenDevice; 7] = [
        OxygenDevice::NasalCannula,
        OxygenDevice::SimpleMask,
        OxygenDevice::VenturiMask,
        OxygenDevice::ReservoirMask,
        OxygenDevice::HighFlowNasal,
        OxygenDevice::TracheostomyMask,
        OxygenDevice::CpapOrNiv,
    ];

    pub fn key(self) -> &'static str {
        match self {
            OxygenDevice::NasalCannula => "nasal-cannula",
            OxygenDevice::SimpleMask => "simple-mask",
            OxygenDevice::VenturiMask => "venturi-mask",
            OxygenDevice::ReservoirMask => "reservoir-mask",
            OxygenDevice::HighFlowNasal => "high-flow-nasal",
            OxygenDevice::TracheostomyMask => "tracheostomy-mask",
            OxygenDevice::CpapOrNiv => "cpap-or-niv",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            OxygenDevice::NasalCannula => "nasal cannula",
            OxygenDevice::SimpleMask => "simple face mask",
            OxygenDevice::VenturiMask => "Venturi mask",
            OxygenDevice::ReservoirMask => "reservoir (non-rebreather) mask",
            OxygenDevice::HighFlowNasal => "high-flow nasal oxygen",
            OxygenDevice::TracheostomyMask => "tracheostomy mask",
            OxygenDevice::CpapOrNiv => "CPAP or NIV",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|device| device.key() == key)
    }

    /// As a chart column has room for it.
    pub fn abbreviation(self) -> &'static str {
        match self {
            OxygenDevice::NasalCannula => "NC",
            OxygenDevice::SimpleMask => "SM",
            OxygenDevice::VenturiMask => "VM",
            OxygenDevice::ReservoirMask => "NRB",
            OxygenDevice::HighFlowNasal => "HFNO",
            OxygenDevice::TracheostomyMask => "TM",
            OxygenDevice::CpapOrNiv => "CPAP",
        }
    }
}

/// Protein on a urine dipstick.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum UrineProtein {
    #[serde(rename = "negative")]
    Negative,
    #[serde(rename = "trace")]
    Trace,
    #[serde(rename = "+")]
    OnePlus,
    #[serde(rename = "++")]
    TwoPlus,
    #[serde(rename = "+++")]
    ThreePlus,
    #[serde(rename = "++++")]
    FourPlus,
}

impl UrineProtein {
    pub const ALL: [UrineProtein; 6] = [
        UrineProtein::Negative,
        UrineProtein::Trace,
        UrineProtein::OnePlus,
        UrineProtein::TwoPlus,
        UrineProtein::ThreePlus,
        UrineProtein::FourPlus,
    ];

    pub fn key(self) -> &'static str {
        match self {
            UrineProtein::Negative => "negative",
            UrineProtein::Trace => "trace",
            UrineProtein::OnePlus => "+",
            UrineProtein::TwoPlus => "++",
            UrineProtein::ThreePlus => "+++",
            UrineProtein::FourPlus => "++++",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|value| value.key() == key.trim())
    }
}

/// A blood glucose as the meter gave it: a number in mmol/L, or HI or LO when the reading was
/// beyond the meter's range (a number typed in its place would be one nobody measured).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Glucose {
    MmolPerL(f64),
    BeyondMeter(MeterLimit),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MeterLimit {
    #[serde(rename = "HI")]
    High,
    #[serde(rename = "LO")]
    Low,
}

/// Glasgow Coma Scale: the three responses, each within its own range. Eye opening can be
/// untestable (eyes closed by swelling, "C") and so can the verbal response (a tube or a
/// tracheostomy, "T"); there is then no total.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gcs {
    pub eye: GcsResponse,
    pub verbal: GcsResponse,
    pub motor: u8,
}

/// One GCS response: its score, or why it could not be tested.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum GcsResponse {
    Score(u8),
    Untestable(Untestable),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Untestable {
    /// Eyes closed by swelling.
    #[serde(rename = "C")]
    EyesClosed,
    /// Intubated or with a tracheostomy: no voice.
    #[serde(rename = "T")]
    Tube,
}

impl GcsResponse {
    pub fn score(self) -> Option<u8> {
        match self {
            GcsResponse::Score(score) => Some(score),
            GcsResponse::Untestable(_) => None,
        }
    }

    /// "4", or "C" / "T" as written after E or V.
    fn written(self) -> String {
        match self {
            GcsResponse::Score(score) => score.to_string(),
            GcsResponse::Untestable(Untestable::EyesClosed) => "C".to_owned(),
            GcsResponse::Untestable(Untestable::Tube) => "T".to_owned(),
        }
    }
}

impl Gcs {
    /// 3 to 15; none when a response could not be tested (a total would understate the patient).
    pub fn total(self) -> Option<u8> {
        Some(self.eye.score()? + self.verbal.score()? + self.motor)
    }

    /// "E4 V5 M6", "E4 VT M6".
    pub fn written(self) -> String {
        format!(
            "E{} V{} M{}",
            self.eye.written(),
            self.verbal.written(),
            self.motor
        )
    }
}

/// Why an additional observation was refused: the field and what would be accepted, never the
/// value itself.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum AdditionalError {
    #[error("{} must be a whole number from {} to {}{unit}", field.label(), range.start(), range.end())]
    IntegerOutOfRange {
        field: AdditionalField,
        range: RangeInclusive<i64>,
        unit: &'static str,
    },
    #[error("{} must be a number from {} to {} {unit}{}", field.label(), range.start(), range.end(), if *field == AdditionalField::BloodGlucose { ", or HI or LO as the meter shows" } else { "" })]
    NumberOutOfRange {
        field: AdditionalField,
        range: RangeInclusive<f64>,
        unit: &'static str,
    },
    #[error(
        "oxygen device must be one of nasal-cannula, simple-mask, venturi-mask, reservoir-mask, high-flow-nasal, tracheostomy-mask, cpap-or-niv"
    )]
    UnknownDevice { field: AdditionalField },
    #[error("urine protein must be one of negative, trace, +, ++, +++, ++++")]
    UnknownProtein { field: AdditionalField },
    #[error("GCS needs all three responses: eye (1 to 4), verbal (1 to 5) and motor (1 to 6)")]
    PartialGcs { field: AdditionalField },
    #[error("diastolic blood pressure must be lower than systolic")]
    DiastolicNotBelowSystolic { field: AdditionalField },
    #[error("a diastolic blood pressure needs the systolic with it: enter the systolic too")]
    DiastolicWithoutSystolic { field: AdditionalField },
    #[error("an oxygen flow rate needs the oxygen device it is given through")]
    FlowWithoutDevice { field: AdditionalField },
    #[error(
        "an oxygen device is recorded: set air or oxygen to oxygen (CPAP or NIV on air may stay on air)"
    )]
    DeviceOnAir { field: AdditionalField },
    #[error(
        "a fetal heart rate needs the pregnancy on the record: record the pregnancy first (NEWS2 is then not used)"
    )]
    NotPregnant { field: AdditionalField },
}

impl AdditionalError {
    pub fn field(&self) -> AdditionalField {
        match self {
            AdditionalError::IntegerOutOfRange { field, .. }
            | AdditionalError::NumberOutOfRange { field, .. }
            | AdditionalError::UnknownDevice { field }
            | AdditionalError::UnknownProtein { field }
            | AdditionalError::PartialGcs { field }
            | AdditionalError::DiastolicNotBelowSystolic { field }
            | AdditionalError::DiastolicWithoutSystolic { field }
            | AdditionalError::FlowWithoutDevice { field }
            | AdditionalError::DeviceOnAir { field }
            | AdditionalError::NotPregnant { field } => *field,
        }
    }
}

/// Additional observations as entered; nothing here is trusted until [`AdditionalInput::validate`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AdditionalInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diastolic_bp: Option<i64>,
    /// A number, or the text HI or LO.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blood_glucose: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pain_score: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oxygen_device: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oxygen_flow: Option<f64>,
    /// 1 to 4, or the text C.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcs_eye: Option<Value>,
    /// 1 to 5, or the text T.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcs_verbal: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcs_motor: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetal_heart_rate: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urine_protein: Option<String>,
}

impl AdditionalInput {
    /// Whether nothing beside NEWS2 was entered.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Validated additional observations: every present value within its range, GCS whole, no
/// contradiction with the vital signs of the same set.
///
/// Read leniently: a value a later build records that this one does not know (a new device, a
/// new dipstick reading, a new field) is kept in [`Self::unrecognised`] and shown as it was stored,
/// never failing the set, and with it the whole record.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct AdditionalObservations {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diastolic_bp: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blood_glucose: Option<Glucose>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pain_score: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oxygen_device: Option<OxygenDevice>,
    /// L/min, as entered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oxygen_flow: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gcs: Option<Gcs>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fetal_heart_rate: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub urine_protein: Option<UrineProtein>,
    /// Values stored by a later build that this one does not read, by key, as stored.
    #[serde(flatten, skip_serializing_if = "BTreeMap::is_empty")]
    pub unrecognised: BTreeMap<String, Value>,
}

impl<'de> Deserialize<'de> for AdditionalObservations {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        fn take<T: serde::de::DeserializeOwned>(slot: &mut Option<T>, value: &Value) -> bool {
            match serde_json::from_value(value.clone()) {
                Ok(read) => {
                    *slot = Some(read);
                    true
                }
                Err(_) => false,
            }
        }
        let stored = serde_json::Map::<String, Value>::deserialize(deserializer)?;
        let mut out = AdditionalObservations::default();
        for (key, value) in stored {
            if value.is_null() {
                continue;
            }
            let read = match key.as_str() {
                "diastolic_bp" => take(&mut out.diastolic_bp, &value),
                "blood_glucose" => take(&mut out.blood_glucose, &value),
                "pain_score" => take(&mut out.pain_score, &value),
                "oxygen_device" => take(&mut out.oxygen_device, &value),
                "oxygen_flow" => take(&mut out.oxygen_flow, &value),
                "gcs" => take(&mut out.gcs, &value),
                "fetal_heart_rate" => take(&mut out.fetal_heart_rate, &value),
                "urine_protein" => take(&mut out.urine_protein, &value),
                _ => false,
            };
            if !read {
                out.unrecognised.insert(key, value);
            }
        }
        Ok(out)
    }
}

/// One observation as every shell shows it: the field's key, its label, how it reads in a list,
/// and how it reads in a chart column.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Shown {
    pub field: String,
    pub label: String,
    pub text: String,
    pub short: String,
}

impl Shown {
    fn of(field: AdditionalField, label: &str, text: String, short: String) -> Self {
        Shown {
            field: field.key().to_owned(),
            label: label.to_owned(),
            text,
            short,
        }
    }
}

impl AdditionalObservations {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Each value present, as a clinician reads it after its label ("104 mmHg", "14 (E4 V4 M6)"), in the
    /// order of [`AdditionalField::ALL`]; GCS and the oxygen given each read as one line, under
    /// their first field; then anything a later build stored, as it was stored.
    pub fn shown(&self) -> Vec<Shown> {
        use AdditionalField as F;
        let mut shown = Vec::new();
        if let Some(diastolic) = self.diastolic_bp {
            shown.push(Shown::of(
                F::DiastolicBp,
                F::DiastolicBp.label(),
                format!("{diastolic} mmHg"),
                diastolic.to_string(),
            ));
        }
        if let Some(glucose) = self.blood_glucose {
            let (text, short) = match glucose {
                Glucose::MmolPerL(value) => (format!("{value:.1} mmol/L"), format!("{value:.1}")),
                Glucose::BeyondMeter(MeterLimit::High) => {
                    ("HI (above the meter's range)".to_owned(), "HI".to_owned())
                }
                Glucose::BeyondMeter(MeterLimit::Low) => {
                    ("LO (below the meter's range)".to_owned(), "LO".to_owned())
                }
            };
            shown.push(Shown::of(
                F::BloodGlucose,
                F::BloodGlucose.label(),
                text,
                short,
            ));
        }
        if let Some(pain) = self.pain_score {
            shown.push(Shown::of(
                F::PainScore,
                F::PainScore.label(),
                format!("{pain}/10"),
                pain.to_string(),
            ));
        }
        match (self.oxygen_device, self.oxygen_flow) {
            (Some(device), Some(flow)) => shown.push(Shown::of(
                F::OxygenDevice,
                "oxygen given",
                format!("{}, {flow} L/min", device.label()),
                format!("{flow} L {}", device.abbreviation()),
            )),
            (Some(device), None) => shown.push(Shown::of(
                F::OxygenDevice,
                "oxygen given",
                device.label().to_owned(),
                device.abbreviation().to_owned(),
            )),
            (None, Some(flow)) => shown.push(Shown::of(
                F::OxygenFlow,
                "oxygen given",
                format!("{flow} L/min"),
                format!("{flow} L"),
            )),
            (None, None) => {}
        }
        if let Some(gcs) = self.gcs {
            let (text, short) = match gcs.total() {
                Some(total) => (format!("{total} ({})", gcs.written()), total.to_string()),
                None => (
                    format!(
                        "{} (no total: a response could not be tested)",
                        gcs.written()
                    ),
                    gcs.written(),
                ),
            };
            shown.push(Shown::of(F::GcsEye, "GCS", text, short));
        }
        if let Some(rate) = self.fetal_heart_rate {
            shown.push(Shown::of(
                F::FetalHeartRate,
                F::FetalHeartRate.label(),
                format!("{rate} beats/min"),
                rate.to_string(),
            ));
        }
        if let Some(protein) = self.urine_protein {
            shown.push(Shown::of(
                F::UrineProtein,
                F::UrineProtein.label(),
                protein.key().to_owned(),
                protein.key().to_owned(),
            ));
        }
        for (key, value) in &self.unrecognised {
            let text = match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            shown.push(Shown {
                field: key.clone(),
                label: format!("{key} (recorded by a newer version)"),
                short: text.clone(),
                text,
            });
        }
        shown
    }
}

fn integer(field: AdditionalField, value: &Value) -> Result<i64, AdditionalError> {
    let (range, unit) = integer_range(field);
    // 3.0 is a whole number written as a float; accept it, refuse 3.5.
    let whole = value.as_i64().or_else(|| {
        value
            .as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 1e9)
            .map(|f| f as i64)
    });
    whole.ok_or(AdditionalError::IntegerOutOfRange { field, range, unit })
}

fn number(field: AdditionalField, value: &Value) -> Result<f64, AdditionalError> {
    let (range, unit) = number_range(field);
    value
        .as_f64()
        .ok_or(AdditionalError::NumberOutOfRange { field, range, unit })
}

fn integer_range(field: AdditionalField) -> (RangeInclusive<i64>, &'static str) {
    match field {
        AdditionalField::DiastolicBp => (limits::DIASTOLIC_BP, " mmHg"),
        AdditionalField::PainScore => (limits::PAIN_SCORE, ""),
        AdditionalField::GcsEye => (limits::GCS_EYE, ", or C if the eyes are closed by swelling"),
        AdditionalField::GcsVerbal => (
            limits::GCS_VERBAL,
            ", or T if intubated or with a tracheostomy",
        ),
        AdditionalField::GcsMotor => (limits::GCS_MOTOR, ""),
        AdditionalField::FetalHeartRate => (limits::FETAL_HEART_RATE, " beats/min"),
        // Not whole-number fields: never asked for a whole-number range.
        AdditionalField::BloodGlucose
        | AdditionalField::OxygenFlow
        | AdditionalField::OxygenDevice
        | AdditionalField::UrineProtein => (0..=0, ""),
    }
}

fn number_range(field: AdditionalField) -> (RangeInclusive<f64>, &'static str) {
    match field {
        AdditionalField::BloodGlucose => (limits::BLOOD_GLUCOSE_MMOL_PER_L, "mmol/L"),
        AdditionalField::OxygenFlow => (limits::OXYGEN_FLOW_L_PER_MIN, "L/min"),
        // Whole numbers or choices: never asked for a decimal range.
        AdditionalField::DiastolicBp
        | AdditionalField::PainScore
        | AdditionalField::GcsEye
        | AdditionalField::GcsVerbal
        | AdditionalField::GcsMotor
        | AdditionalField::FetalHeartRate
        | AdditionalField::OxygenDevice
        | AdditionalField::UrineProtein => (0.0..=0.0, ""),
    }
}

fn checked<T: TryFrom<i64>>(
    field: AdditionalField,
    value: Option<i64>,
) -> Result<Option<T>, AdditionalError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let (range, unit) = integer_range(field);
    let refused = || AdditionalError::IntegerOutOfRange {
        field,
        range: range.clone(),
        unit,
    };
    if !range.contains(&value) {
        return Err(refused());
    }
    T::try_from(value).map(Some).map_err(|_| refused())
}

fn checked_number(
    field: AdditionalField,
    value: Option<f64>,
) -> Result<Option<f64>, AdditionalError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let (range, unit) = number_range(field);
    if !value.is_finite() || !range.contains(&value) {
        return Err(AdditionalError::NumberOutOfRange { field, range, unit });
    }
    Ok(Some(value))
}

/// A GCS response as typed: a whole number, or the letter that says it could not be tested.
fn score_or_text(field: AdditionalField, value: &Value) -> Result<Value, AdditionalError> {
    if value.is_string() {
        return Ok(value.clone());
    }
    integer(field, value).map(Value::from)
}

/// A GCS response checked: its score within range, or `letter` (case aside) for `untestable`.
fn response(
    field: AdditionalField,
    value: Option<&Value>,
    letter: &str,
    untestable: Untestable,
) -> Result<Option<GcsResponse>, AdditionalError> {
    match value {
        None => Ok(None),
        Some(Value::String(text)) if text.trim().eq_ignore_ascii_case(letter) => {
            Ok(Some(GcsResponse::Untestable(untestable)))
        }
        Some(value) => {
            let score = integer(field, value)?;
            Ok(checked::<u8>(field, Some(score))?.map(GcsResponse::Score))
        }
    }
}

fn glucose_refused() -> AdditionalError {
    let (range, unit) = number_range(AdditionalField::BloodGlucose);
    AdditionalError::NumberOutOfRange {
        field: AdditionalField::BloodGlucose,
        range,
        unit,
    }
}

/// What the set's vital signs say that the additional observations must agree with.
#[derive(Clone, Copy, Debug, Default)]
pub struct Context {
    pub systolic_bp: Option<u16>,
    pub on_oxygen: Option<bool>,
    /// Whether the record says the patient is pregnant on the day the set is taken (the day of
    /// the birth included: a reading in labour is written up that day).
    pub pregnant: bool,
}

impl AdditionalInput {
    /// Takes one JSON value for `field`, checking its type (the range comes with validation).
    pub fn set(&mut self, field: AdditionalField, value: &Value) -> Result<(), AdditionalError> {
        if value.is_null() {
            return Ok(());
        }
        match field {
            AdditionalField::DiastolicBp => self.diastolic_bp = Some(integer(field, value)?),
            AdditionalField::BloodGlucose => {
                if !(value.is_number() || value.is_string()) {
                    number(field, &Value::Null)?;
                }
                self.blood_glucose = Some(value.clone());
            }
            AdditionalField::PainScore => self.pain_score = Some(integer(field, value)?),
            AdditionalField::OxygenDevice => {
                self.oxygen_device = Some(
                    value
                        .as_str()
                        .ok_or(AdditionalError::UnknownDevice { field })?
                        .to_owned(),
                );
            }
            AdditionalField::OxygenFlow => self.oxygen_flow = Some(number(field, value)?),
            AdditionalField::GcsEye => self.gcs_eye = Some(score_or_text(field, value)?),
            AdditionalField::GcsVerbal => self.gcs_verbal = Some(score_or_text(field, value)?),
            AdditionalField::GcsMotor => self.gcs_motor = Some(integer(field, value)?),
            AdditionalField::FetalHeartRate => self.fetal_heart_rate = Some(integer(field, value)?),
            AdditionalField::UrineProtein => {
                self.urine_protein = Some(
                    value
                        .as_str()
                        .ok_or(AdditionalError::UnknownProtein { field })?
                        .to_owned(),
                );
            }
        }
        Ok(())
    }

    /// Each value against its own range, as a form checks while values are typed: whether the
    /// values go together (GCS whole, diastolic below systolic, oxygen given through a device)
    /// is checked on saving, by [`Self::validate`].
    pub fn check_values(&self) -> Result<AdditionalObservations, AdditionalError> {
        use AdditionalField as F;
        let oxygen_device = match &self.oxygen_device {
            None => None,
            Some(key) => Some(OxygenDevice::from_key(key.trim()).ok_or(
                AdditionalError::UnknownDevice {
                    field: F::OxygenDevice,
                },
            )?),
        };
        let urine_protein = match &self.urine_protein {
            None => None,
            Some(key) => Some(UrineProtein::from_key(key).ok_or(
                AdditionalError::UnknownProtein {
                    field: F::UrineProtein,
                },
            )?),
        };
        let eye = response(
            F::GcsEye,
            self.gcs_eye.as_ref(),
            "C",
            Untestable::EyesClosed,
        )?;
        let verbal = response(
            F::GcsVerbal,
            self.gcs_verbal.as_ref(),
            "T",
            Untestable::Tube,
        )?;
        let motor: Option<u8> = checked(F::GcsMotor, self.gcs_motor)?;
        let gcs = match (eye, verbal, motor) {
            (Some(eye), Some(verbal), Some(motor)) => Some(Gcs { eye, verbal, motor }),
            _ => None,
        };
        let blood_glucose = match &self.blood_glucose {
            None => None,
            Some(Value::String(text)) => Some(Glucose::BeyondMeter(
                match text.trim().to_ascii_uppercase().as_str() {
                    "HI" => MeterLimit::High,
                    "LO" => MeterLimit::Low,
                    _ => return Err(glucose_refused()),
                },
            )),
            Some(value) => Some(Glucose::MmolPerL(
                checked_number(F::BloodGlucose, value.as_f64())?.ok_or_else(glucose_refused)?,
            )),
        };
        Ok(AdditionalObservations {
            diastolic_bp: checked(F::DiastolicBp, self.diastolic_bp)?,
            blood_glucose,
            pain_score: checked(F::PainScore, self.pain_score)?,
            oxygen_device,
            oxygen_flow: checked_number(F::OxygenFlow, self.oxygen_flow)?,
            gcs,
            fetal_heart_rate: checked(F::FetalHeartRate, self.fetal_heart_rate)?,
            urine_protein,
            unrecognised: BTreeMap::new(),
        })
    }

    /// Every value in range and the values consistent with each other and with the set's vital
    /// signs (`context`).
    pub fn validate(&self, context: Context) -> Result<AdditionalObservations, AdditionalError> {
        use AdditionalField as F;
        let observations = self.check_values()?;
        let gcs_parts = [
            self.gcs_eye.is_some(),
            self.gcs_verbal.is_some(),
            self.gcs_motor.is_some(),
        ];
        if gcs_parts.iter().any(|given| *given) && observations.gcs.is_none() {
            let field = match gcs_parts {
                [false, ..] => F::GcsEye,
                [_, false, _] => F::GcsVerbal,
                _ => F::GcsMotor,
            };
            return Err(AdditionalError::PartialGcs { field });
        }
        match (observations.diastolic_bp, context.systolic_bp) {
            // Alone, a diastolic is most often a systolic typed in the wrong box.
            (Some(_), None) => {
                return Err(AdditionalError::DiastolicWithoutSystolic {
                    field: F::DiastolicBp,
                });
            }
            (Some(diastolic), Some(systolic)) if diastolic >= systolic => {
                return Err(AdditionalError::DiastolicNotBelowSystolic {
                    field: F::DiastolicBp,
                });
            }
            _ => {}
        }
        if observations.oxygen_flow.is_some() && observations.oxygen_device.is_none() {
            return Err(AdditionalError::FlowWithoutDevice {
                field: F::OxygenFlow,
            });
        }
        // Oxygen given through a device is oxygen for NEWS2's air-or-oxygen; CPAP or NIV may run
        // on air.
        if let Some(device) = observations.oxygen_device
            && device != OxygenDevice::CpapOrNiv
            && context.on_oxygen != Some(true)
        {
            return Err(AdditionalError::DeviceOnAir {
                field: F::OxygenDevice,
            });
        }
        if observations.fetal_heart_rate.is_some() && !context.pregnant {
            return Err(AdditionalError::NotPregnant {
                field: F::FetalHeartRate,
            });
        }
        Ok(observations)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn input(value: Value) -> Result<AdditionalInput, AdditionalError> {
        let mut input = AdditionalInput::default();
        for (key, value) in value.as_object().unwrap() {
            input.set(AdditionalField::from_key(key).unwrap(), value)?;
        }
        Ok(input)
    }

    const ADULT_ON_AIR: Context = Context {
        systolic_bp: Some(120),
        on_oxygen: Some(false),
        pregnant: false,
    };

    /// Each range at its edges, table-driven: (field, lowest accepted, highest accepted, one
    /// below, one above).
    #[test]
    fn every_range_accepts_its_edges_and_refuses_beyond_them() {
        let integers: [(&str, i64, i64); 6] = [
            ("diastolic_bp", 10, 119),
            ("pain_score", 0, 10),
            ("gcs_eye", 1, 4),
            ("gcs_verbal", 1, 5),
            ("gcs_motor", 1, 6),
            ("fetal_heart_rate", 50, 250),
        ];
        let pregnant = Context {
            pregnant: true,
            ..ADULT_ON_AIR
        };
        let whole_gcs = |key: &str, value: i64| {
            let mut object = json!({"gcs_eye": 4, "gcs_verbal": 5, "gcs_motor": 6});
            object[key] = json!(value);
            object
        };
        for (key, low, high) in integers {
            let object = |value| {
                if key.starts_with("gcs_") {
                    whole_gcs(key, value)
                } else {
                    json!({ key: value })
                }
            };
            for accepted in [low, high] {
                assert!(
                    input(object(accepted)).unwrap().validate(pregnant).is_ok(),
                    "{key} {accepted}"
                );
            }
            for refused in [low - 1, high + 1] {
                if key == "diastolic_bp" && refused == high + 1 {
                    continue;
                }
                let error = input(object(refused))
                    .unwrap()
                    .validate(pregnant)
                    .unwrap_err();
                assert_eq!(error.field().key(), key);
                assert!(
                    matches!(error, AdditionalError::IntegerOutOfRange { .. }),
                    "{key} {refused}: {error}"
                );
            }
        }
        let very_high = Context {
            systolic_bp: Some(260),
            ..ADULT_ON_AIR
        };
        let diastolic = input(json!({"diastolic_bp": 201})).unwrap();
        assert!(matches!(
            diastolic.validate(very_high),
            Err(AdditionalError::IntegerOutOfRange { .. })
        ));
        assert!(
            input(json!({"diastolic_bp": 200}))
                .unwrap()
                .validate(very_high)
                .is_ok()
        );
        let numbers: [(&str, f64, f64, f64, f64); 2] = [
            ("blood_glucose", 0.5, 50.0, 0.4, 50.1),
            ("oxygen_flow", 0.01, 60.0, 0.0, 60.5),
        ];
        for (key, low, high, below, above) in numbers {
            let object = |value: f64| json!({ key: value, "oxygen_device": "simple-mask" });
            let on_oxygen = Context {
                on_oxygen: Some(true),
                ..ADULT_ON_AIR
            };
            for accepted in [low, high] {
                assert!(
                    input(object(accepted)).unwrap().validate(on_oxygen).is_ok(),
                    "{key}"
                );
            }
            for refused in [below, above] {
                let error = input(object(refused))
                    .unwrap()
                    .validate(on_oxygen)
                    .unwrap_err();
                assert_eq!(error.field().key(), key);
            }
        }
    }

    #[test]
    fn a_reading_in_other_units_is_refused_naming_the_unit() {
        // Glucose in mg/dL, as some meters show it.
        let error = input(json!({"blood_glucose": 110}))
            .unwrap()
            .validate(ADULT_ON_AIR)
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "blood glucose must be a number from 0.5 to 50 mmol/L, or HI or LO as the meter shows"
        );
        let error = input(json!({"pain_score": "severe"})).unwrap_err();
        assert_eq!(
            error.to_string(),
            "pain score must be a whole number from 0 to 10"
        );
    }

    #[test]
    fn values_that_contradict_each_other_or_the_vital_signs_are_refused() {
        let no_systolic = Context {
            systolic_bp: None,
            ..ADULT_ON_AIR
        };
        let air_or_oxygen_blank = Context {
            on_oxygen: None,
            ..ADULT_ON_AIR
        };
        let cases: [(Value, Context, &str); 9] = [
            (
                json!({"gcs_eye": 4, "gcs_motor": 6}),
                ADULT_ON_AIR,
                "gcs_verbal",
            ),
            (json!({"diastolic_bp": 120}), ADULT_ON_AIR, "diastolic_bp"),
            (json!({"diastolic_bp": 80}), no_systolic, "diastolic_bp"),
            (json!({"oxygen_flow": 2}), ADULT_ON_AIR, "oxygen_flow"),
            (
                json!({"oxygen_device": "nasal-cannula"}),
                ADULT_ON_AIR,
                "oxygen_device",
            ),
            (
                json!({"oxygen_device": "simple-mask"}),
                air_or_oxygen_blank,
                "oxygen_device",
            ),
            (
                json!({"fetal_heart_rate": 140}),
                ADULT_ON_AIR,
                "fetal_heart_rate",
            ),
            (
                json!({"urine_protein": "4+"}),
                ADULT_ON_AIR,
                "urine_protein",
            ),
            (
                json!({"blood_glucose": "high"}),
                ADULT_ON_AIR,
                "blood_glucose",
            ),
        ];
        for (object, context, key) in cases {
            let error = input(object.clone())
                .unwrap()
                .validate(context)
                .unwrap_err();
            assert_eq!(error.field().key(), key, "{object}");
        }
        // CPAP or NIV may run on air; a meter's HI and LO are readings of their own.
        let home_cpap = input(json!({"oxygen_device": "cpap-or-niv"})).unwrap();
        assert!(home_cpap.validate(ADULT_ON_AIR).is_ok());
        let beyond = input(json!({"blood_glucose": "lo", "urine_protein": "++++"}))
            .unwrap()
            .validate(ADULT_ON_AIR)
            .unwrap();
        assert_eq!(
            beyond.blood_glucose,
            Some(Glucose::BeyondMeter(MeterLimit::Low))
        );
        assert_eq!(beyond.shown()[0].text, "LO (below the meter's range)");
        assert_eq!(
            serde_json::to_value(&beyond).unwrap()["blood_glucose"],
            "LO"
        );
    }

    #[test]
    fn a_whole_set_of_additional_observations_is_kept_as_entered() {
        let context = Context {
            systolic_bp: Some(150),
            on_oxygen: Some(true),
            pregnant: true,
        };
        let observations = input(json!({
            "diastolic_bp": 104, "blood_glucose": 5.6, "pain_score": 3,
            "oxygen_device": "venturi-mask", "oxygen_flow": 8,
            "gcs_eye": 4, "gcs_verbal": 5, "gcs_motor": 6,
            "fetal_heart_rate": 142, "urine_protein": "++"
        }))
        .unwrap()
        .validate(context)
        .unwrap();
        assert_eq!(observations.gcs.unwrap().total(), Some(15));
        assert_eq!(observations.urine_protein, Some(UrineProtein::TwoPlus));
        assert_eq!(observations.oxygen_device, Some(OxygenDevice::VenturiMask));
        let json = serde_json::to_value(&observations).unwrap();
        assert_eq!(json["urine_protein"], "++");
        assert_eq!(json["oxygen_device"], "venturi-mask");
        let back: AdditionalObservations = serde_json::from_value(json).unwrap();
        assert_eq!(back, observations);
        assert!(AdditionalObservations::default().is_empty());
        let shown: Vec<String> = observations
            .shown()
            .into_iter()
            .map(|shown| shown.text)
            .collect();
        assert_eq!(
            shown,
            [
                "104 mmHg",
                "5.6 mmol/L",
                "3/10",
                "Venturi mask, 8 L/min",
                "15 (E4 V5 M6)",
                "142 beats/min",
                "++"
            ]
        );
    }

    /// A set stored by a later build with a device, a dipstick reading and a field this build does
    /// not know still reads: what is known is kept, the rest shown as stored, nothing fails.
    #[test]
    fn values_from_a_newer_version_are_kept_and_shown_never_failing_the_set() {
        let stored = json!({
            "diastolic_bp": 70, "oxygen_device": "helmet-cpap", "urine_protein": "+++++",
            "lactate": 4.2, "gcs": {"eye": 4, "verbal": "D", "motor": 6}
        });
        let read: AdditionalObservations = serde_json::from_value(stored).unwrap();
        assert_eq!(read.diastolic_bp, Some(70));
        assert_eq!(read.oxygen_device, None);
        assert_eq!(
            read.unrecognised.keys().collect::<Vec<_>>(),
            ["gcs", "lactate", "oxygen_device", "urine_protein"]
        );
        let shown: Vec<(String, String)> = read
            .shown()
            .into_iter()
            .map(|shown| (shown.label, shown.text))
            .collect();
        assert!(shown.contains(&(
            "oxygen_device (recorded by a newer version)".to_owned(),
            "helmet-cpap".to_owned()
        )));
        // Written back as it came, for whoever reads it next.
        let again = serde_json::to_value(&read).unwrap();
        assert_eq!(again["lactate"], 4.2);
        assert_eq!(again["urine_protein"], "+++++");
    }

    /// An intubated patient's voice, or eyes closed by swelling, cannot be tested: the GCS is
    /// recorded with the letter and no total, never left out or given a made-up score.
    #[test]
    fn a_gcs_with_a_response_not_testable_has_no_total() {
        let intubated = input(json!({"gcs_eye": "c", "gcs_verbal": "T", "gcs_motor": 5}))
            .unwrap()
            .validate(ADULT_ON_AIR)
            .unwrap();
        let gcs = intubated.gcs.unwrap();
        assert_eq!(gcs.total(), None);
        assert_eq!(gcs.written(), "EC VT M5");
        let shown = &intubated.shown()[0];
        assert_eq!(
            (shown.text.as_str(), shown.short.as_str()),
            (
                "EC VT M5 (no total: a response could not be tested)",
                "EC VT M5"
            )
        );
        let stored = serde_json::to_value(&intubated).unwrap();
        assert_eq!(
            stored["gcs"],
            json!({"eye": "C", "verbal": "T", "motor": 5})
        );
        let back: AdditionalObservations = serde_json::from_value(stored).unwrap();
        assert_eq!(back, intubated);
        // The letters belong to their own response: no "T" for the eyes, no "C" for the voice.
        for (object, key) in [
            (
                json!({"gcs_eye": "T", "gcs_verbal": 5, "gcs_motor": 6}),
                "gcs_eye",
            ),
            (
                json!({"gcs_eye": 4, "gcs_verbal": "C", "gcs_motor": 6}),
                "gcs_verbal",
            ),
            (
                json!({"gcs_eye": 4, "gcs_verbal": 5, "gcs_motor": "T"}),
                "gcs_motor",
            ),
        ] {
            let error = input(object.clone())
                .and_then(|input| input.validate(ADULT_ON_AIR))
                .unwrap_err();
            assert_eq!(error.field().key(), key, "{object}");
        }
        assert_eq!(
            input(json!({"gcs_verbal": "x"}))
                .unwrap()
                .validate(ADULT_ON_AIR)
                .unwrap_err()
                .to_string(),
            "GCS verbal response must be a whole number from 1 to 5, or T if intubated or with a tracheostomy"
        );
    }
}
