//! The small per-patient summary that lists and search work from: sealed on disk, decrypted into
//! memory at unlock, so there is never a plaintext index to leak.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::record::{EntryStatus, PatientRecord};
use super::restriction::Restriction;
use crate::ids::PatientId;
use crate::incident::{AgeGroup, Incident};
use crate::news2::{ClinicalRisk, MaternityPeriod, NotApplicableReason, Outcome};
use crate::nhs_number::NhsNumber;
use crate::observation::ObservationSet;
use crate::patient::{FlagKind, Sex};

/// The latest set of a patient, as the caseload shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatestNews2 {
    pub taken_at: DateTime<Utc>,
    /// `None` for a partial set (it has no score) and where NEWS2 does not apply.
    pub total: Option<u8>,
    pub risk: Option<ClinicalRisk>,
    pub partial: bool,
    /// The risk to alert on: the band, or the floor a partial set already forces.
    pub effective_risk: Option<ClinicalRisk>,
    /// The total or a partial set's lower bound; for ordering only.
    pub points: u8,
    /// Why NEWS2 was not used for this set; then there is no score at all.
    #[serde(default)]
    pub not_applicable: Option<NotApplicableReason>,
}

impl LatestNews2 {
    pub fn of(set: &ObservationSet) -> Self {
        match set.news2() {
            Some(result) => Self {
                taken_at: set.taken_at(),
                total: result.total(),
                risk: result.risk(),
                partial: result.is_partial(),
                effective_risk: result.effective_risk(),
                points: result.points(),
                not_applicable: None,
            },
            None => Self {
                taken_at: set.taken_at(),
                total: None,
                risk: None,
                partial: false,
                effective_risk: None,
                points: 0,
                not_applicable: set.not_applicable().map(|n| n.reason),
            },
        }
    }
}

/// A set's contribution to ranking: when, the risk it shows (band or floor), its points, and when
/// the next set is due after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RankedSet {
    pub taken_at: DateTime<Utc>,
    pub risk: ClinicalRisk,
    pub points: u8,
    pub next_due: Option<DateTime<Utc>>,
}

/// Partial sets kept after the last complete one: enough for any real visit pattern.
const MAX_NEWER_FLOORS: usize = 16;

/// What "most urgent first" and "observations due" are computed from: the last complete set, the
/// floors of partial sets taken after it, and when the patient was last observed at all.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ranking {
    pub last_complete: Option<RankedSet>,
    /// Partial sets newer than the last complete one whose present values force a risk, newest
    /// last.
    pub newer_floors: Vec<RankedSet>,
    /// Any set, scored or not (a child's, a pregnant woman's).
    pub last_observed: Option<DateTime<Utc>>,
}

impl Ranking {
    fn observe(&mut self, set: &ObservationSet) {
        // Observations beside NEWS2 on their own are not a NEWS2 observation: they neither
        // reset "last observed" nor set a due time.
        if set.is_beside_only() {
            return;
        }
        // A set dated ahead of this device's clock (a colleague's clock running fast) ranks as
        // taken now: dated in the future it would stay "fresh" and hide every newer set.
        let latest_plausible =
            Utc::now() + chrono::Duration::minutes(super::session::CLOCK_SKEW_TOLERANCE_MINUTES);
        let from_the_future = set.taken_at() > latest_plausible;
        let taken_at = set.taken_at().min(latest_plausible);
        let next_due = set
            .response()
            .and_then(|response| response.next_due(taken_at));
        self.last_observed = Some(self.last_observed.map_or(taken_at, |t| t.max(taken_at)));
        let Some(result) = set.news2() else {
            return;
        };
        let newer_than_complete = self
            .last_complete
            .is_none_or(|complete| taken_at >= complete.taken_at);
        match result.outcome {
            // Its band still counts, but it may not stand as the last complete set and so
            // supersede sets that are really newer.
            Outcome::Complete { risk, total, .. } if from_the_future => {
                self.newer_floors.push(RankedSet {
                    taken_at,
                    risk,
                    points: total,
                    next_due,
                });
                self.trim_floors();
            }
            Outcome::Complete { risk, total, .. } if newer_than_complete => {
                self.last_complete = Some(RankedSet {
                    taken_at,
                    risk,
                    points: total,
                    next_due,
                });
                self.newer_floors.retain(|floor| floor.taken_at > taken_at);
            }
            Outcome::Partial {
                minimum_risk: Some(risk),
                lower_bound,
                ..
            } if newer_than_complete => {
                self.newer_floors.push(RankedSet {
                    taken_at,
                    risk,
                    points: lower_bound,
                    next_due,
                });
                self.trim_floors();
            }
            _ => {}
        }
    }

