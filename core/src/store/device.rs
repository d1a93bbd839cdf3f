//! A device store before unlock: its users, their wrapped keys, and the wrong-PIN policy.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::Utc;
use rusqlite::{Connection, OptionalExtension, params};

use super::audit::{self, AuditAction, AuditEvent};
use super::db;
use super::error::{Result, StoreError};
use super::session::Session;
use crate::crypto::{
    self, DataKey, KeySealer, KeyStore, NoKeyStore, PinKdf, SALT_LEN, SoftwareKeySealer,
};
use crate::ids::{DeviceId, UserId};
use crate::observation::Role;

const SOFTWARE_SEALER_KEY_FILE: &str = "device.key";
/// Left behind by a wipe so that the next start explains what happened.
const WIPED_MARKER: &str = "WIPED";
/// Six digits: a million guesses, each costing a memory-hard derivation ([`PinKdf::DEFAULT`]).
pub const MIN_PIN_LEN: usize = 6;
const MAX_DELAY_SECONDS: u64 = 3_600;

/// What happens after wrong PINs, set by the organisation when the device is enrolled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnlockPolicy {
    /// Wrong PINs allowed before any delay.
    pub free_attempts: u32,
    /// The first delay; it doubles with each further wrong PIN, up to an hour.
    pub base_delay_seconds: u64,
    /// Wrong PINs in a row after which the device's data is wiped.
    pub wipe_after: u32,
    /// A session locks itself after this long without a user action (background sync and status
    /// polls do not count). The organisation's ceiling: a shell may lock sooner, never later.
    pub idle_lock_seconds: u64,
    /// How PINs become key-wrapping keys on this device.
    pub pin_kdf: PinKdf,
}

impl Default for UnlockPolicy {
    fn default() -> Self {
        Self {
            free_attempts: 3,
            base_delay_seconds: 30,
            wipe_after: 10,
            idle_lock_seconds: 300,
            pin_kdf: PinKdf::DEFAULT,
        }
    }
}

impl UnlockPolicy {
    /// Seconds to wait after `failures` wrong PINs in a row.
    pub fn delay_after(&self, failures: u32) -> u64 {
        if failures < self.free_attempts {
            return 0;
        }
        let doublings = (failures - self.free_attempts).min(20);
        self.base_delay_seconds
            .saturating_mul(1u64 << doublings)
            .min(MAX_DELAY_SECONDS)
    }
}

/// name, role, salt, key derivation, wrapped key: a user row as unlock reads it.
type StoredUser = (String, String, Vec<u8>, String, Vec<u8>);

/// A user of this device, as the unlock screen lists them.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct UserInfo {
    pub id: UserId,
    pub name: String,
    pub role: Role,
}

pub(crate) struct Shared {
    pub dir: PathBuf,
    pub connection: Mutex<Connection>,
    pub device_id: DeviceId,
    pub sealer: Box<dyn KeySealer>,
    pub policy: UnlockPolicy,
}

/// A device store, closed. Cheap to clone; clones share one writer connection.
#[derive(Clone)]
pub struct Device {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Device({})", self.shared.device_id)
    }
}

