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
            Err(StoreError::WrongPin { remaining: r, .. }) => assert_eq!(r, remaining),
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
        Err(StoreError::WrongPin { remaining: 9, .. })
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
        Err(StoreError::WrongPin { remaining: 2, .. })
    ));
    assert!(matches!(
        device.unlock(user.id, "1111"),
        Err(StoreError::WrongPin { remaining: 1, .. })
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
            "12345",
            UnlockPolicy::default()
        ),
        Err(StoreError::PinTooShort)
    ));
    let session = new_device(dir.path());
    let id = session.add_patient(&patient(2, "Bea", "Birchall")).unwrap();
    let midwife = session
        .add_user("Maud Midwife", Role::Midwife, "975311")
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
    let session = device.unlock(midwife.id, "975311").unwrap();
    assert_eq!(session.open_record(id).unwrap().family, "Birchall");
    assert_eq!(session.user().role, Role::Midwife);
}

#[test]
fn background_work_does_not_keep_a_session_unlocked_but_the_user_does() {
    let dir = tempfile::tempdir().unwrap();
    let policy = UnlockPolicy {
        idle_lock_seconds: 1,
        ..UnlockPolicy::default()
    };
    let session = Device::create(dir.path(), "Nell", Role::Nurse, PIN, policy).unwrap();
    assert_eq!(session.idle_limit(), std::time::Duration::from_secs(1));
    // The user keeps working: each action restarts the clock.
    for _ in 0..4 {
        std::thread::sleep(std::time::Duration::from_millis(400));
        session.touch().unwrap();
    }
    // Only background polls from here on (the status bar, sync): they do not count as use.
    for _ in 0..4 {
        std::thread::sleep(std::time::Duration::from_millis(400));
        let _ = session.sync_status();
    }
    assert!(session.has_locked());
    assert!(matches!(session.caseload(), Err(StoreError::Locked)));
}

#[test]
fn a_store_made_with_pbkdf2_pins_moves_to_argon2id_at_its_next_unlock() {
    let dir = tempfile::tempdir().unwrap();
    let session = new_device(dir.path());
    let id = session
        .add_patient(&patient(3, "Cora", "Cartwright"))
        .unwrap();
    let user = session.user().id;
    drop(session);
    // Re-wrap the key as a store from before Argon2id held it: PBKDF2 over a 4-digit PIN.
    {
        use doorstep_core::crypto::{self, PinKdf};
        let raw = rusqlite::Connection::open(dir.path().join(doorstep_core::store::DATABASE_FILE))
            .unwrap();
        let sealer_key =
            crypto::DataKey::from_bytes(&std::fs::read(dir.path().join("device.key")).unwrap())
                .unwrap();
        let (salt, sealed, kdf): (Vec<u8>, Vec<u8>, String) = raw
            .query_row("SELECT salt, wrapped_key, kdf FROM users", [], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .unwrap();
        let wrapped = crypto::open(&sealer_key, "key-sealer/software-v1", &sealed).unwrap();
        let current = PinKdf::parse(&kdf).unwrap().derive(PIN, &salt).unwrap();
        let data_key = crypto::open(&current, &format!("user-key/{user}"), &wrapped).unwrap();
        let salt = [7u8; 16];
        let legacy = PinKdf::Pbkdf2Sha256 { iterations: 1_000 };
        let pin_key = legacy.derive("2468", &salt).unwrap();
        let wrapped = crypto::seal(&pin_key, &format!("user-key/{user}"), &data_key).unwrap();
        let sealed = crypto::seal(&sealer_key, "key-sealer/software-v1", &wrapped).unwrap();
        raw.execute(
            "UPDATE users SET salt = ?1, wrapped_key = ?2, kdf = ?3, iterations = 1000",
            rusqlite::params![salt.to_vec(), sealed, legacy.to_text()],
        )
        .unwrap();
    }
    let kdf_of = || -> String {
        rusqlite::Connection::open(dir.path().join(doorstep_core::store::DATABASE_FILE))
            .unwrap()
            .query_row("SELECT kdf FROM users", [], |row| row.get(0))
            .unwrap()
    };
    assert!(kdf_of().starts_with("pbkdf2-sha256"));
    // The short legacy PIN still opens the store (refusing it would lock its user out) ...
    let device = Device::open(dir.path()).unwrap();
    let session = device.unlock(user, "2468").unwrap();
    assert_eq!(session.open_record(id).unwrap().family, "Cartwright");
    drop(session);
    // ... and the key is now wrapped by Argon2id, for good.
    assert_eq!(kdf_of(), "argon2id:m=65536,t=3,p=1");
    let session = Device::open(dir.path())
        .unwrap()
        .unlock(user, "2468")
        .unwrap();
    assert_eq!(session.open_record(id).unwrap().family, "Cartwright");
}
