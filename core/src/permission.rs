//! Who may do what. The core checks every action against the acting user's role before it touches
//! a record, so no shell on this device can grant more than this table does. Changes arriving by
//! sync are checked against their author's key and the role the admin-signed roster gives it, and
//! each value they add against this table for that role (`record::action_at` names the action a
//! value records): a modified device enrolled as a healthcare assistant cannot mark a colleague's
//! set entered in error or decide Scale 2 on another device. Snapshots, which carry a record's
//! whole history, are checked for their authors' roles only; the SpO2 scale decision is checked
//! for its role again when read.
//!
//! | action | nurse, midwife, paramedic | healthcare assistant | administrator | integration |
//! |---|---|---|---|---|
//! | read the caseload and records, record observations, write notes, record an escalation | yes | yes | no | no |
//! | decide the SpO2 scale, mark entries in error, resolve conflicts, edit the care plan, record allergies, alerts, pregnancy, demographics, emergency access, restrict a record | yes | no | no | no |
//! | register patients, import records (allergies, alerts, medicines, problems) from a FHIR bundle | yes | no | no | yes |
//! | add a user (not an administrator or integration service) | yes | no | yes | no |
//! | add an administrator or an integration service | no | no | yes | no |

use crate::observation::Role;

/// Something a user may or may not do on this device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// The caseload, search, a record, the audit of this device's records.
    ReadRecords,
    RecordObservation,
    WriteNote,
    Escalate,
    DecideSpo2Scale,
    MarkEnteredInError,
    ResolveConflict,
    EditCarePlan,
    /// Allergies, alerts, pregnancy status, demographics, medicines and problems.
    AmendRecord,
    RegisterPatient,
    /// A record for a patient no one has identified yet: a clinical decision on scene (whether
    /// NEWS2 applies rests on it), never an import.
    StartIncident,
    EmergencyAccess,
    RestrictRecord,
    /// Bring in allergies, alerts, medicines and problems from another system; also what a value
    /// in those lists records when it arrives by sync, whoever made it.
    ImportRecords,
    AddUser {
        role: Role,
    },
}

impl Action {
    /// Words for a refusal: "may not {this}".
    pub fn describe(self) -> &'static str {
        match self {
            Action::ReadRecords => "see patient records",
            Action::RecordObservation => "record observations",
            Action::WriteNote => "write notes",
            Action::Escalate => "record an escalation",
            Action::DecideSpo2Scale => "decide the SpO2 scale",
            Action::MarkEnteredInError => "mark entries as entered in error",
            Action::ResolveConflict => "resolve conflicting values",
            Action::EditCarePlan => "change the care plan",
            Action::AmendRecord => "change allergies, alerts, pregnancy status or demographics",
            Action::RegisterPatient => "register patients",
            Action::StartIncident => "start an incident record",
            Action::EmergencyAccess => "use emergency access",
            Action::RestrictRecord => "restrict a record or lift a restriction",
            Action::ImportRecords => "import records from another system",
            Action::AddUser {
                role: Role::Administrator,
            } => "add an administrator",
            Action::AddUser {
                role: Role::Integration,
            } => "add an integration service",
            Action::AddUser { .. } => "add users",
        }
    }

    /// Who may, in words for a refusal.
    pub fn who_may(self) -> &'static str {
        match self {
            Action::ReadRecords
            | Action::RecordObservation
            | Action::WriteNote
            | Action::Escalate => "clinical staff",
            Action::AddUser {
                role: Role::Administrator | Role::Integration,
            } => "an administrator",
            Action::RegisterPatient | Action::ImportRecords => {
                "a registered nurse, midwife or paramedic, or the organisation's integration service"
            }
            Action::AddUser { .. } => {
                "a registered nurse, midwife or paramedic, or an administrator"
            }
            _ => "a registered nurse, midwife or paramedic",
        }
    }
}

impl Role {
    /// Registered clinicians: the roles that make clinical decisions.
    pub fn is_registered_clinician(self) -> bool {
        matches!(self, Role::Nurse | Role::Midwife | Role::Paramedic)
    }

