//! Code generation for `#[cache]`. Cannot fail: `validate` has rejected what could go wrong.
//!
//! Input:
//!
//! ```text
//! #[cache(ttl = 60)]
//! pub fn headline(id: u64) -> Result<String, Error> { BODY }
//! ```
//!
//! Output (paths abbreviated; all go through `::cached_core::__private`):
//!
//! ```text
//! pub fn headline(id: u64) -> Result<String, Error> {
//!     static __CACHED_SLOT: Slot = Slot::new();
//!     let __cached_ttl = ttl_secs(60);
//!     let mut __cached_key = word_key(id); // a one-integer key; otherwise:
//!     // let mut __cached_key = Key::new(); { key_part(&id, __cached_key.encoder()); }
//!     let __cached_cache = __CACHED_SLOT
//!         .get::<WordKey, <Fallible as Returns<Result<String, Error>>>::Value>(ID, || Config { .. });
//!     __cached_cache.get_or_compute::<Result<String, Error>, Fallible>(
//!         &mut __cached_key, __cached_ttl, |_| false, move || -> Result<String, Error> { BODY })
//! }
//! ```
//!
//! The body becomes a closure (an `async move` block for an `async fn`), so `return` and `?`
//! keep their meaning. The key and the TTL are evaluated before it, from references to the
//! parameters, so the body still owns every parameter.
//!
//! With `store = STORE`, a plain function takes `SLOT.get_shared(ID, CONFIG, sync_store(&*STORE))`
//! (an `LruStore` only: the `SyncStore` bound reports a remote store on `STORE`). An `async fn`
//! takes `SLOT.get_in::<V, _>(ID, CONFIG, async_store(&*STORE))`, whose cache is the store's
//! (`Store<V>`: an `LruStore`'s or a `RedisStore`'s), passes it a fail-closed error handler
//! (`Carry`, which turns the store's error into the function's `Err` where the error type
//! allows), and gets handles whose operations are awaited (`StoreEntry`, `StoreEntries`).

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;

use super::validate::{Settings, Shape, Ttl};
use crate::common::item_fn::{bindings, param_ident, MaybeItemFn};
use crate::common::mentions::mentioned;

fn private() -> TokenStream {
    crate::common::krate::private()
}

/// Local names the user's code cannot see or clash with.
fn local(name: &str) -> syn::Ident {
    syn::Ident::new(name, Span::mixed_site())
}

