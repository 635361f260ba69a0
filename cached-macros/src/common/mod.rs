//! Pieces every attribute uses.

pub(crate) mod after_success;
pub(crate) mod companion;
pub(crate) mod errors;
pub(crate) mod item_fn;
pub(crate) mod krate;
pub(crate) mod mentions;
pub(crate) mod result_type;
