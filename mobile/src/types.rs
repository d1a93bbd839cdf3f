//! The records that cross the boundary: typed where a shell walks a list, JSON where it shows a
//! view whole (the same JSON the desktop app shows, from `doorstep_core::view`).

use serde_json::Value;

/// Someone who can unlock this device.
#[derive(Clone, Debug, uniffi::Record)]
pub struct User {
    pub id: String,
    pub name: String,
    /// `nurse`, `midwife`, `paramedic`, `healthcare-assistant`, `administrator`, `integration`.
    pub role: String,
}

impl From<&doorstep_core::store::UserInfo> for User {
    fn from(user: &doorstep_core::store::UserInfo) -> Self {
        Self {
            id: user.id.to_string(),
            name: user.name.clone(),
            role: user.role.key().to_owned(),
        }
    }
}

/// One caseload row, as the core ranked it.
#[derive(Clone, uniffi::Record)]
pub struct CaseloadRow {
    pub id: String,
    /// Grouped 3-3-4; empty for an incident record not yet identified.
    pub nhs_number: String,
    /// "FAMILY, Given", or an incident's temporary name ("Unknown male, 40 to 64 years").
    pub display_name: String,
    pub given: String,
    pub family: String,
    /// `YYYY-MM-DD`; empty for an incident record.
    pub birth_date: String,
    /// The incident reference of a record started for a patient no one had identified.
    pub incident_reference: Option<String>,
    /// The latest complete set's NEWS2 total; `None` for a partial set, or where NEWS2 does not
    /// apply or the record is restricted.
    pub news2_total: Option<u8>,
    /// `low`, `low-medium`, `medium`, `high`: the risk the row is ranked by, or `None`.
    pub risk: Option<String>,
    /// The latest set was partial: `risk` is the least the present values force.
    pub partial: bool,
    /// Why NEWS2 is not used for this patient today (`under-16`, `pregnant`, `postnatal`).
    pub news2_not_applicable: Option<String>,
    /// RFC 3339.
    pub last_observed: Option<String>,
    pub next_due: Option<String>,
    pub overdue: bool,
    /// `dnacpr`, `respect`, `end-of-life-wishes`, `safeguarding`, `child-protection`, `other`.
    pub flags: Vec<String>,
    pub allergies: Vec<String>,
    pub similar_name: bool,
    /// Restricted to named clinicians: this user sees the banner only.
    pub restricted: bool,
}

impl std::fmt::Debug for CaseloadRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CaseloadRow({}, <redacted>)", self.id)
    }
}

fn text(value: &Value) -> Option<String> {
    value.as_str().map(str::to_owned)
}

fn texts(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| items.iter().filter_map(text).collect())
        .unwrap_or_default()
}

impl CaseloadRow {
    /// From the core's caseload row (`doorstep_core::view::caseload_json`).
    pub(crate) fn from_view(row: &Value) -> Self {
        let latest = &row["latest_news2"];
        let restricted = row["access"]["access"] == "banner-only";
        Self {
            id: text(&row["id"]).unwrap_or_default(),
            nhs_number: text(&row["nhs_number"])
                .and_then(|digits| doorstep_core::NhsNumber::parse(&digits).ok())
                .map(|number| number.to_string())
                .unwrap_or_default(),
            display_name: text(&row["display_name"]).unwrap_or_default(),
            given: text(&row["given"]).unwrap_or_default(),
            family: text(&row["family"]).unwrap_or_default(),
            birth_date: text(&row["birth_date"]).unwrap_or_default(),
            incident_reference: text(&row["incident"]["reference"]),
            news2_total: latest["total"]
                .as_u64()
                .and_then(|total| u8::try_from(total).ok()),
            risk: text(&latest["effective_risk"]).or_else(|| text(&latest["risk"])),
            partial: latest["partial"].as_bool().unwrap_or(false),
            news2_not_applicable: text(&row["news2_not_applicable"]["reason"]),
            last_observed: text(&row["last_observed"]),
            next_due: text(&row["next_due"]),
            overdue: row["overdue"].as_bool().unwrap_or(false),
            flags: texts(&row["flags"]),
            allergies: texts(&row["allergies"]),
            similar_name: row["similar_name"].as_bool().unwrap_or(false),
            restricted,
        }
    }
}

