//! Sealing at rest: AES-256-GCM (ring) under the device data key, with the row's identity bound as
//! associated data so a sealed blob opens only in the row it was written for.
//!
//! The data key is random (`make_data_key`), lives only in memory while a session is unlocked
//! (`DataKey`, zeroised on drop), and is stored wrapped by a key derived from each user's PIN
//! (`PinKdf::derive`, Argon2id; PBKDF2-HMAC-SHA256 only to open stores made before Argon2id) and,
//! where the platform has one, by a [`KeySealer`].

use std::num::NonZeroU32;

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

/// OWASP's 2023 floor for PBKDF2-HMAC-SHA256: what stores made before Argon2id used. Kept only to
/// open them once and re-wrap the key under [`PinKdf::DEFAULT`].
pub const PIN_KDF_ITERATIONS: u32 = 600_000;
pub const SALT_LEN: usize = 16;

/// How a PIN or passphrase becomes the key that wraps the data key. Stored beside each wrapped key
/// (`PinKdf::to_text`), so parameters can be raised later without locking anyone out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinKdf {
    /// Legacy: stores made before Argon2id. Re-wrapped under [`PinKdf::DEFAULT`] at next unlock.
    Pbkdf2Sha256 { iterations: u32 },
    /// Memory-hard: a GPU or ASIC gains little, because every guess needs `memory_kib` of RAM.
    Argon2id {
        memory_kib: u32,
        iterations: u32,
        lanes: u32,
    },
}

impl PinKdf {
    /// Chosen by benchmark (`cargo bench -p doorstep-core --bench pin_kdf`, docs/benchmarks.md):
    /// 64 MiB and 3 passes is the most this machine does within the unlock budget of 1 s with room
    /// to spare for slower tablets. A 6-digit PIN then costs an attacker with a copied directory
    /// 10^6 × 64 MiB-passes instead of a minute on a GPU.
    pub const DEFAULT: PinKdf = PinKdf::Argon2id {
        memory_kib: 64 * 1024,
        iterations: 3,
        lanes: 1,
    };

    /// For tests that create many stores: the same code path with a small memory cost. Never
    /// chosen by a shell.
    pub const FAST_FOR_TESTS: PinKdf = PinKdf::Argon2id {
        memory_kib: 256,
        iterations: 1,
        lanes: 1,
    };

    pub fn to_text(self) -> String {
        match self {
            PinKdf::Pbkdf2Sha256 { iterations } => format!("pbkdf2-sha256:i={iterations}"),
            PinKdf::Argon2id {
                memory_kib,
                iterations,
                lanes,
            } => format!("argon2id:m={memory_kib},t={iterations},p={lanes}"),
        }
    }

    pub fn parse(text: &str) -> Result<Self, CryptoError> {
        let (name, params) = text.split_once(':').ok_or(CryptoError::Malformed)?;
        let mut values = std::collections::BTreeMap::new();
        for pair in params.split(',') {
            let (key, value) = pair.split_once('=').ok_or(CryptoError::Malformed)?;
            let value: u32 = value.parse().map_err(|_| CryptoError::Malformed)?;
            values.insert(key, value);
        }
        let get = |key: &str| values.get(key).copied().ok_or(CryptoError::Malformed);
        match name {
            "pbkdf2-sha256" => Ok(PinKdf::Pbkdf2Sha256 {
                iterations: get("i")?,
            }),
            "argon2id" => Ok(PinKdf::Argon2id {
                memory_kib: get("m")?,
                iterations: get("t")?,
                lanes: get("p")?,
            }),
            _ => Err(CryptoError::Malformed),
        }
    }

    /// Whether a key wrapped this way should be re-wrapped under [`PinKdf::DEFAULT`].
    pub fn is_legacy(self) -> bool {
        matches!(self, PinKdf::Pbkdf2Sha256 { .. })
    }

    /// The key that wraps the data key, from a PIN or passphrase and a per-user random salt.
    pub fn derive(self, pin: &str, salt: &[u8]) -> Result<DataKey, CryptoError> {
        match self {
            PinKdf::Pbkdf2Sha256 { iterations } => Ok(derive_pin_key(pin, salt, iterations)),
            PinKdf::Argon2id {
                memory_kib,
                iterations,
                lanes,
            } => {
                let params = argon2::Params::new(memory_kib, iterations, lanes, Some(32))
                    .map_err(|_| CryptoError::Malformed)?;
                let argon = argon2::Argon2::new(
                    argon2::Algorithm::Argon2id,
                    argon2::Version::V0x13,
                    params,
                );
                let mut key = Zeroizing::new([0u8; 32]);
                argon
                    .hash_password_into(pin.as_bytes(), salt, key.as_mut_slice())
                    .map_err(|_| CryptoError::Malformed)?;
                Ok(DataKey(key))
            }
        }
    }
}
const FORMAT_VERSION: u8 = 1;

