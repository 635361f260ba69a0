//! `#[invalidates(...)]`: after the function succeeds, remove the entries it names.

mod expand;
mod parse;

use proc_macro2::TokenStream;

use crate::common::errors::with_item;
use crate::common::item_fn::parse_fn;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let func = match parse_fn(item.clone(), "invalidates") {
        Ok(func) => func,
        Err(error) => return error,
    };
    match syn::parse2::<parse::Targets>(args).and_then(parse::Targets::validate) {
        Ok(targets) => expand::expand(&targets, &func),
        Err(error) => with_item(item, error),
    }
}