/// A set as the core scored it: the headline for a list, and the whole view as JSON (the
/// response in the team's words, sub-scores, unusual values, next due time).
#[derive(Clone, uniffi::Record)]
pub struct SetView {
    pub id: String,
    /// `None` for a partial set or where NEWS2 does not apply.
    pub news2_total: Option<u8>,
    pub risk: Option<String>,
    pub partial: bool,
    /// The response the protocol asks for, in the team's words.
    pub response: Option<String>,
    /// Why NEWS2 was not used (`under-16`, `pregnant`, `postnatal`).
    pub not_applicable: Option<String>,
    /// Values refused as typed (a preview only), as `field: message`.
    pub errors: Vec<String>,
    /// `doorstep_core::view::set_json`, with `errors` for a preview.
    pub json: String,
}

impl std::fmt::Debug for SetView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SetView({}, <redacted>)", self.id)
    }
}

impl SetView {
    pub(crate) fn from_view(view: &Value) -> Self {
        let news2 = &view["news2"];
        Self {
            id: text(&view["id"]).unwrap_or_default(),
            news2_total: news2["total"]
                .as_u64()
                .and_then(|total| u8::try_from(total).ok()),
            risk: text(&news2["risk"]).or_else(|| text(&news2["minimum_risk"])),
            partial: news2["partial"].as_bool().unwrap_or(false),
            response: text(&view["response"]["text"]),
            not_applicable: text(&view["not_applicable"]["reason"])
                .or_else(|| text(&view["not_applicable"])),
            errors: view["errors"]
                .as_array()
                .map(|errors| {
                    errors
                        .iter()
                        .map(|error| {
                            format!(
                                "{}: {}",
                                error["field"].as_str().unwrap_or("value"),
                                error["message"].as_str().unwrap_or_default()
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
            json: view.to_string(),
        }
    }
}

/// A patient to register: what a referral gives.
#[derive(Clone, uniffi::Record)]
pub struct NewPatient {
    /// Ten digits, spaces or hyphens allowed; checked modulus 11.
    pub nhs_number: String,
    pub given: String,
    pub family: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// `female`, `male`, `other` or `unknown`.
    pub sex: String,
    pub address_lines: Vec<String>,
    pub town: String,
    pub postcode: String,
    pub gp_ods_code: String,
    pub gp_name: String,
}

impl std::fmt::Debug for NewPatient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPatient(<redacted>)")
    }
}

/// A patient no one has identified yet: what a crew records to start their record.
#[derive(Clone, uniffi::Record)]
pub struct NewIncident {
    /// The incident or dispatch number.
    pub reference: String,
    pub place: String,
    pub description: String,
    /// `female`, `male`, `other` or `unknown`.
    pub sex: String,
    /// `under-1`, `1-4`, `5-12`, `13-15`, `16-17`, `18-39`, `40-64`, `65-79`, `80+`, `unknown`.
    pub age_band: String,
    pub estimated_age: Option<u8>,
    /// `adult` or `child`: needed when the age band is unknown.
    pub age_group: Option<String>,
    /// When it happened or began, if known (RFC 3339).
    pub occurred_at: Option<String>,
}

impl std::fmt::Debug for NewIncident {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewIncident(<redacted>)")
    }
}

/// One audited action on this device.
#[derive(Clone, uniffi::Record)]
pub struct AuditRow {
    pub seq: u64,
    /// RFC 3339.
    pub at: String,
    pub user: String,
    pub role: String,
    pub device: String,
    pub patient: Option<String>,
    /// `view-record`, `record-observation`, `emergency-access`, …
    pub action: String,
    pub reason: Option<String>,
}

impl std::fmt::Debug for AuditRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuditRow({}, <redacted>)", self.seq)
    }
}
