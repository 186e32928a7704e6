//! Constant values → Rust expressions, and `const` definitions → items.

use proc_macro2::{Literal, TokenStream};
use quote::{quote, ToTokens};

use crate::ast::{self, ConstKind, Definition};
use crate::gen::{doc_attrs, names, rust_type::rust_type};
use crate::resolve::{DefId, Program, Ty};

/// The value of each enum variant, implicit values counted on from the last
/// explicit one.
pub(crate) fn enum_values(e: &ast::Enum) -> Vec<i64> {
    let mut next = 0i64;
    e.variants
        .iter()
        .map(|v| {
            let value = v.value.map_or(next, |(n, _)| n);
            next = value.saturating_add(1);
            value
        })
        .collect()
}

/// A Rust expression of type `rust_type(ty, key)` for a checked constant
/// value written in `file`, usable in a non-const context (Default impls,
/// `LazyLock` initialisers), emitted into the module of file `emit.0` or a
/// module `emit.1` levels below it (a service module); `key` asks for the
/// key form (see [`crate::gen::rust_type::rust_type`]).
pub(crate) fn value_expr_at(
    p: &Program,
    file: usize,
    emit: (usize, usize),
    ty: &Ty,
    v: &ast::ConstValue,
    key: bool,
) -> TokenStream {
    value_expr_in(p, file, emit, ty, v, 0, key)
}

