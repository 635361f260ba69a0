//! `#[invalidates(...)]`: after the function succeeds, remove the entries it names.

mod expand;
mod parse;

use proc_macro2::TokenStream;

use crate::common::errors::with_item;
use crate::common::item_fn::MaybeItemFn;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let func: MaybeItemFn = match syn::parse2(item.clone()) {
        Ok(func) => func,
        Err(_) => {
            let error = syn::Error::new(
                proc_macro2::Span::call_site(),
                "`#[invalidates]` can only be applied to functions and methods",
            );
            return with_item(item, error);
        }
    };
    match syn::parse2::<parse::Targets>(args).and_then(parse::Targets::validate) {
        Ok(targets) => expand::expand(&targets, &func),
        Err(error) => with_item(item, error),
    }
}
