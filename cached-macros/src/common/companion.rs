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
//!     let __cached_arg_0 = id + 1;              // in the caller's scope, nothing shadowed
//!     {
//!         struct headline {}                    // the marker: what the error names
//!         fn __cached_entry_headline<A0>(_: A0) -> NotCached<headline> { .. } // the fallback
//!         {
//!             use news::*;                      // the companion, if `headline` has one
//!             companion(__cached_entry_headline(__cached_arg_0))
//!         }
//!     }
//! }
//! ```
//!
//! A path of one segment (`headline(id)`) is called directly, without a fallback: the function
//! may be declared inside the caller's function body, where only an item of that body can
//! name it and any fallback of the expansion's would shadow it. A missing `#[cache]` is then
//! reported as a missing companion, on the user's `headline`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
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

/// Whether `path` names an associated function (`Self::f`, `Type::f`, `Type::<T>::f`) rather
/// than a function of a module: by the segment before the last, as Rust's naming conventions
/// (which rustc warns about) tell a type from a module.
fn is_associated(path: &syn::Path) -> bool {
    let segments: Vec<&syn::PathSegment> = path.segments.iter().collect();
    match segments.as_slice() {
        [.., owner, _] => {
            owner.ident == "Self"
                || !owner.arguments.is_empty()
                || owner
                    .ident
                    .to_string()
                    .trim_start_matches("r#")
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
    let turbofish = &last.arguments;
    if path.path.segments.len() == 1 && path.qself.is_none() {
        let mut direct = path.clone();
        if let Some(last) = direct.path.segments.last_mut() {
            last.ident = companion;
        }
        return quote!(#direct(#(#args),*));
    }
    // The arguments, evaluated first, where the caller wrote them: the blocks below define
    // names of their own, which must not shadow the caller's.
    let names: Vec<syn::Ident> = (0..args.len())
        .map(|i| {
            let at = Span::mixed_site().located_at(args[i].span());
            syn::Ident::new(&format!("__cached_arg_{i}"), at)
        })
        .collect();
    let lets = args
        .iter()
        .zip(&names)
        .map(|(arg, name)| quote_spanned!(arg.span()=> let #name = #arg;));
    let generics: Vec<syn::Ident> = (0..args.len())
        .map(|i| format_ident!("__CachedArg{}", i, span = Span::mixed_site()))
        .collect();
    // Named like the function, so that the error reads "`f` is not a `#[cache]` function".
    let marker = syn::Ident::new(
        last.ident.to_string().trim_start_matches("r#"),
        Span::mixed_site().located_at(span),
    );
    let fallback_signature = quote! {
        fn #companion<#(#generics),*>(#(_: #generics),*) -> #p::NotCached<#marker> {
            #p::NotCached::new()
        }
    };
    let (fallback, call) = if is_associated(&path.path) {
        let owner: Vec<&syn::PathSegment> = path
            .path
            .segments
            .iter()
            .take(path.path.segments.len() - 1)
            .collect();
        let leading = &path.path.leading_colon;
        let qself = path.qself.as_ref().map(|q| &q.ty);
        let owner = match qself {
            Some(ty) => quote!(<#ty>),
            None => quote!(#leading #(#owner)::*),
        };
        let fallback_trait = format_ident!("__CachedFallback{}", marker, span = Span::mixed_site());
        let fallback = quote! {
            #[allow(non_camel_case_types, dead_code)]
            trait #fallback_trait {
                #[allow(non_snake_case, dead_code)]
                #fallback_signature
            }
            impl<__CachedAny: ?::core::marker::Sized> #fallback_trait for __CachedAny {}
        };
        let call = quote_spanned!(span=> #owner::#companion #turbofish(#(#names),*));
        (fallback, call)
    } else {
        let parent: Vec<&syn::PathSegment> = path
            .path
            .segments
            .iter()
            .take(path.path.segments.len() - 1)
            .collect();
        let leading = &path.path.leading_colon;
        let import = if parent.is_empty() {
            quote!(self)
        } else {
            quote!(#leading #(#parent)::*)
        };
        let fallback = quote! {
            #[allow(non_snake_case, dead_code)]
            #fallback_signature
        };
        let call = quote_spanned! {span=> {
            #[allow(unused_imports)]
            use #import::*;
            #companion #turbofish(#(#names),*)
        }};
        (fallback, call)
    };
    quote_spanned! {span=> {
        #(#lets)*
        {
            #[allow(non_camel_case_types, dead_code)]
            struct #marker {}
            #fallback
            #p::companion(#call)
        }
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
