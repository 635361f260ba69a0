//! The stores that hold cached values, one module per kind.

pub(crate) mod backing;
pub(crate) mod explicit;
pub(crate) mod lru;