/// A 256-bit key that is wiped from memory when dropped. Never `Debug`-printed.
pub struct DataKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(<secret>)")
    }
}

impl DataKey {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let mut key = Zeroizing::new([0u8; 32]);
        if bytes.len() != key.len() {
            return Err(CryptoError::Malformed);
        }
        key.copy_from_slice(bytes);
        Ok(Self(key))
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_slice()
    }

    fn aead(&self) -> Result<LessSafeKey, CryptoError> {
        UnboundKey::new(&AES_256_GCM, self.as_bytes())
            .map(LessSafeKey::new)
            .map_err(|_| CryptoError::Malformed)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// Wrong key, or the blob or its row identity was altered: indistinguishable by design.
    #[error("stored data failed its integrity check (wrong key, or altered or moved data)")]
    Unauthentic,
    #[error("stored data is malformed")]
    Malformed,
    #[error("the system random number generator failed")]
    Random,
}

pub fn random_bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut bytes = [0u8; N];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| CryptoError::Random)?;
    Ok(bytes)
}

/// A fresh random data key.
pub fn make_data_key() -> Result<DataKey, CryptoError> {
    let bytes = Zeroizing::new(random_bytes::<32>()?);
    DataKey::from_bytes(bytes.as_slice())
}

/// PBKDF2-HMAC-SHA256: only for keys wrapped before Argon2id ([`PinKdf::Pbkdf2Sha256`]).
pub fn derive_pin_key(pin: &str, salt: &[u8], iterations: u32) -> DataKey {
    let mut key = Zeroizing::new([0u8; 32]);
    let iterations = NonZeroU32::new(iterations.max(1)).unwrap_or(NonZeroU32::MIN);
    ring::pbkdf2::derive(
        ring::pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        salt,
        pin.as_bytes(),
        key.as_mut_slice(),
    );
    DataKey(key)
}

/// `version ‖ nonce ‖ ciphertext ‖ tag`, bound to `row` as associated data.
pub fn seal(key: &DataKey, row: &str, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let nonce_bytes = random_bytes::<NONCE_LEN>()?;
    let mut out = Vec::with_capacity(1 + NONCE_LEN + plaintext.len() + AES_256_GCM.tag_len());
    out.push(FORMAT_VERSION);
    out.extend_from_slice(&nonce_bytes);
    let mut body = plaintext.to_vec();
    key.aead()?
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce_bytes),
            Aad::from(row.as_bytes()),
            &mut body,
        )
        .map_err(|_| CryptoError::Malformed)?;
    out.extend_from_slice(&body);
    Ok(out)
}

/// Opens a blob sealed by [`seal`] for the same `row`.
pub fn open(key: &DataKey, row: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let Some((&version, rest)) = sealed.split_first() else {
        return Err(CryptoError::Malformed);
    };
    if version != FORMAT_VERSION || rest.len() < NONCE_LEN + AES_256_GCM.tag_len() {
        return Err(CryptoError::Malformed);
    }
    let (nonce_bytes, body) = rest.split_at(NONCE_LEN);
    let nonce =
        Nonce::try_assume_unique_for_key(nonce_bytes).map_err(|_| CryptoError::Malformed)?;
    let mut buffer = Zeroizing::new(body.to_vec());
    let plaintext_len = key
        .aead()?
        .open_in_place(nonce, Aad::from(row.as_bytes()), buffer.as_mut_slice())
        .map_err(|_| CryptoError::Unauthentic)?
        .len();
    buffer.truncate(plaintext_len);
    Ok(buffer)
}

/// A platform key store that additionally seals the wrapped data key: Android Keystore, the
/// Secure Enclave, the OS keyring. Shells implement it; [`SoftwareKeySealer`] is the portable one.
pub trait KeySealer: Send + Sync {
    /// Stable name stored beside the sealed key, so the right sealer is asked to open it.
    fn name(&self) -> &str;
    fn seal(&self, secret: &[u8]) -> Result<Vec<u8>, CryptoError>;
    fn unseal(&self, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError>;
    /// Destroys the sealing key (a wipe): nothing it sealed can be opened again.
    fn destroy(&self) -> Result<(), CryptoError> {
        Ok(())
    }
}

/// Where a shell keeps one sealing key per device: the operating system's key store on desktop,
/// Android Keystore or the Keychain on mobile. [`NoKeyStore`] is the stated fallback: the
/// software sealer, whose key file sits beside the database.
pub trait KeyStore {
    /// A new sealer for `device`, its key kept by the platform; `None` when the platform has no
    /// usable store now (no Secret Service running, say).
    fn create(&self, device: &str) -> Option<Box<dyn KeySealer>>;
    /// The sealer called `name` that this store keeps for `device`, if it has it.
    fn open(&self, name: &str, device: &str) -> Option<Box<dyn KeySealer>>;
}

/// No platform key store: every device uses [`SoftwareKeySealer`].
#[derive(Debug, Clone, Copy, Default)]
pub struct NoKeyStore;

impl KeyStore for NoKeyStore {
    fn create(&self, _device: &str) -> Option<Box<dyn KeySealer>> {
        None
    }