/// `file` is where the value was written (for name lookups); `module` is the
/// module the expression is emitted into (for paths) and how far below it.
fn value_expr_in(
    p: &Program,
    file: usize,
    module: (usize, usize),
    ty: &Ty,
    v: &ast::ConstValue,
    depth: usize,
    key: bool,
) -> TokenStream {
    if depth > 32 {
        return quote!(::core::default::Default::default());
    }
    if let ConstKind::Ident(name) = &v.kind {
        if let Some((cid, c)) = p.lookup_const(file, name) {
            return value_expr_in(p, cid.file, module, ty, &c.value, depth + 1, key);
        }
    }
    let under = p.underlying(ty);
    match (&under, &v.kind) {
        (Ty::Bool, ConstKind::Ident(i)) => {
            if i == "true" {
                quote!(true)
            } else {
                quote!(false)
            }
        }
        (Ty::Bool, ConstKind::Int(n)) => {
            if *n != 0 {
                quote!(true)
            } else {
                quote!(false)
            }
        }
        (Ty::I8 | Ty::I16 | Ty::I32 | Ty::I64, ConstKind::Ident(i)) => {
            match crate::check::enum_value_of(p, file, i) {
                Some(n) => {
                    let n = ast::ConstValue {
                        kind: ConstKind::Int(n),
                        span: v.span,
                    };
                    value_expr_in(p, file, module, &under, &n, depth + 1, key)
                }
                None => quote!(::core::default::Default::default()),
            }
        }
        (Ty::Uuid, ConstKind::String(s)) => {
            let bytes = crate::check::uuid_bytes(s).unwrap_or_default();
            quote!(::tonic_thrift::Uuid::from_bytes([#(#bytes),*]))
        }
        (Ty::Double, ConstKind::Int(_) | ConstKind::Double(_)) if key => {
            let e = value_expr_in(p, file, module, &under, v, depth + 1, false);
            quote!(::tonic_thrift::OrderedFloat(#e))
        }
        (Ty::I8, ConstKind::Int(n)) => Literal::i8_suffixed(*n as i8).into_token_stream(),
        (Ty::I16, ConstKind::Int(n)) => Literal::i16_suffixed(*n as i16).into_token_stream(),
        (Ty::I32, ConstKind::Int(n)) => Literal::i32_suffixed(*n as i32).into_token_stream(),
        (Ty::I64, ConstKind::Int(n)) => Literal::i64_suffixed(*n).into_token_stream(),
        (Ty::Double, ConstKind::Int(n)) => Literal::f64_suffixed(*n as f64).into_token_stream(),
        (Ty::Double, ConstKind::Double(d)) => float(*d),
        (Ty::String, ConstKind::String(s)) => {
            quote!(::tonic_thrift::FastStr::from_static_str(#s))
        }
        (Ty::Binary, ConstKind::String(s)) => {
            let b = Literal::byte_string(s.as_bytes());
            quote!(::tonic_thrift::Bytes::from_static(#b))
        }
        (Ty::List(e), ConstKind::List(items)) => {
            let items = items
                .iter()
                .map(|i| value_expr_in(p, file, module, e, i, depth + 1, key));
            quote!(::std::vec![#(#items),*])
        }
        (Ty::Set(e), ConstKind::List(items)) => {
            let items = items
                .iter()
                .map(|i| value_expr_in(p, file, module, e, i, depth + 1, true));
            quote!(::core::iter::IntoIterator::into_iter([#(#items),*]).collect())
        }
        (Ty::Map(kt, vt), ConstKind::Map(entries)) => {
            let entries = entries.iter().map(|(k, val)| {
                let k = value_expr_in(p, file, module, kt, k, depth + 1, true);
                let val = value_expr_in(p, file, module, vt, val, depth + 1, key);
                quote!((#k, #val))
            });
            quote!(::core::iter::IntoIterator::into_iter([#(#entries),*]).collect())
        }
        (Ty::Def(id), _) => match p.def(*id) {
            Definition::Enum(e) => {
                let path = crate::gen::rust_type::def_path_up(p, module.0, *id, module.1);
                let idx = match &v.kind {
                    ConstKind::Ident(i) => p.enum_value(*id, i),
                    ConstKind::Int(n) => enum_values(e).iter().position(|x| x == n),
                    _ => None,
                };
                match idx {
                    Some(i) => {
                        let var = crate::gen::types::variant_ident(e, i);
                        quote!(#path::#var)
                    }
                    None => quote!(::core::default::Default::default()),
                }
            }
            Definition::Struct(s) => {
                let path = crate::gen::rust_type::def_path_up(p, module.0, *id, module.1);
                let fields = names::field_idents(s.fields.iter().map(|f| f.name.name.as_str()));
                let key = crate::gen::rust_type::in_key_position(p, *id);
                let ConstKind::Map(entries) = &v.kind else {
                    return quote!(::core::default::Default::default());
                };
                let inits = entries.iter().filter_map(|(k, val)| {
                    let ConstKind::String(fname) = &k.kind else {
                        return None;
                    };
                    let at = s.fields.iter().position(|f| &f.name.name == fname)?;
                    let f = &s.fields[at];
                    let fty = p.resolve_type(id.file, &f.ty).ok()?;
                    let fid = &fields[at];
                    let mut e = value_expr_in(p, file, module, &fty, val, depth + 1, key);
                    if crate::gen::types::is_boxed(p, *id, &fty) {
                        e = quote!(::std::boxed::Box::new(#e));
                    }
                    Some(if f.requiredness == ast::Requiredness::Optional {
                        quote!(#fid: ::core::option::Option::Some(#e))
                    } else {
                        quote!(#fid: #e)
                    })
                });
                let inits: Vec<TokenStream> = inits.collect();
                // Every field given: no `..Default::default()` (clippy's
                // needless_update).
                if inits.len() == s.fields.len() {
                    quote!(#path { #(#inits,)* })
                } else {
                    quote!(#path { #(#inits,)* ..::core::default::Default::default() })
                }
            }
            _ => quote!(::core::default::Default::default()),
        },
        _ => quote!(::core::default::Default::default()),
    }
}

fn float(d: f64) -> TokenStream {
    if d.is_finite() {
        Literal::f64_suffixed(d).into_token_stream()
    } else if d.is_nan() {
        quote!(f64::NAN)
    } else if d > 0.0 {
        quote!(f64::INFINITY)
    } else {
        quote!(f64::NEG_INFINITY)
    }
}

/// The item for one `const` definition: a `const` for scalars, strings and
/// enums, a `LazyLock` static for containers and structs.
pub(crate) fn const_item(p: &Program, id: DefId, c: &ast::Const) -> TokenStream {
    let file = id.file;
    let Ok(ty) = p.resolve_type(file, &c.ty) else {
        return TokenStream::new();
    };
    let name = names::ident(&p.names[file].defs[id.def]);
    let doc = doc_attrs(c.doc.as_deref());
    let under = p.underlying(&ty);
    // Follow references to other constants to the literal.
    let mut value = &c.value;
    let mut value_file = file;
    for _ in 0..32 {
        match &value.kind {
            ConstKind::Ident(n) => match p.lookup_const(value_file, n) {
                Some((cid, other)) => {
                    value = &other.value;
                    value_file = cid.file;
                }
                None => break,
            },
            _ => break,
        }
    }
    match (&under, &value.kind) {
        (Ty::String, ConstKind::String(s)) => quote! {
            #doc
            pub const #name: &str = #s;
        },
        (Ty::Binary, ConstKind::String(s)) => {
            let b = Literal::byte_string(s.as_bytes());
            quote! {
                #doc
                pub const #name: &[u8] = #b;
            }
        }
        (Ty::Bool | Ty::I8 | Ty::I16 | Ty::I32 | Ty::I64 | Ty::Double | Ty::Uuid, _) => {
            let t = rust_type(p, file, &under, false);
            let e = value_expr_in(p, value_file, (file, 0), &ty, value, 0, false);
            quote! {
                #doc
                pub const #name: #t = #e;
            }
        }
        (Ty::Def(id), _) if matches!(p.def(*id), Definition::Enum(_)) => {
            let t = rust_type(p, file, &ty, false);
            let e = value_expr_in(p, value_file, (file, 0), &ty, value, 0, false);
            quote! {
                #doc
                pub const #name: #t = #e;
            }
        }
        _ => {
            let t = rust_type(p, file, &ty, false);
            let e = value_expr_in(p, value_file, (file, 0), &ty, value, 0, false);
            quote! {
                #doc
                pub static #name: ::std::sync::LazyLock<#t> =
                    ::std::sync::LazyLock::new(|| #e);
            }
        }
    }
}
