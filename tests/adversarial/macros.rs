//! Regressions of the attribute macros.
