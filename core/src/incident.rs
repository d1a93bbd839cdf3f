//! An incident record: a patient met before anyone knows who they are (a collapsed man in a car
//! park, no wallet, no signal). It starts with a temporary identity instead of an NHS number, and
//! says whether the patient is an adult or a child, because NEWS2's use depends on it before any
//! date of birth is known.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::observation::Author;
use crate::patient::Sex;

/// The age a crew estimates, in bands that never straddle the 16th birthday: a band alone says
/// adult or child, except `Unknown`, where the clinician says which. The children's bands are the
/// national PEWS charts' (0–11 months, 1–4, 5–12, 13 and over), so a band names the chart to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AgeBand {
    #[serde(rename = "under-1")]
    Under1,
    #[serde(rename = "1-4")]
    From1To4,
    #[serde(rename = "5-12")]
    From5To12,
    #[serde(rename = "13-15")]
    From13To15,
    #[serde(rename = "16-17")]
    From16To17,
    #[serde(rename = "18-39")]
    From18To39,
    #[serde(rename = "40-64")]
    From40To64,
    #[serde(rename = "65-79")]
    From65To79,
    #[serde(rename = "80+")]
    From80,
    #[serde(rename = "unknown")]
    Unknown,
}

impl AgeBand {
    pub const ALL: [AgeBand; 10] = [
        AgeBand::Under1,
        AgeBand::From1To4,
        AgeBand::From5To12,
        AgeBand::From13To15,
        AgeBand::From16To17,
        AgeBand::From18To39,
        AgeBand::From40To64,
        AgeBand::From65To79,
        AgeBand::From80,
        AgeBand::Unknown,
    ];

    pub fn key(self) -> &'static str {
        match self {
            AgeBand::Under1 => "under-1",
            AgeBand::From1To4 => "1-4",
            AgeBand::From5To12 => "5-12",
            AgeBand::From13To15 => "13-15",
            AgeBand::From16To17 => "16-17",
            AgeBand::From18To39 => "18-39",
            AgeBand::From40To64 => "40-64",
            AgeBand::From65To79 => "65-79",
            AgeBand::From80 => "80+",
            AgeBand::Unknown => "unknown",
        }
    }

    /// How the band reads aloud and on a banner.
    pub fn words(self) -> &'static str {
        match self {
            AgeBand::Under1 => "under 1 year",
            AgeBand::From1To4 => "1 to 4 years",
            AgeBand::From5To12 => "5 to 12 years",
            AgeBand::From13To15 => "13 to 15 years",
            AgeBand::From16To17 => "16 to 17 years",
            AgeBand::From18To39 => "18 to 39 years",
            AgeBand::From40To64 => "40 to 64 years",
            AgeBand::From65To79 => "65 to 79 years",
            AgeBand::From80 => "80 years or over",
            AgeBand::Unknown => "age not known",
        }
    }

    /// The whole years the band covers, inclusive; `None` for an unknown age.
    pub fn years(self) -> Option<(u8, u8)> {
        match self {
            AgeBand::Under1 => Some((0, 0)),
            AgeBand::From1To4 => Some((1, 4)),
            AgeBand::From5To12 => Some((5, 12)),
            AgeBand::From13To15 => Some((13, 15)),
            AgeBand::From16To17 => Some((16, 17)),
            AgeBand::From18To39 => Some((18, 39)),
            AgeBand::From40To64 => Some((40, 64)),
            AgeBand::From65To79 => Some((65, 79)),
            AgeBand::From80 => Some((80, MAX_ESTIMATED_AGE)),
            AgeBand::Unknown => None,
        }
    }

    /// The group the band puts the patient in, where it says.
    pub fn group(self) -> Option<AgeGroup> {
        self.years().map(|(from, _)| AgeGroup::of_years(from))
    }
}

impl std::str::FromStr for AgeBand {
    type Err = IncidentError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        AgeBand::ALL
            .into_iter()
            .find(|band| band.key() == text.trim())
            .ok_or(IncidentError::UnknownAgeBand)
    }
}

/// Adult (16 and over) or child: the one fact about age NEWS2's use needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgeGroup {
    Adult,
    Child,
}

impl AgeGroup {
    fn of_years(years: u8) -> Self {
        if years >= 16 {
            AgeGroup::Adult
        } else {
            AgeGroup::Child
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            AgeGroup::Adult => "adult",
            AgeGroup::Child => "child",
        }
    }
}