fn software_sealer(dir: &Path, create: bool) -> Result<SoftwareKeySealer> {
    let path = dir.join(SOFTWARE_SEALER_KEY_FILE);
    if create {
        let key = crypto::make_data_key()?;
        write_private(&path, key.as_bytes())?;
        return Ok(SoftwareKeySealer::new(key));
    }
    let bytes = zeroize::Zeroizing::new(std::fs::read(&path)?);
    Ok(SoftwareKeySealer::new(DataKey::from_bytes(&bytes)?))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

fn wrap_for_user(
    sealer: &dyn KeySealer,
    kdf: PinKdf,
    data_key: &DataKey,
    user: UserId,
    pin: &str,
) -> Result<(Vec<u8>, Vec<u8>)> {
    let salt = crypto::random_bytes::<SALT_LEN>()?;
    let pin_key = kdf.derive(pin, &salt)?;
    let wrapped = crypto::seal(&pin_key, &format!("user-key/{user}"), data_key.as_bytes())?;
    Ok((salt.to_vec(), sealer.seal(&wrapped)?))
}

/// Re-wraps `user`'s copy of the data key under `kdf` (after an unlock with a legacy derivation).
/// A PIN set before the 6-character minimum still works: refusing it here would lock its user out.
fn rewrap_user(
    connection: &Connection,
    sealer: &dyn KeySealer,
    kdf: PinKdf,
    data_key: &DataKey,
    user: UserId,
    pin: &str,
) -> Result<()> {
    let (salt, wrapped) = wrap_for_user(sealer, kdf, data_key, user, pin)?;
    connection.execute(
        "UPDATE users SET salt = ?1, wrapped_key = ?2, kdf = ?3, iterations = 0 WHERE user_id = ?4",
        params![salt, wrapped, kdf.to_text(), user.to_string()],
    )?;
    Ok(())
}

pub(crate) fn insert_user(
    connection: &Connection,
    sealer: &dyn KeySealer,
    kdf: PinKdf,
    data_key: &DataKey,
    name: &str,
    role: Role,
    pin: &str,
) -> Result<UserId> {
    let name = name.trim();
    let exists: Option<String> = connection
        .query_row(
            "SELECT user_id FROM users WHERE name = ?1",
            params![name],
            |row| row.get(0),
        )
        .optional()?;
    if exists.is_some() {
        return Err(StoreError::DuplicateUser);
    }
    if pin.chars().count() < MIN_PIN_LEN {
        return Err(StoreError::PinTooShort);
    }
    let user = UserId::random();
    let (salt, wrapped) = wrap_for_user(sealer, kdf, data_key, user, pin)?;
    connection.execute(
        "INSERT INTO users (user_id, name, role, salt, iterations, sealer, wrapped_key, created_at, kdf)
         VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, ?7, ?8)",
        params![
            user.to_string(),
            name,
            role.key(),
            salt,
            sealer.name(),
            wrapped,
            Utc::now().timestamp_millis(),
            kdf.to_text()
        ],
    )?;
    Ok(user)
}

impl Device {
    fn from_parts(
        dir: &Path,
        connection: Connection,
        device_id: DeviceId,
        sealer: Box<dyn KeySealer>,
        policy: UnlockPolicy,
    ) -> Self {
        Device {
            shared: Arc::new(Shared {
                dir: dir.to_owned(),
                connection: Mutex::new(connection),
                device_id,
                sealer,
                policy,
            }),
        }
    }

    /// Which sealer protects this device's keys: `software-v1` (a key file beside the database)
    /// or a platform key store's, such as `os-keyring-v1`. `doorstep status` shows it.
    pub fn sealer_name(&self) -> &str {
        self.shared.sealer.name()
    }

    fn database_exists(dir: &Path) -> bool {
        dir.join(db::DATABASE_FILE).exists()
    }

    /// Creates a stand-alone device store in `dir` with its first user, who is returned unlocked,
    /// its keys sealed by the software sealer.
    pub fn create(
        dir: &Path,
        user_name: &str,
        role: Role,
        pin: &str,
        policy: UnlockPolicy,
    ) -> Result<Session> {
        Self::create_in(dir, user_name, role, pin, policy, &NoKeyStore)
    }

