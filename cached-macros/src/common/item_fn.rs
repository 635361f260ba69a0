//! A function item whose body is kept as raw tokens.
//!
//! Only the signature is parsed: a body with a syntax error reaches rustc unchanged, and rustc
//! (not this macro) reports it on the user's code.

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, FnArg, Pat, ReturnType, Signature, Type, Visibility};

pub(crate) struct MaybeItemFn {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) sig: Signature,
    /// The braced body.
    pub(crate) body: TokenTree,
}

impl Parse for MaybeItemFn {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let sig: Signature = input.parse()?;
        let body: TokenTree = input.parse()?;
        match &body {
            TokenTree::Group(g) if g.delimiter() == proc_macro2::Delimiter::Brace => {}
            other => return Err(syn::Error::new_spanned(other, "expected a function body")),
        }
        Ok(MaybeItemFn {
            attrs,
            vis,
            sig,
            body,
        })
    }
}

impl ToTokens for MaybeItemFn {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        for attr in &self.attrs {
            attr.to_tokens(tokens);
        }
        self.vis.to_tokens(tokens);
        self.sig.to_tokens(tokens);
        self.body.to_tokens(tokens);
    }
}

/// A parameter other than the receiver.
#[derive(Clone, Copy)]
pub(crate) struct Param<'a> {
    pub(crate) pat: &'a Pat,
    pub(crate) ty: &'a Type,
}

impl MaybeItemFn {
    pub(crate) fn has_receiver(&self) -> bool {
        self.sig.receiver().is_some()
    }

    pub(crate) fn params(&self) -> impl Iterator<Item = Param<'_>> {
        self.sig.inputs.iter().filter_map(|arg| match arg {
            FnArg::Typed(t) => Some(Param {
                pat: &t.pat,
                ty: &t.ty,
            }),
            FnArg::Receiver(_) => None,
        })
    }

    /// The declared return type, `()` when there is none.
    pub(crate) fn return_type(&self) -> TokenStream {
        match &self.sig.output {
            ReturnType::Default => quote::quote!(()),
            ReturnType::Type(_, ty) => ty.to_token_stream(),
        }
    }
}

/// The identifiers a parameter's pattern binds, in order: `id` for `id` or `mut id`, `id` for
/// `Path(id)` (an axum extractor), `a`, `b` for `(a, b)`; none for `_`.
pub(crate) fn bindings(pat: &Pat) -> Vec<&syn::Ident> {
    struct Bindings<'a>(Vec<&'a syn::Ident>);
    impl<'a> syn::visit::Visit<'a> for Bindings<'a> {
        fn visit_pat_ident(&mut self, node: &'a syn::PatIdent) {
            self.0.push(&node.ident);
            syn::visit::visit_pat_ident(self, node);
        }
        // A path in a pattern (`None`, `Kind::A`) binds nothing; neither do the expressions
        // of a range or a constant.
        fn visit_expr(&mut self, _: &'a syn::Expr) {}
    }
    let mut found = Bindings(Vec::new());
    syn::visit::Visit::visit_pat(&mut found, pat);
    found.0
}

/// The identifier a parameter binds, when its pattern is a plain name (`id`, `mut id`).
pub(crate) fn param_ident(pat: &Pat) -> Option<&syn::Ident> {
    match pat {
        Pat::Ident(p) if p.subpat.is_none() => Some(&p.ident),
        _ => None,
    }
}

/// The function `#[attribute]` is on, or the error to emit instead (with the item, unchanged).
pub(crate) fn parse_fn(item: TokenStream, attribute: &str) -> Result<MaybeItemFn, TokenStream> {
    syn::parse2(item.clone()).map_err(|_| {
        let error = syn::Error::new(
            proc_macro2::Span::call_site(),
            format!("`#[{attribute}]` can only be applied to functions and methods"),
        );
        crate::common::errors::with_item(item, error)
    })
}