/// Oldest age an estimate may give.
const MAX_ESTIMATED_AGE: u8 = 120;
/// Longest incident reference (a dispatch number, a CAD reference).
const MAX_REFERENCE_CHARS: usize = 40;
/// Longest description and place: a line a crew writes on scene, not a note.
const MAX_LINE_CHARS: usize = 200;
/// How far before the record an incident may have happened (a fall found days later).
const MAX_DAYS_BEFORE: i64 = 7;
/// How far a device's clock may run ahead of the time typed.
const CLOCK_SKEW_MINUTES: i64 = 5;

/// What a clinician enters to start an incident record.
#[derive(Clone)]
pub struct NewIncident {
    pub reference: String,
    pub place: String,
    pub description: String,
    pub sex: Sex,
    pub age_band: AgeBand,
    pub estimated_age: Option<u8>,
    /// Needed where the band does not say (an unknown age); must agree with it where it does.
    pub stated_group: Option<AgeGroup>,
    /// When it happened or began (the fall, the onset, last seen well), where known: not the
    /// moment the record was started.
    pub occurred_at: Option<DateTime<Utc>>,
}

redacted_debug!(NewIncident, Incident);

/// An incident record's temporary identity, as stored with the record.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    pub reference: String,
    pub place: String,
    pub description: String,
    pub age_band: AgeBand,
    pub estimated_age: Option<u8>,
    /// Adult or child: from the band, or as the clinician stated for an unknown age.
    pub age_group: AgeGroup,
    /// When the record was started.
    pub started: DateTime<Utc>,
    /// When it happened or began, where the crew knows.
    #[serde(default)]
    pub occurred_at: Option<DateTime<Utc>>,
    /// Who started it: checked against the signing device like every attributed value.
    pub by: Author,
}

impl Incident {
    /// What a banner may say of an incident on a record restricted to others: its reference,
    /// age and start, not where the patient was found or what happened.
    pub fn without_details(self) -> Self {
        Self {
            place: String::new(),
            description: String::new(),
            ..self
        }
    }

    /// "Unknown male, 40 to 64 years (about 50)": how the record is named until it is identified.
    pub fn temporary_name(&self, sex: Sex) -> String {
        let sex = match sex {
            Sex::Female => "female",
            Sex::Male => "male",
            Sex::Other => "person",
            Sex::Unknown => "person, sex unknown",
        };
        let age = match (self.age_band, self.estimated_age) {
            (AgeBand::Unknown, Some(age)) => {
                format!("about {age} (estimated), {}", self.age_group.key())
            }
            (AgeBand::Unknown, None) => format!("age not known, {}", self.age_group.key()),
            (band, Some(age)) => format!("{} (about {age})", band.words()),
            (band, None) => band.words().to_owned(),
        };
        format!("Unknown {sex}, {age}")
    }
}

/// The name a list or banner shows: "FAMILY, Given", or an incident's temporary name while no
/// name is recorded.
pub fn shown_name(family: &str, given: &str, sex: Sex, incident: Option<&Incident>) -> String {
    match incident {
        Some(incident) if family.is_empty() && given.is_empty() => incident.temporary_name(sex),
        _ => format!("{}, {}", family.to_uppercase(), given),
    }
}

/// How the clinician knows who the patient is: said with the identification, so whoever reads
/// the linked record can weigh it (a relative's word, a card in a wallet).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdentificationSource {
    /// The patient said who they are.
    Patient,
    RelativeOrCarer,
    /// A card, licence or letter found with the patient.
    Document,
    Police,
    /// A care record or another service's system (the GP, the ambulance service's records).
    CareRecord,
    Other,
}

impl IdentificationSource {
    pub const ALL: [IdentificationSource; 6] = [
        IdentificationSource::Patient,
        IdentificationSource::RelativeOrCarer,
        IdentificationSource::Document,
        IdentificationSource::Police,
        IdentificationSource::CareRecord,
        IdentificationSource::Other,
    ];

    pub fn key(self) -> &'static str {
        match self {
            IdentificationSource::Patient => "patient",
            IdentificationSource::RelativeOrCarer => "relative-or-carer",
            IdentificationSource::Document => "document",
            IdentificationSource::Police => "police",
            IdentificationSource::CareRecord => "care-record",
            IdentificationSource::Other => "other",
        }
    }

    /// "identified by …"
    pub fn words(self) -> &'static str {
        match self {
            IdentificationSource::Patient => "the patient",
            IdentificationSource::RelativeOrCarer => "a relative or carer",
            IdentificationSource::Document => "a document found with the patient",
            IdentificationSource::Police => "the police",
            IdentificationSource::CareRecord => "a care record",
            IdentificationSource::Other => "another source",
        }
    }
}

