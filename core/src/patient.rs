//! The parts of a patient's shared care record that Doorstep shows: demographics, alerts that must
//! not be missed, medicines and problems.
//!
//! Every type here holds patient-identifiable or clinical data, so none of them prints its contents
//! through `Debug`: a stray `{:?}` in a log line must not leak a name or an allergy.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::nhs_number::NhsNumber;

/// Administrative sex as recorded (FHIR `AdministrativeGender`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    Female,
    Male,
    Other,
    Unknown,
}

/// `Default`: no address known.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub lines: Vec<String>,
    pub town: String,
    pub postcode: String,
}

/// `Default`: no practice known.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GpPractice {
    /// ODS code of the practice.
    pub ods_code: String,
    pub name: String,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub name: String,
    pub relationship: String,
    pub phone: String,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Demographics {
    pub nhs_number: NhsNumber,
    pub given: String,
    pub family: String,
    pub birth_date: NaiveDate,
    pub sex: Sex,
    pub address: Address,
    pub gp_practice: GpPractice,
    pub contacts: Vec<Contact>,
}

impl Demographics {
    /// Age in whole years on `today`.
    pub fn age_on(&self, today: NaiveDate) -> u32 {
        today.years_since(self.birth_date).unwrap_or(0)
    }

    /// "FAMILY, Given", the form NHS banners use.
    pub fn display_name(&self) -> String {
        format!("{}, {}", self.family.to_uppercase(), self.given)
    }

    /// True before the 16th birthday, when NEWS2 does not apply.
    pub fn is_child_on(&self, today: NaiveDate) -> bool {
        self.age_on(today) < 16
    }
}

/// Pregnancy status as a clinician records it: it decides whether NEWS2 may be used.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum MaternityStatus {
    Pregnant { expected_delivery: NaiveDate },
    Postnatal { delivered: NaiveDate },
    None,
}

impl MaternityStatus {
    pub fn key(&self) -> &'static str {
        match self {
            MaternityStatus::Pregnant { .. } => "pregnant",
            MaternityStatus::Postnatal { .. } => "postnatal",
            MaternityStatus::None => "none",
        }
    }

    /// The expected or actual date of delivery.
    pub fn date(&self) -> Option<NaiveDate> {
        match *self {
            MaternityStatus::Pregnant { expected_delivery } => Some(expected_delivery),
            MaternityStatus::Postnatal { delivered } => Some(delivered),
            MaternityStatus::None => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AllergySeverity {
    Mild,
    Moderate,
    Severe,
    /// The source system recorded the allergy without a severity: shown as not recorded, never
    /// guessed.
    #[serde(rename = "not-recorded")]
    NotRecorded,
}

impl AllergySeverity {
    pub fn words(self) -> &'static str {
        match self {
            AllergySeverity::Mild => "mild",
            AllergySeverity::Moderate => "moderate",
            AllergySeverity::Severe => "severe",
            AllergySeverity::NotRecorded => "severity not recorded",
        }
    }
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allergy {
    pub substance: String,
    pub reaction: String,
    pub severity: AllergySeverity,
}

impl Allergy {
    /// "Penicillin: anaphylaxis (severe)", saying what the source left out.
    pub fn describe(&self) -> String {
        let reaction = if self.reaction.trim().is_empty() {
            "reaction not recorded"
        } else {
            self.reaction.trim()
        };
        format!(
            "{}: {reaction} ({})",
            self.substance.trim(),
            self.severity.words()
        )
    }
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Medication {
    pub name: String,
    pub dose: String,
    pub frequency: String,
    /// Taken now, or on the list but not taken now: a suspended medicine must not read as current.
    #[serde(default, skip_serializing_if = "MedicationStatus::is_active")]
    pub status: MedicationStatus,
}

impl Medication {
    /// "Bisoprolol 5mg tablets, 5 mg, once daily", with its status where it is not simply taken
    /// now ("ON HOLD: not taken now").
    pub fn describe(&self) -> String {
        let mut text = self.name.trim().to_owned();
        for part in [&self.dose, &self.frequency] {
            if !part.trim().is_empty() {
                text.push_str(", ");
                text.push_str(part.trim());
            }
        }
        if let Some(words) = self.status.words() {
            text.push_str(&format!(" ({words})"));
        }
        text
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MedicationStatus {
    #[default]
    Active,
    /// Suspended for now (metformin held during an acute kidney injury).
    OnHold,
    /// Prescribed, not yet started.
    NotStarted,
    /// The source does not know whether it is taken.
    Unknown,
}

impl MedicationStatus {
    pub fn is_active(&self) -> bool {
        *self == MedicationStatus::Active
    }

    /// Words beside the medicine where it is not simply taken now.
    pub fn words(self) -> Option<&'static str> {
        match self {
            MedicationStatus::Active => None,
            MedicationStatus::OnHold => Some("ON HOLD: not taken now"),
            MedicationStatus::NotStarted => Some("not started yet"),
            MedicationStatus::Unknown => Some("not known whether taken: ask the patient"),
        }
    }
}

/// Alerts a clinician must see before acting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FlagKind {
    /// Do not attempt cardiopulmonary resuscitation.
    Dnacpr,
    /// A ReSPECT plan (Recommended Summary Plan for Emergency Care and Treatment) is in place.
    Respect,
    EndOfLifeWishes,
    Safeguarding,
    ChildProtection,
    /// Any other alert the source system holds (a staff-safety marker, a reasonable adjustment),
    /// shown in its own words: an alert Doorstep has no kind for is still an alert.
    Other,
}

impl FlagKind {
    /// Entries that set a ceiling of care the NEWS2 response must follow.
    pub fn limits_care(self) -> bool {
        matches!(
            self,
            FlagKind::Dnacpr | FlagKind::Respect | FlagKind::EndOfLifeWishes
        )
    }

    pub fn label(self) -> &'static str {
        match self {
            FlagKind::Dnacpr => "DNACPR",
            FlagKind::Respect => "ReSPECT plan",
            FlagKind::EndOfLifeWishes => "End-of-life wishes",
            FlagKind::Safeguarding => "Safeguarding",
            FlagKind::ChildProtection => "Child protection",
            FlagKind::Other => "Alert",
        }
    }
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    pub kind: FlagKind,
    pub detail: String,
}

redacted_debug!(
    Address,
    GpPractice,
    Contact,
    Demographics,
    Allergy,
    Medication,
    Flag,
    MaternityStatus
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_prints_no_patient_data() {
        let demographics = Demographics {
            nhs_number: NhsNumber::parse("999 100 0100").unwrap(),
            given: "Zebedee".to_owned(),
            family: "Quillfeather".to_owned(),
            birth_date: NaiveDate::from_ymd_opt(1941, 3, 2).unwrap(),
            sex: Sex::Male,
            address: Address {
                lines: vec!["1 Lantern Row".to_owned()],
                town: "Ambridge".to_owned(),
                postcode: "ZZ99 3CZ".to_owned(),
            },
            gp_practice: GpPractice {
                ods_code: "Y00001".to_owned(),
                name: "Lantern Surgery".to_owned(),
            },
            contacts: vec![],
        };
        let debug = format!("{demographics:?} {:?}", demographics.address);
        for secret in ["Zebedee", "Quillfeather", "1941", "Lantern", "999"] {
            assert!(!debug.contains(secret), "{debug}");
        }
        assert_eq!(demographics.display_name(), "QUILLFEATHER, Zebedee");
        let today = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        assert_eq!(demographics.age_on(today), 84);
        assert!(!demographics.is_child_on(today));
    }
}
