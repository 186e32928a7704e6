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
    match ty {
        Ty::Bool => quote!(bool),
        Ty::I8 => quote!(i8),
        Ty::I16 => quote!(i16),
        Ty::I32 => quote!(i32),
        Ty::I64 => quote!(i64),
        Ty::Double if key => quote!(::tonic_thrift::codegen::OrderedFloat<f64>),
        Ty::Double => quote!(f64),
        Ty::String => quote!(::tonic_thrift::codegen::FastStr),
        Ty::Binary => quote!(::tonic_thrift::codegen::Bytes),
        Ty::List(e) => {
            let e = rust_type(p, from, e, key);
            quote!(::std::vec::Vec<#e>)
        }
        Ty::Set(e) => {
            let e = rust_type(p, from, e, true);
            quote!(::tonic_thrift::codegen::HashSet<#e>)
        }
        Ty::Map(k, v) => {
            let k = rust_type(p, from, k, true);
            let v = rust_type(p, from, v, false);
            quote!(::tonic_thrift::codegen::HashMap<#k, #v>)
        }
        Ty::Def(id) => {
            if key {
                if let Definition::Typedef(_) = p.def(*id) {
                    let under = p.underlying(ty);
                    if contains_double(p, &under) {
                        return rust_type(p, from, &under, true);
                    }
                }
            }
            def_path(p, from, *id)
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
    let name = names::type_ident(&crate::resolve::def_name(p.def(id)).name);
    if id.file == from {
        quote!(#name)
    } else {
        let m = names::ident(&p.modules[id.file]);
        quote!(super::#m::#name)
    }
}