impl std::str::FromStr for IdentificationSource {
    type Err = IncidentError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        IdentificationSource::ALL
            .into_iter()
            .find(|source| source.key() == text.trim())
            .ok_or(IncidentError::UnknownSource)
    }
}

/// Who identified an incident's patient, how they knew, and when; `nhs_number` is `None` where
/// an identification was withdrawn.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identification {
    pub nhs_number: Option<crate::nhs_number::NhsNumber>,
    pub source: Option<IdentificationSource>,
    pub by: Author,
    pub at: DateTime<Utc>,
}

redacted_debug!(Identification);

/// How far an estimated age may be from the recorded one before it is pointed out.
const ESTIMATE_TOLERANCE_YEARS: u32 = 10;

/// What a registered record says that the incident's temporary identity does not: shown before the
/// clinician confirms an identification, because linking a stranger's scene record to the wrong
/// person's history is the hazard. Warnings, not refusals: estimates on scene are rough.
pub fn mismatches(
    incident: &Incident,
    incident_sex: Sex,
    held_sex: Sex,
    held_birth_date: Option<chrono::NaiveDate>,
) -> Vec<String> {
    let mut found = Vec::new();
    let known = |sex: Sex| matches!(sex, Sex::Female | Sex::Male);
    if known(incident_sex) && known(held_sex) && incident_sex != held_sex {
        let word = |sex: Sex| if sex == Sex::Female { "female" } else { "male" };
        found.push(format!(
            "sex: the incident says {}, the record says {}",
            word(incident_sex),
            word(held_sex)
        ));
    }
    let Some(born) = held_birth_date else {
        return found;
    };
    let Some(age) = crate::news2::uk_date(incident.started).years_since(born) else {
        return found;
    };
    let group = AgeGroup::of_years(u8::try_from(age).unwrap_or(u8::MAX));
    if group != incident.age_group {
        found.push(format!(
            "age: the record says {age}, {}; the incident was recorded as {}",
            if group == AgeGroup::Adult {
                "an adult"
            } else {
                "a child"
            },
            if incident.age_group == AgeGroup::Adult {
                "an adult"
            } else {
                "a child"
            },
        ));
    } else if let Some((from, to)) = incident.age_band.years()
        && !(u32::from(from)..=u32::from(to)).contains(&age)
    {
        found.push(format!(
            "age: the record says {age}, outside the incident's band of {}",
            incident.age_band.words()
        ));
    } else if let Some(estimate) = incident.estimated_age
        && age.abs_diff(u32::from(estimate)) > ESTIMATE_TOLERANCE_YEARS
    {
        found.push(format!(
            "age: the record says {age}; the incident estimated about {estimate}"
        ));
    }
    found
}

/// Why an incident could not be started. Never carries what was typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IncidentError {
    #[error("an incident needs its reference (the dispatch or incident number)")]
    ReferenceMissing,
    #[error("the incident reference is longer than {MAX_REFERENCE_CHARS} characters")]
    ReferenceTooLong,
    #[error("the description and the place are each at most {MAX_LINE_CHARS} characters")]
    LineTooLong,
    #[error(
        "the age band is not one of under-1, 1-4, 5-12, 13-15, 16-17, 18-39, 40-64, 65-79, 80+, \
         unknown"
    )]
    UnknownAgeBand,
    #[error("the estimated age must be a whole number of years from 0 to {MAX_ESTIMATED_AGE}")]
    EstimatedAgeOutOfRange,
    #[error(
        "the time of the incident must be before now and within the last {MAX_DAYS_BEFORE} days; leave it empty if it is not known"
    )]
    OccurredOutOfRange,
    #[error(
        "how the patient was identified is one of patient, relative-or-carer, document, police, care-record, other"
    )]
    UnknownSource,
    #[error("the estimated age is outside the age band: correct one of them")]
    EstimatedAgeOutsideBand,
    #[error(
        "with the age unknown, say whether the patient is an adult (16 or over) or a child: it \
         decides whether NEWS2 is used"
    )]
    AgeGroupNeeded,
    #[error(
        "adult or child contradicts the age band or the estimated age: 16 and over is an adult"
    )]
    AgeGroupContradicts,
}

