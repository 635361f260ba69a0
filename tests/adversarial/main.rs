//! The adversarial group: one regression test per defect that independent testing found (a
//! service under faults and odd input). Each test failed before its fix. Run the group alone
//! with `cargo test -p cached-suite --test adversarial`.

#[path = "../support/waits.rs"]
mod waits;

mod in_process;
mod keys;
mod macros;
mod redis;
