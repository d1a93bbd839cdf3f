//! Sealing and opening sync units: AES-256-GCM under the team key of the unit's epoch with the
//! header as associated data, then an Ed25519 signature by the author device over header and
//! ciphertext. A unit moved to another document, re-signed by a stranger or altered in any bit
//! fails to open.

use zeroize::Zeroizing;

use super::keys::{self, SigningKey};
use super::roster::VerifiedRoster;
use super::wire::{B64, Unit, UnitHeader};
use crate::crypto::{self, DataKey};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitError {
    #[error("a unit for another team was offered")]
    WrongTeam,
    #[error("a unit's author is not a member of the team")]
    UnknownAuthor,
    #[error("a unit's signature did not verify")]
    BadSignature,
    #[error("no team key for the unit's epoch on this device")]
    NoKeyForEpoch,
    #[error("a unit failed its integrity check")]
    Unauthentic,
}

fn header_text(header: &UnitHeader) -> String {
    // Serialising a plain struct of strings and numbers cannot fail.
    serde_json::to_string(header).unwrap_or_default()
}

fn signature_input(header: &str, ciphertext: &[u8]) -> Vec<u8> {
    format!(
        "doorstep/v1/unit\n{header}\n{}",
        crypto::hex(&crypto::sha256(&[ciphertext]))
    )
    .into_bytes()
}

pub fn seal_unit(
    team_key: &DataKey,
    author: &SigningKey,
    header: UnitHeader,
    plaintext: &[u8],
) -> Result<Unit, crypto::CryptoError> {
    let text = header_text(&header);
    let ciphertext = crypto::seal(team_key, &format!("unit/{text}"), plaintext)?;
    let signature = author.sign(&signature_input(&text, &ciphertext));
    Ok(Unit {
        header,
        ciphertext: B64(ciphertext),
        signature: B64(signature),
    })
}

/// Checks a unit's author and signature against the roster without decrypting it.
pub fn verify_unit(unit: &Unit, roster: &VerifiedRoster) -> Result<(), UnitError> {
    if unit.header.team != roster.team {
        return Err(UnitError::WrongTeam);
    }
    let author = roster
        .author_at(unit.header.author, unit.header.epoch)
        .and_then(|member| member.signing_key.key32())
        .ok_or(UnitError::UnknownAuthor)?;
    let text = header_text(&unit.header);
    if !keys::verify(
        &author,
        &signature_input(&text, &unit.ciphertext.0),
        &unit.signature.0,
    ) {
        return Err(UnitError::BadSignature);
    }
    Ok(())
}

