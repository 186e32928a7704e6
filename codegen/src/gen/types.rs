//! Structs, unions, exceptions, enums and typedefs → Rust items with their
//! Thrift Binary encoding (`pilota::thrift::Message` + `ThriftValue`).

use std::collections::HashSet;

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use crate::ast::{self, Definition, Requiredness, StructKind};
use crate::gen::consts::{enum_values, value_expr_at};
use crate::gen::rust_type::{in_key_position, rust_type, rust_type_up};
use crate::gen::{doc_attrs, names};
use crate::resolve::{DefId, Program, Ty};

/// One field as the generator sees it.
#[derive(Clone)]
pub(crate) struct FieldSpec {
    /// Field id on the wire.
    pub(crate) id: i16,
    /// IDL name (for error messages).
    pub(crate) wire_name: String,
    /// Rust field name.
    pub(crate) ident: Ident,
    /// Rust type of the value (boxed when recursive), without `Option`.
    pub(crate) ty: TokenStream,
    /// `optional`: the Rust field is `Option<ty>`.
    pub(crate) optional: bool,
    /// `required`: decoding fails when absent.
    pub(crate) required: bool,
    /// Expression for the default value, if the IDL gives one.
    pub(crate) default: Option<TokenStream>,
    /// The default is a plain value (a number, `bool` or enum value), so
    /// decoding takes it with `unwrap_or` rather than a closure.
    pub(crate) cheap_default: bool,
    /// Doc attributes.
    pub(crate) doc: TokenStream,
}

/// Field specs of a struct-like (or argument list) defined in `file`.
pub(crate) fn field_specs(
    p: &Program,
    file: usize,
    owner: Option<DefId>,
    fields: &[ast::Field],
) -> Vec<FieldSpec> {
    field_specs_at(p, file, (file, 0), owner, fields)
}

