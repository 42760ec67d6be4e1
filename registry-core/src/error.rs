//! One classified error type for the whole engine.
//!
//! Every variant maps to an [`ErrorCode`]: the OCI distribution error codes plus a few
//! management classes. The code's HTTP status is *data* here in core; frontends only render it
//! (the HTTP envelope, a Python exception with `.code`, a JS error with `.code`).
//! Backends keep their own error types and convert at their edge into [`Error::Storage`] or
//! [`Error::Metadata`], naming the backend.

use std::fmt;

/// Boxed source error carried by internal failures.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The stable, machine-readable class of an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    BlobUnknown,
    BlobUploadInvalid,
    BlobUploadUnknown,
    DigestInvalid,
    ManifestBlobUnknown,
    ManifestInvalid,
    ManifestUnknown,
    NameInvalid,
    NameUnknown,
    SizeInvalid,
    RangeInvalid,
    TagInvalid,
    Unauthorized,
    Denied,
    Unsupported,
    TooManyRequests,
    /// A body over the limit the server reads (413).
    PayloadTooLarge,
    PaginationNumberInvalid,
    /// Management: a named thing does not exist.
    NotFound,
    /// Management: a named thing exists already.
    AlreadyExists,
    /// Management: a request conflicts with the current state.
    Conflict,
    /// Management: the state does not allow the operation (a non-empty project, an immutable tag).
    PreconditionFailed,
    /// A project policy refuses the pull (content trust: the artifact is not signed, or not by
    /// a trusted key), 412 as Harbor answers it.
    ProjectPolicyViolation,
    /// Malformed input outside the OCI codes (management API, bindings).
    BadRequest,
    /// The server is shutting down or a dependency is unavailable.
    Unavailable,
    /// Anything the caller cannot fix.
    Internal,
}

impl ErrorCode {
    /// The wire string (`"BLOB_UNKNOWN"` …).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::BlobUnknown => "BLOB_UNKNOWN",
            Self::BlobUploadInvalid => "BLOB_UPLOAD_INVALID",
            Self::BlobUploadUnknown => "BLOB_UPLOAD_UNKNOWN",
            Self::DigestInvalid => "DIGEST_INVALID",
            Self::ManifestBlobUnknown => "MANIFEST_BLOB_UNKNOWN",
            Self::ManifestInvalid => "MANIFEST_INVALID",
            Self::ManifestUnknown => "MANIFEST_UNKNOWN",
            Self::NameInvalid => "NAME_INVALID",
            Self::NameUnknown => "NAME_UNKNOWN",
            Self::SizeInvalid => "SIZE_INVALID",
            Self::RangeInvalid => "RANGE_INVALID",
            Self::TagInvalid => "TAG_INVALID",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::Denied => "DENIED",
            Self::Unsupported => "UNSUPPORTED",
            Self::TooManyRequests => "TOOMANYREQUESTS",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::PaginationNumberInvalid => "PAGINATION_NUMBER_INVALID",
            Self::NotFound => "NOT_FOUND",
            Self::AlreadyExists => "CONFLICT",
            Self::Conflict => "CONFLICT",
            Self::PreconditionFailed => "PRECONDITION",
            Self::ProjectPolicyViolation => "PROJECTPOLICYVIOLATION",
            Self::BadRequest => "BAD_REQUEST",
            Self::Unavailable => "UNAVAILABLE",
            Self::Internal => "UNKNOWN",
        }
    }

    /// The HTTP status this class is answered with.
    pub const fn http_status(self) -> u16 {
        match self {
            Self::BlobUnknown
            | Self::BlobUploadUnknown
            | Self::ManifestUnknown
            | Self::NameUnknown
            | Self::NotFound => 404,
            Self::BlobUploadInvalid
            | Self::DigestInvalid
            | Self::ManifestBlobUnknown
            | Self::ManifestInvalid
            | Self::NameInvalid
            | Self::SizeInvalid
            | Self::TagInvalid
            | Self::PaginationNumberInvalid
            | Self::BadRequest => 400,
            Self::RangeInvalid => 416,
            Self::Unauthorized => 401,
            Self::Denied => 403,
            Self::Unsupported => 405,
            Self::TooManyRequests => 429,
            Self::PayloadTooLarge => 413,
            Self::AlreadyExists | Self::Conflict => 409,
            Self::PreconditionFailed | Self::ProjectPolicyViolation => 412,
            Self::Unavailable => 503,
            Self::Internal => 500,
        }
    }

    /// True when the caller sent something wrong (4xx).
    pub const fn is_client_error(self) -> bool {
        let s = self.http_status();
        s >= 400 && s < 500
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every failure the engine reports.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("blob unknown to registry: {digest}")]
    BlobUnknown { digest: String },
    #[error("blob upload invalid: {reason}")]
    BlobUploadInvalid { reason: String },
    #[error("blob upload unknown to registry: {id}")]
    BlobUploadUnknown { id: String },
    #[error("provided digest did not match uploaded content: expected {expected}, got {actual}")]
    DigestInvalid { expected: String, actual: String },
    #[error("invalid digest: {reason}")]
    DigestMalformed { reason: String },
    #[error("manifest references a blob unknown to the repository: {digest}")]
    ManifestBlobUnknown { digest: String },
    #[error("manifest invalid: {reason}")]
    ManifestInvalid { reason: String },
    #[error("manifest unknown: {reference}")]
    ManifestUnknown { reference: String },
    #[error("invalid repository name: {reason}")]
    NameInvalid { reason: String },
    #[error("repository name not known to registry: {name}")]
    NameUnknown { name: String },
    #[error("provided length did not match content length: {reason}")]
    SizeInvalid { reason: String },
    #[error("requested range not satisfiable: upload is at offset {offset}")]
    RangeInvalid { offset: u64 },
    #[error("invalid tag: {reason}")]
    TagInvalid { reason: String },
    #[error("authentication required")]
    Unauthorized,
    #[error("requested access to the resource is denied: {reason}")]
    Denied { reason: String },
    #[error("the operation is unsupported: {reason}")]
    Unsupported { reason: String },
    #[error("too many requests")]
    TooManyRequests,
    #[error("{what} is larger than the {limit} bytes this server reads")]
    PayloadTooLarge { what: String, limit: u64 },
    #[error("invalid pagination: {reason}")]
    PaginationNumberInvalid { reason: String },
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("{what} already exists")]
    AlreadyExists { what: String },
    #[error("conflict: {reason}")]
    Conflict { reason: String },
    #[error("precondition failed: {reason}")]
    PreconditionFailed { reason: String },
    #[error("{reason}")]
    PolicyViolation { reason: String },
    #[error("bad request: {reason}")]
    BadRequest { reason: String },
    #[error("unavailable: {reason}")]
    Unavailable { reason: String },
    #[error(
        "quota exceeded in project {project}: adding {} to the current usage of {} would exceed the limit of {}",
        crate::units::human_size(*adding), crate::units::human_size(*used), crate::units::human_size(*hard)
    )]
    QuotaExceeded {
        project: String,
        hard: i64,
        used: i64,
        adding: i64,
    },
    #[error("the registry is in read-only mode; pulls work, every change is refused")]
    ReadOnly,
    #[error("storage backend {backend}: {source}")]
    Storage {
        backend: &'static str,
        #[source]
        source: BoxError,
    },
    #[error("metadata backend {backend}: {source}")]
    Metadata {
        backend: &'static str,
        #[source]
        source: BoxError,
    },
    #[error("internal error: {0}")]
    Internal(#[source] BoxError),
}

