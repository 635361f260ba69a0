//! `#[cache(...)]`: parse the arguments and the function, validate both, then expand.
//!
//! On a function or method, the attribute rewrites it and emits its companions beside it (see
//! `expand::companions`). Companions cannot stand in a trait impl, which accepts only the
//! trait's items, and an attribute on a method cannot tell which kind of impl it is in: so in a
//! trait impl, `#[cache]` goes on the impl block too, which then moves the companions of its
//! cached methods into an inherent impl of the same type.

mod expand;
mod parse;
mod validate;

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};

pub(crate) use expand::companion_names;

use crate::common::errors::with_item;
use crate::common::item_fn::MaybeItemFn;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    if let Ok(func) = syn::parse2::<MaybeItemFn>(item.clone()) {
        let vis = func.vis.clone();
        return match expand_fn(args, &func, &vis) {
            Ok((func, companions)) => quote!(#func #companions),
            Err(error) => with_item(item, error),
        };
    }
    if let Ok(block) = syn::parse2::<syn::ItemImpl>(item.clone()) {
        return expand_impl(args, block);
    }
    if let Ok(declaration) = syn::parse2::<syn::TraitItemFn>(item.clone()) {
        // A method of a trait (a declaration, or a default body): a trait holds no cache.
        let error = syn::Error::new_spanned(
            declaration.sig.fn_token,
            "`#[cache]` cannot be applied to a method of a trait: put it on the method in \
             each `impl` of the trait, with `#[cache]` on that `impl` block too",
        );
        return with_item(item, error);
    }
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
        "`#[cache]` can only be applied to functions, methods and impl blocks",
    );
    with_item(item, error)
}

/// The rewritten function and its companions, with the companions' visibility.
fn expand_fn(
    args: TokenStream,
    func: &MaybeItemFn,
    companion_vis: &syn::Visibility,
) -> syn::Result<(TokenStream, TokenStream)> {
    let parsed = syn::parse2::<parse::Args>(args)?;
    let settings = validate::validate(parsed, func)?;
    Ok((
        expand::expand(&settings, func),
        expand::companions(&settings, func, companion_vis),
    ))
}

/// Whether an attribute is `#[cache]` (or `#[cached_core::cache]`, ...).
fn is_cache(attr: &syn::Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|s| s.ident == "cache")
}

// Input:
//     #[cache]
//     impl Catalog for Shop { #[cache] fn title(&self, id: u32) -> String { BODY } }
// Output:
//     impl Catalog for Shop { fn title(&self, id: u32) -> String { /* cached */ } }
//     impl Shop { pub fn __cached_entry_title(id: u32) -> .. { .. } pub fn __cached_all_title() .. }
fn expand_impl(args: TokenStream, mut block: syn::ItemImpl) -> TokenStream {
    if !args.is_empty() {
        let error = syn::Error::new_spanned(
            &args,
            "`#[cache]` on an impl block takes no arguments but `crate = ...`",
        );
        return with_item(block.to_token_stream(), error);
    }
    let in_trait = block.trait_.is_some();
    // In a trait impl the methods have no visibility of their own: the companions are `pub`,
    // so that the type's users can invalidate them.
    let companion_vis: syn::Visibility = syn::parse_quote!(pub);
    let mut companions = TokenStream::new();
    for item in &mut block.items {
        let syn::ImplItem::Fn(method) = item else {
            continue;
        };
        let Some(position) = method.attrs.iter().position(is_cache) else {
            continue;
        };
        if !in_trait {
            // The method's own `#[cache]` expands it, companions included; it is told the
            // impl block's `crate = ...`, unless it says its own.
            if let Some(runtime) = crate::common::krate::given() {
                let attr = &mut method.attrs[position];
                let args = match &attr.meta {
                    syn::Meta::List(list) => list.tokens.clone(),
                    _ => TokenStream::new(),
                };
                let has_own =
                    crate::common::krate::split(args.clone()).is_ok_and(|(own, _)| own.is_some());
                if !has_own {
                    let path = attr.path().clone();
                    let separator = (!args.is_empty()).then(|| quote!(,));
                    *attr = syn::parse_quote!(#[#path(crate = #runtime #separator #args)]);
                }
            }
            continue;
        }
        let attr = method.attrs.remove(position);
        let args = match &attr.meta {
            syn::Meta::List(list) => list.tokens.clone(),
            _ => TokenStream::new(),
        };
        let original = method.to_token_stream();
        // A method's own `crate = ...` wins; without one, the impl block's (if any) holds.
        let expanded = crate::common::krate::split(args).and_then(|(runtime, args)| {
            let expand = || {
                syn::parse2::<MaybeItemFn>(original.clone())
                    .and_then(|func| expand_fn(args, &func, &companion_vis))
            };
            match runtime {
                Some(runtime) => crate::common::krate::with(Some(runtime), expand),
                None => expand(),
            }
        });
        *item = match expanded {
            Ok((func, method_companions)) => {
                companions.extend(method_companions);
                syn::ImplItem::Verbatim(func)
            }
            Err(error) => syn::ImplItem::Verbatim(with_item(original, error)),
        };
    }
    if !in_trait || companions.is_empty() {
        return block.to_token_stream();
    }
    let (impl_generics, _, where_clause) = block.generics.split_for_impl();
    let self_ty = &block.self_ty;
    quote! {
        #block
        impl #impl_generics #self_ty #where_clause {
            #companions
        }
    }
}
