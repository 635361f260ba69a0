//! Every macro of `cached-core`, used from a crate where `::cached_core` does not exist: the
//! dependency is named `cache`.

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    static RUNS: AtomicU32 = AtomicU32::new(0);

    #[derive(cache::CacheKey, Clone, Copy)]
    #[cache_key(crate = cache)]
    struct Id(u32);

    #[cache::cache(crate = cache, ttl = 60)]
    fn headline(id: Id) -> String {
        RUNS.fetch_add(1, Ordering::SeqCst);
        format!("news #{}", id.0)
    }

    mod news {
        #[cache::cache(crate = cache)]
        pub fn summary(id: u32) -> String {
            format!("summary {id}")
        }
    }

    #[cache::invalidates(crate = cache, headline(id))]
    fn edit(id: Id) {
        let _ = id;
    }

    #[cache::cache_put(news::summary(id) = format!("edited {id}"), crate = cache)]
    fn rewrite(id: u32) {
        let _ = id;
    }

    trait Catalog {
        fn title(&self, id: u32) -> String;
    }

    struct Shop;

    // The impl block's `crate = ...` reaches its methods, in a trait impl and an inherent one.
    #[cache::cache(crate = cache)]
    impl Catalog for Shop {
        #[cache::cache]
        fn title(&self, id: u32) -> String {
            format!("title {id}")
        }
    }

    #[cache::cache(crate = cache)]
    impl Shop {
        #[cache::cache(ttl = 60)]
        fn price(&self, id: u32) -> u32 {
            id * 2
        }
    }

    #[test]
    fn the_impl_blocks_crate_reaches_its_methods() {
        assert_eq!(Shop.title(1), "title 1");
        assert_eq!(
            cache::entry!(Shop::title(1)).peek().as_deref(),
            Some("title 1")
        );
        assert_eq!(Shop.price(2), 4);
        assert_eq!(cache::entry!(Shop::price(2)).peek(), Some(4));
    }

    #[test]
    fn the_macros_reach_the_runtime_by_the_name_given() {
        assert_eq!(headline(Id(1)), "news #1");
        assert_eq!(headline(Id(1)), "news #1");
        assert_eq!(RUNS.load(Ordering::SeqCst), 1);
        edit(Id(1));
        assert_eq!(headline(Id(1)), "news #1");
        assert_eq!(RUNS.load(Ordering::SeqCst), 2);
        assert_eq!(
            cache::entry!(headline(Id(1))).peek().as_deref(),
            Some("news #1")
        );
        rewrite(3);
        assert_eq!(news::summary(3), "edited 3");
        assert_eq!(cache::entries!(news::summary).invalidate(), 1);
        assert_eq!(cache::entry!(news::summary(3)).peek(), None);
    }
}
