//! The small per-patient summary that lists and search work from: sealed on disk, decrypted into
//! memory at unlock, so there is never a plaintext index to leak.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::record::{EntryStatus, PatientRecord};
use crate::ids::PatientId;
use crate::news2::ClinicalRisk;
use crate::nhs_number::NhsNumber;
use crate::observation::ObservationSet;
use crate::patient::FlagKind;

/// The latest NEWS2 of a patient, as the caseload shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatestNews2 {
    pub taken_at: DateTime<Utc>,
    /// `None` for a partial set: it has no score.
    pub total: Option<u8>,
    pub risk: Option<ClinicalRisk>,
    pub partial: bool,
    /// The risk to sort and alert on: the band, or the floor a partial set already forces.
    pub effective_risk: Option<ClinicalRisk>,
    /// The total or a partial set's lower bound; for ordering only.
    pub points: u8,
}

impl LatestNews2 {
    pub fn of(set: &ObservationSet) -> Self {
        let result = set.news2();
        Self {
            taken_at: set.taken_at(),
            total: result.total(),
            risk: result.risk(),
            partial: result.is_partial(),
            effective_risk: result.effective_risk(),
            points: result.points(),
        }
    }

    /// Higher is more urgent; a partial set without a floor ranks above low, never as low.
    pub fn urgency(&self) -> (u8, u8) {
        let rank = match self.effective_risk {
            Some(ClinicalRisk::High) => 5,
            Some(ClinicalRisk::Medium) => 4,
            Some(ClinicalRisk::LowMedium) => 3,
            None if self.partial => 2,
            _ => 1,
        };
        (rank, self.points)
    }
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct PatientSummary {
    pub id: PatientId,
    pub nhs_number: NhsNumber,
    pub given: String,
    pub family: String,
    pub birth_date: NaiveDate,
    pub latest_news2: Option<LatestNews2>,
    pub flags: Vec<FlagKind>,
    pub allergies: Vec<String>,
    pub has_conflicts: bool,
}

impl std::fmt::Debug for PatientSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PatientSummary({}, <redacted>)", self.id)
    }
}

impl PatientSummary {
    pub fn of(record: &PatientRecord) -> Self {
        let active = |status: EntryStatus| status == EntryStatus::Active;
        Self {
            id: record.id,
            nhs_number: record.nhs_number,
            given: record.given.clone(),
            family: record.family.clone(),
            birth_date: record.birth_date,
            latest_news2: record.latest_observation().map(LatestNews2::of),
            flags: record
                .flags
                .iter()
                .filter(|entry| active(entry.status))
                .map(|entry| entry.flag.kind)
                .collect(),
            allergies: record
                .allergies
                .iter()
                .filter(|entry| active(entry.status))
                .map(|entry| entry.allergy.substance.clone())
                .collect(),
            has_conflicts: !record.conflicts.is_empty(),
        }
    }

    /// Takes a newly recorded set into account without rereading the record.
    pub fn observe(&mut self, set: &ObservationSet) {
        let newer = self
            .latest_news2
            .is_none_or(|latest| set.taken_at() >= latest.taken_at);
        if newer {
            self.latest_news2 = Some(LatestNews2::of(set));
        }
    }

    /// Case-insensitive prefix match on family name, given name, or "family, given".
    pub fn matches_name(&self, query: &str) -> bool {
        let query = query.trim().to_lowercase();
        if query.is_empty() {
            return false;
        }
        let family = self.family.to_lowercase();
        let given = self.given.to_lowercase();
        family.starts_with(&query)
            || given.starts_with(&query)
            || format!("{family}, {given}").starts_with(&query)
            || format!("{given} {family}").starts_with(&query)
    }

    pub fn urgency(&self) -> (u8, u8) {
        self.latest_news2.map_or((1, 0), |latest| latest.urgency())
    }
}
