//! Code the user did not write raises no lint: every shape of function the attributes take,
//! with one-line bodies (the shape that once raised `unused_braces`), under `deny(warnings)`
//! and clippy's default lints (CI runs clippy with `-D warnings` on this file too).

#![deny(warnings)]

use cached_core::{cache, cache_put, entries, entry, invalidates};

#[cache]
fn one_line(id: u32) -> u32 {
    id
}

#[cache(ttl = 60, key = id, tags = [format!("t:{id}")])]
fn with_settings(id: u32, _trace: &str) -> String {
    format!("{id}")
}

#[cache]
fn no_parameters() -> Vec<u32> {
    Vec::new()
}

#[cache]
fn fallible(id: u32) -> Result<u32, String> {
    Ok(id)
}

#[cache]
async fn asynchronous(id: u32) -> u32 {
    id
}

struct Repo {
    tenant: u32,
}

impl Repo {
    #[cache(key = (self.tenant, id))]
    fn method(&self, id: u32) -> u32 {
        self.tenant + id
    }

    #[cache]
    async fn async_method(&self, id: u32) -> u32 {
        id
    }

    #[invalidates(Self::method(self, id))]
    fn change(&self, id: u32) -> Result<(), String> {
        let _ = id;
        Ok(())
    }
}

#[invalidates(one_line(id), no_parameters, tag = format!("t:{id}"))]
fn save(id: u32) {
    let _ = id;
}

#[cache_put(one_line(id))]
fn refill(id: u32) -> u32 {
    id
}

#[invalidates(asynchronous(id))]
async fn save_async(id: u32) {
    let _ = id;
}

#[test]
fn every_shape_compiles_without_a_lint_and_works() {
    assert_eq!(one_line(1), 1);
    assert_eq!(with_settings(2, "x"), "2");
    assert!(no_parameters().is_empty());
    assert_eq!(fallible(3), Ok(3));
    let repo = Repo { tenant: 10 };
    assert_eq!(repo.method(1), 11);
    assert_eq!(repo.change(1), Ok(()));
    save(1);
    assert_eq!(refill(4), 4);
    assert_eq!(entry!(one_line(4)).peek(), Some(4));
    entries!(one_line).invalidate();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        assert_eq!(asynchronous(5).await, 5);
        assert_eq!(repo.async_method(6).await, 6);
        save_async(5).await;
    });
}

/// A pattern's `mut` and a binding the key does not use raise no lint in the companion.
#[cache(key = a)]
fn first((mut a, b): (u32, u32)) -> u32 {
    a += b;
    a
}

#[test]
fn a_pattern_parameter_raises_no_lint() {
    assert_eq!(first((1, 2)), 3);
    assert_eq!(entry!(first((1, 5))).peek(), Some(3));
}