    /// Over the cap, the least urgent floor goes (the oldest of equals): dropping by age alone
    /// could drop the one high floor under a run of lesser ones.
    fn trim_floors(&mut self) {
        while self.newer_floors.len() > MAX_NEWER_FLOORS {
            let Some(least) = self
                .newer_floors
                .iter()
                .enumerate()
                .min_by_key(|(_, floor)| (floor.risk, floor.points, floor.taken_at))
                .map(|(index, _)| index)
            else {
                break;
            };
            self.newer_floors.remove(least);
        }
        self.newer_floors.sort_by_key(|floor| floor.taken_at);
    }

    /// When the next set is due: the soonest the last complete set or a newer partial set's floor
    /// asks for. `None` when the protocol waits for the planned visit, or nothing was scored.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        self.soonest_due()
            .map(|set| set.next_due)
            .unwrap_or_default()
    }

    fn soonest_due(&self) -> Option<&RankedSet> {
        self.last_complete
            .iter()
            .chain(&self.newer_floors)
            .filter(|set| set.next_due.is_some())
            .min_by_key(|set| set.next_due)
    }

    /// Where the patient ranks at `now`: the worse of the last complete set (if taken within
    /// `window`) and the floor of any newer partial set in the window; with neither, the risk is
    /// unknown, which ranks above low.
    pub fn rank(&self, now: DateTime<Utc>, window: chrono::Duration) -> Rank {
        let fresh = |set: &&RankedSet| now.signed_duration_since(set.taken_at) <= window;
        let candidates: Vec<&RankedSet> = self
            .last_complete
            .iter()
            .chain(&self.newer_floors)
            .filter(fresh)
            .collect();
        let risk = candidates.iter().map(|set| set.risk).max();
        let points = candidates.iter().map(|set| set.points).max().unwrap_or(0);
        let soonest = self.soonest_due();
        let next_due = soonest.and_then(|set| set.next_due);
        Rank {
            risk,
            next_due,
            overdue: next_due.is_some_and(|due| now > due),
            continuous: soonest.is_some_and(|set| set.next_due == Some(set.taken_at)),
            points,
            last_observed: self.last_observed,
        }
    }
}

/// A patient's place in "most urgent first".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rank {
    /// `None`: unknown (never observed, nothing complete and recent, NEWS2 not applicable).
    pub risk: Option<ClinicalRisk>,
    pub next_due: Option<DateTime<Utc>>,
    pub overdue: bool,
    /// The set the due time comes from asks for continuous monitoring.
    pub continuous: bool,
    pub points: u8,
    pub last_observed: Option<DateTime<Utc>>,
}

impl Rank {
    /// The word the caseload and `patient list --by-risk` show for the risk it ranked by.
    pub fn risk_word(&self) -> &'static str {
        self.risk.map_or("unknown", ClinicalRisk::word)
    }

    /// Higher is more urgent: high, medium, low-medium, then unknown above low; within a tier
    /// overdue first, then by points, then the longest since last observed (never first).
    pub fn urgency(&self) -> (u8, bool, u8, std::cmp::Reverse<Option<DateTime<Utc>>>) {
        let tier = match self.risk {
            Some(ClinicalRisk::High) => 5,
            Some(ClinicalRisk::Medium) => 4,
            Some(ClinicalRisk::LowMedium) => 3,
            None => 2,
            Some(ClinicalRisk::Low) => 1,
        };
        (
            tier,
            self.overdue,
            self.points,
            std::cmp::Reverse(self.last_observed),
        )
    }
}

