//! Where NEWS2 may be used (CLINICAL.md, "Where NEWS2 must not be used"): adults of 16 and over,
//! not pregnant, not in the weeks after birth. For anyone else the core records the vital signs
//! and returns no score at all, with the chart the organisation uses instead.

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::incident::AgeGroup;
use crate::patient::MaternityStatus;

/// Why NEWS2 was not used for a set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NotApplicableReason {
    #[serde(rename = "under-16")]
    Under16,
    #[serde(rename = "pregnant")]
    Pregnant,
    #[serde(rename = "postnatal")]
    Postnatal,
}

impl NotApplicableReason {
    pub fn key(self) -> &'static str {
        match self {
            NotApplicableReason::Under16 => "under-16",
            NotApplicableReason::Pregnant => "pregnant",
            NotApplicableReason::Postnatal => "postnatal",
        }
    }

    /// What the clinician reads instead of a score.
    pub fn message(self) -> &'static str {
        match self {
            NotApplicableReason::Under16 => {
                "NEWS2 is not used under 16: the vital signs are recorded; use the organisation's \
                 paediatric early warning chart (PEWS)"
            }
            NotApplicableReason::Pregnant => {
                "NEWS2 is not used in pregnancy: the vital signs are recorded; use the \
                 organisation's maternity early warning chart (MEWS)"
            }
            NotApplicableReason::Postnatal => {
                "NEWS2 is not used in the weeks after birth: the vital signs are recorded; use the \
                 organisation's maternity early warning chart (MEWS)"
            }
        }
    }
}

/// A set for which NEWS2 gives no number, band or response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotApplicable {
    pub reason: NotApplicableReason,
    pub message: String,
}

impl NotApplicable {
    pub fn because(reason: NotApplicableReason) -> Self {
        Self {
            reason,
            message: reason.message().to_owned(),
        }
    }
}

/// The longest a pregnancy runs before its expected date (from the last menstrual period).
const PREGNANCY_DAYS: u64 = 280;
/// How far past the expected date a pregnancy may go (42 weeks).
const OVERDUE_DAYS: u64 = 14;

/// The dates, inclusive, on which a recorded pregnancy or birth rules NEWS2 out.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaternityPeriod {
    pub from: NaiveDate,
    /// Birth, when recorded: from it on the reason is "postnatal".
    pub delivered: Option<NaiveDate>,
    pub until: NaiveDate,
}

impl std::fmt::Debug for MaternityPeriod {
    // Pregnancy dates are patient data.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MaternityPeriod(<redacted>)")
    }
}

impl MaternityPeriod {
    /// The period a status covers, with the organisation's postnatal days. A pregnancy with no
    /// birth recorded yet runs to 42 weeks and the postnatal period after it, so a birth that is
    /// not yet written up never brings NEWS2 back early.
    pub fn of(status: &MaternityStatus, postnatal_days: u16) -> Option<Self> {
        let postnatal = Days::new(u64::from(postnatal_days));
        match *status {
            MaternityStatus::None => None,
            MaternityStatus::Pregnant { expected_delivery } => Some(Self {
                from: expected_delivery - Days::new(PREGNANCY_DAYS),
                delivered: None,
                until: expected_delivery + Days::new(OVERDUE_DAYS) + postnatal,
            }),
            MaternityStatus::Postnatal { delivered } => Some(Self {
                from: delivered - Days::new(PREGNANCY_DAYS),
                delivered: Some(delivered),
                until: delivered + postnatal,
            }),
        }
    }

    /// Whether the period has the patient pregnant on `date`: after conception, up to and
    /// including the day of the birth (a reading in labour is written up that day).
    pub fn pregnant_on(&self, date: NaiveDate) -> bool {
        self.reason_on(date) == Some(NotApplicableReason::Pregnant) || self.delivered == Some(date)
    }

    fn reason_on(&self, date: NaiveDate) -> Option<NotApplicableReason> {
        if date < self.from || date > self.until {
            return None;
        }
        match self.delivered {
            Some(delivered) if date >= delivered => Some(NotApplicableReason::Postnatal),
            _ => Some(NotApplicableReason::Pregnant),
        }
    }
}

/// The calendar date in the UK when a set was taken: ages and maternity periods count in the
/// patient's days, not UTC's (00:30 BST on a 16th birthday is the birthday).
pub fn uk_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&chrono_tz::Europe::London).date_naive()
}

/// Whether NEWS2 may score a set taken at `taken_at` for a patient born on `birth_date` with the
/// maternity periods on their record (every concurrently recorded one: if any rules NEWS2 out, it
/// is out). `None` when it applies.
pub fn not_applicable(
    birth_date: NaiveDate,
    maternity: &[MaternityPeriod],
    taken_at: DateTime<Utc>,
) -> Option<NotApplicable> {
    let date = uk_date(taken_at);
    if let Some(reason) = maternity_reason(maternity, date) {
        return Some(NotApplicable::because(reason));
    }
    // `years_since` counts a 29 February birthday on 1 March in other years, as UK law does;
    // a date before birth is no age at all and is treated as a child's.
    let age = date.years_since(birth_date);
    if age.is_none_or(|years| years < 16) {
        return Some(NotApplicable::because(NotApplicableReason::Under16));
    }
    None
}

/// As [`not_applicable`] for a patient whose date of birth is unknown and whom the clinician
/// stated to be an adult or a child (an incident record).
pub fn not_applicable_for_group(
    group: AgeGroup,
    maternity: &[MaternityPeriod],
    taken_at: DateTime<Utc>,
) -> Option<NotApplicable> {
    if let Some(reason) = maternity_reason(maternity, uk_date(taken_at)) {
        return Some(NotApplicable::because(reason));
    }
    (group == AgeGroup::Child).then(|| NotApplicable::because(NotApplicableReason::Under16))
}

