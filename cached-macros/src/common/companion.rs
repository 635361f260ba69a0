//! Naming a cached function's companions from its path, for `#[invalidates]`, `#[cache_put]`,
//! `entry!` and `entries!`: the path's last segment is replaced by the companion's name, with
//! the user's span, so that rustc reports a wrong path or wrong arguments on the user's tokens.

use proc_macro2::TokenStream;
use quote::quote;
use syn::punctuated::Punctuated;
use syn::{Expr, Token};

use crate::cache::companion_names;

fn rename(path: &syn::ExprPath, rename: impl Fn(&syn::Ident) -> syn::Ident) -> syn::ExprPath {
    let mut path = path.clone();
    if let Some(last) = path.path.segments.last_mut() {
        last.ident = rename(&last.ident);
    }
    path
}

/// The handle on one entry: `f(args)` becomes the call of `f`'s entry companion.
pub(crate) fn entry(path: &syn::ExprPath, args: &Punctuated<Expr, Token![,]>) -> TokenStream {
    let path = rename(path, |ident| companion_names(ident).0);
    quote!(#path(#args))
}

/// The handle on every entry: `f` becomes the call of `f`'s other companion.
pub(crate) fn all_entries(path: &syn::ExprPath) -> TokenStream {
    let path = rename(path, |ident| companion_names(ident).1);
    quote!(#path())
}

/// `f(args)` as a path and its arguments.
pub(crate) fn as_call(
    expr: Expr,
    expected: &str,
) -> syn::Result<(syn::ExprPath, Punctuated<Expr, Token![,]>)> {
    match expr {
        Expr::Call(call) => match *call.func {
            Expr::Path(path) => Ok((path, call.args)),
            other => Err(syn::Error::new_spanned(other, expected)),
        },
        other => Err(syn::Error::new_spanned(other, expected)),
    }
}