/// Bumped when a summary's content changes meaning: older summaries are rebuilt at unlock.
pub const SUMMARY_VERSION: u32 = 5;

#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct PatientSummary {
    pub id: PatientId,
    /// `None` for an incident record not yet identified.
    pub nhs_number: Option<NhsNumber>,
    pub given: String,
    pub family: String,
    /// `None` for an incident record.
    pub birth_date: Option<NaiveDate>,
    #[serde(default = "sex_unknown")]
    pub sex: Sex,
    /// The temporary identity of an incident record.
    #[serde(default)]
    pub incident: Option<Incident>,
    /// The youngest date of birth NEWS2's use rests on (every concurrently recorded one; for one
    /// patient's records read as one, the registered record's).
    #[serde(default)]
    pub youngest_birth_date: Option<NaiveDate>,
    /// Adult or child as stated on scene, where no date of birth is known.
    #[serde(default)]
    pub stated_group: Option<AgeGroup>,
    pub latest_news2: Option<LatestNews2>,
    pub flags: Vec<FlagKind>,
    pub allergies: Vec<String>,
    pub has_conflicts: bool,
    #[serde(default)]
    pub ranking: Ranking,
    /// Recorded pregnancies and births: with the birth date they say whether NEWS2 applies today.
    #[serde(default)]
    pub maternity: Vec<MaternityPeriod>,
    /// Restricted to named clinicians: others see only what a banner shows.
    #[serde(default)]
    pub restriction: Option<Restriction>,
    #[serde(default)]
    pub version: u32,
}

impl std::fmt::Debug for PatientSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PatientSummary({}, <redacted>)", self.id)
    }
}

impl PatientSummary {
    pub fn of(record: &PatientRecord) -> Self {
        let active = |status: EntryStatus| status == EntryStatus::Active;
        let mut ranking = Ranking::default();
        for entry in &record.observations {
            if entry.entered_in_error.is_none() {
                ranking.observe(&entry.set);
            }
        }
        Self {
            id: record.id,
            nhs_number: record.nhs_number,
            given: record.given.clone(),
            family: record.family.clone(),
            birth_date: record.birth_date,
            sex: record.sex,
            incident: record.incident.clone(),
            youngest_birth_date: record.applicability.birth_dates.iter().max().copied(),
            stated_group: record.applicability.stated_group,
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
            ranking,
            maternity: record.applicability.maternity.clone(),
            restriction: record.restriction.clone(),
            version: SUMMARY_VERSION,
        }
    }

    /// What someone a restriction does not name may see: the banner (name, NHS number, date of
    /// birth, allergies, alerts), not the observations, their scores or the pregnancy status.
    pub fn banner_only(&self) -> Self {
        Self {
            latest_news2: None,
            has_conflicts: false,
            ranking: Ranking::default(),
            maternity: Vec::new(),
            restriction: None,
            // Where the patient was found and what happened would say what the restriction hides.
            incident: self.incident.clone().map(Incident::without_details),
            ..self.clone()
        }
    }

