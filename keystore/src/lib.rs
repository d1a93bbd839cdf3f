//! The operating system's key store as the device store's key sealer: Secret Service on Linux
//! (GNOME Keyring, KWallet), the Keychain on macOS, Credential Manager on Windows, through the
//! `keyring` crate.
//!
//! Each device gets a random 256-bit sealing key, kept by the OS key store under the device's id;
//! the users' PIN-wrapped data keys are sealed with it (AES-256-GCM). The data directory then
//! holds no key file: a copied directory is useless without the OS account's unlocked key store,
//! as well as the PIN. Where no store is available when a device is set up (a headless server, a
//! session without Secret Service), [`OsKeyStore::create`] returns `None` and the core falls back
//! to its software sealer, a key file beside the database; `doorstep status` says which.

use doorstep_core::crypto::{self, CryptoError, DataKey, KeySealer, KeyStore};
use zeroize::Zeroizing;

/// The name stored beside each sealed key, so the store is asked for it at unlock.
pub const SEALER_NAME: &str = "os-keyring-v1";
const SERVICE: &str = "doorstep-device-key";

/// The OS key store, for [`doorstep_core::store::Device::create_in`] and `open_in`.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsKeyStore;

impl OsKeyStore {
    pub fn new() -> Self {
        Self
    }
}

impl KeyStore for OsKeyStore {
    fn create(&self, device: &str) -> Option<Box<dyn KeySealer>> {
        let entry = keyring::Entry::new(SERVICE, device).ok()?;
        let key = crypto::make_data_key().ok()?;
        entry.set_secret(key.as_bytes()).ok()?;
        // A store that takes a secret but cannot give it back is no store: read it back first.
        let back = Zeroizing::new(entry.get_secret().ok()?);
        if back.as_slice() != key.as_bytes() {
            let _ = entry.delete_credential();
            return None;
        }
        Some(Box::new(KeyringSealer { entry, key }))
    }

    fn open(&self, name: &str, device: &str) -> Option<Box<dyn KeySealer>> {
        if name != SEALER_NAME {
            return None;
        }
        let entry = keyring::Entry::new(SERVICE, device).ok()?;
        let secret = Zeroizing::new(entry.get_secret().ok()?);
        let key = DataKey::from_bytes(&secret).ok()?;
        Some(Box::new(KeyringSealer { entry, key }))
    }
}

/// A sealing key held by the OS key store (and in memory while the device store is open).
struct KeyringSealer {
    entry: keyring::Entry,
    key: DataKey,
}

impl std::fmt::Debug for KeyringSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyringSealer(<secret>)")
    }
}

impl KeySealer for KeyringSealer {
    fn name(&self) -> &'static str {
        SEALER_NAME
    }

    fn seal(&self, secret: &[u8]) -> Result<Vec<u8>, CryptoError> {
        crypto::seal(&self.key, "key-sealer/os-keyring-v1", secret)
    }

    fn unseal(&self, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        crypto::open(&self.key, "key-sealer/os-keyring-v1", sealed)
    }

    fn destroy(&self) -> Result<(), CryptoError> {
        match self.entry.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(_) => Err(CryptoError::Malformed),
        }
    }
}
