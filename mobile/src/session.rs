//! An unlocked device store, for one user: everything a shift needs.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use doorstep_core::patient::{Address, Demographics, GpPractice, Sex};
use doorstep_core::store::Session;
use doorstep_core::vitals::{Field, VitalsInput};
use doorstep_core::{NhsNumber, ObservationId, PatientId, view};
use serde_json::{Map, Value, json};

use crate::error::MobileError;
use crate::types::{AuditRow, CaseloadRow, NewIncident, NewPatient, SetView, User};

/// One user's unlocked session. It locks itself after the organisation's idle limit; every call
/// after that returns [`MobileError::Locked`].
#[derive(uniffi::Object)]
pub struct MobileSession {
    pub(crate) session: Session,
}

impl std::fmt::Debug for MobileSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MobileSession")
    }
}

impl MobileSession {
    pub(crate) fn new(session: Session) -> Arc<Self> {
        Arc::new(Self { session })
    }
}

fn patient_id(text: &str) -> Result<PatientId, MobileError> {
    text.parse()
        .map_err(|_| MobileError::bad_input(Some("patient_id"), "that patient id is not valid"))
}

fn nhs_number(text: &str) -> Result<NhsNumber, MobileError> {
    NhsNumber::parse(text)
        .map_err(|error| MobileError::bad_input(Some("nhs_number"), &error.to_string()))
}

fn sex(text: &str) -> Result<Sex, MobileError> {
    match text.trim() {
        "female" => Ok(Sex::Female),
        "male" => Ok(Sex::Male),
        "other" => Ok(Sex::Other),
        "unknown" | "" => Ok(Sex::Unknown),
        _ => Err(MobileError::bad_input(
            Some("sex"),
            "sex is female, male, other or unknown",
        )),
    }
}

/// Entered values as a JSON object (`{"respiration_rate": 18, "spo2": 96, …}`, the keys of
/// `doorstep news2 --vitals`).
fn entered(vitals_json: &str) -> Result<Map<String, Value>, MobileError> {
    match serde_json::from_str(vitals_json) {
        Ok(Value::Object(values)) => Ok(values),
        _ => Err(MobileError::bad_input(
            Some("vitals_json"),
            "the entered values are not a JSON object of vital signs",
        )),
    }
}

/// A time the shell sends (RFC 3339), or none for now.
fn taken_at(text: Option<String>) -> Result<Option<DateTime<Utc>>, MobileError> {
    time(
        text,
        "taken_at",
        "the time taken is not a date and time (RFC 3339)",
    )
}

/// A time the shell sends (RFC 3339) for `field`, or none.
fn time(
    text: Option<String>,
    field: &str,
    refusal: &str,
) -> Result<Option<DateTime<Utc>>, MobileError> {
    match text
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
    {
        None => Ok(None),
        Some(text) => DateTime::parse_from_rfc3339(text)
            .map(|at| Some(at.with_timezone(&Utc)))
            .map_err(|_| MobileError::bad_input(Some(field), refusal)),
    }
}

#[uniffi::export]
impl MobileSession {
    /// Who is unlocked. No disk.
    pub fn user(&self) -> User {
        User::from(self.session.user())
    }

    /// This device's id as the organisation's roster knows it (for support, and revocation).
    /// Reads the disk: call off the main thread.
    pub fn device_id(&self) -> Result<String, MobileError> {
        Ok(self.session.sync_status()?.device_id.to_string())
    }

    /// What wraps this device's data key: the platform key store's sealer name, or
    /// `software-v1` (a key file beside the database) where the platform had none when the
    /// device was set up. Reads the disk: call off the main thread.
    pub fn key_sealer(&self) -> Result<String, MobileError> {
        Ok(self.session.sync_status()?.key_sealer)
    }

    /// Locks now: the key is zeroised; unlock again with the PIN. No disk.
    pub fn lock(&self) -> Result<(), MobileError> {
        Ok(self.session.lock()?)
    }

    /// The caseload, most urgent first (`by_risk`) or by name, or those matching `query` (name
    /// or NHS number). Reads the disk: call off the main thread.
    pub fn caseload(&self, query: String, by_risk: bool) -> Result<Vec<CaseloadRow>, MobileError> {
        Ok(
            view::caseload_json(&self.session, &query, by_risk, Utc::now())?
                .iter()
                .map(CaseloadRow::from_view)
                .collect(),
        )
    }