    /// Takes a newly recorded set into account without rereading the record.
    pub fn observe(&mut self, set: &ObservationSet) {
        if set.is_beside_only() {
            return;
        }
        let newer = self
            .latest_news2
            .is_none_or(|latest| set.taken_at() >= latest.taken_at);
        if newer {
            self.latest_news2 = Some(LatestNews2::of(set));
        }
        self.ranking.observe(set);
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

    /// The family name as a clinician would say it: case, spaces, hyphens and apostrophes
    /// ignored, so "O'Neill" and "ONEILL", "Hollingworth" and "HOLLINGWORTH" are one name.
    pub(super) fn spoken_family(&self) -> String {
        self.family
            .chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    }

    /// Why NEWS2 is not used for this patient at `now`, if it is not.
    pub fn news2_not_applicable(&self, now: DateTime<Utc>) -> Option<NotApplicableReason> {
        match (self.youngest_birth_date.or(self.birth_date), &self.incident) {
            (Some(born), _) => crate::news2::not_applicable(born, &self.maternity, now),
            (None, incident) => crate::news2::not_applicable_for_group(
                // As the record reads it: no birth date and no statement is a child's.
                self.stated_group
                    .or(incident.as_ref().map(|incident| incident.age_group))
                    .unwrap_or(AgeGroup::Child),
                &self.maternity,
                now,
            ),
        }
        .map(|n| n.reason)
    }

    /// The NHS number of a registered patient's record: two such records never share one, while
    /// an incident record identified with it is linked to the registered record instead.
    pub fn registered_nhs_number(&self) -> Option<NhsNumber> {
        self.nhs_number.filter(|_| self.incident.is_none())
    }

    /// The name lists show: "FAMILY, Given", or an incident's temporary name until someone
    /// records the patient's name.
    pub fn display_name(&self) -> String {
        crate::incident::shown_name(&self.family, &self.given, self.sex, self.incident.as_ref())
    }

    /// Where this patient ranks at `now` with the protocol's window for complete sets.
    pub fn rank(&self, now: DateTime<Utc>, window: chrono::Duration) -> Rank {
        let mut rank = self.ranking.rank(now, window);
        if self.news2_not_applicable(now).is_some() {
            // No NEWS2 band ranks a patient it does not apply to; the due time still shows.
            rank.risk = None;
            rank.points = 0;
        }
        rank
    }
}

fn sex_unknown() -> Sex {
    Sex::Unknown
}

/// Patients who share a family name with another patient on the device (a couple at one
/// address, a parent and child): each is marked wherever a name is chosen, so the wrong one is
/// not opened by a glance at the surname.
pub fn similar_names<'a>(
    summaries: impl IntoIterator<Item = &'a PatientSummary>,
) -> std::collections::HashSet<PatientId> {
    let mut by_name: std::collections::HashMap<String, Vec<PatientId>> =
        std::collections::HashMap::new();
    for summary in summaries {
        by_name
            .entry(summary.spoken_family())
            .or_default()
            .push(summary.id);
    }
    by_name
        .into_values()
        .filter(|ids| ids.len() > 1)
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use proptest::prelude::*;

    use super::*;
    use crate::ids::{DeviceId, ObservationId, UserId};
    use crate::news2::{News2Result, ResponseProtocol};
    use crate::observation::{Author, Role, Scoring};
    use crate::vitals::{Spo2Scale, VitalsInput};

    fn set(input: &VitalsInput, taken_at: DateTime<Utc>) -> ObservationSet {
        ObservationSet::record(
            ObservationId::random(),
            taken_at,
            Author {
                user: UserId::from_u128(1),
                role: Role::Nurse,
                device: DeviceId::from_u128(2),
            },
            input.validate().unwrap(),
            Spo2Scale::Scale1,
            &Scoring::applies(&ResponseProtocol::community()),
        )
    }

    fn complete() -> impl Strategy<Value = VitalsInput> {
        (
            4i64..40,
            80i64..100,
            any::<bool>(),
            70i64..240,
            35i64..150,
            prop::sample::select(vec!["A", "C", "V", "P", "U"]),
            340i64..405,
        )
            .prop_map(|(rr, spo2, oxygen, sbp, pulse, acvpu, temp)| VitalsInput {
                respiration_rate: Some(rr),
                spo2: Some(spo2),
                spo2_scale: None,
                on_oxygen: Some(oxygen),
                systolic_bp: Some(sbp),
                pulse: Some(pulse),
                consciousness: Some(acvpu.to_owned()),
                temperature: Some(temp as f64 / 10.0),
                additional: Default::default(),
            })
    }

    /// A set with at least one parameter missing.
    fn incomplete() -> impl Strategy<Value = VitalsInput> {
        (complete(), prop::collection::btree_set(0usize..7, 1..=7)).prop_map(
            |(mut input, removed)| {
                for index in removed {
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
                input
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// Newer sets with values missing never rank a patient below their last complete set, and
        /// never push its due time later.
        #[test]
        fn a_newer_incomplete_set_never_lowers_the_rank_or_delays_the_due_time(
            first in complete(),
            later in prop::collection::vec(incomplete(), 1..6),
        ) {
            let start: DateTime<Utc> = "2026-06-01T10:00:00Z".parse().unwrap();
            let window = Duration::hours(24);
            let now = start + Duration::hours(2);
            let mut ranking = Ranking::default();
            ranking.observe(&set(&first, start));
            let before = ranking.rank(now, window);
            let mut minutes = 0;
            for input in &later {
                minutes += 5;
                let newer = set(input, start + Duration::minutes(minutes));
                prop_assert!(newer.news2().is_some_and(News2Result::is_partial));
                ranking.observe(&newer);
                let after = ranking.rank(now, window);
                prop_assert!(after.risk >= before.risk, "{:?} < {:?}", after.risk, before.risk);
                let order = |rank: &Rank| {
                    let (tier, overdue, points, _) = rank.urgency();
                    (tier, overdue, points)
                };
                prop_assert!(order(&after) >= order(&before));
                if let (Some(due_before), Some(due_after)) = (before.next_due, after.next_due) {
                    prop_assert!(due_after <= due_before);
                }
                prop_assert!(before.next_due.is_none() || after.next_due.is_some());
            }
        }
    }

    fn input(json: &str) -> VitalsInput {
        VitalsInput::from_json(json).unwrap().0
    }

    const HIGH: &str = r#"{"respiration_rate": 30, "spo2": 90, "on_oxygen": false, "systolic_bp": 88, "pulse": 135, "consciousness": "A", "temperature": 37.0}"#;
    const ZERO: &str = r#"{"respiration_rate": 16, "spo2": 98, "on_oxygen": false, "systolic_bp": 130, "pulse": 70, "consciousness": "A", "temperature": 36.8}"#;

    #[test]
    fn a_set_dated_in_the_future_never_hides_a_newer_high_set() {
        let now = Utc::now();
        let mut ranking = Ranking::default();
        // A colleague's clock a day fast.
        ranking.observe(&set(&input(ZERO), now + Duration::days(1)));
        ranking.observe(&set(&input(HIGH), now));
        let rank = ranking.rank(now, Duration::hours(24));
        assert_eq!(rank.risk_word(), "high");
        assert!(rank.continuous);
    }

    #[test]
    fn a_run_of_lesser_partial_sets_never_pushes_out_a_high_floor() {
        let start: DateTime<Utc> = "2026-06-01T10:00:00Z".parse().unwrap();
        let mut ranking = Ranking::default();
        ranking.observe(&set(&input(ZERO), start));
        // Present values forcing high: RR 30 (3) + SpO2 88 (3) + pulse 135 (3).
        ranking.observe(&set(
            &input(r#"{"respiration_rate": 30, "spo2": 88, "pulse": 135}"#),
            start + Duration::minutes(5),
        ));
        for minute in 0..(MAX_NEWER_FLOORS as i64 + 4) {
            // SpO2 90 alone: 3, at least low-medium.
            ranking.observe(&set(
                &input(r#"{"spo2": 90}"#),
                start + Duration::minutes(10 + minute),
            ));
        }
        assert_eq!(ranking.newer_floors.len(), MAX_NEWER_FLOORS);
        let rank = ranking.rank(start + Duration::hours(1), Duration::hours(24));
        assert_eq!(rank.risk_word(), "high");
    }

    #[test]
    fn a_complete_set_outside_the_window_ranks_as_unknown_not_low_or_high() {
        let start: DateTime<Utc> = "2026-06-01T10:00:00Z".parse().unwrap();
        let input = VitalsInput::from_json(
            r#"{"respiration_rate": 16, "spo2": 98, "on_oxygen": false, "systolic_bp": 130, "pulse": 70, "consciousness": "A", "temperature": 36.8}"#,
        )
        .unwrap()
        .0;
        let mut ranking = Ranking::default();
        ranking.observe(&set(&input, start));
        let window = Duration::hours(24);
        assert_eq!(
            ranking
                .rank(start + Duration::hours(23), window)
                .risk_word(),
            "low"
        );
        assert_eq!(
            ranking
                .rank(start + Duration::hours(25), window)
                .risk_word(),
            "unknown"
        );
        assert!(
            ranking.rank(start + Duration::hours(25), window).urgency()
                > ranking.rank(start + Duration::hours(23), window).urgency()
        );
    }
}
