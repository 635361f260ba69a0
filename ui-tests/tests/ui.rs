//! Every compile error of the attributes, one case per file under `tests/ui/<attribute>/`,
//! with its expected message beside it. Found by glob: a new case cannot be forgotten.
//!
//! Run them with `cargo test -p cached-ui-tests --test ui` (the workspace's default member is the
//! examples package). To accept changed messages after reviewing them, add
//! `TRYBUILD=overwrite` in front.

#[test]
fn compile_errors() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*/*.rs");
}
