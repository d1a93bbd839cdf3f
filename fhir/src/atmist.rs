//! A crew's handover at the door of the emergency department, in ATMIST(ER) order: age and sex,
//! time of incident, mechanism or history, injuries or illness, signs, treatment so far, ETA,
//! requirements on arrival. Short enough to read aloud in under a minute: each heading is one line,
//! the signs are the latest set with the NEWS2 trend since the incident began, and allergies and
//! limits of care go with the requirements, where the receiving team acts on them.

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, Duration, Utc};
use doorstep_core::incident::Incident;
use doorstep_core::news2::Outcome;
use doorstep_core::store::{AllergyStatus, EntryStatus, ObservationEntry, PatientRecord};

/// Words a clinician reads aloud in a minute at a steady handover pace.
pub const WORDS_PER_MINUTE: usize = 150;
/// How far back the trend looks when the record is not an incident's.
const TREND_HOURS: i64 = 12;
/// A crew often takes the first set before opening the record and enters its time: the history
/// starts this long before the record did (or at the incident's time, if earlier).
const BEFORE_RECORD_MINUTES: i64 = 60;
/// A linked incident older than this is not the one being handed over.
const INCIDENT_HOURS: i64 = 24;
/// Sets in the trend.
const TREND_SETS: usize = 5;
/// Longest free text taken from a note into a line that is read aloud.
const NOTE_CHARS: usize = 160;

/// What the crew adds at handover that the record does not hold.
#[derive(Clone, Default)]
pub struct AtmistOptions {
    pub at: DateTime<Utc>,
    /// Injuries or illness, in the crew's words; else the latest note since the incident began.
    pub injuries: Option<String>,
    /// Treatment so far (drugs, fluids, immobilisation); oxygen and calls made are added from the
    /// record.
    pub treatment: Option<String>,
    /// Expected arrival ("10 minutes", "14:40").
    pub eta: Option<String>,
    /// What the receiving team should have ready (resus, trauma team, a bariatric trolley).
    pub requirements: Option<String>,
}

impl std::fmt::Debug for AtmistOptions {
    // The crew's words describe the patient.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AtmistOptions({}, <redacted>)", self.at)
    }
}

/// One heading of the handover.
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
pub struct AtmistLine {
    /// "A", "T", "M", "I", "S", "T", "E", "R".
    pub letter: &'static str,
    pub heading: &'static str,
    pub text: String,
}

impl std::fmt::Debug for AtmistLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AtmistLine({}, <redacted>)", self.heading)
    }
}

/// The handover as read aloud, with how long that takes.
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
pub struct Atmist {
    pub lines: Vec<AtmistLine>,
    pub words: usize,
    /// At [`WORDS_PER_MINUTE`].
    pub seconds_aloud: u32,
}

impl std::fmt::Debug for Atmist {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Atmist({} words, <redacted>)", self.words)
    }
}

impl Atmist {
    /// Each heading on its own line: "A  Age and sex: …".
    pub fn text(&self) -> String {
        let mut out = String::new();
        for line in &self.lines {
            let _ = writeln!(out, "{}  {}: {}", line.letter, line.heading, line.text);
        }
        out
    }
}

/// The ATMIST(ER) handover of `record` at `options.at`.
pub fn atmist(record: &PatientRecord, options: &AtmistOptions) -> Atmist {
    let since = since(record, options.at);
    let sets: Vec<&ObservationEntry> = record
        .observations
        .iter()
        .filter(|entry| entry.entered_in_error.is_none() && entry.set.taken_at() >= since)
        .collect();
    let line = |letter, heading, text: String| AtmistLine {
        letter,
        heading,
        text,
    };
    let lines = vec![
        line("A", "Age and sex", age_and_sex(record, options.at)),
        line(
            "T",
            "Time of incident",
            time_of_incident(record, options.at),
        ),
        line("M", "Mechanism or history", mechanism(record, options.at)),
        line(
            "I",
            "Injuries or illness",
            // The crew's own notes: written once their record was started.
            injuries(
                record,
                options,
                incident_of(record, options.at).map_or(since, |incident| incident.started),
            ),
        ),
        line("S", "Signs", signs(&sets)),
        line(
            "T",
            "Treatment so far",
            treatment(record, options, &sets, since),
        ),
        line(
            "E",
            "ETA",
            given(options.eta.as_deref()).unwrap_or_else(|| "not given".to_owned()),
        ),
        line(
            "R",
            "Requirements on arrival",
            requirements(record, options),
        ),
    ];
    let words = lines
        .iter()
        .map(|line| line.heading.split_whitespace().count() + line.text.split_whitespace().count())
        .sum();
    Atmist {
        lines,
        words,
        seconds_aloud: u32::try_from(words * 60 / WORDS_PER_MINUTE).unwrap_or(u32::MAX),
    }
}

