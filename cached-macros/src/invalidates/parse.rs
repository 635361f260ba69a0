//! The syntax of `#[invalidates(...)]`: comma-separated entries, each `f` (every entry of the
//! cached function `f`), `f(args)` (the entry of those key arguments) or `tag = <expr>`.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, Token};

pub(crate) enum Target {
    /// Every entry of the function at this path.
    All(syn::ExprPath),
    /// The entry of the function at this path for these key arguments.
    One(syn::ExprPath, Punctuated<Expr, Token![,]>),
    /// Every entry stored with this tag.
    Tag(Expr),
}

pub(crate) struct Targets {
    pub(crate) targets: Vec<Target>,
    span: Span,
}

const EXPECTED: &str = "expected a cached function: `f` for all its entries, `f(args)` for one, \
                        or `tag = <expr>`";

impl Parse for Targets {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let span = input.span();
        let mut targets = Vec::new();
        while !input.is_empty() {
            if input.peek(syn::Ident) && input.peek2(Token![=]) {
                let name: syn::Ident = input.parse()?;
                if name != "tag" {
                    return Err(syn::Error::new_spanned(name, EXPECTED));
                }
                input.parse::<Token![=]>()?;
                targets.push(Target::Tag(input.parse()?));
            } else {
                targets.push(match input.parse::<Expr>()? {
                    Expr::Path(path) => Target::All(path),
                    Expr::Call(call) => match *call.func {
                        Expr::Path(path) => Target::One(path, call.args),
                        other => return Err(syn::Error::new_spanned(other, EXPECTED)),
                    },
                    other => return Err(syn::Error::new_spanned(other, EXPECTED)),
                });
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(Targets { targets, span })
    }
}

impl Targets {
    pub(crate) fn validate(self) -> syn::Result<Self> {
        if self.targets.is_empty() {
            return Err(syn::Error::new(
                self.span,
                "`#[invalidates]` needs at least one entry: `#[invalidates(f)]`, \
                 `#[invalidates(f(args))]` or `#[invalidates(tag = <expr>)]`",
            ));
        }
        Ok(self)
    }
}