    /// One record as JSON (`doorstep_core::view::record_view_json`): opened and audited as a
    /// view where this user may open it, else its banner only. Disk: call off the main thread.
    pub fn record(&self, patient_id: String) -> Result<String, MobileError> {
        let protocol = self.session.protocol()?;
        Ok(
            view::record_view_json(&self.session, self::patient_id(&patient_id)?, &protocol)?
                .to_string(),
        )
    }

    /// Scores the values entered so far, as they are typed: each checked on its own, refused ones
    /// listed in `errors`, the rest scored (a partial set shows the least risk it forces). Saves
    /// nothing. Disk (reads the record): call off the main thread.
    pub fn preview_set(
        &self,
        patient_id: String,
        vitals_json: String,
        taken_at: Option<String>,
    ) -> Result<SetView, MobileError> {
        let protocol = self.session.protocol()?;
        let (signs, errors) = VitalsInput::validate_each(&entered(&vitals_json)?);
        let set = self.session.preview_observation(
            self::patient_id(&patient_id)?,
            signs,
            self::taken_at(taken_at)?,
        )?;
        let mut value = view::set_json(&set, &protocol);
        value["errors"] = json!(
            errors
                .iter()
                .map(view::vitals_error_json)
                .collect::<Vec<_>>()
        );
        Ok(SetView::from_view(&value))
    }

