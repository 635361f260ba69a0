//! [`Error`]: what a remote store's explicit API, or a fail-closed cache, reports.

use std::fmt;
use std::time::Duration;

/// A failure of a remote store.
///
/// The `#[cache]` path never shows it in fail-open mode (the default): the function body runs
/// instead, and the failure is counted in [`CacheStats::errors`](crate::CacheStats::errors)
/// and logged. The explicit API of a remote store returns it, and so does a fail-closed cache.
///
/// ```
/// // What a caller of the explicit API (or of a fail-closed cache) may do with one.
/// fn log(error: &cached_core::Error) {
///     if error.is_timeout() || error.is_unavailable() {
///         eprintln!("cache slow or down, computed instead: {error}");
///     } else {
///         eprintln!("cache failed: {error}");
///     }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Error {
    kind: Kind,
}

#[derive(Debug, Clone)]
#[cfg_attr(not(feature = "redis"), allow(dead_code))] // built by remote stores
enum Kind {
    InvalidUrl(String),
    Timeout(Duration),
    Unavailable,
    Remote(String),
    Encode(String),
}

#[cfg_attr(not(feature = "redis"), allow(dead_code))] // built by remote stores
impl Error {
    /// A store address that cannot be used (what a remote store's constructor returns for a
    /// malformed URL).
    pub(crate) fn invalid_url(why: impl Into<String>) -> Self {
        Error {
            kind: Kind::InvalidUrl(why.into()),
        }
    }

    pub(crate) fn timeout(after: Duration) -> Self {
        Error {
            kind: Kind::Timeout(after),
        }
    }

    pub(crate) fn unavailable() -> Self {
        Error {
            kind: Kind::Unavailable,
        }
    }

    pub(crate) fn remote(why: impl fmt::Display) -> Self {
        Error {
            kind: Kind::Remote(why.to_string()),
        }
    }

    pub(crate) fn encode(why: impl fmt::Display) -> Self {
        Error {
            kind: Kind::Encode(why.to_string()),
        }
    }

    /// Whether the store was skipped without being asked: it failed repeatedly just before,
    /// and is being given a moment to recover.
    ///
    /// ```
    /// fn worth_a_retry_later(error: &cached_core::Error) -> bool {
    ///     error.is_unavailable()
    /// }
    /// ```
    pub fn is_unavailable(&self) -> bool {
        matches!(self.kind, Kind::Unavailable)
    }

    /// Whether the operation took longer than the store's timeout.
    ///
    /// ```
    /// fn was_slow(error: &cached_core::Error) -> bool {
    ///     error.is_timeout()
    /// }
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self.kind, Kind::Timeout(_))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::InvalidUrl(why) => write!(f, "invalid store URL: {why}"),
            Kind::Timeout(after) => write!(f, "cache store timed out after {after:?}"),
            Kind::Unavailable => f.write_str(
                "cache store skipped: it failed repeatedly and is cooling down before a retry",
            ),
            Kind::Remote(why) => write!(f, "cache store failed: {why}"),
            Kind::Encode(why) => write!(f, "value cannot be stored: {why}"),
        }
    }
}

impl std::error::Error for Error {}
