//! Restricting a record to named clinicians, and what each user may see of it: the session's
//! side of [`restriction`](super::restriction).

use chrono::Utc;

use super::audit::AuditAction;
use super::device::users_of;
use super::error::{Result, StoreError};
use super::record::PatientRecord;
use super::restriction::{
    Access, NamedClinician, Restriction, RestrictionDecision, RestrictionReason,
};
use super::session::{Grant, Session, Unlocked};
use super::summary::PatientSummary;
use crate::ids::PatientId;
use crate::observation::Role;
use crate::permission::Action;

/// Someone a restriction may name: a registered clinician of the team, on one device.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Candidate {
    #[serde(flatten)]
    pub clinician: NamedClinician,
    pub role: Role,
    /// The person using this session.
    pub you: bool,
}

impl Session {
    /// What this user may see of `patient`'s record now.
    pub fn access(&self, patient: PatientId) -> Result<Access> {
        self.permit(Action::ReadRecords)?;
        let context = self.context()?;
        self.access_in(context.unlocked()?, patient)
    }

    pub(super) fn access_in(&self, unlocked: &Unlocked, patient: PatientId) -> Result<Access> {
        let summary = unlocked
            .summaries
            .get(&patient)
            .ok_or(StoreError::PatientNotFound)?;
        Ok(Access::of(
            summary.restriction.as_ref(),
            self.shared.device_id,
            (&self.user().name, self.user().role),
            unlocked.grants.get(&patient).and_then(Grant::live_until),
            Utc::now(),
        ))
    }

    /// A patient's summary as this user may see it: the banner only, where the record is
    /// restricted to others.
    pub(super) fn shown(&self, unlocked: &Unlocked, summary: &PatientSummary) -> PatientSummary {
        match self.access_in(unlocked, summary.id) {
            Ok(access) if access.may_open() => summary.clone(),
            _ => summary.banner_only(),
        }
    }

    /// The record's banner, whatever the restriction: identity, allergies and alerts, with no
    /// observations, notes, plans, medicines or pregnancy status. Audited as a view, marked as
    /// the banner only.
    pub fn banner(&self, patient: PatientId) -> Result<PatientRecord> {
        self.permit(Action::ReadRecords)?;
        let context = self.context()?;
        let loaded =
            super::persist::load_doc(&context.connection, context.key()?, patient, self.actor())?;
        let record = loaded.doc.read(patient)?;
        super::audit::append(
            &context.connection,
            context.key()?,
            self.event(
                AuditAction::ViewRecord,
                Some(patient),
                Some("banner only: restricted record".to_owned()),
            ),
        )?;
        Ok(record.banner_only())
    }

    /// The registered clinicians a restriction may name: the team's roster (signed by the
    /// organisation's admin) and this device's own users, this user first.
    pub fn restriction_candidates(&self) -> Result<Vec<Candidate>> {
        self.permit(Action::RestrictRecord)?;
        let me = self.me();
        let mut candidates = vec![Candidate {
            clinician: me.clone(),
            role: self.user().role,
            you: true,
        }];
        let roster = self.team_members()?.into_iter().map(|member| Candidate {
            clinician: NamedClinician {
                device: member.device,
                name: member.user,
            },
            role: member.role,
            you: false,
        });
        let device_users = users_of(&self.shared)?.into_iter().map(|user| Candidate {
            clinician: NamedClinician {
                device: self.shared.device_id,
                name: user.name,
            },
            role: user.role,
            you: false,
        });
        for candidate in roster.chain(device_users) {
            let known = candidates.iter().any(|known| {
                known
                    .clinician
                    .is(candidate.clinician.device, &candidate.clinician.name)
            });
            if candidate.role.is_registered_clinician() && !known {
                candidates.push(candidate);
            }
        }
        candidates[1..].sort_by(|a, b| a.clinician.name.cmp(&b.clinician.name));
        Ok(candidates)
    }

    /// Restricts `patient`'s record to `clinicians` (chosen from
    /// [`restriction_candidates`](Self::restriction_candidates)) and the user deciding, who is
    /// always named. On a record already restricted, only a named clinician may decide again.
    pub fn restrict_record(
        &self,
        patient: PatientId,
        reason: RestrictionReason,
        clinicians: &[NamedClinician],
    ) -> Result<Restriction> {
        self.permit(Action::RestrictRecord)?;
        let candidates = self.restriction_candidates()?;
        let mut named = vec![self.me()];
        for clinician in clinicians {
            let candidate = candidates
                .iter()
                .find(|candidate| candidate.clinician.is(clinician.device, &clinician.name))
                .ok_or(StoreError::NotOnTheTeam)?;
            named.push(candidate.clinician.clone());
        }
        named.sort();
        named.dedup();
        self.decide(
            patient,
            RestrictionDecision::Restricted {
                reason,
                clinicians: named,
            },
            AuditAction::RestrictRecord,
        )?
        .ok_or(StoreError::Tampered { what: "record" })
    }

    /// Lifts the restriction on `patient`'s record: the whole team sees it again.
    pub fn lift_restriction(&self, patient: PatientId) -> Result<()> {
        self.permit(Action::RestrictRecord)?;
        self.decide(
            patient,
            RestrictionDecision::Lifted,
            AuditAction::LiftRestriction,
        )
        .map(drop)
    }

    fn decide(
        &self,
        patient: PatientId,
        decision: RestrictionDecision,
        action: AuditAction,
    ) -> Result<Option<Restriction>> {
        let (device, name) = (self.shared.device_id, self.user().name.clone());
        let recorded = super::record::Recorded {
            by: self.author(),
            at: Utc::now(),
        };
        self.act(
            patient,
            action,
            None,
            |doc, _| {
                // Emergency access lets a clinician read a restricted record, not unrestrict it.
                if let Some(current) = doc.restriction()?
                    && !current.may_decide(device, &name)
                {
                    return Err(StoreError::Restricted);
                }
                doc.decide_restriction(&decision, recorded)?;
                doc.restriction()
            },
            |summary, _, restriction| {
                summary.restriction = restriction.clone();
                Ok(())
            },
        )
    }

    fn me(&self) -> NamedClinician {
        NamedClinician {
            device: self.shared.device_id,
            name: self.user().name.clone(),
        }
    }
}

impl PatientRecord {
    /// What a banner shows of this record, and nothing else (not even why it is restricted).
    pub fn banner_only(&self) -> PatientRecord {
        PatientRecord {
            address: None,
            gp_practice: None,
            contacts: Vec::new(),
            conflicts: Vec::new(),
            spo2_scale_decision: None,
            spo2_scale_review: None,
            medications: None,
            problems: None,
            care_plan: String::new(),
            care_plan_edited: None,
            notes: Vec::new(),
            observations: Vec::new(),
            maternity: None,
            escalations: Vec::new(),
            // Its reason and who is named would say what it hides.
            restriction: None,
            applicability: Default::default(),
            ..self.clone()
        }
    }
}