    /// Saves a set, scored by the core; returns it as saved. Values outside their usual range
    /// are refused (`InvalidInput` with code `unusual-values`) until listed in `confirm_unusual`
    /// (their keys). Durable when it returns. Disk: call off the main thread.
    pub fn save_set(
        &self,
        patient_id: String,
        vitals_json: String,
        taken_at: Option<String>,
        confirm_unusual: Vec<String>,
    ) -> Result<SetView, MobileError> {
        let protocol = self.session.protocol()?;
        let input = VitalsInput::from_json_object(&entered(&vitals_json)?)
            .map_err(doorstep_core::store::StoreError::from)?;
        let confirmed = confirm_unusual
            .iter()
            .map(|key| {
                Field::from_key(key).ok_or_else(|| {
                    MobileError::bad_input(Some("confirm_unusual"), "unknown field to confirm")
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let set = self.session.record_observation_confirming(
            self::patient_id(&patient_id)?,
            &input,
            self::taken_at(taken_at)?,
            &confirmed,
        )?;
        Ok(SetView::from_view(&view::set_json(&set, &protocol)))
    }

    /// Marks a set entered in error, with why. The set stays readable. Disk: off the main thread.
    pub fn mark_set_entered_in_error(
        &self,
        set_id: String,
        reason: String,
    ) -> Result<(), MobileError> {
        let set: ObservationId = set_id
            .parse()
            .map_err(|_| MobileError::bad_input(Some("set_id"), "that set id is not valid"))?;
        self.session
            .mark_observation_entered_in_error(set, &reason)?;
        Ok(())
    }

    /// Adds a visit note; returns its id. Disk: call off the main thread.
    pub fn add_note(&self, patient_id: String, text: String) -> Result<String, MobileError> {
        if text.trim().is_empty() {
            return Err(MobileError::bad_input(Some("text"), "write the note first"));
        }
        Ok(self
            .session
            .add_note(self::patient_id(&patient_id)?, &text)?
            .to_string())
    }

    /// Saves the care plan whole. Disk: call off the main thread.
    pub fn set_care_plan(&self, patient_id: String, text: String) -> Result<(), MobileError> {
        Ok(self
            .session
            .set_care_plan(self::patient_id(&patient_id)?, &text)?)
    }

    /// Registers a patient from a referral; returns the new record's id. Disk: off the main
    /// thread.
    pub fn register_patient(&self, patient: NewPatient) -> Result<String, MobileError> {
        let nhs_number = self::nhs_number(&patient.nhs_number)?;
        let birth_date =
            NaiveDate::parse_from_str(patient.birth_date.trim(), "%Y-%m-%d").map_err(|_| {
                MobileError::bad_input(Some("birth_date"), "the date of birth is not YYYY-MM-DD")
            })?;
        let sex = sex(&patient.sex)?;
        let demographics = Demographics {
            nhs_number,
            given: patient.given,
            family: patient.family,
            birth_date,
            sex,
            address: Address {
                lines: patient.address_lines,
                town: patient.town,
                postcode: patient.postcode,
            },
            gp_practice: GpPractice {
                ods_code: patient.gp_ods_code,
                name: patient.gp_name,
            },
            contacts: Vec::new(),
        };
        Ok(self
            .session
            .add_patient(&doorstep_core::store::NewPatient::with_demographics(
                demographics,
            ))?
            .to_string())
    }

    /// Starts a record for a patient no one has identified (no NHS number); returns its id. The
    /// core decides from the age band, or the stated adult or child, whether NEWS2 is used. Disk:
    /// off the main thread.
    pub fn start_incident(&self, incident: NewIncident) -> Result<String, MobileError> {
        let age_band = incident
            .age_band
            .parse::<doorstep_core::incident::AgeBand>()
            .map_err(|error| MobileError::bad_input(Some("age_band"), &error.to_string()))?;
        let stated_group = match incident.age_group.as_deref().map(str::trim) {
            None | Some("") => None,
            Some("adult") => Some(doorstep_core::incident::AgeGroup::Adult),
            Some("child") => Some(doorstep_core::incident::AgeGroup::Child),
            Some(_) => {
                return Err(MobileError::bad_input(
                    Some("age_group"),
                    "adult or child, or none where the age band says",
                ));
            }
        };
        Ok(self
            .session
            .start_incident(&doorstep_core::incident::NewIncident {
                reference: incident.reference,
                place: incident.place,
                description: incident.description,
                sex: sex(&incident.sex)?,
                age_band,
                estimated_age: incident.estimated_age,
                stated_group,
                occurred_at: time(
                    incident.occurred_at,
                    "occurred_at",
                    "the time of the incident is not a date and time (RFC 3339)",
                )?,
            })?
            .to_string())
    }

    /// This device's incident records, newest first. Disk: off the main thread.
    pub fn incidents(&self) -> Result<Vec<CaseloadRow>, MobileError> {
        Ok(view::incidents_json(&self.session, Utc::now())?
            .iter()
            .map(CaseloadRow::from_view)
            .collect())
    }

    /// Whose record an NHS number would link an incident to, and where it disagrees with the
    /// scene, as JSON (`[{"id", "display_name", "birth_date", "sex", "mismatches"}]`): show it and
    /// have the clinician confirm before [`Self::identify_incident`]. Disk: off the main thread.
    pub fn identify_preview(
        &self,
        patient_id: String,
        nhs_number: String,
    ) -> Result<String, MobileError> {
        Ok(Value::Array(view::identify_preview_json(
            &self.session,
            self::patient_id(&patient_id)?,
            self::nhs_number(&nhs_number)?,
        )?)
        .to_string())
    }

    /// Records an incident patient's NHS number once confirmed; returns the id of the record to
    /// show now (the registered patient's, read with the incident, where this device holds it).
    /// Disk: off the main thread.
    /// `source`: how the clinician knows (`patient`, `relative-or-carer`, `document`, `police`,
    /// `care-record`, `other`).
    pub fn identify_incident(
        &self,
        patient_id: String,
        nhs_number: String,
        source: Option<String>,
    ) -> Result<String, MobileError> {
        let incident = self::patient_id(&patient_id)?;
        let source = source
            .as_deref()
            .map(str::parse::<doorstep_core::incident::IdentificationSource>)
            .transpose()
            .map_err(|error| MobileError::bad_input(Some("source"), &error.to_string()))?;
        let identified =
            self.session
                .identify_incident(incident, self::nhs_number(&nhs_number)?, source)?;
        Ok(identified.record_to_show(incident).to_string())
    }

    /// Withdraws a wrong identification when no one knows who the patient is: the records are
    /// read apart again. Disk: off the main thread.
    pub fn withdraw_identification(&self, patient_id: String) -> Result<(), MobileError> {
        Ok(self
            .session
            .withdraw_identification(self::patient_id(&patient_id)?)?)
    }

    /// This device's audit trail, oldest first: who did what, to which record, when and why.
    /// Disk: call off the main thread.
    pub fn audit(&self) -> Result<Vec<AuditRow>, MobileError> {
        Ok(self
            .session
            .audit_entries()?
            .into_iter()
            .map(|entry| AuditRow {
                seq: entry.seq,
                at: entry.event.at.to_rfc3339(),
                user: entry.event.user.to_string(),
                role: entry.event.role.key().to_owned(),
                device: entry.event.device.to_string(),
                patient: entry.event.patient.map(|patient| patient.to_string()),
                action: serde_json::to_value(entry.event.action)
                    .ok()
                    .and_then(|action| action.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                reason: entry.event.reason.clone(),
            })
            .collect())
    }
}
