//! Code generation for `#[invalidates]`: see `common::after_success` for the shape.

use proc_macro2::TokenStream;
use quote::quote;

use super::parse::{Target, Targets};
use crate::common::after_success::{self, Action};
use crate::common::companion;
use crate::common::item_fn::MaybeItemFn;

pub(crate) fn expand(targets: &Targets, func: &MaybeItemFn) -> TokenStream {
    let targets = targets
        .targets
        .iter()
        .map(|target| {
            let call = match target {
                Target::All(path) => companion::all_entries(path),
                Target::One(path, args) => companion::entry(path, args),
                Target::Tag(tag) => {
                    let p = crate::common::krate::private();
                    quote!(#p::TagTarget::new(#tag))
                }
            };
            (call, Action::Invalidate)
        })
        .collect();
    after_success::expand(func, targets)
}
