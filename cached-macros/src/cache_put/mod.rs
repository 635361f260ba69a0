//! `#[cache_put(f(args))]` and `#[cache_put(f(args) = <expr>)]`: after the function succeeds,
//! store its return value (or the expression's value) as `f`'s entry for those key arguments.

use proc_macro2::TokenStream;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, Token};

use crate::common::after_success::{self, Action};
use crate::common::companion;
use crate::common::errors::{with_item, Errors};
use crate::common::item_fn::parse_fn;

const EXPECTED: &str = "expected `f(args)` (store the return value as that entry of the cached \
                        function `f`) or `f(args) = <expr>` (store the expression's value)";

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let func = match parse_fn(item.clone(), "cache_put") {
        Ok(func) => func,
        Err(error) => return error,
    };
    match targets(args) {
        Ok(targets) => after_success::expand(&func, targets),
        Err(error) => with_item(item, error),
    }
}

fn targets(args: TokenStream) -> syn::Result<Vec<(TokenStream, Action)>> {
    let span = proc_macro2::Span::call_site();
    let entries = Punctuated::<Expr, Token![,]>::parse_terminated.parse2(args)?;
    let mut errors = Errors::default();
    let mut targets = Vec::new();
    if entries.is_empty() {
        errors.push(syn::Error::new(span, format!("`#[cache_put]`: {EXPECTED}")));
    }
    for entry in entries {
        let (call, action) = match entry {
            Expr::Assign(assign) => (*assign.left, Action::Put(*assign.right)),
            other => (other, Action::PutReturned),
        };
        match companion::as_call(call, EXPECTED) {
            Ok((path, args)) => targets.push((companion::entry(&path, &args), action)),
            Err(error) => errors.push(error),
        }
    }
    errors.finish()?;
    Ok(targets)
}
