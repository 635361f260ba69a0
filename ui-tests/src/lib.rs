//! Nothing: this package is the home of `tests/ui.rs`, the compile-error cases of the attributes.
