//! Structs, unions, exceptions, enums and typedefs → Rust items with their
//! Thrift Binary encoding (`pilota::thrift::Message` + `ThriftValue`).

use std::collections::HashSet;

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use crate::ast::{self, Definition, Requiredness, StructKind};
use crate::gen::consts::{enum_values, value_expr};
use crate::gen::rust_type::{rust_type, rust_type_up};
use crate::gen::{doc_attrs, names};
use crate::resolve::{DefId, Program, Ty};

/// One field as the generator sees it.
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
    fields
        .iter()
        .filter_map(|f| {
            let ty = p.resolve_type(file, &f.ty).ok()?;
            let mut rt = rust_type_up(p, emit.0, &ty, false, emit.1);
            let boxed = owner.is_some_and(|o| is_boxed(p, o, &ty));
            let mut default = f.default.as_ref().map(|v| value_expr(p, file, &ty, v));
            if boxed {
                rt = quote!(::std::boxed::Box<#rt>);
                default = default.map(|d| quote!(::std::boxed::Box::new(#d)));
            }
            Some(FieldSpec {
                id: f.id.map_or(0, |(id, _)| id as i16),
                wire_name: f.name.name.clone(),
                ident: names::field_ident(&f.name.name),
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

fn derives(hashable: bool) -> TokenStream {
    if hashable {
        quote!(#[derive(Debug, Clone, PartialEq, Eq, Hash)])
    } else {
        quote!(#[derive(Debug, Clone, PartialEq)])
    }
}

/// A struct or exception (or any wrapper struct such as method arguments).
pub(crate) fn struct_item(p: &Program, id: DefId, s: &ast::StructLike) -> TokenStream {
    let specs = field_specs(p, id.file, Some(id), &s.fields);
    let name = names::type_ident(&s.name.name);
    let doc = doc_attrs(s.doc.as_deref());
    let derive = derives(hashable_def(p, id, &mut HashSet::new()));
    let body = plain_struct(&name, &s.name.name, &doc, &derive, &specs, true);
    let error_impls = if s.kind == StructKind::Exception {
        let wire = &s.name.name;
        quote! {
            impl ::core::fmt::Display for #name {
                fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    write!(f, "{} {:?}", #wire, self)
                }
            }
            impl ::std::error::Error for #name {}
        }
    } else {
        TokenStream::new()
    };
    quote!(#body #error_impls)
}

/// The struct, its `Default`, `Message` and `ThriftValue` impls.
pub(crate) fn plain_struct(
    name: &Ident,
    wire_name: &str,
    doc: &TokenStream,
    derive: &TokenStream,
    specs: &[FieldSpec],
    as_value: bool,
) -> TokenStream {
    let fields = specs.iter().map(|f| {
        let FieldSpec { ident, ty, doc, .. } = f;
        if f.optional {
            quote!(#doc pub #ident: ::core::option::Option<#ty>,)
        } else {
            quote!(#doc pub #ident: #ty,)
        }
    });
    let defaults = specs.iter().map(|f| {
        let ident = &f.ident;
        match (&f.default, f.optional) {
            (Some(d), true) => quote!(#ident: ::core::option::Option::Some(#d),),
            (Some(d), false) => quote!(#ident: #d,),
            (None, true) => quote!(#ident: ::core::option::Option::None,),
            (None, false) => quote!(#ident: ::core::default::Default::default(),),
        }
    });
    let encode = specs.iter().map(|f| {
        let (ident, id) = (&f.ident, f.id);
        if f.optional {
            quote! {
                if let ::core::option::Option::Some(v) = &self.#ident {
                    ::tonic_thrift::codegen::write_field(p, #id, v)?;
                }
            }
        } else {
            quote!(::tonic_thrift::codegen::write_field(p, #id, &self.#ident)?;)
        }
    });
    let size = specs.iter().map(|f| {
        let (ident, id) = (&f.ident, f.id);
        if f.optional {
            quote!(+ self.#ident.as_ref().map_or(0, |v| ::tonic_thrift::codegen::field_len(p, #id, v)))
        } else {
            quote!(+ ::tonic_thrift::codegen::field_len(p, #id, &self.#ident))
        }
    });
    let decode = decode_body(wire_name, specs);
    // Derive `Default` unless the IDL gives a default value somewhere.
    let derive_default = specs.iter().all(|f| f.default.is_none());
    let default_impl = if derive_default {
        TokenStream::new()
    } else {
        quote! {
            impl ::core::default::Default for #name {
                fn default() -> Self {
                    Self { #(#defaults)* }
                }
            }
        }
    };
    let default_derive = if derive_default {
        quote!(#[derive(Default)])
    } else {
        TokenStream::new()
    };
    let encode_body = quote! {
        p.write_struct_begin(&::tonic_thrift::codegen::TStructIdentifier { name: #wire_name })?;
        #(#encode)*
        p.write_field_stop()?;
        p.write_struct_end()
    };
    let size_body = quote! {
        p.struct_begin_len(&::tonic_thrift::codegen::TStructIdentifier { name: #wire_name })
            #(#size)*
            + p.field_stop_len()
            + p.struct_end_len()
    };
    let message = if as_value {
        message_impl(name, &encode_body, &decode, &size_body)
    } else {
        message_only_impl(name, &encode_body, &decode, &size_body)
    };
    quote! {
        #doc
        #derive
        #default_derive
        pub struct #name {
            #(#fields)*
        }
        #default_impl
        #message
    }
}

/// `Message` + `ThriftValue` impls from their bodies.
pub(crate) fn message_impl(
    name: &Ident,
    encode: &TokenStream,
    decode: &TokenStream,
    size: &TokenStream,
) -> TokenStream {
    let value = value_impl(name);
    let message = message_only_impl(name, encode, decode, size);
    quote!(#message #value)
}

/// `Message` alone: for wire wrappers (Args/Result), which are never fields.
pub(crate) fn message_only_impl(
    name: &Ident,
    encode: &TokenStream,
    decode: &TokenStream,
    size: &TokenStream,
) -> TokenStream {
    quote! {
        impl ::tonic_thrift::codegen::Message for #name {
            fn encode<P: ::tonic_thrift::codegen::TOutputProtocol>(
                &self,
                p: &mut P,
            ) -> ::core::result::Result<(), ::tonic_thrift::codegen::ThriftException> {
                #encode
            }
            fn decode<P: ::tonic_thrift::codegen::TInputProtocol>(
                p: &mut P,
            ) -> ::core::result::Result<Self, ::tonic_thrift::codegen::ThriftException> {
                #decode
            }
            // One shared async decoder for every type (see
            // `tonic_thrift::codec::decode_async_via_binary`); boxed, so
            // recursive types get a future of finite size.
            #[allow(refining_impl_trait)]
            fn decode_async<P: ::tonic_thrift::codegen::TAsyncInputProtocol>(
                p: &mut P,
            ) -> ::tonic_thrift::codegen::BoxFuture<'_, ::core::result::Result<Self, ::tonic_thrift::codegen::ThriftException>> {
                ::tonic_thrift::codegen::decode_async_via_binary(p)
            }
            fn size<P: ::tonic_thrift::codegen::TLengthProtocol>(&self, p: &mut P) -> usize {
                #size
            }
        }
    }
}

/// `ThriftValue` for a generated struct-like type, through its `Message` impl.
fn value_impl(name: &Ident) -> TokenStream {
    quote! {
        impl ::tonic_thrift::codegen::ThriftValue for #name {
            const TTYPE: ::tonic_thrift::codegen::TType = ::tonic_thrift::codegen::TType::Struct;
            #[inline]
            fn encode_value<P: ::tonic_thrift::codegen::TOutputProtocol>(
                &self,
                p: &mut P,
            ) -> ::core::result::Result<(), ::tonic_thrift::codegen::ThriftException> {
                ::tonic_thrift::codegen::Message::encode(self, p)
            }
            #[inline]
            fn decode_value<P: ::tonic_thrift::codegen::TInputProtocol>(
                p: &mut P,
            ) -> ::core::result::Result<Self, ::tonic_thrift::codegen::ThriftException> {
                <Self as ::tonic_thrift::codegen::Message>::decode(p)
            }
            #[inline]
            async fn decode_value_async<P: ::tonic_thrift::codegen::TAsyncInputProtocol>(
                p: &mut P,
            ) -> ::core::result::Result<Self, ::tonic_thrift::codegen::ThriftException> {
                <Self as ::tonic_thrift::codegen::Message>::decode_async(p).await
            }
            #[inline]
            fn value_len<P: ::tonic_thrift::codegen::TLengthProtocol>(&self, p: &mut P) -> usize {
                ::tonic_thrift::codegen::Message::size(self, p)
            }
        }
    }
}

/// The field loop shared by struct decoding: reads fields until STOP,
/// dispatching known ids with a matching type to `arms`, skipping the rest.
pub(crate) fn field_loop(arms: &[TokenStream]) -> TokenStream {
    let dispatch = if arms.is_empty() {
        quote!(p.skip(field.field_type) ?;)
    } else {
        quote! {
            match field.id {
                #(#arms)*
                _ => {
                    p.skip(field.field_type) ?;
                }
            }
        }
    };
    quote! {
        p.read_struct_begin()?;
        loop {
            let field = p.read_field_begin() ?;
            if field.field_type == ::tonic_thrift::codegen::TType::Stop {
                break;
            }
            #dispatch
            p.read_field_end() ?;
        }
        p.read_struct_end() ?;
    }
}

/// A match arm reading field `id` of Rust type `ty` into the expression `target`.
pub(crate) fn read_arm(
    id: i16,
    ty: &TokenStream,
    owner: &str,
    field: &str,
    store: impl FnOnce(TokenStream) -> TokenStream,
) -> TokenStream {
    let read = quote!(::tonic_thrift::codegen::read_field::<#ty, _>(p, #owner, #field)?);
    let store = store(read);
    quote! {
        ::core::option::Option::Some(#id)
            if field.field_type == <#ty as ::tonic_thrift::codegen::ThriftValue>::TTYPE =>
        {
            #store
        }
    }
}

fn decode_body(owner: &str, specs: &[FieldSpec]) -> TokenStream {
    // One local per field, named after it (`r#type` -> `f_type`).
    let local_names: Vec<Ident> = specs
        .iter()
        .map(|f| format_ident!("f_{}", f.ident.to_string().trim_start_matches("r#")))
        .collect();
    let locals = specs.iter().zip(&local_names).map(|(f, local)| {
        let ty = &f.ty;
        quote!(let mut #local: ::core::option::Option<#ty> = ::core::option::Option::None;)
    });
    let arms: Vec<TokenStream> = specs
        .iter()
        .zip(&local_names)
        .map(|(f, local)| {
            read_arm(
                f.id,
                &f.ty,
                owner,
                &f.wire_name,
                |read| quote!(#local = ::core::option::Option::Some(#read);),
            )
        })
        .collect();
    let field_loop = field_loop(&arms);
    let build = specs.iter().zip(&local_names).map(|(f, local)| {
        let ident = &f.ident;
        let wire = &f.wire_name;
        if f.optional {
            quote!(#ident: #local,)
        } else if f.required {
            quote!(#ident: #local.ok_or_else(|| ::tonic_thrift::codegen::missing_field(#owner, #wire))?,)
        } else if let Some(d) = &f.default {
            quote!(#ident: #local.unwrap_or_else(|| #d),)
        } else {
            quote!(#ident: #local.unwrap_or_default(),)
        }
    });
    quote! {
        #(#locals)*
        #field_loop
        ::core::result::Result::Ok(Self { #(#build)* })
    }
}

/// A union: a Rust enum with one variant per field.
pub(crate) fn union_item(p: &Program, id: DefId, s: &ast::StructLike) -> TokenStream {
    let specs = field_specs(p, id.file, Some(id), &s.fields);
    let name = names::type_ident(&s.name.name);
    let wire_name = s.name.name.as_str();
    let doc = doc_attrs(s.doc.as_deref());
    let derive = derives(hashable_def(p, id, &mut HashSet::new()));
    let variant = |f: &FieldSpec| names::ident(&names::camel(&f.wire_name));
    let variants = specs.iter().map(|f| {
        let (v, ty, doc) = (variant(f), &f.ty, &f.doc);
        quote!(#doc #v(#ty),)
    });
    let encode = specs.iter().map(|f| {
        let (v, id) = (variant(f), f.id);
        quote!(#name::#v(v) => ::tonic_thrift::codegen::write_field(p, #id, v)?,)
    });
    let size = specs.iter().map(|f| {
        let (v, id) = (variant(f), f.id);
        quote!(#name::#v(v) => ::tonic_thrift::codegen::field_len(p, #id, v),)
    });
    let decode = || {
        let arms: Vec<TokenStream> = specs
            .iter()
            .map(|f| {
                let v = variant(f);
                read_arm(f.id, &f.ty, wire_name, &f.wire_name, |read| {
                    quote! {
                        value = ::core::option::Option::Some(#name::#v(#read));
                        set += 1;
                    }
                })
            })
            .collect();
        let field_loop = field_loop(&arms);
        quote! {
            let mut value: ::core::option::Option<Self> = ::core::option::Option::None;
            let mut set = 0usize;
            #field_loop
            match value {
                ::core::option::Option::Some(v) if set == 1 => ::core::result::Result::Ok(v),
                _ => ::core::result::Result::Err(::tonic_thrift::codegen::bad_union(#wire_name, set)),
            }
        }
    };
    let decode_sync = decode();
    let encode_body = quote! {
        p.write_struct_begin(&::tonic_thrift::codegen::TStructIdentifier { name: #wire_name })?;
        match self {
            #(#encode)*
        }
        p.write_field_stop()?;
        p.write_struct_end()
    };
    let size_body = quote! {
        p.struct_begin_len(&::tonic_thrift::codegen::TStructIdentifier { name: #wire_name })
            + match self {
                #(#size)*
            }
            + p.field_stop_len()
            + p.struct_end_len()
    };
    let message = message_impl(&name, &encode_body, &decode_sync, &size_body);
    let default = specs.first().map(|f| {
        let v = variant(f);
        let d = f
            .default
            .clone()
            .unwrap_or_else(|| quote!(::core::default::Default::default()));
        quote! {
            /// The first variant, holding its default value.
            impl ::core::default::Default for #name {
                fn default() -> Self {
                    #name::#v(#d)
                }
            }
        }
    });
    quote! {
        #doc
        #derive
        pub enum #name {
            #(#variants)*
        }
        #default
        #message
    }
}

/// The identifier of enum variant `i`.
pub(crate) fn variant_ident(e: &ast::Enum, i: usize) -> Ident {
    names::ident(&names::camel(&e.variants[i].name.name))
}

/// An enum: a Rust enum with a catch-all variant for values this IDL does not know.
pub(crate) fn enum_item(e: &ast::Enum) -> TokenStream {
    let name = names::type_ident(&e.name.name);
    let doc = doc_attrs(e.doc.as_deref());
    let values = enum_values(e);
    let idents: Vec<Ident> = (0..e.variants.len()).map(|i| variant_ident(e, i)).collect();
    let unknown = if idents.iter().any(|i| i == "Unknown") {
        format_ident!("UnknownValue")
    } else {
        format_ident!("Unknown")
    };
    let variants = e.variants.iter().zip(&idents).map(|(v, ident)| {
        let doc = doc_attrs(v.doc.as_deref());
        quote!(#doc #ident,)
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
    let default_idx = values.iter().position(|v| *v == 0).unwrap_or(0);
    let default = match idents.get(default_idx) {
        Some(ident) => quote!(#name::#ident),
        None => quote!(#name::#unknown(0)),
    };
    let wire = e.name.name.as_str();
    quote! {
        #doc
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
        impl ::core::default::Default for #name {
            fn default() -> Self {
                #default
            }
        }
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
                    #name::#unknown(v) => write!(f, "{}({})", #wire, v),
                    other => ::core::fmt::Debug::fmt(other, f),
                }
            }
        }
        impl ::tonic_thrift::codegen::ThriftValue for #name {
            const TTYPE: ::tonic_thrift::codegen::TType = ::tonic_thrift::codegen::TType::I32;
            #[inline]
            fn encode_value<P: ::tonic_thrift::codegen::TOutputProtocol>(
                &self,
                p: &mut P,
            ) -> ::core::result::Result<(), ::tonic_thrift::codegen::ThriftException> {
                p.write_i32(self.value())
            }
            #[inline]
            fn decode_value<P: ::tonic_thrift::codegen::TInputProtocol>(
                p: &mut P,
            ) -> ::core::result::Result<Self, ::tonic_thrift::codegen::ThriftException> {
                p.read_i32().map(Self::from_value)
            }
            #[inline]
            async fn decode_value_async<P: ::tonic_thrift::codegen::TAsyncInputProtocol>(
                p: &mut P,
            ) -> ::core::result::Result<Self, ::tonic_thrift::codegen::ThriftException> {
                p.read_i32().await.map(Self::from_value)
            }
            #[inline]
            fn value_len<P: ::tonic_thrift::codegen::TLengthProtocol>(&self, p: &mut P) -> usize {
                p.i32_len(self.value())
            }
        }
    }
}

/// `typedef T Name` → `pub type Name = T;`.
pub(crate) fn typedef_item(p: &Program, file: usize, t: &ast::Typedef) -> TokenStream {
    let Ok(ty) = p.resolve_type(file, &t.ty) else {
        return TokenStream::new();
    };
    let name = names::type_ident(&t.name.name);
    let rt = rust_type(p, file, &ty, false);
    let doc = doc_attrs(t.doc.as_deref());
    quote! {
        #doc
        pub type #name = #rt;
    }
}
