//! Every compile error of the attributes, one case per file under `tests/ui/<attribute>/`,
//! with its expected message beside it. Found by glob: a new case cannot be forgotten.
//!
//! To accept changed messages after reviewing them: `TRYBUILD=overwrite cargo test -p cached-suite --test ui`.

#[test]
fn compile_errors() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*/*.rs");
}
