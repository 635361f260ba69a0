//! `#[cache]` on methods and associated functions.

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};

use cached_core::cache;

static PROFILES: AtomicU32 = AtomicU32::new(0);
static TENANT_PROFILES: AtomicU32 = AtomicU32::new(0);
static BUMPS: AtomicU32 = AtomicU32::new(0);
static FINDS: AtomicU32 = AtomicU32::new(0);
static CLONES: AtomicU32 = AtomicU32::new(0);
static CONSUMED: AtomicU32 = AtomicU32::new(0);

#[derive(Clone, Debug, PartialEq)]
struct Repo {
    tenant: u32,
    calls: u32,
}

impl Repo {
    /// The receiver is not part of the key: one cache shared by every `Repo`.
    #[cache]
    fn profile(&self, id: u64) -> String {
        PROFILES.fetch_add(1, SeqCst);
        format!("tenant {} user {id}", self.tenant)
    }

    /// Naming the receiver's field in the key keeps tenants apart.
    #[cache(key = (self.tenant, id))]
    fn tenant_profile(&self, id: u64) -> String {
        TENANT_PROFILES.fetch_add(1, SeqCst);
        format!("tenant {} user {id}", self.tenant)
    }

    #[cache]
    fn bump(&mut self, by: u32) -> u32 {
        BUMPS.fetch_add(1, SeqCst);
        self.calls += by;
        self.calls
    }

    /// An associated function; `Self` in the return type.
    #[cache]
    pub fn find(tenant: u32) -> Option<Self> {
        FINDS.fetch_add(1, SeqCst);
        Some(Repo { tenant, calls: 0 })
    }

    #[cache(name = "repo-copies")]
    fn copy(&self, n: u8) -> Vec<Self> {
        CLONES.fetch_add(1, SeqCst);
        vec![self.clone(); n.into()]
    }

    #[cache(key = self.tenant)]
    fn into_tenant(self) -> u32 {
        CONSUMED.fetch_add(1, SeqCst);
        self.tenant
    }
}

#[test]
fn one_cache_is_shared_by_every_instance() {
    let a = Repo {
        tenant: 1,
        calls: 0,
    };
    let b = Repo {
        tenant: 2,
        calls: 0,
    };
    assert_eq!(a.profile(7), "tenant 1 user 7");
    assert_eq!(
        b.profile(7),
        "tenant 1 user 7",
        "the receiver is not in the default key"
    );
    assert_eq!(PROFILES.load(SeqCst), 1);
}

#[test]
fn the_receiver_joins_the_key_when_named() {
    let a = Repo {
        tenant: 1,
        calls: 0,
    };
    let b = Repo {
        tenant: 2,
        calls: 0,
    };
    assert_eq!(a.tenant_profile(7), "tenant 1 user 7");
    assert_eq!(b.tenant_profile(7), "tenant 2 user 7");
    assert_eq!(a.tenant_profile(7), "tenant 1 user 7");
    assert_eq!(TENANT_PROFILES.load(SeqCst), 2);
}

#[test]
fn mutable_receivers_work() {
    let mut repo = Repo {
        tenant: 1,
        calls: 0,
    };
    assert_eq!(repo.bump(5), 5);
    assert_eq!(repo.bump(5), 5, "served from the cache");
    assert_eq!(repo.calls, 5, "the body ran once");
    assert_eq!(BUMPS.load(SeqCst), 1);
}

#[test]
fn associated_functions_and_self_types_work() {
    assert_eq!(
        Repo::find(3),
        Some(Repo {
            tenant: 3,
            calls: 0
        })
    );
    assert_eq!(
        Repo::find(3),
        Some(Repo {
            tenant: 3,
            calls: 0
        })
    );
    assert_eq!(FINDS.load(SeqCst), 1);
    let repo = Repo {
        tenant: 4,
        calls: 0,
    };
    assert_eq!(repo.copy(2).len(), 2);
    assert_eq!(repo.copy(2).len(), 2);
    assert_eq!(CLONES.load(SeqCst), 1);
}

#[test]
fn receivers_by_value_work() {
    assert_eq!(
        Repo {
            tenant: 9,
            calls: 0
        }
        .into_tenant(),
        9
    );
    assert_eq!(
        Repo {
            tenant: 9,
            calls: 3
        }
        .into_tenant(),
        9
    );
    assert_eq!(CONSUMED.load(SeqCst), 1);
}

// Trait impls: see tests/invalidation.rs, which caches and invalidates one.

struct Typed<T>(T);
static TYPED: AtomicU32 = AtomicU32::new(0);

impl<T: Clone + Send + Sync + 'static> Typed<T> {
    /// In a generic impl, each value type gets its own cache.
    #[cache]
    fn wrap(&self, n: u8) -> Vec<T> {
        TYPED.fetch_add(1, SeqCst);
        vec![self.0.clone(); n.into()]
    }
}

#[test]
fn methods_of_generic_types_cache_per_value_type() {
    assert_eq!(Typed(1u8).wrap(2), [1, 1]);
    assert_eq!(Typed(1u8).wrap(2), [1, 1]);
    assert_eq!(Typed("a").wrap(2), ["a", "a"]);
    assert_eq!(Typed("a").wrap(2), ["a", "a"]);
    assert_eq!(TYPED.load(SeqCst), 2);
}

static LISTED: AtomicU32 = AtomicU32::new(0);

struct Listing;

/// On an inherent impl, `#[cache]` on the block changes nothing: the methods' own attributes do
/// the work.
#[cache]
impl Listing {
    #[cache]
    fn page(&self, n: u32) -> Vec<u32> {
        LISTED.fetch_add(1, SeqCst);
        vec![n]
    }

    fn uncached(&self) -> u32 {
        7
    }
}

#[test]
fn cache_on_an_inherent_impl_block_is_harmless() {
    assert_eq!(Listing.page(1), [1]);
    assert_eq!(Listing.page(1), [1]);
    assert_eq!(Listing.uncached(), 7);
    assert_eq!(LISTED.load(SeqCst), 1);
    assert_eq!(cached_core::entries!(Listing::page).invalidate(), 1);
}
