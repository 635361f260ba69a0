//! `#[derive(CacheKey)]`: a struct encodes its header (its tag and its type's id) and then its
//! fields in order; an enum, its header, the variant's index and then its fields (see
//! `cached_core::CacheKey` for the byte format and what it promises).
//!
//! The type's id is a hash of its path, `module_path!()` and the name, computed at compile time
//! into a constant: two derived types of the same shape (`struct UserId(u32)` and
//! `struct OrderId(u32)`, or two `Id`s in two modules) are different keys, and the bytes stay
//! the same from build to build. The path is known only where the expansion lands, so the
//! constant (an inline `const` block, evaluated by the compiler) is built there, with
//! `concat!(module_path!(), ..)`.
//!
//! Input:
//!
//! ```text
//! #[derive(CacheKey)]
//! enum Listing<T> { All, Page { category: T, page: u32 } }
//! ```
//!
//! Output (paths abbreviated):
//!
//! ```text
//! impl<T> CacheKey for Listing<T> where T: CacheKey {
//!     fn encode_key(&self, out: &mut KeyEncoder) {
//!         let TYPE = const { KeyEncoder::__derived_enum(concat!(module_path!(), "::Listing")) };
//!         match self {
//!             Listing::All => { out.__write_variant(&TYPE, 0); }
//!             Listing::Page { category, page } => { out.__write_variant(&TYPE, 1); key_part(category, out); key_part(page, out); }
//!         }
//!     }
//! }
//! ```
//!
//! A struct writes its header with `out.__write_struct(&TYPE)` (built by `__derived_struct`).

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields};

pub(crate) fn cache_key(input: TokenStream) -> TokenStream {
    let expanded = syn::parse2::<DeriveInput>(input).and_then(|input| {
        let runtime = runtime(&input)?;
        crate::common::krate::with(runtime, || expand(&input))
    });
    expanded.unwrap_or_else(|e| e.to_compile_error())
}

/// The runtime's path from `#[cache_key(crate = path)]`, for a renamed dependency.
fn runtime(input: &DeriveInput) -> syn::Result<Option<TokenStream>> {
    let mut runtime = None;
    for attr in input
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("cache_key"))
    {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                let path: syn::Path = meta.value()?.parse()?;
                runtime = Some(quote::ToTokens::to_token_stream(&path));
                Ok(())
            } else {
                Err(meta.error("expected `crate = path`: `#[cache_key(crate = cache)]`"))
            }
        })?;
    }
    Ok(runtime)
}

/// The bindings of a variant's (or struct's) fields, and the pattern that binds them.
fn bind(fields: &Fields) -> (TokenStream, Vec<TokenStream>) {
    let p = crate::common::krate::private();
    let out = syn::Ident::new("__cached_out", Span::mixed_site());
    let names: Vec<_> = fields
        .iter()
        .enumerate()
        .map(|(i, _)| format_ident!("__cached_field_{}", i, span = Span::mixed_site()))
        .collect();
    let pattern = match fields {
        Fields::Named(named) => {
            let idents = named.named.iter().map(|f| &f.ident);
            quote!({ #(#idents: #names),* })
        }
        Fields::Unnamed(_) => quote!(( #(#names),* )),
        Fields::Unit => quote!(),
    };
    let writes = fields
        .iter()
        .zip(&names)
        .map(|(field, name)| {
            // Named with the field's type and spanned on it: a type that is not a key is
            // reported on the field.
            let ty = &field.ty;
            quote_spanned!(ty.span()=> #p::key_part::<#ty>(#name, #out);)
        })
        .collect();
    (pattern, writes)
}

fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let p = crate::common::krate::private();
    let out = syn::Ident::new("__cached_out", Span::mixed_site());
    let header = syn::Ident::new("__cached_type", Span::mixed_site());
    let ty = &input.ident;
    // `::Name`, to follow the module path where the expansion lands.
    let name = syn::LitStr::new(&format!("::{}", ty.unraw()), ty.span());
    let path = quote!(#p::concat!(#p::module_path!(), #name));
    let body =
        match &input.data {
            Data::Struct(data) => {
                let (pattern, writes) = bind(&data.fields);
                quote! {
                    let #header = const { #p::KeyEncoder::__derived_struct(#path) };
                    #out.__write_struct(&#header);
                    let #ty #pattern = self;
                    #(#writes)*
                }
            }
            // No value to encode: `*self`, as a reference to an empty enum is not empty.
            Data::Enum(data) if data.variants.is_empty() => quote!(match *self {}),
            Data::Enum(data) => {
                let arms = data.variants.iter().enumerate().map(|(index, variant)| {
                    let name = &variant.ident;
                    let (pattern, writes) = bind(&variant.fields);
                    quote! {
                        #ty::#name #pattern => {
                            #out.__write_variant(&#header, #index);
                            #(#writes)*
                        }
                    }
                });
                quote! {
                    let #header = const { #p::KeyEncoder::__derived_enum(#path) };
                    match self {
                        #(#arms)*
                    }
                }
            }
            Data::Union(data) => return Err(syn::Error::new_spanned(
                data.union_token,
                "`CacheKey` cannot be derived for a union: its bytes do not say which field is set",
            )),
        };

    let mut generics = input.generics.clone();
    let type_params: Vec<_> = generics.type_params().map(|t| t.ident.clone()).collect();
    let where_clause = generics.make_where_clause();
    for param in type_params {
        where_clause
            .predicates
            .push(syn::parse_quote!(#param: #p::CacheKey));
    }
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics #p::CacheKey for #ty #ty_generics #where_clause {
            #[allow(unused_variables)]
            fn encode_key(&self, #out: &mut #p::KeyEncoder) {
                #body
            }
        }
    })
}
