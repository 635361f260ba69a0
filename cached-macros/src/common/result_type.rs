//! The one answer to "does this function return a `Result`?", which `#[cache]` (cache the `Ok`
//! value only), `#[invalidates]` and `#[cache_put]` (act after `Ok` only) must give alike.

use syn::{ReturnType, Type};

/// Whether the return type is a `Result`: its last path segment is `Result` (of any path:
/// `Result`, `io::Result`, `std::result::Result`), looking through parentheses and the
/// invisible groups a `macro_rules!` `$t:ty` fragment arrives in.
pub(crate) fn returns_result(output: &ReturnType) -> bool {
    let mut ty = match output {
        ReturnType::Default => return false,
        ReturnType::Type(_, ty) => &**ty,
    };
    loop {
        match ty {
            Type::Paren(inner) => ty = &inner.elem,
            Type::Group(inner) => ty = &inner.elem,
            Type::Path(path) => {
                return path
                    .path
                    .segments
                    .last()
                    .is_some_and(|last| last.ident == "Result");
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::returns_result;
    use proc_macro2::{Delimiter, Group, TokenStream};
    use quote::quote;

    fn returns(ty: TokenStream) -> bool {
        let output: syn::ReturnType = syn::parse2(quote!(-> #ty)).unwrap();
        returns_result(&output)
    }

    #[test]
    fn a_result_is_found_through_groups_and_parentheses() {
        // What a `macro_rules!` `$t:ty` fragment hands on: the type in an invisible group.
        let grouped = Group::new(Delimiter::None, quote!(Result<(), String>));
        assert!(returns(quote!(#grouped)));
        assert!(returns(quote!((Result<(), String>))));
        assert!(returns(quote!(std::io::Result<u8>)));
        assert!(!returns(quote!(Option<Result<(), String>>)));
        assert!(!returns(quote!((Result<(), ()>, u8))));
        assert!(!returns_result(&syn::ReturnType::Default));
    }
}
