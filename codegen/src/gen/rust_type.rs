//! Thrift types → Rust type paths.

use proc_macro2::TokenStream;
use quote::quote;

use crate::ast::Definition;
use crate::gen::names;
use crate::resolve::{DefId, Program, Ty};

/// The Rust type of `ty` as seen from module `from`.
///
/// `key` is true in hash-key position (set elements, map keys, and the
/// fields of a struct that appears in one: see [`in_key_position`]), where
/// `double` becomes `OrderedFloat<f64>`, `set` `HashableSet` and `map`
/// `HashableMap`, so that the value can be hashed.
pub(crate) fn rust_type(p: &Program, from: usize, ty: &Ty, key: bool) -> TokenStream {
    rust_type_up(p, from, ty, key, 0)
}

/// Like [`rust_type`], for code in a module nested `up` levels below the
/// file's module (service modules are nested one level).
pub(crate) fn rust_type_up(p: &Program, from: usize, ty: &Ty, key: bool, up: usize) -> TokenStream {
    match ty {
        Ty::Bool => quote!(bool),
        Ty::I8 => quote!(i8),
        Ty::I16 => quote!(i16),
        Ty::I32 => quote!(i32),
        Ty::I64 => quote!(i64),
        Ty::Double if key => quote!(::tonic_thrift::OrderedFloat<f64>),
        Ty::Double => quote!(f64),
        Ty::String => quote!(::tonic_thrift::FastStr),
        Ty::Binary => quote!(::tonic_thrift::Bytes),
        Ty::Uuid => quote!(::tonic_thrift::Uuid),
        Ty::List(e) => {
            let e = rust_type_up(p, from, e, key, up);
            quote!(::std::vec::Vec<#e>)
        }
        Ty::Set(e) => {
            let e = rust_type_up(p, from, e, true, up);
            if key {
                quote!(::tonic_thrift::HashableSet<#e>)
            } else {
                quote!(::std::collections::HashSet<#e>)
            }
        }
        Ty::Map(k, v) => {
            let k = rust_type_up(p, from, k, true, up);
            let v = rust_type_up(p, from, v, key, up);
            if key {
                quote!(::tonic_thrift::HashableMap<#k, #v>)
            } else {
                quote!(::std::collections::HashMap<#k, #v>)
            }
        }
        Ty::Def(id) => {
            if key {
                if let Definition::Typedef(_) = p.def(*id) {
                    let under = p.underlying(ty);
                    if needs_key_form(p, &under) {
                        return rust_type_up(p, from, &under, true, up);
                    }
                }
            }
            def_path_up(p, from, *id, up)
        }
    }
}

/// Whether `t` is written differently in key position (it holds a double,
/// a set or a map outside any struct).
fn needs_key_form(p: &Program, t: &Ty) -> bool {
    match p.underlying(t) {
        Ty::Double | Ty::Set(_) | Ty::Map(..) => true,
        Ty::List(e) => needs_key_form(p, &e),
        _ => false,
    }
}

/// Whether the struct-like `target` is a set element or map key somewhere
/// in the program, or is reached from one through fields: then its fields
/// take their key form and it derives `Hash` (`set<Insanity>` where
/// `Insanity` holds a map).
pub(crate) fn in_key_position(p: &Program, target: DefId) -> bool {
    let mut roots = Vec::new();
    for (fi, f) in p.files.iter().enumerate() {
        for d in &f.doc.definitions {
            let mut written: Vec<&crate::ast::Type> = Vec::new();
            match d {
                Definition::Struct(s) => written.extend(s.fields.iter().map(|f| &f.ty)),
                Definition::Typedef(t) => written.push(&t.ty),
                Definition::Const(c) => written.push(&c.ty),
                Definition::Service(s) => {
                    for func in &s.functions {
                        written.extend(func.result.iter());
                        written.extend(func.args.iter().map(|a| &a.ty));
                        written.extend(func.throws.iter().map(|a| &a.ty));
                    }
                }
                Definition::Enum(_) => {}
            }
            for w in written {
                if let Ok(t) = p.resolve_type(fi, w) {
                    key_roots(p, &t, false, &mut roots);
                }
            }
        }
    }
    // Everything reachable from a key root through fields.
    let mut seen = std::collections::HashSet::new();
    while let Some(id) = roots.pop() {
        if id == target {
            return true;
        }
        if !seen.insert(id) {
            continue;
        }
        if let Definition::Struct(s) = p.def(id) {
            for f in &s.fields {
                if let Ok(t) = p.resolve_type(id.file, &f.ty) {
                    key_roots(p, &t, true, &mut roots);
                }
            }
        }
    }
    false
}

/// The struct-likes that `t` holds in key position (`key`: `t` itself is in one).
fn key_roots(p: &Program, t: &Ty, key: bool, out: &mut Vec<DefId>) {
    match p.underlying(t) {
        Ty::List(e) => key_roots(p, &e, key, out),
        Ty::Set(e) => key_roots(p, &e, true, out),
        Ty::Map(k, v) => {
            key_roots(p, &k, true, out);
            key_roots(p, &v, key, out);
        }
        Ty::Def(id) if key && matches!(p.def(id), Definition::Struct(_)) => out.push(id),
        _ => {}
    }
}

/// The path of a definition from module `from`, or from a module nested `up`
/// levels below it: `Name` (`self::Name`, see [`names::local_path`]),
/// `super::Name` or `super::module::Name`.
pub(crate) fn def_path_up(p: &Program, from: usize, id: DefId, up: usize) -> TokenStream {
    let name = names::ident(&p.names[id.file].defs[id.def]);
    let supers = (0..up).map(|_| quote!(super::));
    if id.file == from && up == 0 {
        names::local_path(&name)
    } else if id.file == from {
        quote!(#(#supers)* #name)
    } else {
        let m = names::ident(&p.modules[id.file]);
        quote!(#(#supers)* super::#m::#name)
    }
}
