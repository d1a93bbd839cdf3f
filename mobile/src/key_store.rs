//! The platform key store hook: Android Keystore or the iOS Keychain / Secure Enclave wrap the
//! device's data key, implemented in Kotlin or Swift (or Python in the host tests) and handed to
//! [`crate::DeviceStore::new`]. Without one, the core's software sealer is the fallback.

use std::sync::Arc;

use doorstep_core::crypto::CryptoError;
use zeroize::Zeroizing;

/// Why a platform sealer failed. An `unseal` failure is never a wrong PIN: it cannot lead to a
/// wipe. A key store that cannot open its sealer at all is reported as
/// [`crate::MobileError::KeyStoreUnavailable`].
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum KeySealerError {
    #[error("the platform key store failed: {reason}")]
    Failed { reason: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for KeySealerError {
    fn from(error: uniffi::UnexpectedUniFFICallbackError) -> Self {
        KeySealerError::Failed {
            reason: error.reason,
        }
    }
}

/// One sealing key the platform keeps for one device. `seal` must be authenticated encryption
/// (AES-GCM in Android Keystore, the Secure Enclave's ECIES): `unseal` of anything altered fails.
#[uniffi::export(with_foreign)]
pub trait KeySealer: Send + Sync {
    /// A stable name stored beside the sealed key ("android-keystore-v1"), so the same sealer
    /// is asked to open it.
    fn name(&self) -> String;
    fn seal(&self, secret: Vec<u8>) -> Result<Vec<u8>, KeySealerError>;
    fn unseal(&self, sealed: Vec<u8>) -> Result<Vec<u8>, KeySealerError>;
    /// Destroys the sealing key (the device is wiped): nothing it sealed opens again.
    fn destroy(&self) -> Result<(), KeySealerError>;
}

/// Where the platform keeps one sealer per device.
#[uniffi::export(with_foreign)]
pub trait KeyStore: Send + Sync {
    /// A new sealer for `device`; `None` (or an error) when the platform cannot make one now:
    /// the device then uses the software sealer, for good (`MobileSession::key_sealer` says so).
    fn create(&self, device: String) -> Result<Option<Arc<dyn KeySealer>>, KeySealerError>;
    /// The sealer called `name` kept for `device`, if the platform still has it.
    fn open(
        &self,
        name: String,
        device: String,
    ) -> Result<Option<Arc<dyn KeySealer>>, KeySealerError>;
}

/// A platform's key store as the core's.
pub(crate) struct CoreKeyStore(pub(crate) Arc<dyn KeyStore>);

impl doorstep_core::crypto::KeyStore for CoreKeyStore {
    fn create(&self, device: &str) -> Option<Box<dyn doorstep_core::crypto::KeySealer>> {
        // An exception in the platform's code is the platform having no sealer now.
        let sealer = self.0.create(device.to_owned()).ok().flatten()?;
        Some(Box::new(CoreSealer::new(sealer)))
    }

    fn open(&self, name: &str, device: &str) -> Option<Box<dyn doorstep_core::crypto::KeySealer>> {
        let sealer = self
            .0
            .open(name.to_owned(), device.to_owned())
            .ok()
            .flatten()?;
        Some(Box::new(CoreSealer::new(sealer)))
    }
}

/// A platform's sealer as the core's; the name is read once.
struct CoreSealer {
    name: String,
    inner: Arc<dyn KeySealer>,
}

impl CoreSealer {
    fn new(inner: Arc<dyn KeySealer>) -> Self {
        Self {
            name: inner.name(),
            inner,
        }
    }
}

impl doorstep_core::crypto::KeySealer for CoreSealer {
    fn name(&self) -> &str {
        &self.name
    }

    fn seal(&self, secret: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.inner
            .seal(secret.to_vec())
            .map_err(|_| CryptoError::Unauthentic)
    }

    fn unseal(&self, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        self.inner
            .unseal(sealed.to_vec())
            .map(Zeroizing::new)
            .map_err(|_| CryptoError::Unauthentic)
    }

    fn destroy(&self) -> Result<(), CryptoError> {
        self.inner.destroy().map_err(|_| CryptoError::Unauthentic)
    }
}