fn given(text: Option<&str>) -> Option<String> {
    text.map(str::trim)
        .filter(|text| !text.is_empty())
        .map(str::to_owned)
}

/// The incident the crew is handing over: the record's own, or, once the patient is identified
/// and read with their registered record, the latest incident linked to it.
fn incident_of(record: &PatientRecord, at: DateTime<Utc>) -> Option<&Incident> {
    // The newest of the record's own and its linked incidents: two crews' incidents of one
    // patient lead with the oldest.
    record
        .incident
        .iter()
        .chain(
            record
                .linked
                .iter()
                .filter(|linked| !linked.restricted)
                .filter_map(|linked| linked.incident.as_ref()),
        )
        .max_by_key(|incident| incident.started)
        .filter(|incident| at - incident.started <= Duration::hours(INCIDENT_HOURS))
}

/// Where the handover's history begins: the incident's time or an hour before its record was
/// started, whichever is earlier; else the last hours.
fn since(record: &PatientRecord, at: DateTime<Utc>) -> DateTime<Utc> {
    incident_of(record, at).map_or_else(
        || at - Duration::hours(TREND_HOURS),
        |incident| {
            let before_record = incident.started - Duration::minutes(BEFORE_RECORD_MINUTES);
            incident
                .occurred_at
                .map_or(before_record, |occurred| occurred.min(before_record))
        },
    )
}

/// "35 minutes ago", "2 h 10 min ago".
fn ago(from: DateTime<Utc>, at: DateTime<Utc>) -> String {
    let minutes = (at - from).num_minutes().max(0);
    if minutes < 120 {
        format!("{minutes} minutes ago")
    } else {
        format!("{} h {} min ago", minutes / 60, minutes % 60)
    }
}

/// A time of day as the UK reads it, for saying aloud.
fn clock(at: DateTime<Utc>) -> String {
    at.with_timezone(&chrono_tz::Europe::London)
        .format("%H:%M")
        .to_string()
}

fn sex(record: &PatientRecord) -> &'static str {
    match record.sex {
        doorstep_core::patient::Sex::Female => "Female",
        doorstep_core::patient::Sex::Male => "Male",
        doorstep_core::patient::Sex::Other => "Sex: other",
        doorstep_core::patient::Sex::Unknown => "Sex: not known",
    }
}

/// An age as said aloud: months under two years, so an infant is never "0".
fn age_words(born: chrono::NaiveDate, at: DateTime<Utc>) -> String {
    let today = doorstep_core::news2::uk_date(at);
    match today.years_since(born) {
        Some(years) if years >= 2 => format!("{years} years"),
        _ => {
            let months = (today.year() - born.year()) * 12 + today.month0() as i32
                - born.month0() as i32
                - i32::from(today.day() < born.day());
            format!("{} months", months.max(0))
        }
    }
}

fn age_and_sex(record: &PatientRecord, at: DateTime<Utc>) -> String {
    let identity = match record.nhs_number {
        Some(number) if !record.family.is_empty() => {
            format!("; {}, NHS {number}", record.display_name())
        }
        Some(number) => format!("; NHS {number}, name not recorded"),
        None => "; not identified".to_owned(),
    };
    match (record.birth_date, &record.incident) {
        (Some(born), _) => format!("{}, {}{identity}", sex(record), age_words(born, at)),
        (None, Some(incident)) => {
            let estimate = incident
                .estimated_age
                .map(|age| format!(", about {age} (estimated)"))
                .unwrap_or_default();
            match incident.age_band {
                doorstep_core::incident::AgeBand::Unknown => format!(
                    "{}, age not known{estimate}, treated as {}{identity}",
                    sex(record),
                    match incident.age_group {
                        doorstep_core::incident::AgeGroup::Adult => "an adult",
                        doorstep_core::incident::AgeGroup::Child => "a child",
                    }
                ),
                band => format!("{}, {}{estimate}{identity}", sex(record), band.words()),
            }
        }
        (None, None) => format!("{}, age not known{identity}", sex(record)),
    }
}