/// Field specs of fields written in `file`, for code emitted in module
/// `emit.0` nested `emit.1` levels down.
pub(crate) fn field_specs_at(
    p: &Program,
    file: usize,
    emit: (usize, usize),
    owner: Option<DefId>,
    fields: &[ast::Field],
) -> Vec<FieldSpec> {
    let idents = names::field_idents(fields.iter().map(|f| f.name.name.as_str()));
    let key = owner.is_some_and(|o| in_key_position(p, o));
    fields
        .iter()
        .zip(idents)
        .filter_map(|(f, ident)| {
            let ty = p.resolve_type(file, &f.ty).ok()?;
            let mut rt = rust_type_up(p, emit.0, &ty, key, emit.1);
            let boxed = owner.is_some_and(|o| is_boxed(p, o, &ty));
            let mut default = f
                .default
                .as_ref()
                .map(|v| value_expr_at(p, file, emit, &ty, v, key));
            if boxed {
                rt = quote!(::std::boxed::Box<#rt>);
                default = default.map(|d| quote!(::std::boxed::Box::new(#d)));
            }
            let cheap_default = !boxed
                && match p.underlying(&ty) {
                    Ty::Bool | Ty::I8 | Ty::I16 | Ty::I32 | Ty::I64 | Ty::Double => true,
                    Ty::Def(id) => matches!(p.def(id), Definition::Enum(_)),
                    _ => false,
                };
            Some(FieldSpec {
                cheap_default,
                id: f.id.map_or(0, |(id, _)| id as i16),
                wire_name: f.name.name.clone(),
                ident,
                ty: rt,
                optional: f.requiredness == Requiredness::Optional,
                required: f.requiredness == Requiredness::Required,
                default,
                doc: doc_attrs(f.doc.as_deref()),
            })
        })
        .collect()
}

/// True when a field of type `ty` inside `owner` must be boxed: the field's
/// struct reaches `owner` again through fields that are not containers.
pub(crate) fn is_boxed(p: &Program, owner: DefId, ty: &Ty) -> bool {
    let Some((target, _)) = p.as_struct(ty) else {
        return false;
    };
    let mut seen = HashSet::new();
    let mut stack = vec![target];
    while let Some(cur) = stack.pop() {
        if cur == owner {
            return true;
        }
        if !seen.insert(cur) {
            continue;
        }
        if let Definition::Struct(s) = p.def(cur) {
            for f in &s.fields {
                if let Ok(ft) = p.resolve_type(cur.file, &f.ty) {
                    if let Some((next, _)) = p.as_struct(&ft) {
                        stack.push(next);
                    }
                }
            }
        }
    }
    false
}

/// Whether values of the struct-like `id` can derive `Eq` and `Hash`.
fn hashable_def(p: &Program, id: DefId, seen: &mut HashSet<DefId>) -> bool {
    if !seen.insert(id) {
        return true;
    }
    match p.def(id) {
        Definition::Struct(_) if in_key_position(p, id) => true,
        Definition::Struct(s) => s.fields.iter().all(|f| {
            p.resolve_type(id.file, &f.ty)
                .map(|t| hashable(p, &t, seen))
                .unwrap_or(false)
        }),
        Definition::Enum(_) => true,
        Definition::Typedef(_) => hashable(p, &p.underlying(&Ty::Def(id)), seen),
        _ => false,
    }
}

fn hashable(p: &Program, t: &Ty, seen: &mut HashSet<DefId>) -> bool {
    match p.underlying(t) {
        Ty::Double | Ty::Set(_) | Ty::Map(..) => false,
        Ty::List(e) => hashable(p, &e, seen),
        Ty::Def(id) => hashable_def(p, id, seen),
        _ => true,
    }
}

/// The traits a type derives (the list inside `#[derive(..)]`).
pub(crate) fn derives(hashable: bool) -> TokenStream {
    if hashable {
        quote!(Debug, Clone, PartialEq, Eq, Hash)
    } else {
        quote!(Debug, Clone, PartialEq)
    }
}

/// A struct or exception.
pub(crate) fn struct_item(p: &Program, id: DefId, s: &ast::StructLike) -> TokenStream {
    let specs = field_specs(p, id.file, Some(id), &s.fields);
    let name = names::ident(&p.names[id.file].defs[id.def]);
    let kind = if s.kind == StructKind::Exception {
        "exception"
    } else {
        "struct"
    };
    let doc = doc_or(
        s.doc.as_deref(),
        &format!("The Thrift {kind} `{}`.", s.name.name),
    );
    let derive = derives(hashable_def(p, id, &mut HashSet::new()));
    let body = plain_struct(&name, &s.name.name, &doc, &derive, &specs, Role::Value);
    let error_impls = if s.kind == StructKind::Exception {
        let display = format!("{} {{:?}}", s.name.name);
        quote! {
            impl ::core::fmt::Display for #name {
                fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    write!(f, #display, self)
                }
            }
            impl ::std::error::Error for #name {}
        }
    } else {
        TokenStream::new()
    };
    quote!(#body #error_impls)
}

/// `doc` as doc attributes, else one line of `fallback`.
pub(crate) fn doc_or(doc: Option<&str>, fallback: &str) -> TokenStream {
    match doc {
        Some(d) => doc_attrs(Some(d)),
        None => {
            let text = format!(" {fallback}");
            quote!(#[doc = #text])
        }
    }
}

/// What a generated struct is for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// An IDL struct or exception: a value that can be a field.
    Value,
    /// A method's Args struct: only ever a whole message.
    Args,
}

/// An integer literal for a field id (unsuffixed; negative ids are legal).
pub(crate) fn id_lit(id: i16) -> TokenStream {
    let abs = proc_macro2::Literal::u16_unsuffixed(id.unsigned_abs());
    if id < 0 {
        quote!(-#abs)
    } else {
        quote!(#abs)
    }
}

/// The struct, its `Default`, and its encoding.
pub(crate) fn plain_struct(
    name: &Ident,
    wire_name: &str,
    doc: &TokenStream,
    derive: &TokenStream,
    specs: &[FieldSpec],
    role: Role,
) -> TokenStream {
    let fields = specs.iter().map(|f| {
        let FieldSpec { ident, ty, .. } = f;
        let doc = if f.doc.is_empty() {
            let text = format!(" `{}` (field {}).", f.wire_name, f.id);
            quote!(#[doc = #text])
        } else {
            f.doc.clone()
        };
        if f.optional {
            quote!(#doc pub #ident: ::core::option::Option<#ty>,)
        } else {
            quote!(#doc pub #ident: #ty,)
        }
    });
    // Derive `Default` unless the IDL gives a default value somewhere.
    let derive_default = specs.iter().all(|f| f.default.is_none());
    let default_impl = if derive_default {
        TokenStream::new()
    } else {
        let defaults = specs.iter().map(|f| {
            let ident = &f.ident;
            match (&f.default, f.optional) {
                (Some(d), true) => quote!(#ident: ::core::option::Option::Some(#d),),
                (Some(d), false) => quote!(#ident: #d,),
                (None, true) => quote!(#ident: ::core::option::Option::None,),
                (None, false) => quote!(#ident: ::core::default::Default::default(),),
            }
        });
        quote! {
            impl ::core::default::Default for #name {
                fn default() -> Self {
                    Self { #(#defaults)* }
                }
            }
        }
    };
    let derive = if derive_default {
        quote!(#[derive(#derive, Default)])
    } else {
        quote!(#[derive(#derive)])
    };
    let encoding = struct_encoding(name, wire_name, specs, role);
    quote! {
        #doc
        #derive
        pub struct #name {
            #(#fields)*
        }
        #default_impl
        #encoding
    }
}

/// The `Message` impl of a struct (and `ThriftStruct` for values).
fn struct_encoding(name: &Ident, wire_name: &str, specs: &[FieldSpec], role: Role) -> TokenStream {
    let writes: Vec<TokenStream> = specs
        .iter()
        .map(|f| {
            let (ident, id) = (&f.ident, id_lit(f.id));
            if f.optional {
                quote! {
                    if let Some(v) = &self.#ident {
                        write_field(p, #id, v)?;
                    }
                }
            } else {
                quote!(write_field(p, #id, &self.#ident)?;)
            }
        })
        .collect();
    let encode = match (specs, writes.as_slice()) {
        ([], _) => quote!(write_struct(p, #wire_name, |_| Ok(()))),
        ([f], _) if !f.optional => {
            let (ident, id) = (&f.ident, id_lit(f.id));
            quote!(write_struct(p, #wire_name, |p| write_field(p, #id, &self.#ident)))
        }
        _ => quote! {
            write_struct(p, #wire_name, |p| {
                #(#writes)*
                Ok(())
            })
        },
    };
    let lens = specs.iter().map(|f| {
        let (ident, id) = (&f.ident, id_lit(f.id));
        if f.optional {
            quote!(self.#ident.as_ref().map_or(0, |v| field_len(p, #id, v)))
        } else {
            quote!(field_len(p, #id, &self.#ident))
        }
    });
    let size = if specs.is_empty() {
        quote!(struct_len(p, #wire_name, |_| 0))
    } else {
        quote!(struct_len(p, #wire_name, |p| #(#lens)+*))
    };
    let decode = decode_body(wire_name, specs);
    message_impl(name, role == Role::Value, &encode, &decode, &size)
}

/// `Message` (and, for values, `ThriftStruct`) for `name`, inside a
/// `const _` block that glob-imports `tonic_thrift::codegen`: the bodies use
/// short names, and no IDL name can shadow them.
pub(crate) fn message_impl(
    name: &Ident,
    is_value: bool,
    encode: &TokenStream,
    decode: &TokenStream,
    size: &TokenStream,
) -> TokenStream {
    let path = names::local_path(name);
    let marker = if is_value {
        quote!(impl ThriftStruct for #path {})
    } else {
        TokenStream::new()
    };
    quote! {
        const _: () = {
            use ::tonic_thrift::codegen::*;
            #marker
            impl Message for #path {
                fn encode<P: TOutputProtocol>(&self, p: &mut P) -> Result<(), ThriftException> {
                    #encode
                }
                fn decode<P: TInputProtocol>(p: &mut P) -> Result<Self, ThriftException> {
                    #decode
                }
                // One shared async decoder for every type, boxed so that
                // recursive types get a future of finite size.
                #[allow(refining_impl_trait)]
                fn decode_async<P: TAsyncInputProtocol>(
                    p: &mut P,
                ) -> BoxFuture<'_, Result<Self, ThriftException>> {
                    decode_async_via_binary(p)
                }
                fn size<P: TLengthProtocol>(&self, p: &mut P) -> usize {
                    #size
                }
            }
        };
    }
}

fn decode_body(owner: &str, specs: &[FieldSpec]) -> TokenStream {
    // One local per field, named after it (`r#type` -> `f_type`).
    let local_names: Vec<Ident> = specs
        .iter()
        .map(|f| format_ident!("f_{}", f.ident.to_string().trim_start_matches("r#")))
        .collect();
    let arms = specs.iter().zip(&local_names).map(|(f, local)| {
        let (id, wire) = (id_lit(f.id), &f.wire_name);
        quote!(#id => read_into(p, ttype, &mut #local, #owner, #wire),)
    });
    let read = if specs.is_empty() {
        quote!(read_struct(p, |p, _, ttype| skip(p, ttype))?;)
    } else {
        quote! {
            #(let mut #local_names = None;)*
            read_struct(p, |p, id, ttype| match id {
                #(#arms)*
                _ => skip(p, ttype),
            })?;
        }
    };
    let build = specs.iter().zip(&local_names).map(|(f, local)| {
        let ident = &f.ident;
        let wire = &f.wire_name;
        if f.optional {
            quote!(#ident: #local,)
        } else if f.required {
            quote!(#ident: required(#local, #owner, #wire)?,)
        } else if let Some(d) = &f.default {
            if f.cheap_default {
                quote!(#ident: #local.unwrap_or(#d),)
            } else {
                quote!(#ident: #local.unwrap_or_else(|| #d),)
            }
        } else {
            quote!(#ident: #local.unwrap_or_default(),)
        }
    });
    quote! {
        #read
        Ok(Self { #(#build)* })
    }
}

/// A union: a Rust enum with one variant per field.
pub(crate) fn union_item(p: &Program, id: DefId, s: &ast::StructLike) -> TokenStream {
    let specs = field_specs(p, id.file, Some(id), &s.fields);
    let name = names::ident(&p.names[id.file].defs[id.def]);
    let wire_name = s.name.name.as_str();
    let doc = doc_or(
        s.doc.as_deref(),
        &format!("The Thrift union `{wire_name}`: exactly one of its fields."),
    );
    let derive = derives(hashable_def(p, id, &mut HashSet::new()));
    let variant_list = names::variant_idents(specs.iter().map(|f| f.wire_name.as_str()), &[]);
    let variants = specs.iter().zip(&variant_list).map(|(f, v)| {
        let ty = &f.ty;
        let doc = if f.doc.is_empty() {
            let text = format!(" `{}` (field {}).", f.wire_name, f.id);
            quote!(#[doc = #text])
        } else {
            f.doc.clone()
        };
        quote!(#doc #v(#ty),)
    });
    let encode = variant_specs(
        &specs,
        &variant_list,
        |v, id| quote!(Self::#v(v) => write_field(p, #id, v),),
    );
    let size = variant_specs(
        &specs,
        &variant_list,
        |v, id| quote!(Self::#v(v) => field_len(p, #id, v),),
    );
    let (encode, size) = if specs.is_empty() {
        (
            quote!(write_struct(p, #wire_name, |_| match *self {})),
            quote!(struct_len(p, #wire_name, |_| match *self {})),
        )
    } else {
        (
            quote!(write_struct(p, #wire_name, |p| match self { #(#encode)* })),
            quote!(struct_len(p, #wire_name, |p| match self { #(#size)* })),
        )
    };
    let decode = slot_decode(
        wire_name,
        &specs,
        &variant_list,
        quote!(slot.finish(#wire_name)),
    );
    let message = message_impl(&name, true, &encode, &decode, &size);
    let default = specs.first().zip(variant_list.first()).map(|(f, v)| {
        let d = f
            .default
            .clone()
            .unwrap_or_else(|| quote!(::core::default::Default::default()));
        quote! {
            /// The first variant, holding its default value.
            impl ::core::default::Default for #name {
                fn default() -> Self {
                    Self::#v(#d)
                }
            }
        }
    });
    quote! {
        #doc
        #[derive(#derive)]
        pub enum #name {
            #(#variants)*
        }
        #default
        #message
    }
}

/// One token stream per field, from its variant and id.
pub(crate) fn variant_specs(
    specs: &[FieldSpec],
    variants: &[Ident],
    each: impl Fn(&Ident, TokenStream) -> TokenStream,
) -> Vec<TokenStream> {
    specs
        .iter()
        .zip(variants)
        .map(|(f, v)| each(v, id_lit(f.id)))
        .collect()
}

/// The decoder of a union-like type (a union, or a method's Result enum):
/// each field becomes a variant in a `UnionSlot`; `finish` turns the slot
/// into the value.
pub(crate) fn slot_decode(
    owner: &str,
    specs: &[FieldSpec],
    variants: &[Ident],
    finish: TokenStream,
) -> TokenStream {
    let arms = specs.iter().zip(variants).map(|(f, v)| {
        let (id, wire) = (id_lit(f.id), &f.wire_name);
        quote!(#id => slot.read(p, ttype, Self::#v, #owner, #wire),)
    });
    quote! {
        let mut slot = UnionSlot::default();
        read_struct(p, |p, id, ttype| match id {
            #(#arms)*
            _ => skip(p, ttype),
        })?;
        #finish
    }
}

/// The identifiers of an enum's variants, and of its catch-all variant for
/// values the IDL does not name: `Unknown`, or `Unknown_` (…) when the IDL
/// has a value called that.
pub(crate) fn enum_variant_idents(e: &ast::Enum) -> (Vec<Ident>, Ident) {
    let mut all = names::variant_idents(
        e.variants
            .iter()
            .map(|v| v.name.name.as_str())
            .chain(["Unknown"]),
        &[],
    );
    let unknown = all.pop().unwrap_or_else(|| format_ident!("Unknown"));
    (all, unknown)
}

/// The identifier of enum variant `i`.
pub(crate) fn variant_ident(e: &ast::Enum, i: usize) -> Ident {
    enum_variant_idents(e).0.swap_remove(i)
}

/// An enum: a Rust enum with a catch-all variant for values this IDL does not know.
pub(crate) fn enum_item(p: &Program, id: DefId, e: &ast::Enum) -> TokenStream {
    let name = names::ident(&p.names[id.file].defs[id.def]);
    let doc = doc_or(
        e.doc.as_deref(),
        &format!("The Thrift enum `{}`.", e.name.name),
    );
    let values = enum_values(e);
    let (idents, unknown) = enum_variant_idents(e);
    // The default is the value 0, else the first.
    let default_idx = values.iter().position(|v| *v == 0).unwrap_or(0);
    let variants =
        e.variants
            .iter()
            .zip(&idents)
            .zip(&values)
            .enumerate()
            .map(|(i, ((v, ident), value))| {
                let doc = doc_or(v.doc.as_deref(), &format!("`{}` = {value}.", v.name.name));
                let default = (i == default_idx).then(|| quote!(#[default]));
                quote!(#doc #default #ident,)
            });
    let to_value = idents.iter().zip(&values).map(|(ident, v)| {
        let v = *v as i32;
        quote!(#name::#ident => #v,)
    });
    let mut seen = HashSet::new();
    let from_value = idents.iter().zip(&values).filter_map(|(ident, v)| {
        let v = *v as i32;
        seen.insert(v).then(|| quote!(#v => #name::#ident,))
    });
    // An enum without values defaults to `Unknown(0)`, which cannot be
    // `#[default]`.
    let (derive_default, default_impl) = if idents.is_empty() {
        let default = quote! {
            impl ::core::default::Default for #name {
                fn default() -> Self {
                    #name::#unknown(0)
                }
            }
        };
        (TokenStream::new(), default)
    } else {
        (quote!(, Default), TokenStream::new())
    };
    let display = format!("{}({{}})", e.name.name);
    let path = names::local_path(&name);
    quote! {
        #doc
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash #derive_default)]
        pub enum #name {
            #(#variants)*
            /// A value this IDL does not name (sent by a peer with a newer IDL).
            #unknown(i32),
        }
        impl #name {
            /// The value on the wire.
            pub const fn value(self) -> i32 {
                match self {
                    #(#to_value)*
                    #name::#unknown(v) => v,
                }
            }
            /// The variant for a wire value; values this IDL does not name are kept.
            pub const fn from_value(value: i32) -> Self {
                match value {
                    #(#from_value)*
                    other => #name::#unknown(other),
                }
            }
        }
        #default_impl
        impl ::core::convert::From<i32> for #name {
            fn from(value: i32) -> Self {
                Self::from_value(value)
            }
        }
        impl ::core::convert::From<#name> for i32 {
            fn from(value: #name) -> i32 {
                value.value()
            }
        }
        impl ::core::fmt::Display for #name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                match self {
                    #name::#unknown(v) => write!(f, #display, v),
                    other => ::core::fmt::Debug::fmt(other, f),
                }
            }
        }
        const _: () = {
            use ::tonic_thrift::codegen::*;
            impl ThriftValue for #path {
                const TTYPE: TType = TType::I32;
                #[inline]
                fn encode_value<P: TOutputProtocol>(&self, p: &mut P) -> Result<(), ThriftException> {
                    p.write_i32(self.value())
                }
                #[inline]
                fn decode_value<P: TInputProtocol>(p: &mut P) -> Result<Self, ThriftException> {
                    p.read_i32().map(Self::from_value)
                }
                #[inline]
                async fn decode_value_async<P: TAsyncInputProtocol>(
                    p: &mut P,
                ) -> Result<Self, ThriftException> {
                    p.read_i32().await.map(Self::from_value)
                }
                #[inline]
                fn value_len<P: TLengthProtocol>(&self, p: &mut P) -> usize {
                    p.i32_len(self.value())
                }
            }
        };
    }
}

/// `typedef T Name` → `pub type Name = T;`.
pub(crate) fn typedef_item(p: &Program, id: DefId, t: &ast::Typedef) -> TokenStream {
    let file = id.file;
    let Ok(ty) = p.resolve_type(file, &t.ty) else {
        return TokenStream::new();
    };
    let name = names::ident(&p.names[file].defs[id.def]);
    let rt = rust_type(p, file, &ty, false);
    let doc = doc_or(
        t.doc.as_deref(),
        &format!("The Thrift typedef `{}`.", t.name.name),
    );
    quote! {
        #doc
        pub type #name = #rt;
    }
}
