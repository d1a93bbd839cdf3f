//! Invariant 7: every access audited, tamper-evident.

use doorstep_core::store::{AuditAction, AuditBreak};

use super::*;

fn audited_device() -> (tempfile::TempDir, doorstep_core::PatientId) {
    let dir = tempfile::tempdir().unwrap();
    let session = new_device(dir.path());
    let id = session.add_patient(&patient(60, "Audra", "Audit")).unwrap();
    session.open_record(id).unwrap();
    let set = session
        .record_observation(id, &vitals(COMPLETE), None)
        .unwrap();
    session
        .mark_observation_entered_in_error(set.id(), "wrong patient")
        .unwrap();
    session.export_record(id).unwrap();
    session
        .emergency_access(id, "unconscious at the roadside")
        .unwrap();
    session.lock().unwrap();
    (dir, id)
}

fn unlock(dir: &std::path::Path) -> Session {
    let device = Device::open(dir).unwrap();
    let user = device.find_user(None).unwrap();
    device.unlock(user.id, PIN).unwrap()
}

#[test]
fn each_action_writes_one_entry_with_who_what_and_which_patient() {
    let (dir, id) = audited_device();
    let session = unlock(dir.path());
    let entries = session.audit_entries().unwrap();
    let actions: Vec<AuditAction> = entries.iter().map(|e| e.action).collect();
    assert_eq!(
        actions,
        [
            AuditAction::AddUser,
            AuditAction::Unlock,
            AuditAction::CreateRecord,
            AuditAction::ViewRecord,
            AuditAction::RecordObservation,
            AuditAction::EnteredInError,
            AuditAction::Export,
            AuditAction::EmergencyAccess,
            AuditAction::Lock,
            AuditAction::Unlock,
        ]
    );
    for entry in &entries[2..8] {
        assert_eq!(entry.patient, Some(id));
        assert_eq!(entry.user, session.user().id);
        assert_eq!(entry.role, Role::Nurse);
    }
    assert_eq!(
        entries[7].reason.as_deref(),
        Some("unconscious at the roadside")
    );
    assert_eq!(session.verify_audit().unwrap(), Ok(10));
}

fn tamper(dir: &std::path::Path, sql: &str) -> Result<u64, AuditBreak> {
    let connection =
        rusqlite::Connection::open(dir.join(doorstep_core::store::DATABASE_FILE)).unwrap();
    connection.execute_batch(sql).unwrap();
    drop(connection);
    let device = Device::open(dir).unwrap();
    let user = device.find_user(None).unwrap();
    let session = device.unlock(user.id, PIN).unwrap();
    session.verify_audit().unwrap()
}

#[test]
fn an_edited_entry_is_found() {
    let (dir, _) = audited_device();
    let outcome = tamper(
        dir.path(),
        "UPDATE audit SET sealed = CAST(substr(sealed, 1, 20) || X'00' || substr(sealed, 22) AS BLOB) WHERE seq = 4",
    );
    assert_eq!(outcome, Err(AuditBreak::Unreadable { seq: 4 }));
}

#[test]
fn a_removed_entry_is_found() {
    let (dir, _) = audited_device();
    assert_eq!(
        tamper(dir.path(), "DELETE FROM audit WHERE seq = 5"),
        Err(AuditBreak::Missing { seq: 5 })
    );
}

#[test]
fn entries_removed_from_the_end_are_found() {
    let (dir, _) = audited_device();
    // The unlock that verifies appends entry 9 again after 8 and 9 are removed, so the chain
    // then disagrees with the head's hash.
    let outcome = tamper(dir.path(), "DELETE FROM audit WHERE seq >= 8");
    assert!(
        matches!(
            outcome,
            Err(AuditBreak::Missing { .. } | AuditBreak::Truncated { .. })
        ),
        "{outcome:?}"
    );
}

#[test]
fn reordered_entries_are_found() {
    let (dir, _) = audited_device();
    let outcome = tamper(
        dir.path(),
        "UPDATE audit SET seq = 100 WHERE seq = 3; UPDATE audit SET seq = 3 WHERE seq = 4; UPDATE audit SET seq = 4 WHERE seq = 100;",
    );
    assert_eq!(outcome, Err(AuditBreak::Unreadable { seq: 3 }));
}
