//! Naming a cached function's companions from its path, for `#[invalidates]`, `#[cache_put]`,
//! `entry!` and `entries!`: the path's last segment is replaced by the companion's name, with
//! the user's span, so that rustc reports a wrong path or wrong arguments on the user's tokens.
//!
//! A function without `#[cache]` has no companion. So that rustc says so in those words (and
//! not "cannot find function `__cached_entry_f`"), the call finds a fallback of the same name
//! where the companion is missing: a companion defined at module level is brought into an inner
//! block by a glob import, which shadows the fallback defined in the block around it; for a
//! method, an inherent associated function (the companion) goes before a trait's (the
//! fallback). The fallback returns a `NotCached<f>`, `f` being a marker type named like the
//! function, and `__private::companion` reports that `f` is not a `#[cache]` function.
//!
//! Input:
//!
//! ```text
//! news::headline(id + 1)
//! ```
//!
//! Output (paths abbreviated):
//!
//! ```text
//! {
//!     let __cached_companion = {
//!         struct headline {}                    // the marker: what the error names
//!         fn __cached_entry_headline<A0>(_: A0) -> NotCached<headline> { .. } // the fallback
//!         {
//!             use news::*;                      // the companion, if `headline` has one
//!             __cached_entry_headline
//!         }
//!     };
//!     companion(__cached_companion(id + 1))      // the call, in the caller's scope
//! }
//! ```
//!
//! A path of one segment (`headline(id)`) is called directly, without a fallback: the function
//! may be declared inside the caller's function body, where only an item of that body can
//! name it and any fallback of the expansion's would shadow it. A missing `#[cache]` is then
//! reported as a missing companion, on the user's `headline`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::punctuated::Punctuated;
use syn::{Expr, Token};

use crate::cache::companion_names;

/// The handle on one entry: `f(args)` becomes the call of `f`'s entry companion.
pub(crate) fn entry(path: &syn::ExprPath, args: &Punctuated<Expr, Token![,]>) -> TokenStream {
    let args: Vec<&Expr> = args.iter().collect();
    resolve(path, &args, |ident| companion_names(ident).0)
}

/// The handle on every entry: `f` becomes the call of `f`'s other companion.
pub(crate) fn all_entries(path: &syn::ExprPath) -> TokenStream {
    resolve(path, &[], |ident| companion_names(ident).1)
}

/// Whether `path` names an associated function (`Self::f`, `Type::f`, `<Type>::f`,
/// `Type::<T>::f`) rather than a function of a module: by the segment before the last, as
/// Rust's naming conventions (which rustc warns about) tell a type from a module.
fn is_associated(path: &syn::ExprPath) -> bool {
    if path.qself.is_some() {
        return true;
    }
    let segments: Vec<&syn::PathSegment> = path.path.segments.iter().collect();
    match segments.as_slice() {
        [.., owner, _] => {
            owner.ident == "Self"
                || !owner.arguments.is_empty()
                || owner
                    .ident
                    .unraw()
                    .to_string()
                    .starts_with(|c: char| c.is_ascii_uppercase())
        }
        _ => false,
    }
}

fn resolve(
    path: &syn::ExprPath,
    args: &[&Expr],
    companion_of: impl Fn(&syn::Ident) -> syn::Ident,
) -> TokenStream {
    let p = crate::common::krate::private();
    let Some(last) = path.path.segments.last() else {
        return syn::Error::new_spanned(path, "expected the path of a cached function")
            .to_compile_error();
    };
    let span = last.ident.span();
    let companion = companion_of(&last.ident);
    let mut direct = path.clone();
    if let Some(last) = direct.path.segments.last_mut() {
        last.ident = companion.clone();
    }
    // Called directly, without a fallback: a path of one segment (the function may be local
    // to the caller's body, where a fallback would shadow it), and a turbofish (whose types
    // must resolve where the user wrote them, not under the glob import below).
    let one_segment = path.path.segments.len() == 1 && path.qself.is_none();
    if one_segment || !last.arguments.is_empty() {
        return quote!(#direct(#(#args),*));
    }
    let generics: Vec<syn::Ident> = (0..args.len())
        .map(|i| format_ident!("__CachedArg{}", i, span = Span::mixed_site()))
        .collect();
    // Named like the function, so that the error reads "`f` is not a `#[cache]` function".
    let mut marker = last.ident.clone();
    marker.set_span(Span::mixed_site().located_at(span));
    let fallback_signature = quote! {
        fn #companion<#(#generics),*>(#(_: #generics),*) -> #p::NotCached<#marker> {
            #p::NotCached::new()
        }
    };
    // The companion (or the fallback) as a value: the call, and its arguments, stay in the
    // caller's scope (a `&mut` argument is reborrowed, temporaries live to the end of the
    // caller's statement, and no name of the blocks below can shadow the caller's).
    let (fallback, function) = if is_associated(path) {
        let fallback_trait = format_ident!(
            "__CachedFallback{}",
            last.ident.unraw(),
            span = Span::mixed_site()
        );
        let fallback = quote! {
            #[allow(non_camel_case_types, dead_code)]
            trait #fallback_trait {
                #[allow(non_snake_case, dead_code)]
                #fallback_signature
            }
            impl<__CachedAny: ?::core::marker::Sized> #fallback_trait for __CachedAny {}
        };
        // `<Type as Trait>::f`: the companion is the type's own, not the trait's.
        let function = match &path.qself {
            Some(qself) => {
                let ty = &qself.ty;
                quote_spanned!(span=> <#ty>::#companion)
            }
            None => quote_spanned!(span=> #direct),
        };
        (fallback, function)
    } else {
        let parent: Vec<&syn::PathSegment> = path
            .path
            .segments
            .iter()
            .take(path.path.segments.len() - 1)
            .collect();
        let leading = &path.path.leading_colon;
        let fallback = quote! {
            #[allow(non_snake_case, dead_code)]
            #fallback_signature
        };
        let function = quote_spanned! {span=> {
            #[allow(unused_imports)]
            use #leading #(#parent)::*::*;
            #companion
        }};
        (fallback, function)
    };
    let function_name = syn::Ident::new("__cached_companion", Span::mixed_site().located_at(span));
    quote_spanned! {span=> {
        let #function_name = {
            #[allow(non_camel_case_types, dead_code)]
            struct #marker {}
            #fallback
            #function
        };
        #p::companion(#function_name(#(#args),*))
    }}
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