impl Error {
    /// The class of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::BlobUnknown { .. } => ErrorCode::BlobUnknown,
            Self::BlobUploadInvalid { .. } => ErrorCode::BlobUploadInvalid,
            Self::BlobUploadUnknown { .. } => ErrorCode::BlobUploadUnknown,
            Self::DigestInvalid { .. } | Self::DigestMalformed { .. } => ErrorCode::DigestInvalid,
            Self::ManifestBlobUnknown { .. } => ErrorCode::ManifestBlobUnknown,
            Self::ManifestInvalid { .. } => ErrorCode::ManifestInvalid,
            Self::ManifestUnknown { .. } => ErrorCode::ManifestUnknown,
            Self::NameInvalid { .. } => ErrorCode::NameInvalid,
            Self::NameUnknown { .. } => ErrorCode::NameUnknown,
            Self::SizeInvalid { .. } => ErrorCode::SizeInvalid,
            Self::RangeInvalid { .. } => ErrorCode::RangeInvalid,
            Self::TagInvalid { .. } => ErrorCode::TagInvalid,
            Self::Unauthorized => ErrorCode::Unauthorized,
            Self::Denied { .. } | Self::QuotaExceeded { .. } | Self::ReadOnly => ErrorCode::Denied,
            Self::Unsupported { .. } => ErrorCode::Unsupported,
            Self::TooManyRequests => ErrorCode::TooManyRequests,
            Self::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            Self::PaginationNumberInvalid { .. } => ErrorCode::PaginationNumberInvalid,
            Self::NotFound { .. } => ErrorCode::NotFound,
            Self::AlreadyExists { .. } => ErrorCode::AlreadyExists,
            Self::Conflict { .. } => ErrorCode::Conflict,
            Self::PreconditionFailed { .. } => ErrorCode::PreconditionFailed,
            Self::PolicyViolation { .. } => ErrorCode::ProjectPolicyViolation,
            Self::BadRequest { .. } => ErrorCode::BadRequest,
            Self::Unavailable { .. } => ErrorCode::Unavailable,
            Self::Storage { .. } | Self::Metadata { .. } | Self::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The message a client may see. Internal failures are not described to clients;
    /// the full error goes to the log instead.
    pub fn public_message(&self) -> String {
        match self.code() {
            ErrorCode::Internal => "internal server error".to_owned(),
            _ => self.to_string(),
        }
    }

    pub(crate) fn internal(msg: impl Into<String>) -> Self {
        Self::Internal(msg.into().into())
    }

    pub(crate) fn manifest_invalid(reason: impl Into<String>) -> Self {
        Self::ManifestInvalid {
            reason: reason.into(),
        }
    }

    pub(crate) fn storage(backend: &'static str, source: impl Into<BoxError>) -> Self {
        Self::Storage {
            backend,
            source: source.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses_are_data() {
        let e = Error::DigestInvalid {
            expected: "a".into(),
            actual: "b".into(),
        };
        assert_eq!(e.code().as_str(), "DIGEST_INVALID");
        assert_eq!(e.code().http_status(), 400);
        assert_eq!(Error::RangeInvalid { offset: 3 }.code().http_status(), 416);
        assert_eq!(
            Error::NameUnknown { name: "x".into() }.code().http_status(),
            404
        );
        assert!(!ErrorCode::Internal.is_client_error());
        let internal = Error::storage("fs", std::io::Error::other("disk path /secret"));
        assert_eq!(internal.public_message(), "internal server error");
    }
}
