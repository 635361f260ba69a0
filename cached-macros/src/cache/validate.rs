//! Checks the arguments and the function, and turns them into [`Settings`] that `expand`
//! cannot get wrong.

use syn::visit::Visit;
use syn::{Expr, Lit, LitInt, LitStr, ReturnType};

use super::parse::Args;
use crate::common::errors::Errors;
use crate::common::item_fn::MaybeItemFn;
use crate::common::result_type::returns_result;

const VALID: &str = "`ttl`, `capacity`, `key`, `name`, `unless`, `tags`, `store`, `crate`";

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

fn check_function(func: &MaybeItemFn, errors: &mut Errors) {
    if let Some(constness) = &func.sig.constness {
        errors.at(
            constness,
            "`#[cache]` cannot be applied to a `const fn`: it may run at compile time, where \
             there is no cache; remove `const`, or keep this `const fn` and cache a plain `fn` \
             that calls it",
        );
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
}

/// The plain names a key expression takes as its parts (`idd` in `key = (idd, page)`): in the
/// positions a key is made of (a tuple's or array's elements, a reference, a field's or
/// method's receiver, an operand), and nowhere a name may be something else: not the
/// arguments of a call (a function passed by name), not inside a closure, block, `match` or
/// macro (which bind names of their own), not a path of several segments, not a name that
/// starts with a capital (a constant, a unit struct).
fn free_names(expr: &Expr) -> Vec<&syn::Ident> {
    let mut names = Vec::new();
    collect_free_names(expr, &mut names);
    names
}

fn collect_free_names<'a>(expr: &'a Expr, names: &mut Vec<&'a syn::Ident>) {
    match expr {
        Expr::Path(path) => {
            if let (None, Some(ident)) = (&path.qself, path.path.get_ident()) {
                let text = ident.to_string();
                if text != "self" && text.starts_with(|c: char| c.is_lowercase() || c == '_') {
                    names.push(ident);
                }
            }
        }
        Expr::Tuple(tuple) => tuple
            .elems
            .iter()
            .for_each(|e| collect_free_names(e, names)),
        Expr::Array(array) => array
            .elems
            .iter()
            .for_each(|e| collect_free_names(e, names)),
        Expr::Paren(inner) => collect_free_names(&inner.expr, names),
        Expr::Group(inner) => collect_free_names(&inner.expr, names),
        Expr::Reference(inner) => collect_free_names(&inner.expr, names),
        Expr::Unary(inner) => collect_free_names(&inner.expr, names),
        Expr::Cast(inner) => collect_free_names(&inner.expr, names),
        Expr::Field(inner) => collect_free_names(&inner.base, names),
        Expr::MethodCall(call) => collect_free_names(&call.receiver, names),
        Expr::Index(index) => collect_free_names(&index.expr, names),
        Expr::Binary(binary) => {
            collect_free_names(&binary.left, names);
            collect_free_names(&binary.right, names);
        }
        _ => {}
    }
}

/// The Levenshtein distance between two short names.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// A key that reads a name no parameter binds, a typo away from one: the parameters listed, on
/// that name.
fn check_key(key: &Expr, func: &MaybeItemFn, errors: &mut Errors) {
    let params: Vec<String> = func
        .params()
        .flat_map(|param| crate::common::item_fn::bindings(param.pat))
        .map(ToString::to_string)
        .collect();
    for name in free_names(key) {
        let text = name.to_string();
        // A name far from every parameter may be an item (a lowercase static, say): rustc
        // reports it if it is not. One a typo away from a parameter is that typo.
        let near = |param: &String| edit_distance(&text, param) <= 2;
        if params.contains(&text) || !params.iter().any(near) {
            continue;
        }
        let mut usable: Vec<String> = params.iter().map(|p| format!("`{p}`")).collect();
        if func.has_receiver() {
            usable.insert(0, "`self`".to_owned());
        }
        let function = &func.sig.ident;
        let message = if usable.is_empty() {
            format!("`{text}` is not a parameter of `{function}`, which has none")
        } else {
            format!(
                "`{text}` is not a parameter of `{function}`: the key can use {}",
                usable.join(", ")
            )
        };
        errors.at(name, message);
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
            "key" => {
                check_key(&value, func, &mut errors);
                key_arg = Some(value);
            }
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
    check_function(func, &mut errors);
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
