//! The procedural macros of `cached-core`. Depend on `cached-core`, which re-exports them and
#![warn(missing_docs)]
//! documents them; the code they generate names only `::cached_core::__private`.

mod cache;
mod cache_put;
mod common;
mod derive;
mod handle;
mod invalidates;

use proc_macro::TokenStream;

/// Memoizes a function or method; documented in `cached_core`.
#[proc_macro_attribute]
pub fn cache(args: TokenStream, item: TokenStream) -> TokenStream {
    common::krate::attribute(args.into(), item.into(), cache::expand).into()
}

/// Removes the named cache entries after the function succeeds; documented in `cached_core`.
#[proc_macro_attribute]
pub fn invalidates(args: TokenStream, item: TokenStream) -> TokenStream {
    common::krate::attribute(args.into(), item.into(), invalidates::expand).into()
}

/// Stores the return value as a cached function's entry after success; documented in
/// `cached_core`.
#[proc_macro_attribute]
pub fn cache_put(args: TokenStream, item: TokenStream) -> TokenStream {
    common::krate::attribute(args.into(), item.into(), cache_put::expand).into()
}

/// The handle on one entry of a cached function; documented in `cached_core`, whose `entry!`
/// calls it as `entry!($crate, f(args))`.
#[proc_macro]
pub fn entry(input: TokenStream) -> TokenStream {
    common::krate::function_like(input.into(), handle::entry).into()
}

/// The handle on every entry of a cached function; documented in `cached_core`, whose
/// `entries!` calls it as `entries!($crate, f)`.
#[proc_macro]
pub fn entries(input: TokenStream) -> TokenStream {
    common::krate::function_like(input.into(), handle::entries).into()
}

/// Implements `cached_core::CacheKey` field by field; documented in `cached_core`.
#[proc_macro_derive(CacheKey, attributes(cache_key))]
pub fn derive_cache_key(input: TokenStream) -> TokenStream {
    derive::cache_key(input.into()).into()
}
