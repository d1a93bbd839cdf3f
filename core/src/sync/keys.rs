//! The keys of end-to-end encrypted sync.
//!
//! - The organisation's **admin key** (Ed25519) signs team memberships and enrolment grants.
//! - Each **device** has an Ed25519 signing key (it signs every unit it uploads and every request it
//!   makes) and an X25519 key-agreement key (team keys reach it in lockboxes sealed to that key).
//! - Each **team** has a content key per epoch; revoking a device starts a new epoch.
//!
//! None of these ever reaches the server except as public keys and sealed lockboxes.

use ring::hkdf;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::crypto::{self, CryptoError, DataKey};

/// 32 bytes of HKDF-SHA256 output for `info`, from input key material `ikm`.
pub fn hkdf32(ikm: &[u8], info: &str) -> [u8; 32] {
    struct Len;
    impl hkdf::KeyType for Len {
        fn len(&self) -> usize {
            32
        }
    }
    let mut out = [0u8; 32];
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"doorstep-sync-v1").extract(ikm);
    let info = [info.as_bytes()];
    // `expand` fails only when the requested length exceeds 255 × 32 bytes; 32 is far below it.
    if let Ok(okm) = prk.expand(&info, Len) {
        let _ = okm.fill(&mut out);
    }
    out
}

/// What the admin signs for an epoch's content key: a hash that binds the key to its team and
/// epoch. The key is 256 random bits, so the commitment reveals nothing a server could use.
pub fn epoch_key_commitment(team: &str, epoch: u32, key: &DataKey) -> [u8; 32] {
    crypto::sha256(&[
        b"doorstep/v1/epoch-key\n",
        team.as_bytes(),
        b"\n",
        &epoch.to_be_bytes(),
        key.as_bytes(),
    ])
}

/// An Ed25519 key pair kept as its PKCS#8 document (zeroised on drop).
pub struct SigningKey {
    pkcs8: Zeroizing<Vec<u8>>,
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SigningKey(public {})",
            crypto::hex(&self.public_key()[..8])
        )
    }
}

impl SigningKey {
    pub fn generate() -> Result<Self, CryptoError> {
        let rng = ring::rand::SystemRandom::new();
        let document = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| CryptoError::Random)?;
        Self::from_pkcs8(document.as_ref())
    }

    /// A key pair determined by `seed`: both holders of an enrolment code derive the same one.
    pub fn from_seed(seed: &[u8; 32]) -> Result<Self, CryptoError> {
        let pair = Ed25519KeyPair::from_seed_unchecked(seed).map_err(|_| CryptoError::Malformed)?;
        Ok(Self {
            pkcs8: Zeroizing::new(seed.to_vec()),
            pair,
        })
    }

    pub fn from_pkcs8(bytes: &[u8]) -> Result<Self, CryptoError> {
        if bytes.len() == 32 {
            let mut seed = [0u8; 32];
            seed.copy_from_slice(bytes);
            return Self::from_seed(&seed);
        }
        let pair = Ed25519KeyPair::from_pkcs8(bytes).map_err(|_| CryptoError::Malformed)?;
        Ok(Self {
            pkcs8: Zeroizing::new(bytes.to_vec()),
            pair,
        })
    }

    /// The secret form to store (sealed) and reload with [`SigningKey::from_pkcs8`].
    pub fn secret_bytes(&self) -> &[u8] {
        &self.pkcs8
    }

    pub fn public_key(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(self.pair.public_key().as_ref());
        out
    }

    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.pair.sign(message).as_ref().to_vec()
    }
}

pub fn verify(public_key: &[u8; 32], message: &[u8], signature: &[u8]) -> bool {
    UnparsedPublicKey::new(&ED25519, public_key)
        .verify(message, signature)
        .is_ok()
}

/// A device's X25519 key-agreement key.
pub struct AgreementKey(StaticSecret);

impl std::fmt::Debug for AgreementKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AgreementKey(<secret>)")
    }
}

impl AgreementKey {
    pub fn generate() -> Result<Self, CryptoError> {
        Ok(Self(StaticSecret::from(crypto::random_bytes::<32>()?)))
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(StaticSecret::from(bytes))
    }

    pub fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    pub fn public_key(&self) -> [u8; 32] {
        PublicKey::from(&self.0).to_bytes()
    }
}

fn lockbox_row(context: &str) -> String {
    format!("lockbox/{context}")
}

/// Seals `secret` so that only the holder of `recipient`'s agreement key can open it: an ephemeral
/// X25519 exchange, HKDF, AES-256-GCM with `context` (team, epoch, device) bound.
/// Output: ephemeral public key ‖ sealed secret.
pub fn seal_to(recipient: &[u8; 32], context: &str, secret: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let ephemeral = StaticSecret::from(crypto::random_bytes::<32>()?);
    let ephemeral_public = PublicKey::from(&ephemeral).to_bytes();
    let shared = ephemeral.diffie_hellman(&PublicKey::from(*recipient));
    let key = DataKey::from_bytes(&hkdf32(shared.as_bytes(), &lockbox_row(context)))?;
    let mut out = ephemeral_public.to_vec();
    out.extend(crypto::seal(&key, &lockbox_row(context), secret)?);
    Ok(out)
}

/// Opens a [`seal_to`] lockbox with the recipient's agreement key.
pub fn open_sealed(
    recipient: &AgreementKey,
    context: &str,
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    if sealed.len() < 32 {
        return Err(CryptoError::Malformed);
    }
    let (ephemeral, body) = sealed.split_at(32);
    let mut ephemeral_public = [0u8; 32];
    ephemeral_public.copy_from_slice(ephemeral);
    let shared = recipient
        .0
        .diffie_hellman(&PublicKey::from(ephemeral_public));
    let key = DataKey::from_bytes(&hkdf32(shared.as_bytes(), &lockbox_row(context)))?;
    crypto::open(&key, &lockbox_row(context), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockboxes_open_only_for_their_recipient_and_context() {
        let alice = AgreementKey::generate().unwrap();
        let mallory = AgreementKey::generate().unwrap();
        let sealed = seal_to(&alice.public_key(), "team/t/epoch/1/device/a", b"team key").unwrap();
        assert_eq!(
            open_sealed(&alice, "team/t/epoch/1/device/a", &sealed)
                .unwrap()
                .as_slice(),
            b"team key"
        );
        assert!(open_sealed(&mallory, "team/t/epoch/1/device/a", &sealed).is_err());
        assert!(open_sealed(&alice, "team/t/epoch/2/device/a", &sealed).is_err());
    }

    #[test]
    fn signatures_verify_only_for_their_key_and_message() {
        let key = SigningKey::generate().unwrap();
        let reloaded = SigningKey::from_pkcs8(key.secret_bytes()).unwrap();
        assert_eq!(key.public_key(), reloaded.public_key());
        let signature = key.sign(b"message");
        assert!(verify(&key.public_key(), b"message", &signature));
        assert!(!verify(&key.public_key(), b"massage", &signature));
        let seeded = SigningKey::from_seed(&[7; 32]).unwrap();
        assert_eq!(
            seeded.public_key(),
            SigningKey::from_seed(&[7; 32]).unwrap().public_key()
        );
        assert!(!verify(&seeded.public_key(), b"message", &signature));
    }
}
