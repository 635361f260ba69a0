//! Pieces every attribute uses.

pub(crate) mod errors;
pub(crate) mod item_fn;
pub(crate) mod mentions;