/// A pregnant teenager is cared for by maternity services: their chart is the one to use.
fn maternity_reason(maternity: &[MaternityPeriod], date: NaiveDate) -> Option<NotApplicableReason> {
    maternity
        .iter()
        .filter_map(|period| period.reason_on(date))
        .max_by_key(|reason| *reason == NotApplicableReason::Pregnant)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn sixteenth_birthday_edges_in_uk_time() {
        let born = date("2010-06-26");
        // (moment the set was taken, under 16?)
        let cases = [
            ("2026-06-25T12:00:00Z", true),
            // 23:00 UTC on the 25th is 00:00 BST on the birthday.
            ("2026-06-25T22:59:59Z", true),
            ("2026-06-25T23:00:00Z", false),
            ("2026-06-26T00:30:00Z", false),
            ("2026-06-27T00:00:00Z", false),
            ("2011-01-01T00:00:00Z", true),
        ];
        for (taken, child) in cases {
            let result = not_applicable(born, &[], at(taken));
            assert_eq!(
                result.map(|n| n.reason),
                child.then_some(NotApplicableReason::Under16),
                "{taken}"
            );
        }
        // In winter the UK is on GMT: midnight UTC is the birthday.
        let born = date("2010-12-05");
        assert!(not_applicable(born, &[], at("2026-12-04T23:59:59Z")).is_some());
        assert!(not_applicable(born, &[], at("2026-12-05T00:00:00Z")).is_none());
    }

    #[test]
    fn leap_day_birthdays_turn_sixteen_on_the_first_of_march_in_common_years() {
        let born = date("2084-02-29");
        // 2100 is not a leap year.
        assert!(not_applicable(born, &[], at("2100-02-28T12:00:00Z")).is_some());
        assert!(not_applicable(born, &[], at("2100-03-01T12:00:00Z")).is_none());
        let born = date("2008-02-29");
        assert!(not_applicable(born, &[], at("2024-02-28T12:00:00Z")).is_some());
        assert!(not_applicable(born, &[], at("2024-02-29T12:00:00Z")).is_none());
    }

    #[test]
    fn a_set_dated_before_birth_is_never_scored_as_an_adult() {
        assert!(not_applicable(date("2030-01-01"), &[], at("2026-01-01T00:00:00Z")).is_some());
    }

    #[test]
    fn pregnancy_and_the_postnatal_period_rule_news2_out() {
        let adult = date("1990-01-01");
        let pregnant = MaternityPeriod::of(
            &MaternityStatus::Pregnant {
                expected_delivery: date("2026-08-01"),
            },
            42,
        )
        .unwrap();
        let postnatal = MaternityPeriod::of(
            &MaternityStatus::Postnatal {
                delivered: date("2026-07-20"),
            },
            42,
        )
        .unwrap();
        let reason = |periods: &[MaternityPeriod], taken: &str| {
            not_applicable(adult, periods, at(taken)).map(|n| n.reason)
        };
        use NotApplicableReason::{Postnatal, Pregnant};
        let cases: [(&[MaternityPeriod], &str, Option<NotApplicableReason>); 9] = [
            (&[pregnant], "2026-07-01T10:00:00Z", Some(Pregnant)),
            // 280 days before the expected date, and the day before that.
            (&[pregnant], "2025-10-25T10:00:00Z", Some(Pregnant)),
            (&[pregnant], "2025-10-24T10:00:00Z", None),
            // No birth recorded: 42 weeks and 42 days after the expected date, then NEWS2 again.
            (&[pregnant], "2026-09-26T10:00:00Z", Some(Pregnant)),
            (&[pregnant], "2026-09-27T10:00:00Z", None),
            (&[postnatal], "2026-07-19T10:00:00Z", Some(Pregnant)),
            (&[postnatal], "2026-07-20T10:00:00Z", Some(Postnatal)),
            (&[postnatal], "2026-08-31T10:00:00Z", Some(Postnatal)),
            (&[postnatal], "2026-09-01T10:00:00Z", None),
        ];
        for (periods, taken, expected) in cases {
            assert_eq!(reason(periods, taken), expected, "{taken}");
        }
        // Two devices disagree (one recorded the birth, one still says pregnant): the union rules.
        assert_eq!(
            reason(&[postnatal, pregnant], "2026-09-10T10:00:00Z"),
            Some(Pregnant)
        );
        assert!(MaternityPeriod::of(&MaternityStatus::None, 42).is_none());
        // A pregnant 15-year-old: the maternity chart.
        let teen = date("2011-03-01");
        assert_eq!(
            not_applicable(teen, &[pregnant], at("2026-07-01T10:00:00Z")).map(|n| n.reason),
            Some(Pregnant)
        );
    }

    #[test]
    fn every_reason_names_the_chart_to_use() {
        for reason in [
            NotApplicableReason::Under16,
            NotApplicableReason::Pregnant,
            NotApplicableReason::Postnatal,
        ] {
            let message = reason.message();
            assert!(message.contains("chart"), "{message}");
            // No band words: nothing here may read as a NEWS2 result.
            for band in ["low", "medium", "high", "risk"] {
                assert!(!message.contains(band), "{message}");
            }
            assert_eq!(
                serde_json::to_value(reason).unwrap(),
                serde_json::json!(reason.key())
            );
        }
    }
}
