//! A device reduced to what the server sees: enrolled through the real path (grant, code,
//! endorsement), then uploading sealed units and pulling after its cursor with signed requests.
//! Used where real device stores would cost more than the server under test: thousands of devices
//! in the load benchmark, thousands of units in the ordering test.

use doorstep_core::crypto::DataKey;
use doorstep_core::observation::Role;
use doorstep_core::sync::enrolment::EnrolmentCode;
use doorstep_core::sync::keys::{AgreementKey, SigningKey};
use doorstep_core::sync::unit::seal_unit;
use doorstep_core::sync::wire::{
    B64, Endorsement, EnrolResponse, HEADER_DEVICE, HEADER_NONCE, HEADER_SIGNATURE,
    HEADER_TIMESTAMP, Member, PURPOSE_ENDORSEMENT, PullResponse, Signed, UnitHeader, UnitKind,
    UploadRequest, UploadResponse, request_signing_input,
};
use doorstep_core::{DeviceId, PatientId};
use doorstep_transport::AdminClient;

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("HTTP: {0}")]
    Http(#[from] reqwest::Error),
    #[error("the server answered {status}: {body}")]
    Refused { status: u16, body: String },
    #[error("{0}")]
    Other(String),
}

fn other(error: impl std::fmt::Display) -> SimError {
    SimError::Other(error.to_string())
}

#[derive(Debug)]
pub struct SimDevice {
    pub id: DeviceId,
    pub team: String,
    key: SigningKey,
    team_key: DataKey,
    counter: u64,
    pub cursor: u64,
}

impl SimDevice {
    /// Enrols a new device in `team` with a code from `admin`, through the server at `url`.
    pub fn enrol(
        admin: &AdminClient,
        client: &reqwest::blocking::Client,
        url: &str,
        team: &str,
        user: &str,
    ) -> Result<Self, SimError> {
        let issued = admin
            .enrolment_code(team, user, Role::Nurse)
            .map_err(other)?;
        let code = EnrolmentCode::parse(&issued.code).map_err(other)?;
        let response: EnrolResponse = client
            .post(format!("{url}/v1/enrol/{}", code.token()))
            .send()?
            .json()?;
        let accepted = code
            .accept(&response, chrono::Utc::now().timestamp())
            .map_err(other)?;
        let key = SigningKey::generate().map_err(other)?;
        let id = DeviceId::random();
        let endorsement = Signed::sign(
            &code.endorse_key().map_err(other)?,
            PURPOSE_ENDORSEMENT,
            &Endorsement {
                team: team.to_owned(),
                member: Member {
                    device: id,
                    user: user.to_owned(),
                    role: Role::Nurse,
                    signing_key: B64(key.public_key().to_vec()),
                    agreement_key: B64(AgreementKey::generate()
                        .map_err(other)?
                        .public_key()
                        .to_vec()),
                },
            },
        )
        .map_err(other)?;
        let response = client
            .post(format!("{url}/v1/enrol/{}/complete", code.token()))
            .json(&endorsement)
            .send()?;
        check(response)?;
        Ok(Self {
            id,
            team: team.to_owned(),
            key,
            team_key: accepted.team_key,
            counter: 0,
            cursor: 0,
        })
    }

    /// Uploads one unit per payload, for record `doc`, in one request; returns their sequences.
    pub fn upload(
        &mut self,
        client: &reqwest::blocking::Client,
        url: &str,
        doc: PatientId,
        payloads: &[Vec<u8>],
    ) -> Result<Vec<u64>, SimError> {
        let mut units = Vec::with_capacity(payloads.len());
        for payload in payloads {
            self.counter += 1;
            let header = UnitHeader {
                team: self.team.clone(),
                epoch: 1,
                doc,
                author: self.id,
                counter: self.counter,
                kind: UnitKind::Changes,
                covers: None,
            };
            units.push(seal_unit(&self.team_key, &self.key, header, payload).map_err(other)?);
        }
        let body = serde_json::to_vec(&UploadRequest { units }).map_err(other)?;
        let response = self.signed(client, url, "POST", "/v1/units", body)?;
        let uploaded: UploadResponse = check(response)?.json()?;
        Ok(uploaded.seqs)
    }

    /// Sets the counter the next unit follows: a device restored from an old backup, or a hostile
    /// one reusing counters.
    pub fn rewind(&mut self, counter: u64) {
        self.counter = counter;
    }

    /// Pulls one page of the team's units after this device's cursor and advances it.
    pub fn pull(
        &mut self,
        client: &reqwest::blocking::Client,
        url: &str,
    ) -> Result<PullResponse, SimError> {
        let path = format!("/v1/units?after={}&limit=500", self.cursor);
        let response = self.signed(client, url, "GET", &path, Vec::new())?;
        let page: PullResponse = check(response)?.json()?;
        self.cursor = page.cursor;
        Ok(page)
    }

    fn signed(
        &self,
        client: &reqwest::blocking::Client,
        url: &str,
        method: &str,
        path: &str,
        body: Vec<u8>,
    ) -> Result<reqwest::blocking::Response, SimError> {
        let timestamp = chrono::Utc::now().timestamp();
        let nonce = doorstep_core::crypto::hex(
            &doorstep_core::crypto::random_bytes::<16>().map_err(other)?,
        );
        let signature = self.key.sign(&request_signing_input(
            method, path, timestamp, &nonce, &body,
        ));
        let builder = match method {
            "POST" => client.post(format!("{url}{path}")),
            _ => client.get(format!("{url}{path}")),
        };
        Ok(builder
            .header(HEADER_DEVICE, self.id.to_string())
            .header(HEADER_TIMESTAMP, timestamp.to_string())
            .header(HEADER_NONCE, nonce)
            .header(HEADER_SIGNATURE, data_encoding::BASE64.encode(&signature))
            .header("content-type", "application/json")
            .body(body)
            .send()?)
    }
}

fn check(response: reqwest::blocking::Response) -> Result<reqwest::blocking::Response, SimError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    Err(SimError::Refused {
        status: status.as_u16(),
        body: response.text().unwrap_or_default(),
    })
}
