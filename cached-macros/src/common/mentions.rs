//! Which names an expression mentions, including the inline arguments of format strings
//! (`format!("user:{id}")` mentions `id`).

use proc_macro2::{TokenStream, TokenTree};
use std::collections::BTreeSet;

/// Every identifier in `tokens`, and every name used as `{name}` in a string literal.
pub(crate) fn mentioned(tokens: TokenStream) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    collect(tokens, &mut found);
    found
}

fn collect(tokens: TokenStream, found: &mut BTreeSet<String>) {
    for tree in tokens {
        match tree {
            TokenTree::Ident(ident) => {
                found.insert(ident.to_string());
            }
            TokenTree::Group(group) => collect(group.stream(), found),
            TokenTree::Literal(lit) => {
                if let Ok(syn::Lit::Str(s)) = syn::parse_str::<syn::Lit>(&lit.to_string()) {
                    inline_format_args(&s.value(), found);
                }
            }
            TokenTree::Punct(_) => {}
        }
    }
}

/// The names in `{name}` / `{name:?}` placeholders; `{{` is an escaped brace.
fn inline_format_args(text: &str, found: &mut BTreeSet<String>) {
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        rest = &rest[open + 1..];
        if let Some(escaped) = rest.strip_prefix('{') {
            rest = escaped;
            continue;
        }
        let end = rest.find(['}', ':']).unwrap_or(rest.len());
        let name = rest[..end].trim();
        let is_ident = name
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_alphanumeric() || c == '_');
        if is_ident {
            found.insert(name.to_owned());
        }
        rest = &rest[end..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn finds_plain_and_inline_format_names() {
        let names = mentioned(quote!(format!("n:{id}:{page:>3}:{{skip}}:{}", self.tenant)));
        let names: Vec<_> = names.into_iter().collect();
        assert_eq!(names, ["format", "id", "page", "self", "tenant"]);
    }
}