    /// Creates a device store whose keys `store` seals (the platform's key store), or the
    /// software sealer when the platform has none available now.
    pub fn create_in(
        dir: &Path,
        user_name: &str,
        role: Role,
        pin: &str,
        policy: UnlockPolicy,
        store: &dyn KeyStore,
    ) -> Result<Session> {
        if Self::database_exists(dir) {
            return Err(StoreError::AlreadyInitialised);
        }
        if pin.chars().count() < MIN_PIN_LEN {
            return Err(StoreError::PinTooShort);
        }
        std::fs::create_dir_all(dir)?;
        let _ = std::fs::remove_file(dir.join(WIPED_MARKER));
        let device_id = DeviceId::random();
        let sealer: Box<dyn KeySealer> = match store.create(&device_id.to_string()) {
            Some(sealer) => sealer,
            None => Box::new(software_sealer(dir, true)?),
        };
        let mut connection = db::open(dir, true)?;
        let data_key = crypto::make_data_key()?;
        let transaction = connection.transaction()?;
        transaction.execute(
            "INSERT INTO device (id, device_id, created_at, free_attempts, base_delay_seconds, wipe_after, idle_lock_seconds, pin_kdf, sealer)
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                device_id.to_string(),
                Utc::now().timestamp_millis(),
                policy.free_attempts,
                policy.base_delay_seconds,
                policy.wipe_after,
                policy.idle_lock_seconds,
                policy.pin_kdf.to_text(),
                sealer.name()
            ],
        )?;
        let user = insert_user(
            &transaction,
            sealer.as_ref(),
            policy.pin_kdf,
            &data_key,
            user_name,
            role,
            pin,
        )?;
        audit::append(
            &transaction,
            &data_key,
            AuditEvent {
                at: Utc::now(),
                user,
                role,
                device: device_id,
                patient: None,
                action: AuditAction::AddUser,
                reason: None,
            },
        )?;
        transaction.commit()?;
        let device = Device::from_parts(dir, connection, device_id, sealer, policy);
        let info = UserInfo {
            id: user,
            name: user_name.trim().to_owned(),
            role,
        };
        Session::start(device.shared.clone(), info, data_key)
    }

    /// Opens the device store in `dir` (keys sealed by the software sealer; a store sealed by a
    /// platform key store needs [`Device::open_in`]).
    pub fn open(dir: &Path) -> Result<Self> {
        Self::open_in(dir, &NoKeyStore)
    }

    /// Opens the device store in `dir`, asking `store` for its sealer when a platform key store
    /// sealed it.
    pub fn open_in(dir: &Path, store: &dyn KeyStore) -> Result<Self> {
        if !Self::database_exists(dir) {
            if dir.join(WIPED_MARKER).exists() {
                return Err(StoreError::Wiped);
            }
            return Err(StoreError::NotInitialised);
        }
        let connection = db::open(dir, false)?;
        let (device_id, pin_kdf, sealer_name, policy) = connection.query_row(
            "SELECT device_id, pin_kdf, sealer, free_attempts, base_delay_seconds, wipe_after, idle_lock_seconds FROM device WHERE id = 1",
            [],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    UnlockPolicy {
                        free_attempts: row.get(3)?,
                        base_delay_seconds: row.get(4)?,
                        wipe_after: row.get(5)?,
                        idle_lock_seconds: row.get(6)?,
                        pin_kdf: PinKdf::DEFAULT,
                    },
                ))
            },
        )?;
        let sealer: Box<dyn KeySealer> = if sealer_name == SoftwareKeySealer::NAME {
            Box::new(software_sealer(dir, false)?)
        } else {
            store
                .open(&sealer_name, &device_id)
                .ok_or(StoreError::KeyStoreUnavailable)?
        };
        let policy = UnlockPolicy {
            pin_kdf: PinKdf::parse(&pin_kdf).map_err(|_| StoreError::Tampered {
                what: "device settings",
            })?,
            ..policy
        };
        let device_id = device_id.parse().map_err(|_| StoreError::Tampered {
            what: "device identity",
        })?;
        Ok(Device::from_parts(
            dir, connection, device_id, sealer, policy,
        ))
    }

    pub fn id(&self) -> DeviceId {
        self.shared.device_id
    }

    pub fn policy(&self) -> UnlockPolicy {
        self.shared.policy
    }

    pub fn users(&self) -> Result<Vec<UserInfo>> {
        users_of(&self.shared)
    }

    /// The user called `name`, or the only user when `name` is `None`.
    pub fn find_user(&self, name: Option<&str>) -> Result<UserInfo> {
        let users = self.users()?;
        match name {
            Some(name) => users
                .into_iter()
                .find(|user| user.name.eq_ignore_ascii_case(name.trim()))
                .ok_or(StoreError::UnknownUser),
            None if users.len() == 1 => users.into_iter().next().ok_or(StoreError::UnknownUser),
            None => Err(StoreError::ChooseUser),
        }
    }

    /// Unlocks the store for `user` with their PIN. Wrong PINs are counted on the device (not per
    /// user, so cycling through users gains nothing), delayed, and past the policy's limit wipe it.
    pub fn unlock(&self, user: UserId, pin: &str) -> Result<Session> {
        let now = Utc::now();
        let (info, data_key) = {
            let connection = self.shared.lock_connection()?;
            let (failures, locked_until): (u32, i64) = connection.query_row(
                "SELECT failed_attempts, locked_until FROM device WHERE id = 1",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )?;
            let wait_ms = locked_until - now.timestamp_millis();
            if wait_ms > 0 {
                return Err(StoreError::LockedOut {
                    seconds: u64::try_from(wait_ms).unwrap_or(0).div_ceil(1000),
                });
            }
            let row: Option<StoredUser> = connection
                .query_row(
                    "SELECT name, role, salt, kdf, wrapped_key FROM users WHERE user_id = ?1",
                    params![user.to_string()],
                    |row| {
                        Ok((
                            row.get(0)?,
                            row.get(1)?,
                            row.get(2)?,
                            row.get(3)?,
                            row.get(4)?,
                        ))
                    },
                )
                .optional()?;
            let Some((name, role, salt, kdf, wrapped)) = row else {
                return Err(StoreError::UnknownUser);
            };
            let kdf =
                PinKdf::parse(&kdf).map_err(|_| StoreError::Tampered { what: "user list" })?;
            let pin_key = kdf.derive(pin, &salt)?;
            let opened = self
                .shared
                .sealer
                .unseal(&wrapped)
                .map_err(|_| StoreError::Tampered { what: "key store" })?;
            match crypto::open(&pin_key, &format!("user-key/{user}"), &opened) {
                Ok(key_bytes) => {
                    let role = role
                        .parse()
                        .map_err(|_| StoreError::Tampered { what: "user list" })?;
                    let data_key = DataKey::from_bytes(&key_bytes)?;
                    if kdf.is_legacy() {
                        // The PIN is in hand only now: move this user off PBKDF2 for good.
                        rewrap_user(
                            &connection,
                            self.shared.sealer.as_ref(),
                            self.shared.policy.pin_kdf,
                            &data_key,
                            user,
                            pin,
                        )?;
                    }
                    (
                        UserInfo {
                            id: user,
                            name,
                            role,
                        },
                        data_key,
                    )
                }
                Err(_) => {
                    drop(connection);
                    return Err(self.wrong_pin(user, failures + 1));
                }
            }
        };
        Session::start(self.shared.clone(), info, data_key)
    }

    fn wrong_pin(&self, user: UserId, failures: u32) -> StoreError {
        let policy = self.shared.policy;
        let now = Utc::now().timestamp_millis();
        if failures >= policy.wipe_after {
            // The count and the longest wait are recorded first: if the wipe fails part-way (a key
            // store that will not answer, a file held open), further guesses still wait.
            let _ = self.shared.lock_connection().and_then(|connection| {
                connection.execute(
                    "UPDATE device SET failed_attempts = ?1, locked_until = ?2 WHERE id = 1",
                    params![failures, now + 3_600_000],
                )?;
                Ok(())
            });
            return match self.shared.wipe() {
                Ok(()) => StoreError::Wiped,
                Err(error) => error,
            };
        }
        let delay_ms = i64::try_from(policy.delay_after(failures)).unwrap_or(0) * 1000;
        let recorded = self.shared.lock_connection().and_then(|connection| {
            connection.execute(
                "UPDATE device SET failed_attempts = ?1, locked_until = ?2 WHERE id = 1",
                params![failures, now + delay_ms],
            )?;
            connection.execute(
                "INSERT INTO failed_unlocks (user_id, at) VALUES (?1, ?2)",
                params![user.to_string(), now],
            )?;
            // A count of rows, not what they hold: readable while locked, and what a wipe loses.
            let unsynced: i64 =
                connection.query_row("SELECT COUNT(*) FROM dirty_docs", [], |row| row.get(0))?;
            Ok(u64::try_from(unsynced).unwrap_or(0))
        });
        match recorded {
            Ok(unsynced_records) => StoreError::WrongPin {
                remaining: policy.wipe_after - failures,
                unsynced_records,
            },
            Err(error) => error,
        }
    }
}