fn time_of_incident(record: &PatientRecord, at: DateTime<Utc>) -> String {
    match incident_of(record, at) {
        Some(incident) => match incident.occurred_at {
            Some(occurred) => format!("{}, {}", clock(occurred), ago(occurred, at)),
            None => format!(
                "not known; the crew's record was started at {}",
                clock(incident.started)
            ),
        },
        None => "not recorded".to_owned(),
    }
}

fn mechanism(record: &PatientRecord, at: DateTime<Utc>) -> String {
    match incident_of(record, at) {
        Some(incident) => {
            let mut text = if incident.description.is_empty() {
                "not recorded".to_owned()
            } else {
                incident.description.clone()
            };
            if !incident.place.is_empty() {
                let _ = write!(text, "; at {}", incident.place);
            }
            text
        }
        None => "not recorded".to_owned(),
    }
}

/// The crew's words, else the newest note written since the incident began, shortened to what
/// can be read aloud.
fn injuries(record: &PatientRecord, options: &AtmistOptions, since: DateTime<Utc>) -> String {
    if let Some(text) = given(options.injuries.as_deref()) {
        return text;
    }
    record
        .notes
        .iter()
        .rev()
        .find(|note| note.entered_in_error.is_none() && note.recorded.at >= since)
        .map_or_else(
            || "not recorded".to_owned(),
            |note| {
                let text: String = note.text.split_whitespace().collect::<Vec<_>>().join(" ");
                if text.chars().count() > NOTE_CHARS {
                    let cut: String = text.chars().take(NOTE_CHARS).collect();
                    format!("{}…", cut.trim_end())
                } else {
                    text
                }
            },
        )
}

fn score_words(entry: &ObservationEntry) -> String {
    let set = &entry.set;
    match (set.news2(), set.not_applicable()) {
        (_, Some(not_applicable)) => match not_applicable.reason {
            doorstep_core::news2::NotApplicableReason::Under16 => {
                "NEWS2 not used, a child".to_owned()
            }
            doorstep_core::news2::NotApplicableReason::Pregnant => {
                "NEWS2 not used, pregnant".to_owned()
            }
            doorstep_core::news2::NotApplicableReason::Postnatal => {
                "NEWS2 not used, postnatal".to_owned()
            }
        },
        (Some(result), None) => match &result.outcome {
            Outcome::Complete { total, risk, .. } => {
                format!("NEWS2 {total}, {}", risk.word())
            }
            Outcome::Partial { minimum_risk, .. } => format!(
                "incomplete set, no NEWS2 total{}",
                minimum_risk
                    .map(|risk| format!(", at least {} risk", risk.word()))
                    .unwrap_or_default()
            ),
        },
        (None, None) => "no NEWS2".to_owned(),
    }
}

