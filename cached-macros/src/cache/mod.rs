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
            let error = syn::Error::new(
                proc_macro2::Span::call_site(),
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
