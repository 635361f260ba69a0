//! `entry!(f(args))` and `entries!(f)`: the typed handles of `#[invalidates]`, for code that is
//! not an annotated function.

use proc_macro2::TokenStream;

use crate::common::companion;

const ENTRY: &str = "expected a call of a cached function: `entry!(f(args))`";

pub(crate) fn entry(input: TokenStream) -> TokenStream {
    syn::parse2::<syn::Expr>(input)
        .and_then(|expr| companion::as_call(expr, ENTRY))
        .map(|(path, args)| companion::entry(&path, &args))
        .unwrap_or_else(|error| error.to_compile_error())
}

pub(crate) fn entries(input: TokenStream) -> TokenStream {
    match syn::parse2::<syn::Expr>(input) {
        Ok(syn::Expr::Path(path)) => companion::all_entries(&path),
        Ok(other) => syn::Error::new_spanned(other, "expected a cached function: `entries!(f)`")
            .to_compile_error(),
        Err(error) => error.to_compile_error(),
    }
}
