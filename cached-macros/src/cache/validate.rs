//! Checks the arguments and the function, and turns them into [`Settings`] that `expand`
//! cannot get wrong.

use syn::visit::Visit;
use syn::{Expr, Lit, LitInt, LitStr, ReturnType};

use super::parse::Args;
use crate::common::errors::Errors;
use crate::common::item_fn::{param_ident, MaybeItemFn};
use crate::common::result_type::returns_result;

const VALID: &str = "`ttl`, `capacity`, `key`, `name`, `unless`, `tags`, `store`";

pub(crate) enum Ttl {
    None,
    /// An integer literal: seconds.
    Secs(LitInt),
    /// Any other expression, which must be a `Duration`.
    Duration(Expr),
}

/// How the return value maps to the cached value.
pub(crate) enum Shape {
    Plain,
    /// The return type is a `Result`: cache the `Ok` value only.
    Fallible,
}

pub(crate) struct Settings {
    pub(crate) ttl: Ttl,
    pub(crate) capacity: Option<LitInt>,
    pub(crate) key: Option<Expr>,
    pub(crate) name: Option<LitStr>,
    pub(crate) unless: Option<Expr>,
    /// `tags = [...]`: string-like expressions over the parameters.
    pub(crate) tags: Vec<Expr>,
    /// `store = <expr>`: a shared `LruStore`.
    pub(crate) store: Option<Expr>,
    pub(crate) shape: Shape,
}

fn int_literal(expr: &Expr) -> Option<&LitInt> {
    match expr {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Int(lit), ..
        }) => Some(lit),
        _ => None,
    }
}

fn ttl(value: Expr, errors: &mut Errors) -> Option<Ttl> {
    let message = "`ttl` expects seconds as an integer literal (`ttl = 60`) \
                   or a `std::time::Duration` expression (`ttl = Duration::from_millis(250)`)";
    if let Some(lit) = int_literal(&value) {
        return match lit.base10_parse::<u64>() {
            Ok(_) => Some(Ttl::Secs(lit.clone())),
            Err(_) => {
                errors.at(lit, message);
                None
            }
        };
    }
    let negative_literal = matches!(
        &value,
        Expr::Unary(syn::ExprUnary { op: syn::UnOp::Neg(_), expr, .. }) if matches!(**expr, Expr::Lit(_))
    );
    if matches!(value, Expr::Lit(_)) || negative_literal {
        errors.at(&value, message);
        return None;
    }
    Some(Ttl::Duration(value))
}

fn capacity(value: Expr, errors: &mut Errors) -> Option<LitInt> {
    let Some(lit) = int_literal(&value) else {
        errors.at(
            &value,
            "`capacity` expects an integer literal, the most entries kept (`capacity = 1000`)",
        );
        return None;
    };
    match lit.base10_parse::<usize>() {
        Ok(0) => errors.at(
            lit,
            "`capacity` must be at least 1; to turn caching off, remove `#[cache]`",
        ),
        Ok(_) => return Some(lit.clone()),
        Err(_) => errors.at(lit, "`capacity` is too large for `usize`"),
    }
    None
}

fn name(value: Expr, errors: &mut Errors) -> Option<LitStr> {
    match value {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Str(s), ..
        }) if !s.value().is_empty() => Some(s),
        Expr::Lit(syn::ExprLit {
            lit: Lit::Str(s), ..
        }) => {
            errors.at(&s, "`name` must not be empty");
            None
        }
        other => {
            errors.at(
                &other,
                "`name` expects a string literal (`name = \"news\"`)",
            );
            None
        }
    }
}

/// A `Result` (as `common::result_type` decides, for every attribute alike) caches `Ok` only.
fn shape(output: &ReturnType) -> Shape {
    if returns_result(output) {
        Shape::Fallible
    } else {
        Shape::Plain
    }
}

/// Finds `impl Trait` anywhere in a type.
struct ImplTrait<'a>(Option<&'a syn::TypeImplTrait>);

impl<'a> Visit<'a> for ImplTrait<'a> {
    fn visit_type_impl_trait(&mut self, node: &'a syn::TypeImplTrait) {
        self.0.get_or_insert(node);
    }
}

fn check_function(func: &MaybeItemFn, key_given: bool, errors: &mut Errors) {
    if let Some(constness) = &func.sig.constness {
        errors.at(constness, "`#[cache]` cannot be applied to a `const fn`");
    }
    if let Some(variadic) = &func.sig.variadic {
        errors.at(
            variadic,
            "`#[cache]` cannot be applied to a variadic function",
        );
    }
    if let ReturnType::Type(_, ty) = &func.sig.output {
        let mut finder = ImplTrait(None);
        finder.visit_type(ty);
        if let Some(found) = finder.0 {
            errors.at(
                found,
                "`#[cache]` cannot store an `impl Trait` value: name the return type",
            );
        }
    }
    if !key_given {
        for param in func.params() {
            if param_ident(param.pat).is_none() {
                errors.at(
                    param.pat,
                    "the default key needs every parameter to be a plain name: \
                     bind this one to a name, or give the key with `key = ...`",
                );
            }
        }
    }
}

pub(crate) fn validate(parsed: Args, func: &MaybeItemFn) -> syn::Result<Settings> {
    let mut errors = Errors::default();
    let mut seen = std::collections::BTreeSet::new();
    let (mut ttl_arg, mut capacity_arg, mut key_arg, mut name_arg, mut unless_arg) =
        (None, None, None, None, None);
    let mut tags_arg = Vec::new();
    let mut store_arg = None;
    let mut capacity_name = None;

    for arg in parsed.args {
        let name = arg.name.to_string();
        if !matches!(
            name.as_str(),
            "ttl" | "capacity" | "key" | "name" | "unless" | "tags" | "store"
        ) {
            errors.at(
                &arg.name,
                format_args!("unknown `#[cache]` argument `{name}`; expected one of {VALID}"),
            );
            continue;
        }
        if !seen.insert(name.clone()) {
            errors.at(&arg.name, format_args!("duplicate `{name}` argument"));
            continue;
        }
        let Some(value) = arg.value else {
            errors.at(
                &arg.name,
                format_args!("`{name}` needs a value: `{name} = ...`"),
            );
            continue;
        };
        match name.as_str() {
            "ttl" => ttl_arg = ttl(value, &mut errors),
            "capacity" => {
                capacity_name = Some(arg.name.clone());
                capacity_arg = capacity(value, &mut errors);
            }
            "store" => store_arg = Some(value),
            "name" => name_arg = self::name(value, &mut errors),
            "key" => key_arg = Some(value),
            "tags" => match value {
                Expr::Array(list) => tags_arg = list.elems.into_iter().collect(),
                other => errors.at(
                    &other,
                    "`tags` expects a list of string-like expressions: \
                     `tags = [format!(\"category:{category}\")]`",
                ),
            },
            _ => unless_arg = Some(value),
        }
    }

    if let (Some(capacity), Some(_)) = (&capacity_name, &store_arg) {
        errors.at(
            capacity,
            "`capacity` belongs to the shared store: set it in `LruStore::new(capacity)`",
        );
    }
    check_function(func, key_arg.is_some(), &mut errors);
    errors.finish()?;
    Ok(Settings {
        ttl: ttl_arg.unwrap_or(Ttl::None),
        capacity: capacity_arg,
        key: key_arg,
        name: name_arg,
        unless: unless_arg,
        tags: tags_arg,
        store: store_arg,
        shape: shape(&func.sig.output),
    })
}