/// The cached value's type, spanned on the return type so that a value type that cannot be
/// cached is reported there.
fn value_type(settings: &Settings, func: &MaybeItemFn) -> (TokenStream, TokenStream, Span) {
    let p = private();
    let ret = func.return_type();
    let ret_span = match &func.sig.output {
        syn::ReturnType::Default => func.sig.ident.span(),
        syn::ReturnType::Type(_, ty) => ty.span(),
    };
    let shape = match settings.shape {
        Shape::Plain => quote!(#p::Plain),
        Shape::Fallible => quote!(#p::Fallible),
    };
    let value = quote_spanned!(ret_span=> <#shape as #p::Returns<#ret>>::Value);
    (shape, value, ret_span)
}

/// The TTL, as an `Option<Duration>` expression.
fn ttl_expr(settings: &Settings) -> TokenStream {
    let p = private();
    match &settings.ttl {
        Ttl::None => quote!(#p::None),
        Ttl::Secs(secs) => quote!(#p::ttl_secs(#secs)),
        Ttl::Duration(expr) => {
            // A typed `let`, so that a wrong type is reported on the expression alone.
            let value = local("__cached_ttl_value");
            let ty = quote_spanned!(expr.span()=> #p::Duration);
            quote!({
                let #value: #ty = #expr;
                #p::Some(#value)
            })
        }
    }
}

/// The key's type and the statements that build it in `key`, from the parameters in scope and
/// the function's cache, bound to `cache`.
fn key_init(
    settings: &Settings,
    func: &MaybeItemFn,
    key: &syn::Ident,
    cache: &syn::Ident,
) -> (TokenStream, TokenStream) {
    let p = private();
    match word_key_param(settings, func) {
        Some((ident, ty)) => (
            quote!(#p::WordKey),
            // Spanned on the type: a type that only looks like an integer is reported there.
            quote_spanned!(ty.span()=> let mut #key = #p::word_key(#ident);),
        ),
        None => {
            let parts = key_expr(settings, func, key);
            (
                quote!(#p::Key),
                quote!(let mut #key = #cache.new_key(); #parts),
            )
        }
    }
}

/// The statement binding the function's cache to `cache`: its own store, or the shared one.
fn cache_lookup(
    settings: &Settings,
    func: &MaybeItemFn,
    cache: &syn::Ident,
    key_type: &TokenStream,
    value: &TokenStream,
) -> TokenStream {
    let p = private();
    let slot = local("__CACHED_SLOT");
    let config = config(settings, func);
    let id = function_id(func);
    let get = match &settings.store {
        None => quote!(#slot.get::<#key_type, #value>(#id, || #config)),
        // Spanned on the expression: one that is not a `'static` store, or a remote store for
        // a plain function, is reported there.
        Some(store) if is_async(func) => {
            let store = quote_spanned!(store.span()=> #p::async_store(&*#store));
            quote!(#slot.get_in::<#value, _>(#id, || #config, #store))
        }
        Some(store) => {
            let store = quote_spanned!(store.span()=> #p::sync_store(&*#store));
            quote!(#slot.get_shared::<#value>(#id, || #config, #store))
        }
    };
    quote! {
        static #slot: #p::Slot = #p::Slot::new();
        let #cache = #get;
    }
}

fn is_async(func: &MaybeItemFn) -> bool {
    func.sig.asyncness.is_some()
}

/// Whether the function's handles are async: an `async fn` in a store given by `store =`,
/// which may be a remote one.
fn async_handles(settings: &Settings, func: &MaybeItemFn) -> bool {
    settings.store.is_some() && is_async(func)
}

/// The function, rewritten to go through its cache.
pub(crate) fn expand(settings: &Settings, func: &MaybeItemFn) -> TokenStream {
    let p = private();
    let cache = local("__cached_cache");
    let key = local("__cached_key");
    let ttl = local("__cached_ttl");

    let ret = func.return_type();
    let (shape, value, ret_span) = value_type(settings, func);
    let ttl_expr = ttl_expr(settings);
    let (key_type, key_init) = key_init(settings, func, &key, &cache);
    let lookup = cache_lookup(settings, func, &cache, &key_type, &value);
    let unless = match &settings.unless {
        Some(unless) => unless.to_token_stream(),
        None => quote!(|_| false),
    };

    let body = &func.body;
    // Tags are evaluated on a miss only, as the computation begins, from the parameters the
    // body is about to own.
    let tags = local("__cached_tags");
    let tag_adds = settings
        .tags
        .iter()
        .map(|tag| quote_spanned!(tag.span()=> #tags.add(&(#tag));));
    // Spanned on the return type: a value type that cannot be cached is reported there.
    let call = if async_handles(settings, func) {
        // A fail-closed remote store's error goes to the caller when the return type can
        // carry it (see `Carry`).
        let error = local("__cached_error");
        quote_spanned! {ret_span=>
            #cache.get_or_compute_async::<#ret, #shape, _>(
                #key, #ttl, #unless,
                |#error: #p::Error| {
                    #[allow(unused_imports)]
                    use #p::{CarryError as _, DropError as _};
                    (&#p::Carry::<#ret>::new()).carry(#error)
                },
                move |#tags: &mut #p::Tags| { #(#tag_adds)* async move #body },
            ).await
        }
    } else if is_async(func) {
        quote_spanned! {ret_span=>
            #cache.get_or_compute_async::<#ret, #shape, _>(
                #key, #ttl, #unless,
                move |#tags: &mut #p::Tags| { #(#tag_adds)* async move #body },
            ).await
        }
    } else {
        quote_spanned! {ret_span=>
            #cache.get_or_compute::<#ret, #shape, _>(
                &mut #key, #ttl, #unless,
                move |#tags: &mut #p::Tags| { #(#tag_adds)* move || -> #ret #body },
            )
        }
    };

    let attrs = &func.attrs;
    let vis = &func.vis;
    let sig = &func.sig;
    quote! {
        #(#attrs)*
        #vis #sig {
            let #ttl: #p::Option<#p::Duration> = #ttl_expr;
            #lookup
            #key_init
            #call
        }
    }
}

/// The names of `f`'s companions: `#[invalidates(f(args))]` calls the first, `#[invalidates(f)]`
/// the second. Kept in one place, as both sides must agree.
pub(crate) fn companion_names(ident: &syn::Ident) -> (syn::Ident, syn::Ident) {
    (
        format_ident!("__cached_entry_{}", ident, span = ident.span()),
        format_ident!("__cached_all_{}", ident, span = ident.span()),
    )
}

// Input:
//     #[cache(key = (self.tenant, id))]
//     pub async fn profile(&self, id: u64, trace: &str) -> Result<Profile, Error> { BODY }
// Output (beside the function, in the same module or impl):
//     #[doc(hidden)]
//     pub fn __cached_entry_profile(&self, id: u64) -> Entry<Key, Profile> {
//         static SLOT: Slot = Slot::new();
//         let cache = SLOT.get::<Key, Profile>(ID, || CONFIG); // the function's own cache
//         let mut key = Key::new(); { let id = &id; key_part(&((self.tenant, id)), ..); }
//         Entry::new(cache, key, TTL) // TTL: the `ttl` argument, evaluated here

//     }
//     #[doc(hidden)]
//     pub fn __cached_all_profile() -> AllEntries { AllEntries::new(ID) }
/// The companions of a cached function: typed handles on its entries, taking the parameters
/// its key uses, with their declared types (and `&self` when the key uses `self`).
pub(crate) fn companions(
    settings: &Settings,
    func: &MaybeItemFn,
    vis: &syn::Visibility,
) -> TokenStream {
    let p = private();
    let cache = local("__cached_cache");
    let key = local("__cached_key");
    let (entry_name, all_name) = companion_names(&func.sig.ident);
    let (_, value, _) = value_type(settings, func);
    let (key_type, key_init) = key_init(settings, func, &key, &cache);
    let lookup = cache_lookup(settings, func, &cache, &key_type, &value);
    let id = function_id(func);
    let ttl = ttl_expr(settings);

    let used = settings
        .key
        .as_ref()
        .map(|expr| mentioned(expr.to_token_stream()));
    let receiver = match &used {
        Some(names) if names.contains("self") && func.has_receiver() => quote!(&self,),
        _ => quote!(),
    };
    // The parameters the key uses (every one that binds a name, without `key = ...`), with
    // their declared types: a pattern (`Path(id): Path<u32>`) stays a pattern.
    let is_used = |param: &crate::common::item_fn::Param<'_>| {
        let names = bindings(param.pat);
        !names.is_empty()
            && used
                .as_ref()
                .is_none_or(|used| names.iter().any(|name| used.contains(&name.to_string())))
    };
    let params = func.params().filter(is_used).map(|param| {
        let ty = param.ty;
        match param_ident(param.pat) {
            Some(ident) => quote!(#ident: #ty),
            None => {
                let pat = param.pat;
                quote!(#pat: #ty)
            }
        }
    });
    // The tags the companion can tell from its parameters: those that mention no other
    // parameter of the function (nor `self`, unless the companion takes it).
    let all_params: Vec<String> = func
        .params()
        .flat_map(|param| bindings(param.pat))
        .map(ToString::to_string)
        .collect();
    let has_self = !receiver.is_empty();
    let known: Vec<String> = func
        .params()
        .filter(is_used)
        .flat_map(|param| bindings(param.pat))
        .map(ToString::to_string)
        .collect();
    let tags = settings.tags.iter().filter(|tag| {
        let names = mentioned(tag.to_token_stream());
        names
            .iter()
            .all(|name| !all_params.contains(name) || known.contains(name))
            && (has_self || !names.contains("self"))
    });
    // Spanned on each tag: one that is not string-like is reported there.
    let tags = tags.map(|tag| quote_spanned!(tag.span()=> #p::tag_name(&(#tag))));
    let tags = quote!(#p::vec![#(#tags),*]);
    let generics = &func.sig.generics;
    let where_clause = &func.sig.generics.where_clause;
    if async_handles(settings, func) {
        // Handles whose operations are awaited: the store may be a remote one.
        return quote! {
            #[doc(hidden)]
            #[allow(non_snake_case, dead_code, unused_mut, unused_variables, clippy::all)]
            #vis fn #entry_name #generics (#receiver #(#params),*) -> #p::StoreEntry<#value>
            #where_clause
            {
                #lookup
                #key_init
                #p::StoreEntry::new(#cache, #key, #ttl, #tags)
            }

            #[doc(hidden)]
            #[allow(non_snake_case, dead_code, unused_mut, unused_variables, clippy::all)]
            #vis fn #all_name #generics () -> #p::StoreEntries #where_clause {
                #lookup
                #p::StoreEntries::new(#cache)
            }
        };
    }
    quote! {
        #[doc(hidden)]
        #[allow(non_snake_case, dead_code, unused_mut, unused_variables, clippy::all)]
        #vis fn #entry_name #generics (#receiver #(#params),*) -> #p::Entry<#key_type, #value>
        #where_clause
        {
            #lookup
            #key_init
            #p::Entry::new(#cache, #key, #ttl, #tags)
        }

        #[doc(hidden)]
        #[allow(non_snake_case, dead_code, unused_mut, unused_variables, clippy::all)]
        #vis fn #all_name() -> #p::AllEntries {
            #p::AllEntries::new(#id)
        }
    }
}

/// The parameter that is the whole key when it is one word: the default key of a function
/// with a single parameter of a primitive integer type, `bool` or `char`. Such a key is
/// stored and compared as that word rather than as encoded bytes: the common "by id" cache
/// then costs little more than a map lookup.
fn word_key_param<'a>(
    settings: &Settings,
    func: &'a MaybeItemFn,
) -> Option<(&'a syn::Ident, &'a syn::Type)> {
    const WORDS: [&str; 12] = [
        "u8", "u16", "u32", "u64", "usize", "i8", "i16", "i32", "i64", "isize", "bool", "char",
    ];
    if settings.key.is_some() || settings.store.is_some() {
        return None;
    }
    let mut params = func.params();
    let param = params.next()?;
    if params.next().is_some() {
        return None;
    }
    let syn::Type::Path(path) = param.ty else {
        return None;
    };
    let word = path.qself.is_none()
        && path.path.leading_colon.is_none()
        && path.path.segments.len() == 1
        && path
            .path
            .segments
            .iter()
            .all(|s| s.arguments.is_none() && WORDS.contains(&s.ident.to_string().as_str()));
    Some((param_ident(param.pat)?, param.ty)).filter(|_| word)
}

/// The block that writes the key's parts into `out`, a `Key` built in place.
fn key_expr(settings: &Settings, func: &MaybeItemFn, out: &syn::Ident) -> TokenStream {
    let p = private();
    let parts = match &settings.key {
        Some(expr) => {
            // Each mentioned parameter becomes a reference, so the expression cannot move it.
            let names = mentioned(expr.to_token_stream());
            let shadows = func
                .params()
                .flat_map(|param| bindings(param.pat))
                .filter(|ident| names.contains(&ident.to_string()))
                .map(|ident| quote!(#[allow(unused_variables)] let #ident = &#ident;));
            quote_spanned! {expr.span()=>
                #(#shadows)*
                #p::key_part(&(#expr), #out.encoder());
            }
        }
        None => func
            .params()
            .flat_map(|param| {
                bindings(param.pat)
                    .into_iter()
                    .map(move |ident| (param, ident))
            })
            .map(|(param, ident)| {
                // Spanned on the parameter: a type that is not a key is reported there.
                let span = param.ty.span();
                quote_spanned!(span=> #p::key_part(&#ident, #out.encoder());)
            })
            .collect(),
    };
    quote! {{ #parts }}
}

/// The cache's settings, built once when the cache is created.
fn config(settings: &Settings, func: &MaybeItemFn) -> TokenStream {
    let p = private();
    let ident = &func.sig.ident;
    let name = match &settings.name {
        Some(name) => name.to_token_stream(),
        None if func.has_receiver() => {
            quote!(#p::method_name(#p::type_name::<Self>(), #p::stringify!(#ident)))
        }
        None => quote!(#p::concat!(#p::module_path!(), "::", #p::stringify!(#ident))),
    };
    let capacity = match &settings.capacity {
        Some(capacity) => quote!(#p::capacity(#capacity)),
        None => quote!(#p::capacity(#p::DEFAULT_CAPACITY)),
    };
    quote!(#p::Config { name: #name, capacity: #capacity })
}

/// A string unique to this function in the program.
fn function_id(func: &MaybeItemFn) -> TokenStream {
    let p = private();
    let ident = &func.sig.ident;
    quote_spanned! {ident.span()=>
        #p::concat!(
            #p::module_path!(), "::", #p::stringify!(#ident),
            "@", #p::file!(), ":", #p::line!(), ":", #p::column!()
        )
    }
}
