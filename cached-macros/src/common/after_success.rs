//! The shape shared by `#[invalidates]` and `#[cache_put]`: name the entries before the body
//! runs, act on them after it returns, and only if it succeeded.
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
//!     let __cached_target_0 = __cached_all_all_news();           // every entry of `all_news`
//!     let __cached_target_1 = __cached_entry_news_item(self.id); // type-checked like the call
//!     let __cached_returned: Result<(), Error> = (|| -> Result<(), Error> { BODY })();
//!     if let Some(__cached_value) = succeeded(&__cached_returned) {
//!         __cached_target_0.invalidate();
//!         __cached_target_1.invalidate();
//!     }
//!     __cached_returned
//! }
//! ```
//!
//! The entries are named from the arguments as they are before the body runs (the body may move
//! them); the actions run after it, when it returned (for a `Result`) `Ok`. The body becomes a
//! closure (or an async block) that borrows what it does not move, so that an action such as
//! `#[cache_put(f(self.id) = self.clone())]` may still use the parameters.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};

use crate::common::item_fn::MaybeItemFn;
use crate::common::result_type::returns_result;

/// What to do with one named entry after success.
pub(crate) enum Action {
    Invalidate,
    /// Store the function's own return value (its `Ok` value for a `Result`).
    PutReturned,
    /// Store the value of this expression.
    Put(syn::Expr),
}

/// `func`, rewritten to run `actions` on the entries `targets` name (calls of companions).
pub(crate) fn expand(func: &MaybeItemFn, targets: Vec<(TokenStream, Action)>) -> TokenStream {
    let p = crate::common::krate::private();
    let returned = syn::Ident::new("__cached_returned", Span::mixed_site());
    let value = syn::Ident::new("__cached_value", Span::mixed_site());
    let names: Vec<syn::Ident> = (0..targets.len())
        .map(|i| format_ident!("__cached_target_{}", i, span = Span::mixed_site()))
        .collect();
    let named = targets
        .iter()
        .zip(&names)
        .map(|((call, _), name)| quote!(let #name = #call;));
    let is_async = func.sig.asyncness.is_some();
    let acts = targets
        .iter()
        .zip(&names)
        .map(|((call, action), name)| match action {
            // A handle of an `async fn` in a store given by `store =` is awaited, and so only
            // usable in an `async fn`: the traits say so on the entry otherwise.
            Action::Invalidate if is_async => {
                quote!(#p::InvalidateLater::invalidate_later(#name).await;)
            }
            Action::Invalidate => quote!(#p::InvalidateNow::invalidate_now(#name);),
            // On the entry: a return value of another type than the entry's is reported there.
            Action::PutReturned => {
                let span = call
                    .clone()
                    .into_iter()
                    .next()
                    .map_or_else(Span::call_site, |t| t.span());
                // The value's name, located on the entry (hygiene unchanged), as rustc reports a
                // mismatched argument on the argument.
                let value = syn::Ident::new("__cached_value", Span::mixed_site().located_at(span));
                if is_async {
                    quote_spanned!(span=> #p::put_returned_later(#name, #value).await;)
                } else {
                    quote_spanned!(span=> #p::put_returned(#name, #value);)
                }
            }
            Action::Put(expr) if is_async => {
                quote!(#p::PutLater::put_later(#name, #expr).await;)
            }
            Action::Put(expr) => quote!(#p::PutNow::put_now(#name, #expr);),
        });

    let ret = func.return_type();
    let body = &func.body;
    let run = if func.sig.asyncness.is_some() {
        quote!(async #body.await)
    } else {
        quote!((|| -> #ret #body)())
    };
    let succeeded = if returns_result(&func.sig.output) {
        quote!(#p::ok_value(&#returned))
    } else {
        quote!(#p::Some(&#returned))
    };

    let attrs = &func.attrs;
    let vis = &func.vis;
    let sig = &func.sig;
    quote! {
        #(#attrs)*
        #[allow(clippy::redundant_closure_call, unused_variables)]
        #vis #sig {
            #(#named)*
            let #returned: #ret = #run;
            if let #p::Some(#value) = #succeeded {
                #(#acts)*
            }
            #returned
        }
    }
}
