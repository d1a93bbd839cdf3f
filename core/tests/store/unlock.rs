//! PIN unlock: wrong PINs, backoff, wipe, lock and idle lock.

use doorstep_core::store::{AuditAction, StoreError};

use super::*;

fn device_with(policy: UnlockPolicy) -> (tempfile::TempDir, Device) {
    let dir = tempfile::tempdir().unwrap();
    drop(Device::create(dir.path(), "Nell Nightingale", Role::Nurse, PIN, policy).unwrap());
    let device = Device::open(dir.path()).unwrap();
    (dir, device)
}

#[test]
fn a_wrong_pin_is_refused_counted_and_audited_at_the_next_unlock() {
    let (_dir, device) = device_with(UnlockPolicy::default());
    let user = device.find_user(Some("nell nightingale")).unwrap();
    for remaining in [9, 8] {
        match device.unlock(user.id, "0000") {
            Err(StoreError::WrongPin { remaining: r }) => assert_eq!(r, remaining),
            other => panic!("expected a wrong PIN, got {other:?}"),
        }
    }
    let session = device.unlock(user.id, PIN).unwrap();
    let actions: Vec<AuditAction> = session
        .audit_entries()
        .unwrap()
        .iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            AuditAction::AddUser,
            AuditAction::Unlock,
            AuditAction::FailedUnlock,
            AuditAction::FailedUnlock,
            AuditAction::Unlock,
        ]
    );
    // The count starts again after a good PIN.
    drop(session);
    assert!(matches!(
        device.unlock(user.id, "0000"),
        Err(StoreError::WrongPin { remaining: 9 })
    ));
}

#[test]
fn after_the_free_attempts_even_the_right_pin_waits() {
    let policy = UnlockPolicy {
        free_attempts: 1,
        base_delay_seconds: 60,
        ..UnlockPolicy::default()
    };
    let (dir, device) = device_with(policy);
    let user = device.find_user(None).unwrap();
    assert!(matches!(
        device.unlock(user.id, "1111"),
        Err(StoreError::WrongPin { .. })
    ));
    match device.unlock(user.id, PIN) {
        Err(StoreError::LockedOut { seconds }) => {
            assert!((59..=60).contains(&seconds), "{seconds}")
        }
        other => panic!("expected a lockout, got {other:?}"),
    }
    // The lockout is on disk, not in memory: reopening does not reset it.
    drop(device);
    let device = Device::open(dir.path()).unwrap();
    assert!(matches!(
        device.unlock(user.id, PIN),
        Err(StoreError::LockedOut { .. })
    ));
}

#[test]
fn too_many_wrong_pins_wipe_the_device() {
    let policy = UnlockPolicy {
        free_attempts: 10,
        wipe_after: 3,
        ..UnlockPolicy::default()
    };
    let (dir, device) = device_with(policy);
    let user = device.find_user(None).unwrap();
    assert!(matches!(
        device.unlock(user.id, "1111"),
        Err(StoreError::WrongPin { remaining: 2 })
    ));
    assert!(matches!(
        device.unlock(user.id, "1111"),
        Err(StoreError::WrongPin { remaining: 1 })
    ));
    assert!(matches!(
        device.unlock(user.id, "1111"),
        Err(StoreError::Wiped)
    ));
    drop(device);
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["WIPED"]);
    assert!(matches!(Device::open(dir.path()), Err(StoreError::Wiped)));
}

#[test]
fn lock_ends_every_use_of_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let session = new_device(dir.path());
    let id = session.add_patient(&patient(1, "Ada", "Ashdown")).unwrap();
    session.lock().unwrap();
    assert!(session.is_locked());
    assert!(matches!(session.open_record(id), Err(StoreError::Locked)));
    assert!(matches!(session.caseload(), Err(StoreError::Locked)));
    assert!(matches!(
        session.record_observation(id, &vitals(COMPLETE), None),
        Err(StoreError::Locked)
    ));
    assert!(matches!(session.audit_entries(), Err(StoreError::Locked)));
    assert!(matches!(session.lock(), Err(StoreError::Locked)));
}

#[test]
fn an_idle_session_locks_itself() {
    let dir = tempfile::tempdir().unwrap();
    let policy = UnlockPolicy {
        idle_lock_seconds: 0,
        ..UnlockPolicy::default()
    };
    let session = Device::create(dir.path(), "Nell", Role::Nurse, PIN, policy).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert!(matches!(session.caseload(), Err(StoreError::Locked)));
    assert!(session.is_locked());
}

#[test]
fn a_short_pin_is_refused_and_users_share_a_device_with_their_own_pins() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        Device::create(
            dir.path(),
            "Nell",
            Role::Nurse,
            "12",
            UnlockPolicy::default()
        ),
        Err(StoreError::PinTooShort)
    ));
    let session = new_device(dir.path());
    let id = session.add_patient(&patient(2, "Bea", "Birchall")).unwrap();
    let midwife = session
        .add_user("Maud Midwife", Role::Midwife, "97531")
        .unwrap();
    drop(session);
    let device = Device::open(dir.path()).unwrap();
    assert!(matches!(
        device.find_user(None),
        Err(StoreError::ChooseUser)
    ));
    assert!(matches!(
        device.unlock(midwife.id, PIN),
        Err(StoreError::WrongPin { .. })
    ));
    let session = device.unlock(midwife.id, "97531").unwrap();
    assert_eq!(session.open_record(id).unwrap().family, "Birchall");
    assert_eq!(session.user().role, Role::Midwife);
}
