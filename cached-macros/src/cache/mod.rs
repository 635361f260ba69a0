//! `#[cache(...)]`: parse the arguments and the function, validate both, then expand.

mod expand;
mod parse;
mod validate;

use proc_macro2::TokenStream;

use crate::common::errors::with_item;
use crate::common::item_fn::MaybeItemFn;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let func: MaybeItemFn = match syn::parse2(item.clone()) {
        Ok(func) => func,
        Err(_) => {
            // On the item's first word (`struct`, `pub`, ...), past its attributes.
            let span = item
                .clone()
                .into_iter()
                .find_map(|tree| match tree {
                    proc_macro2::TokenTree::Ident(ident) => Some(ident.span()),
                    _ => None,
                })
                .unwrap_or_else(proc_macro2::Span::call_site);
            let error = syn::Error::new(
                span,
                "`#[cache]` can only be applied to functions and methods",
            );
            return with_item(item, error);
        }
    };
    let parsed = match syn::parse2::<parse::Args>(args) {
        Ok(parsed) => parsed,
        Err(error) => return with_item(item, error),
    };
    match validate::validate(parsed, &func) {
        Ok(settings) => expand::expand(&settings, &func),
        Err(error) => with_item(item, error),
    }
}