impl Shared {
    pub fn lock_connection(&self) -> Result<std::sync::MutexGuard<'_, Connection>> {
        // A panic while holding the lock cannot leave SQLite inconsistent (transactions roll
        // back), so a poisoned lock is safe to reuse.
        Ok(self
            .connection
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    /// Destroys the device's data: the database and its WAL, and the key that seals the wrapped
    /// data keys, so nothing left on disk can be opened even if a file survives deletion.
    pub fn wipe(&self) -> Result<()> {
        // The platform key store's key first: without it nothing left on disk opens. If the store
        // does not answer, the files still go, and the failure is reported at the end.
        let destroyed = self.sealer.destroy();
        let connection = self.lock_connection()?;
        let _ = connection.execute_batch(
            "DELETE FROM users; DELETE FROM summaries; DELETE FROM doc_chunks; DELETE FROM doc_snapshots; DELETE FROM audit; DELETE FROM drafts;",
        );
        remove_store_files(
            &self.dir,
            b"wiped after too many wrong PINs or a revocation\n",
        )?;
        destroyed?;
        Ok(())
    }
}

/// Deletes a store's files and leaves the marker that says it was wiped.
fn remove_store_files(dir: &Path, why: &[u8]) -> Result<()> {
    for file in [
        SOFTWARE_SEALER_KEY_FILE.to_owned(),
        db::DATABASE_FILE.to_owned(),
        format!("{}-wal", db::DATABASE_FILE),
        format!("{}-shm", db::DATABASE_FILE),
        "sync.lock".to_owned(),
    ] {
        match std::fs::remove_file(dir.join(file)) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(error.into()),
        }
    }
    std::fs::write(dir.join(WIPED_MARKER), why)?;
    Ok(())
}

