//! Thrift types → Rust type paths.

use proc_macro2::TokenStream;
use quote::quote;

use crate::ast::Definition;
use crate::gen::names;
use crate::resolve::{DefId, Program, Ty};

/// The Rust type of `ty` as seen from module `from`.
///
/// `key` is true in hash-key position (set elements, map keys), where
/// `double` becomes `OrderedFloat<f64>` so it can be hashed.
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
            quote!(::std::collections::HashSet<#e>)
        }
        Ty::Map(k, v) => {
            let k = rust_type_up(p, from, k, true, up);
            let v = rust_type_up(p, from, v, false, up);
            quote!(::std::collections::HashMap<#k, #v>)
        }
        Ty::Def(id) => {
            if key {
                if let Definition::Typedef(_) = p.def(*id) {
                    let under = p.underlying(ty);
                    if contains_double(p, &under) {
                        return rust_type_up(p, from, &under, true, up);
                    }
                }
            }
            def_path_up(p, from, *id, up)
        }
    }
}

fn contains_double(p: &Program, t: &Ty) -> bool {
    match p.underlying(t) {
        Ty::Double => true,
        Ty::List(e) => contains_double(p, &e),
        _ => false,
    }
}

/// The path of a definition from module `from`: `Name` or `super::module::Name`.
pub(crate) fn def_path(p: &Program, from: usize, id: DefId) -> TokenStream {
    def_path_up(p, from, id, 0)
}

/// Like [`def_path`], from a module nested `up` levels below the file's module.
pub(crate) fn def_path_up(p: &Program, from: usize, id: DefId, up: usize) -> TokenStream {
    let name = names::type_ident(&crate::resolve::def_name(p.def(id)).name);
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