    fn open(&self, _name: &str, _device: &str) -> Option<Box<dyn KeySealer>> {
        None
    }
}

/// A key sealer whose key is a random 256-bit secret held outside the database (in the data
/// directory's `device.key`, readable only by the owner). On desktop it separates the database
/// from the key material; on platforms with hardware key stores the shells provide their own.
pub struct SoftwareKeySealer {
    key: DataKey,
}

impl std::fmt::Debug for SoftwareKeySealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SoftwareKeySealer(<secret>)")
    }
}

impl SoftwareKeySealer {
    pub const NAME: &'static str = "software-v1";

    pub fn new(key: DataKey) -> Self {
        Self { key }
    }
}

impl KeySealer for SoftwareKeySealer {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn seal(&self, secret: &[u8]) -> Result<Vec<u8>, CryptoError> {
        seal(&self.key, "key-sealer/software-v1", secret)
    }

    fn unseal(&self, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        open(&self.key, "key-sealer/software-v1", sealed)
    }
}

pub fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    for part in parts {
        context.update(part);
    }
    let digest = context.finish();
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn sealed_blobs_open_only_for_their_row_and_key() {
        let key = make_data_key().unwrap();
        let sealed = seal(&key, "summary/a", b"Quillfeather").unwrap();
        assert_eq!(
            open(&key, "summary/a", &sealed).unwrap().as_slice(),
            b"Quillfeather"
        );
        assert_eq!(
            open(&key, "summary/b", &sealed).unwrap_err(),
            CryptoError::Unauthentic
        );
        let other = make_data_key().unwrap();
        assert_eq!(
            open(&other, "summary/a", &sealed).unwrap_err(),
            CryptoError::Unauthentic
        );
        assert_eq!(
            open(&key, "summary/a", &[]).unwrap_err(),
            CryptoError::Malformed
        );
        assert!(!sealed.windows(6).any(|w| w == b"Quillf"));
    }

    #[test]
    fn pin_keys_depend_on_pin_and_salt() {
        let a = derive_pin_key("1234", b"salt-one-16bytes", 1_000);
        let b = derive_pin_key("1235", b"salt-one-16bytes", 1_000);
        let c = derive_pin_key("1234", b"salt-two-16bytes", 1_000);
        assert_ne!(a.as_bytes(), b.as_bytes());
        assert_ne!(a.as_bytes(), c.as_bytes());
        assert_eq!(format!("{a:?}"), "DataKey(<secret>)");
    }

    #[test]
    fn pin_kdf_parameters_round_trip_through_text_and_argon2id_depends_on_pin_and_salt() {
        for kdf in [
            PinKdf::DEFAULT,
            PinKdf::FAST_FOR_TESTS,
            PinKdf::Pbkdf2Sha256 {
                iterations: 600_000,
            },
        ] {
            assert_eq!(PinKdf::parse(&kdf.to_text()).unwrap(), kdf);
        }
        assert_eq!(PinKdf::DEFAULT.to_text(), "argon2id:m=65536,t=3,p=1");
        assert!(PinKdf::parse("scrypt:n=1").is_err());
        assert!(PinKdf::parse("argon2id:m=1").is_err());
        let kdf = PinKdf::FAST_FOR_TESTS;
        let a = kdf.derive("246810", b"salt-one-16bytes").unwrap();
        let b = kdf.derive("246811", b"salt-one-16bytes").unwrap();
        let c = kdf.derive("246810", b"salt-two-16bytes").unwrap();
        let again = kdf.derive("246810", b"salt-one-16bytes").unwrap();
        assert_ne!(a.as_bytes(), b.as_bytes());
        assert_ne!(a.as_bytes(), c.as_bytes());
        assert_eq!(a.as_bytes(), again.as_bytes());
        assert!(!kdf.is_legacy());
        assert!(PinKdf::Pbkdf2Sha256 { iterations: 1 }.is_legacy());
    }

    proptest! {
        #[test]
        fn flipping_any_bit_is_detected(plaintext in prop::collection::vec(any::<u8>(), 0..200), bit in any::<prop::sample::Index>()) {
            let key = make_data_key().unwrap();
            let mut sealed = seal(&key, "row/1", &plaintext).unwrap();
            let bit = bit.index(sealed.len() * 8);
            sealed[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(open(&key, "row/1", &sealed).is_err());
        }

        #[test]
        fn sealing_round_trips(plaintext in prop::collection::vec(any::<u8>(), 0..500)) {
            let key = make_data_key().unwrap();
            let sealed = seal(&key, "row/1", &plaintext).unwrap();
            let opened = open(&key, "row/1", &sealed).unwrap();
            prop_assert_eq!(opened.as_slice(), plaintext.as_slice());
        }
    }
}
