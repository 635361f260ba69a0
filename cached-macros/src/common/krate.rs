//! The path of the runtime crate in generated code: `::cached_core`, or what the user named it
//! with `crate = path` (a dependency renamed in Cargo.toml: `cache = { package = "cached-core" }`),
//! or `$crate` when a macro of the runtime passes it (`entry!`, `entries!`).
//!
//! Set for the length of one expansion (`with`), and read by every piece of code generation
//! (`private`), so that no function needs it threaded through.

use std::cell::RefCell;

use proc_macro2::{TokenStream, TokenTree};
use quote::{quote, ToTokens};

thread_local! {
    static RUNTIME: RefCell<Option<TokenStream>> = const { RefCell::new(None) };
}

/// `<runtime>::__private`, the only module generated code names.
pub(crate) fn private() -> TokenStream {
    RUNTIME.with(|runtime| match &*runtime.borrow() {
        Some(path) => quote!(#path::__private),
        None => quote!(::cached_core::__private),
    })
}

/// The runtime's path given by the expansion in progress (`crate = ...`), if any.
pub(crate) fn given() -> Option<TokenStream> {
    RUNTIME.with(|runtime| runtime.borrow().clone())
}

/// Runs `expand` with generated code naming the runtime `path` (`None`: `::cached_core`).
pub(crate) fn with<R>(path: Option<TokenStream>, expand: impl FnOnce() -> R) -> R {
    let before = RUNTIME.with(|runtime| runtime.replace(path));
    let result = expand();
    RUNTIME.with(|runtime| *runtime.borrow_mut() = before);
    result
}

/// Takes a `crate = path` argument out of an attribute's comma-separated arguments: the path
/// (if any) and the other arguments, as written.
pub(crate) fn split(args: TokenStream) -> syn::Result<(Option<TokenStream>, TokenStream)> {
    let mut segments: Vec<Vec<TokenTree>> = vec![Vec::new()];
    for tree in args {
        match &tree {
            TokenTree::Punct(punct) if punct.as_char() == ',' => {
                segments.push(Vec::new());
                continue;
            }
            _ => {}
        }
        if let Some(last) = segments.last_mut() {
            last.push(tree);
        }
    }
    let mut path = None;
    let mut rest = Vec::new();
    for segment in segments {
        let is_crate = matches!(
            segment.as_slice(),
            [TokenTree::Ident(name), TokenTree::Punct(eq), ..]
                if name == "crate" && eq.as_char() == '='
        );
        if !is_crate {
            rest.push(segment);
            continue;
        }
        let value: TokenStream = segment[2..].iter().cloned().collect();
        let parsed: syn::Path = syn::parse2(value.clone()).map_err(|_| {
            syn::Error::new_spanned(
                &value,
                "`crate` expects the path of the `cached-core` dependency as this crate names \
                 it: `crate = cache` for `cache = { package = \"cached-core\" }`",
            )
        })?;
        if path.is_some() {
            return Err(syn::Error::new_spanned(
                &segment[0],
                "duplicate argument `crate`",
            ));
        }
        path = Some(parsed.to_token_stream());
    }
    let mut joined = TokenStream::new();
    let mut first = true;
    for segment in rest.into_iter().filter(|s| !s.is_empty()) {
        if !first {
            joined.extend(quote!(,));
        }
        first = false;
        joined.extend(segment);
    }
    Ok((path, joined))
}

/// An attribute's expansion, with a `crate = path` among its arguments applied.
pub(crate) fn attribute(
    args: TokenStream,
    item: TokenStream,
    expand: impl FnOnce(TokenStream, TokenStream) -> TokenStream,
) -> TokenStream {
    match split(args) {
        Ok((path, args)) => with(path, || expand(args, item)),
        Err(error) => crate::common::errors::with_item(item, error),
    }
}

/// A function-like macro's input as the runtime's wrapper passes it: `$crate, <input>`.
pub(crate) fn function_like(
    input: TokenStream,
    expand: impl FnOnce(TokenStream) -> TokenStream,
) -> TokenStream {
    let mut trees = input.into_iter();
    let mut path = TokenStream::new();
    for tree in trees.by_ref() {
        match &tree {
            TokenTree::Punct(punct) if punct.as_char() == ',' => break,
            _ => path.extend([tree]),
        }
    }
    with(Some(path), || expand(trees.collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_the_crate_argument_out_wherever_it_stands() {
        let (path, rest) = split(quote!(ttl = 60, crate = my::cache, key = (a, b))).unwrap();
        assert_eq!(path.unwrap().to_string(), quote!(my::cache).to_string());
        assert_eq!(rest.to_string(), quote!(ttl = 60, key = (a, b)).to_string());
        let (path, rest) = split(quote!(f(1), g)).unwrap();
        assert!(path.is_none());
        assert_eq!(rest.to_string(), quote!(f(1), g).to_string());
        assert!(split(quote!(crate = 1)).is_err());
    }

    #[test]
    fn generated_code_names_the_runtime_given() {
        assert_eq!(
            with(Some(quote!(cache)), private).to_string(),
            quote!(cache::__private).to_string()
        );
        assert_eq!(
            private().to_string(),
            quote!(::cached_core::__private).to_string()
        );
    }
}