impl NewIncident {
    /// Checks what was entered and fixes the age group NEWS2's use will rest on.
    pub fn checked(&self, started: DateTime<Utc>, by: Author) -> Result<Incident, IncidentError> {
        let reference = self.reference.trim();
        if reference.is_empty() {
            return Err(IncidentError::ReferenceMissing);
        }
        if reference.chars().count() > MAX_REFERENCE_CHARS {
            return Err(IncidentError::ReferenceTooLong);
        }
        let place = self.place.trim();
        let description = self.description.trim();
        if place.chars().count() > MAX_LINE_CHARS || description.chars().count() > MAX_LINE_CHARS {
            return Err(IncidentError::LineTooLong);
        }
        if let Some(age) = self.estimated_age {
            if age > MAX_ESTIMATED_AGE {
                return Err(IncidentError::EstimatedAgeOutOfRange);
            }
            if let Some((from, to)) = self.age_band.years()
                && !(from..=to).contains(&age)
            {
                return Err(IncidentError::EstimatedAgeOutsideBand);
            }
        }
        if let Some(at) = self.occurred_at
            && (at > started + chrono::Duration::minutes(CLOCK_SKEW_MINUTES)
                || at < started - chrono::Duration::days(MAX_DAYS_BEFORE))
        {
            return Err(IncidentError::OccurredOutOfRange);
        }
        let implied = self
            .age_band
            .group()
            .or(self.estimated_age.map(AgeGroup::of_years));
        let age_group = match (implied, self.stated_group) {
            (Some(implied), Some(stated)) if implied != stated => {
                return Err(IncidentError::AgeGroupContradicts);
            }
            (_, Some(stated)) => stated,
            // An estimate alone is a guess either side of 16: the clinician must say.
            (Some(implied), None) if self.age_band != AgeBand::Unknown => implied,
            _ => return Err(IncidentError::AgeGroupNeeded),
        };
        Ok(Incident {
            reference: reference.to_owned(),
            place: place.to_owned(),
            description: description.to_owned(),
            age_band: self.age_band,
            estimated_age: self.estimated_age,
            age_group,
            started,
            occurred_at: self.occurred_at,
            by,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{DeviceId, UserId};
    use crate::observation::Role;

    fn paramedic() -> Author {
        Author {
            user: UserId::from_u128(1),
            role: Role::Paramedic,
            device: DeviceId::from_u128(2),
        }
    }

    fn incident(band: AgeBand, estimated: Option<u8>, stated: Option<AgeGroup>) -> NewIncident {
        NewIncident {
            reference: "CAD-20261203-0042".into(),
            place: "Car park, Station Road".into(),
            description: "Collapsed, no wallet".into(),
            sex: Sex::Male,
            age_band: band,
            estimated_age: estimated,
            stated_group: stated,
            occurred_at: None,
        }
    }

    /// (band, estimated age, stated group, the group NEWS2 rests on or the refusal)
    type Case = (
        AgeBand,
        Option<u8>,
        Option<AgeGroup>,
        Result<AgeGroup, IncidentError>,
    );

    #[test]
    fn the_age_group_follows_the_band_or_the_clinician() {
        use AgeGroup::{Adult, Child};
        let started = Utc::now();
        let cases: [Case; 16] = [
            (AgeBand::From40To64, None, None, Ok(Adult)),
            (AgeBand::From40To64, Some(50), None, Ok(Adult)),
            (AgeBand::From40To64, Some(50), Some(Adult), Ok(Adult)),
            (
                AgeBand::From40To64,
                None,
                Some(Child),
                Err(IncidentError::AgeGroupContradicts),
            ),
            (AgeBand::From13To15, None, None, Ok(Child)),
            (AgeBand::From13To15, Some(15), None, Ok(Child)),
            (
                AgeBand::From13To15,
                Some(16),
                None,
                Err(IncidentError::EstimatedAgeOutsideBand),
            ),
            (AgeBand::From16To17, Some(16), None, Ok(Adult)),
            (
                AgeBand::From16To17,
                None,
                Some(Child),
                Err(IncidentError::AgeGroupContradicts),
            ),
            (AgeBand::Under1, Some(0), None, Ok(Child)),
            (
                AgeBand::From80,
                Some(121),
                None,
                Err(IncidentError::EstimatedAgeOutOfRange),
            ),
            (
                AgeBand::Unknown,
                None,
                None,
                Err(IncidentError::AgeGroupNeeded),
            ),
            // An estimate either side of 16 is still a guess: the clinician must say.
            (
                AgeBand::Unknown,
                Some(30),
                None,
                Err(IncidentError::AgeGroupNeeded),
            ),
            (AgeBand::Unknown, None, Some(Child), Ok(Child)),
            (AgeBand::Unknown, Some(17), Some(Adult), Ok(Adult)),
            (
                AgeBand::Unknown,
                Some(15),
                Some(Adult),
                Err(IncidentError::AgeGroupContradicts),
            ),
        ];
        for (band, estimated, stated, expected) in cases {
            let result = incident(band, estimated, stated)
                .checked(started, paramedic())
                .map(|incident| incident.age_group);
            assert_eq!(result, expected, "{band:?} {estimated:?} {stated:?}");
        }
    }

    #[test]
    fn an_identification_that_disagrees_with_the_scene_is_pointed_out() {
        let started: DateTime<Utc> = "2026-12-03T14:00:00Z".parse().unwrap();
        let mut new = incident(AgeBand::From40To64, Some(50), None);
        let scene = new.checked(started, paramedic()).unwrap();
        let born = |text: &str| Some(text.parse::<chrono::NaiveDate>().unwrap());
        assert!(mismatches(&scene, Sex::Male, Sex::Male, born("1976-05-01")).is_empty());
        assert_eq!(
            mismatches(&scene, Sex::Male, Sex::Female, born("1976-05-01")),
            ["sex: the incident says male, the record says female"]
        );
        assert_eq!(
            mismatches(&scene, Sex::Male, Sex::Male, born("1950-05-01")),
            ["age: the record says 76, outside the incident's band of 40 to 64 years"]
        );
        assert_eq!(
            mismatches(&scene, Sex::Male, Sex::Male, born("2012-05-01")),
            ["age: the record says 14, a child; the incident was recorded as an adult"]
        );
        new.age_band = AgeBand::Unknown;
        new.stated_group = Some(AgeGroup::Adult);
        new.estimated_age = Some(30);
        let scene = new.checked(started, paramedic()).unwrap();
        assert_eq!(
            mismatches(&scene, Sex::Unknown, Sex::Female, born("1960-01-01")),
            ["age: the record says 66; the incident estimated about 30"]
        );
        assert!(mismatches(&scene, Sex::Male, Sex::Male, None).is_empty());
    }

    #[test]
    fn every_band_but_unknown_lies_on_one_side_of_sixteen() {
        for band in AgeBand::ALL {
            let parsed: AgeBand = band.key().parse().unwrap();
            assert_eq!(parsed, band);
            match band.years() {
                Some((from, to)) => {
                    assert!(from <= to);
                    assert_eq!(AgeGroup::of_years(from), AgeGroup::of_years(to), "{band:?}");
                }
                None => assert_eq!(band, AgeBand::Unknown),
            }
        }
        assert_eq!(
            "30-40".parse::<AgeBand>(),
            Err(IncidentError::UnknownAgeBand)
        );
    }

    #[test]
    fn the_reference_and_lines_are_checked_and_trimmed() {
        let started = Utc::now();
        let mut new = incident(AgeBand::From18To39, None, None);
        new.reference = "  ".into();
        assert_eq!(
            new.checked(started, paramedic()).err(),
            Some(IncidentError::ReferenceMissing)
        );
        new.reference = "R".repeat(41);
        assert_eq!(
            new.checked(started, paramedic()).err(),
            Some(IncidentError::ReferenceTooLong)
        );
        new.reference = " CAD-1 ".into();
        new.description = "x".repeat(201);
        assert_eq!(
            new.checked(started, paramedic()).err(),
            Some(IncidentError::LineTooLong)
        );
        new.description = " Fall from ladder ".into();
        new.occurred_at = Some(started + chrono::Duration::hours(1));
        assert_eq!(
            new.checked(started, paramedic()).err(),
            Some(IncidentError::OccurredOutOfRange)
        );
        new.occurred_at = Some(started - chrono::Duration::days(8));
        assert_eq!(
            new.checked(started, paramedic()).err(),
            Some(IncidentError::OccurredOutOfRange)
        );
        new.occurred_at = Some(started - chrono::Duration::minutes(40));
        let incident = new.checked(started, paramedic()).unwrap();
        assert_eq!(incident.reference, "CAD-1");
        assert_eq!(incident.description, "Fall from ladder");
        assert_eq!(
            incident.temporary_name(Sex::Male),
            "Unknown male, 18 to 39 years"
        );
        assert!(!format!("{incident:?}").contains("CAD-1"));
    }
}