    /// Whether someone in this role may take `action`.
    pub fn may(self, action: Action) -> bool {
        match action {
            Action::ReadRecords
            | Action::RecordObservation
            | Action::WriteNote
            | Action::Escalate => !matches!(self, Role::Administrator | Role::Integration),
            Action::DecideSpo2Scale
            | Action::MarkEnteredInError
            | Action::ResolveConflict
            | Action::EditCarePlan
            | Action::AmendRecord
            | Action::EmergencyAccess
            | Action::StartIncident
            | Action::RestrictRecord => self.is_registered_clinician(),
            Action::RegisterPatient | Action::ImportRecords => {
                self.is_registered_clinician() || self == Role::Integration
            }
            Action::AddUser {
                role: Role::Administrator | Role::Integration,
            } => self == Role::Administrator,
            Action::AddUser { .. } => self.is_registered_clinician() || self == Role::Administrator,
        }
    }

    /// `Ok` when this role may take `action`, else the refusal to show.
    pub fn check(self, action: Action) -> Result<(), NotPermitted> {
        if self.may(action) {
            Ok(())
        } else {
            Err(NotPermitted { role: self, action })
        }
    }
}

/// A refusal: the role, what it may not do and who may.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("as {} you may not {}: ask {}", article(self.role), self.action.describe(), self.action.who_may())]
pub struct NotPermitted {
    pub role: Role,
    pub action: Action,
}

fn article(role: Role) -> &'static str {
    match role {
        Role::Nurse => "a nurse",
        Role::Midwife => "a midwife",
        Role::Paramedic => "a paramedic",
        Role::HealthcareAssistant => "a healthcare assistant",
        Role::Administrator => "an administrator",
        Role::Integration => "an integration service",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLINICAL_DECISIONS: [Action; 8] = [
        Action::StartIncident,
        Action::DecideSpo2Scale,
        Action::MarkEnteredInError,
        Action::ResolveConflict,
        Action::EditCarePlan,
        Action::AmendRecord,
        Action::EmergencyAccess,
        Action::RestrictRecord,
    ];
    const BRING_IN: [Action; 2] = [Action::RegisterPatient, Action::ImportRecords];
    const CARE: [Action; 4] = [
        Action::ReadRecords,
        Action::RecordObservation,
        Action::WriteNote,
        Action::Escalate,
    ];

    #[test]
    fn the_table_holds_for_every_role_and_action() {
        // (role, clinical decisions, care, register and import, add a clinical user, add an
        // administrator or integration service)
        let table = [
            (Role::Nurse, true, true, true, true, false),
            (Role::Midwife, true, true, true, true, false),
            (Role::Paramedic, true, true, true, true, false),
            (Role::HealthcareAssistant, false, true, false, false, false),
            (Role::Administrator, false, false, false, true, true),
            (Role::Integration, false, false, true, false, false),
        ];
        for (role, decides, cares, brings_in, adds_staff, adds_admin) in table {
            for action in CLINICAL_DECISIONS {
                assert_eq!(role.may(action), decides, "{role:?} {action:?}");
            }
            for action in BRING_IN {
                assert_eq!(role.may(action), brings_in, "{role:?} {action:?}");
            }
            for action in CARE {
                assert_eq!(role.may(action), cares, "{role:?} {action:?}");
            }
            for added in Role::ALL {
                let expected = if matches!(added, Role::Administrator | Role::Integration) {
                    adds_admin
                } else {
                    adds_staff
                };
                assert_eq!(
                    role.may(Action::AddUser { role: added }),
                    expected,
                    "{role:?} adding {added:?}"
                );
            }
        }
    }

    #[test]
    fn a_refusal_names_the_role_the_action_and_who_may() {
        let refusal = Role::HealthcareAssistant
            .check(Action::DecideSpo2Scale)
            .unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "as a healthcare assistant you may not decide the SpO2 scale: ask a registered nurse, midwife or paramedic"
        );
        let refusal = Role::Nurse
            .check(Action::AddUser {
                role: Role::Administrator,
            })
            .unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "as a nurse you may not add an administrator: ask an administrator"
        );
    }
}
