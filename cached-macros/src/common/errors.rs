//! Collects every error of an attribute, so the user sees all mistakes at once.

use proc_macro2::TokenStream;
use quote::ToTokens;
use std::fmt::Display;

#[derive(Default)]
pub(crate) struct Errors {
    first: Option<syn::Error>,
}

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.first {
            Some(first) => first.combine(error),
            None => self.first = Some(error),
        }
    }

    /// An error on the tokens of `at`.
    pub(crate) fn at(&mut self, at: impl ToTokens, message: impl Display) {
        self.push(syn::Error::new_spanned(at, message));
    }

    pub(crate) fn finish(self) -> syn::Result<()> {
        self.first.map_or(Ok(()), Err)
    }
}

/// The original item followed by the errors: the item keeps compiling (and IDEs keep seeing
/// it) while the errors are reported.
pub(crate) fn with_item(item: TokenStream, error: syn::Error) -> TokenStream {
    let error = error.to_compile_error();
    quote::quote! { #error #item }
}
