//! The syntax of `#[cache(...)]`: comma-separated `name = <expr>` pairs, parsed without
//! judging them (that is `validate`'s job, so that every mistake is reported at once).

use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, Token};

pub(crate) struct Arg {
    pub(crate) name: Ident,
    /// `None` when the argument has no `= value`.
    pub(crate) value: Option<Expr>,
}

pub(crate) struct Args {
    pub(crate) args: Vec<Arg>,
}

impl Parse for Arg {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let name = input.call(syn::ext::IdentExt::parse_any)?;
        let value = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            Some(input.parse()?)
        } else {
            None
        };
        Ok(Arg { name, value })
    }
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let args = Punctuated::<Arg, Token![,]>::parse_terminated(input)?;
        Ok(Args {
            args: args.into_iter().collect(),
        })
    }
}