pub fn open_unit(
    unit: &Unit,
    roster: &VerifiedRoster,
    team_key: impl Fn(u32) -> Option<DataKey>,
) -> Result<Zeroizing<Vec<u8>>, UnitError> {
    verify_unit(unit, roster)?;
    let key = team_key(unit.header.epoch).ok_or(UnitError::NoKeyForEpoch)?;
    crypto::open(
        &key,
        &format!("unit/{}", header_text(&unit.header)),
        &unit.ciphertext.0,
    )
    .map_err(|_| UnitError::Unauthentic)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::ids::{DeviceId, PatientId};
    use crate::observation::Role;
    use crate::sync::admin::AdminState;
    use crate::sync::wire::{
        Endorsement, EnrolResponse, Enrolment, Member, PURPOSE_ENDORSEMENT, Roster, Signed,
        UnitKind,
    };

    struct Fixture {
        roster: VerifiedRoster,
        member_key: SigningKey,
        member: DeviceId,
        team_key: DataKey,
    }

    /// A team with one device enrolled through a real code and grant.
    fn fixture() -> Fixture {
        let mut admin = AdminState::create("http://127.0.0.1:1", "org").unwrap();
        admin.create_team("north").unwrap();
        let (code, publish) = admin
            .enrolment_code("north", "Nell", Role::Nurse, 1_000)
            .unwrap();
        let response = EnrolResponse {
            org: "org".to_owned(),
            admin_key: B64(admin.admin_key().unwrap().public_key().to_vec()),
            grant: publish.grant.clone(),
            code_lockbox: publish.code_lockbox,
        };
        let accepted = code.accept(&response, 1_000).unwrap();
        let member_key = SigningKey::generate().unwrap();
        let member = DeviceId::random();
        let endorsement = Signed::sign(
            &code.endorse_key().unwrap(),
            PURPOSE_ENDORSEMENT,
            &Endorsement {
                team: "north".to_owned(),
                member: Member {
                    device: member,
                    user: "Nell".to_owned(),
                    role: Role::Nurse,
                    signing_key: B64(member_key.public_key().to_vec()),
                    agreement_key: B64(vec![0; 32]),
                },
            },
        )
        .unwrap();
        let roster = Roster {
            membership: None,
            enrolments: vec![Enrolment {
                grant: publish.grant,
                endorsement,
            }],
            lockboxes: vec![],
        };
        Fixture {
            roster: VerifiedRoster::verify("north", &accepted.admin_key, &roster),
            member_key,
            member,
            team_key: accepted.team_key,
        }
    }

    fn header(author: DeviceId, doc: PatientId) -> UnitHeader {
        UnitHeader {
            team: "north".to_owned(),
            epoch: 1,
            doc,
            author,
            counter: 1,
            kind: UnitKind::Changes,
            covers: None,
        }
    }

    fn key_bytes(fixture: &Fixture) -> Vec<u8> {
        fixture.team_key.as_bytes().to_vec()
    }

    #[test]
    fn a_member_s_unit_opens() {
        let f = fixture();
        let unit = seal_unit(
            &f.team_key,
            &f.member_key,
            header(f.member, PatientId::random()),
            b"changes",
        )
        .unwrap();
        let bytes = key_bytes(&f);
        let opened = open_unit(&unit, &f.roster, |_| DataKey::from_bytes(&bytes).ok()).unwrap();
        assert_eq!(opened.as_slice(), b"changes");
    }

    #[test]
    fn a_stranger_s_unit_is_refused_even_with_the_team_key() {
        let f = fixture();
        let stranger = SigningKey::generate().unwrap();
        let bytes = key_bytes(&f);
        let key = |_| DataKey::from_bytes(&bytes).ok();
        // Claiming to be the member, signed by the stranger.
        let forged = seal_unit(
            &f.team_key,
            &stranger,
            header(f.member, PatientId::random()),
            b"x",
        )
        .unwrap();
        assert_eq!(
            open_unit(&forged, &f.roster, key),
            Err(UnitError::BadSignature)
        );
        // As itself: not a member.
        let unknown = seal_unit(
            &f.team_key,
            &stranger,
            header(DeviceId::random(), PatientId::random()),
            b"x",
        )
        .unwrap();
        assert_eq!(
            open_unit(&unknown, &f.roster, key),
            Err(UnitError::UnknownAuthor)
        );
    }

    #[test]
    fn a_unit_moved_to_another_document_is_refused() {
        let f = fixture();
        let bytes = key_bytes(&f);
        let mut unit = seal_unit(
            &f.team_key,
            &f.member_key,
            header(f.member, PatientId::random()),
            b"x",
        )
        .unwrap();
        unit.header.doc = PatientId::random();
        assert_eq!(
            open_unit(&unit, &f.roster, |_| DataKey::from_bytes(&bytes).ok()),
            Err(UnitError::BadSignature)
        );
    }

    #[test]
    fn a_unit_re_signed_after_a_header_change_still_fails_its_seal() {
        // Even the author cannot move a sealed unit to another document: the header is the AEAD's
        // associated data.
        let f = fixture();
        let bytes = key_bytes(&f);
        let mut unit = seal_unit(
            &f.team_key,
            &f.member_key,
            header(f.member, PatientId::random()),
            b"x",
        )
        .unwrap();
        unit.header.doc = PatientId::random();
        let text = serde_json::to_string(&unit.header).unwrap();
        unit.signature = B64(f
            .member_key
            .sign(&signature_input(&text, &unit.ciphertext.0)));
        assert_eq!(
            open_unit(&unit, &f.roster, |_| DataKey::from_bytes(&bytes).ok()),
            Err(UnitError::Unauthentic)
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn any_flipped_bit_is_refused(bit in any::<prop::sample::Index>()) {
            let f = fixture();
            let bytes = key_bytes(&f);
            let mut unit = seal_unit(&f.team_key, &f.member_key, header(f.member, PatientId::random()), b"changes").unwrap();
            let total = (unit.ciphertext.0.len() + unit.signature.0.len()) * 8;
            let bit = bit.index(total);
            if bit < unit.ciphertext.0.len() * 8 {
                unit.ciphertext.0[bit / 8] ^= 1 << (bit % 8);
            } else {
                let bit = bit - unit.ciphertext.0.len() * 8;
                unit.signature.0[bit / 8] ^= 1 << (bit % 8);
            }
            prop_assert!(open_unit(&unit, &f.roster, |_| DataKey::from_bytes(&bytes).ok()).is_err());
        }
    }
}