impl Device {
    /// Discards a store that can never open again because the platform key store no longer
    /// holds its key (Android `KeyPermanentlyInvalidated`, a backup restored to another phone),
    /// so the device can be enrolled afresh. Refused for a store that still opens: that one
    /// holds work a wipe would lose, and ends only by the user's PINs or the organisation.
    pub fn discard_unopenable(dir: &Path, store: &dyn KeyStore) -> Result<()> {
        match Device::open_in(dir, store) {
            Ok(_) => Err(StoreError::StillOpens),
            Err(StoreError::KeyStoreUnavailable) => remove_store_files(
                dir,
                b"discarded: the platform key store no longer held its key\n",
            ),
            Err(error) => Err(error),
        }
    }
}

/// The users of a device, by name.
pub(super) fn users_of(shared: &Shared) -> Result<Vec<UserInfo>> {
    let connection = shared.lock_connection()?;
    let mut statement =
        connection.prepare("SELECT user_id, name, role FROM users ORDER BY name")?;
    let rows = statement.query_map([], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
        ))
    })?;
    let mut users = Vec::new();
    for row in rows {
        let (id, name, role) = row?;
        users.push(UserInfo {
            id: id
                .parse()
                .map_err(|_| StoreError::Tampered { what: "user list" })?,
            name,
            role: role
                .parse()
                .map_err(|_| StoreError::Tampered { what: "user list" })?,
        });
    }
    Ok(users)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_after_the_free_attempts_and_are_capped() {
        let policy = UnlockPolicy::default();
        let delays: Vec<u64> = (0..12).map(|n| policy.delay_after(n)).collect();
        assert_eq!(
            delays,
            [0, 0, 0, 30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
        );
    }
}
