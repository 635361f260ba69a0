//! Code generation for `#[invalidates]`.
//!
//! Input:
//!
//! ```text
//! #[invalidates(all_news, news_item(self.id))]
//! fn save(&self) -> Result<(), Error> { BODY }
//! ```
//!
//! Output (paths abbreviated):
//!
//! ```text
//! fn save(&self) -> Result<(), Error> {
//!     let __cached_target_0 = __cached_all_all_news();        // every entry of `all_news`
//!     let __cached_target_1 = __cached_entry_news_item(self.id); // type-checked like the call
//!     let __cached_returned: Result<(), Error> = (move || -> Result<(), Error> { BODY })();
//!     if succeeded(&__cached_returned) {
//!         __cached_target_0.invalidate();
//!         __cached_target_1.invalidate();
//!     }
//!     __cached_returned
//! }
//! ```
//!
//! The entries are named before the body runs, from the arguments as they are then (the body
//! may move them); they are removed after it returns, and only if it succeeded (`Ok` for a
//! `Result`). Each path's last segment is replaced by the companion `#[cache]` emitted beside
//! the function, with the user's span: a path that is not a cached function, or arguments that
//! do not match its key parameters, are reported by rustc on the entry.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};

use super::parse::{Target, Targets};
use crate::cache::companion_names;
use crate::common::item_fn::MaybeItemFn;

/// The path with its last segment renamed by `rename`.
fn companion_path(
    path: &syn::ExprPath,
    rename: impl Fn(&syn::Ident) -> syn::Ident,
) -> syn::ExprPath {
    let mut path = path.clone();
    if let Some(last) = path.path.segments.last_mut() {
        last.ident = rename(&last.ident);
    }
    path
}

fn is_result(output: &syn::ReturnType) -> bool {
    let syn::ReturnType::Type(_, ty) = output else {
        return false;
    };
    matches!(&**ty, syn::Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "Result"))
}

pub(crate) fn expand(targets: &Targets, func: &MaybeItemFn) -> TokenStream {
    let p = quote!(::cached_core::__private);
    let returned = syn::Ident::new("__cached_returned", Span::mixed_site());
    let names: Vec<syn::Ident> = (0..targets.targets.len())
        .map(|i| format_ident!("__cached_target_{}", i, span = Span::mixed_site()))
        .collect();
    let named = targets.targets.iter().zip(&names).map(|(target, name)| {
        let call = match target {
            Target::All(path) => {
                let path = companion_path(path, |ident| companion_names(ident).1);
                quote!(#path())
            }
            Target::One(path, args) => {
                let path = companion_path(path, |ident| companion_names(ident).0);
                quote!(#path(#args))
            }
        };
        quote!(let #name = #call;)
    });

    let ret = func.return_type();
    let body = &func.body;
    let run = if func.sig.asyncness.is_some() {
        quote!(async move #body.await)
    } else {
        quote!((move || -> #ret #body)())
    };
    let succeeded = if is_result(&func.sig.output) {
        quote!(#p::succeeded(&#returned))
    } else {
        quote!(true)
    };

    let attrs = &func.attrs;
    let vis = &func.vis;
    let sig = &func.sig;
    quote! {
        #(#attrs)*
        #[allow(clippy::redundant_closure_call)]
        #vis #sig {
            #(#named)*
            let #returned: #ret = #run;
            if #succeeded {
                #(let _ = #names.invalidate();)*
            }
            #returned
        }
    }
}
