//! Benchmarks live in `hit.rs`; this library is empty.
