//! A device store as a shell opens it: who can unlock it, enrolment, unlock.

use std::path::PathBuf;
use std::sync::Arc;

use doorstep_core::crypto::NoKeyStore;
use doorstep_core::store::{Device, StoreError};

use crate::error::MobileError;
use crate::key_store::{CoreKeyStore, KeyStore};
use crate::session::MobileSession;
use crate::types::User;

/// The encrypted store in one data directory (the app's private files directory).
#[derive(uniffi::Object)]
pub struct DeviceStore {
    dir: PathBuf,
    key_store: Option<CoreKeyStore>,
}

impl std::fmt::Debug for DeviceStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceStore")
    }
}

impl DeviceStore {
    fn key_store(&self) -> &dyn doorstep_core::crypto::KeyStore {
        match &self.key_store {
            Some(store) => store,
            None => &NoKeyStore,
        }
    }
}

#[uniffi::export]
impl DeviceStore {
    /// The store in `data_dir`, its keys wrapped by `key_store` where the platform has one
    /// (otherwise by a key file beside the database). Touches neither disk nor network.
    #[uniffi::constructor]
    pub fn new(data_dir: String, key_store: Option<Arc<dyn KeyStore>>) -> Arc<Self> {
        Arc::new(Self {
            dir: PathBuf::from(data_dir),
            key_store: key_store.map(CoreKeyStore),
        })
    }

    /// Whether this device is enrolled (or set up) here. Reads the disk: call off the main
    /// thread.
    pub fn is_set_up(&self) -> bool {
        Device::open_in(&self.dir, self.key_store()).is_ok()
    }

    /// Who can unlock this device. Reads the disk: call off the main thread.
    pub fn users(&self) -> Result<Vec<User>, MobileError> {
        let device = match Device::open_in(&self.dir, self.key_store()) {
            Err(StoreError::NotInitialised) => return Ok(Vec::new()),
            opened => opened?,
        };
        Ok(device.users()?.iter().map(User::from).collect())
    }

    /// Enrols this device with the team's sync server using the one-time code an administrator
    /// issued, creating the store with the user and role the code names and `pin`; returns them
    /// unlocked. Network and disk: call off the main thread.
    pub fn enrol(
        &self,
        server: String,
        code: String,
        pin: String,
    ) -> Result<Arc<MobileSession>, MobileError> {
        let session =
            doorstep_transport::enrol_in(&self.dir, &server, &code, &pin, self.key_store())?;
        Ok(MobileSession::new(session))
    }

    /// Discards a store that cannot open again because the platform key store lost its key
    /// (`unlock` and `users` report [`MobileError::KeyStoreUnavailable`] every time), so the
    /// device can be enrolled afresh; what it held and had not synced is gone with the key.
    /// Refused for a store that still opens. Disk: call off the main thread.
    pub fn discard_unopenable(&self) -> Result<(), MobileError> {
        Ok(Device::discard_unopenable(&self.dir, self.key_store())?)
    }

    /// Unlocks as `user_id` with `pin`. A wrong PIN says how many attempts are left; after the
    /// organisation's limit the device wipes itself. Stretches the PIN (Argon2id, 64 MiB, about
    /// a second on a phone): call off the main thread.
    pub fn unlock(&self, user_id: String, pin: String) -> Result<Arc<MobileSession>, MobileError> {
        let device = Device::open_in(&self.dir, self.key_store())?;
        let user = user_id
            .parse()
            .map_err(|_| MobileError::bad_input(Some("user_id"), "choose a user from users()"))?;
        Ok(MobileSession::new(device.unlock(user, &pin)?))
    }
}
