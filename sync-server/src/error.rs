//! Every refusal the server gives: an HTTP status, a stable code, a message that says what to do,
//! and for a revoked device the instruction to wipe. Internal details go to the log, never to the
//! client; there is no patient data on the server to leak.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use doorstep_core::sync::wire::ErrorBody;

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    wipe: bool,
    /// The admin-signed membership that revokes the device, relayed so it can check the claim.
    revocation: Option<doorstep_core::sync::wire::Signed>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            wipe: false,
            revocation: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad-request", message)
    }

    pub fn unauthorised(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorised", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// A revoked device, with the admin-signed membership that revokes it: the device wipes only
    /// after verifying that proof, so this answer alone cannot wipe anything.
    pub fn revoked(proof: Option<doorstep_core::sync::wire::Signed>) -> Self {
        Self {
            status: StatusCode::GONE,
            code: "revoked",
            message: "this device has been revoked by its organisation and must wipe its data"
                .to_owned(),
            wipe: true,
            revocation: proof,
        }
    }

    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the sync server failed; try again later",
        )
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(error: rusqlite::Error) -> Self {
        ApiError::internal(error)
    }
}

impl From<tokio_postgres::Error> for ApiError {
    fn from(error: tokio_postgres::Error) -> Self {
        ApiError::internal(error)
    }
}

impl From<deadpool_postgres::PoolError> for ApiError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        tracing::error!(%error, "no database connection");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the sync server cannot reach its database; try again later",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code.to_owned(),
            message: self.message,
            wipe: self.wipe,
            revocation: self.revocation,
        };
        (self.status, Json(body)).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