fn signs(sets: &[&ObservationEntry]) -> String {
    // The latest set with vital signs; observations beside NEWS2 recorded on their own after it
    // are said with it.
    let Some(at) = sets.iter().rposition(|entry| !entry.set.is_beside_only()) else {
        let beside: Vec<String> = sets
            .iter()
            .flat_map(|entry| entry.set.additional().shown())
            .map(|shown| format!("{} {}", shown.label, shown.text))
            .collect();
        return if beside.is_empty() {
            "no observations recorded".to_owned()
        } else {
            format!("no vital signs recorded; {}", beside.join(", "))
        };
    };
    let latest = sets[at];
    let after = &sets[at + 1..];
    let set = &latest.set;
    let v = set.vitals();
    let mut values: Vec<String> = Vec::new();
    if let Some(rate) = v.respiration_rate {
        values.push(format!("resps {rate}"));
    }
    if let Some(spo2) = v.spo2 {
        let air = match v.on_oxygen {
            Some(true) => " on oxygen",
            Some(false) => " on air",
            None => "",
        };
        values.push(format!("sats {spo2}%{air}"));
    }
    if let Some(systolic) = v.systolic_bp {
        values.push(match set.additional().diastolic_bp {
            Some(diastolic) => format!("BP {systolic} over {diastolic}"),
            None => format!("BP {systolic} systolic"),
        });
    }
    if let Some(pulse) = v.pulse {
        values.push(format!("pulse {pulse}"));
    }
    if let Some(level) = v.consciousness {
        values.push(level.description().to_owned());
    }
    if let Some(temperature) = v.temperature {
        values.push(format!("temp {:.1}", temperature.celsius()));
    }
    let mut text = format!(
        "at {}, {}; {}",
        clock(set.taken_at()),
        score_words(latest),
        values.join(", ")
    );
    let also: Vec<String> = std::iter::once(set)
        .chain(after.iter().map(|entry| &entry.set))
        .flat_map(|set| set.additional().shown())
        .filter(|shown| {
            // Said with the blood pressure and with the treatment.
            !matches!(
                shown.field.as_str(),
                "diastolic_bp" | "oxygen_device" | "oxygen_flow"
            )
        })
        .map(|shown| format!("{} {}", shown.label, shown.text))
        .collect();
    if !also.is_empty() {
        let _ = write!(text, "; {}", also.join(", "));
    }
    let totals: Vec<(DateTime<Utc>, u8, bool)> = sets
        .iter()
        .filter_map(|entry| match entry.set.news2()?.outcome {
            Outcome::Complete { total, .. } if entry.set.not_applicable().is_none() => Some((
                entry.set.taken_at(),
                total,
                entry.set.vitals().on_oxygen == Some(true),
            )),
            _ => None,
        })
        .collect();
    // Each total with its time and whether it counts 2 for oxygen, never a direction word: a
    // peak between two equal totals, or oxygen started, would make one mislead.
    let shown = &totals[totals.len().saturating_sub(TREND_SETS)..];
    if shown.len() > 1 {
        let steps: Vec<String> = shown
            .iter()
            .map(|(at, total, oxygen)| {
                format!(
                    "{total} at {}{}",
                    clock(*at),
                    if *oxygen { " on oxygen" } else { "" }
                )
            })
            .collect();
        let _ = write!(text, "; NEWS2 over time: {}", steps.join(", "));
    }
    text
}

fn treatment(
    record: &PatientRecord,
    options: &AtmistOptions,
    sets: &[&ObservationEntry],
    since: DateTime<Utc>,
) -> String {
    let mut parts: Vec<String> = given(options.treatment.as_deref()).into_iter().collect();
    parts.extend(oxygen(sets));
    for entry in record
        .escalations
        .iter()
        .filter(|entry| entry.escalation.at >= since)
    {
        parts.push(format!(
            "{} called at {}",
            entry.escalation.service.label(),
            clock(entry.escalation.at)
        ));
    }
    if parts.is_empty() {
        "none recorded".to_owned()
    } else {
        parts.join("; ")
    }
}

/// Oxygen as given: by the device and flow of the latest set, or "device not recorded"; or, where
/// the latest set is on air, that it was given earlier.
fn oxygen(sets: &[&ObservationEntry]) -> Option<String> {
    let latest = sets
        .iter()
        .rev()
        .find(|entry| !entry.set.is_beside_only())?;
    let on_oxygen = |entry: &ObservationEntry| entry.set.vitals().on_oxygen == Some(true);
    if on_oxygen(latest) {
        let device = latest
            .set
            .additional()
            .shown()
            .into_iter()
            .find(|shown| shown.field == "oxygen_device")
            .map_or_else(|| "device not recorded".to_owned(), |shown| shown.text);
        return Some(format!("oxygen, {device}"));
    }
    sets.iter().any(|entry| on_oxygen(entry)).then(|| {
        format!(
            "oxygen given earlier, on air at {}",
            clock(latest.set.taken_at())
        )
    })
}

/// Limits of care first (the receiving team acts on them before anything), then allergies, then
/// what the crew asks to have ready.
fn requirements(record: &PatientRecord, options: &AtmistOptions) -> String {
    let mut parts: Vec<String> = record.ceiling_of_care();
    let allergies: Vec<String> = record
        .allergies
        .iter()
        .filter(|entry| entry.status == EntryStatus::Active)
        .map(|entry| entry.allergy.substance.clone())
        .collect();
    // Worded so the two cannot be heard as each other ("no known allergies" against "allergies
    // not known").
    parts.push(if allergies.is_empty() {
        match record.allergy_status {
            AllergyStatus::NoKnownAllergies { .. } => "no known allergies, confirmed".to_owned(),
            _ => "ALLERGIES NOT RECORDED, ask".to_owned(),
        }
    } else {
        format!("ALLERGIC TO {}", allergies.join(", "))
    });
    parts.push(
        given(options.requirements.as_deref()).unwrap_or_else(|| "nothing else asked".to_owned()),
    );
    parts.join("; ")
}
