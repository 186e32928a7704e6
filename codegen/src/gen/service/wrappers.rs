//! The per-method types of a service: `{Method}Args` for methods whose
//! arguments are not one plain value, and, for methods with `throws`, the
//! `{Method}Result` wire enum and the `{Method}Error` enum that handlers
//! return and callers get back. Methods of the common shapes need none of
//! these: the runtime's generic `OneArg`, `ValueResult` and `VoidResult`
//! carry them.

use proc_macro2::TokenStream;
use quote::quote;

use crate::gen::names;
use crate::gen::service::method::{ArgsShape, MethodCtx};
use crate::gen::service::ServiceCtx;
use crate::gen::types::{derives, message_impl, plain_struct, slot_decode, variant_specs, Role};

/// The per-method types of every method of the service, and the names of
/// those a user sees (for the client side's re-export).
pub(super) struct MethodTypes {
    pub(super) items: TokenStream,
    pub(super) public: Vec<proc_macro2::Ident>,
    pub(super) results: Vec<proc_macro2::Ident>,
}

pub(super) fn method_types(svc: &ServiceCtx) -> MethodTypes {
    let mut out = MethodTypes {
        items: TokenStream::new(),
        public: Vec::new(),
        results: Vec::new(),
    };
    for m in svc.methods.iter().filter(|m| m.has_wrappers()) {
        let method_wire = format!("{}.{}", svc.wire, m.wire);
        match &m.shape {
            ArgsShape::One { .. } => {}
            ArgsShape::OneGenerated(_) | ArgsShape::Whole => {
                out.items.extend(args_struct(m, &method_wire));
                out.public.push(m.args_name.clone());
            }
        }
        if !m.throws.is_empty() {
            out.items.extend(result_enum(m, &method_wire));
            out.items.extend(error_enum(m, &method_wire));
            out.public.push(m.error_name.clone());
            out.results.push(m.result_name.clone());
        }
    }
    out
}

/// The variants of the declared exceptions in `{Method}Result` and
/// `{Method}Error`, clear of their own `Success` and `Status`.
fn exception_variants(m: &MethodCtx) -> Vec<proc_macro2::Ident> {
    names::variant_idents(
        m.throws.iter().map(|t| t.wire_name.as_str()),
        &["Success", "Status"],
    )
}

/// `{Method}Args`: a struct of the arguments.
fn args_struct(m: &MethodCtx, method_wire: &str) -> TokenStream {
    let name = &m.args_name;
    let doc = format!(" The arguments of `{method_wire}`.");
    let doc = quote!(#[doc = #doc]);
    let wire = format!("{}_args", m.wire);
    let derive = quote!(Debug, Clone, PartialEq);
    let body = plain_struct(name, &wire, &doc, &derive, &m.args, Role::Args);
    let ArgsShape::OneGenerated(f) = &m.shape else {
        return body;
    };
    // One argument that is optional, required or has a default: the handler
    // still receives just the argument.
    let (field, ty) = (&f.ident, &m.input);
    quote! {
        #body
        impl ThriftArgs for #name {
            type Input = #ty;
            fn from_input(input: Self::Input) -> Self {
                Self { #field: input }
            }
            fn into_input(self) -> Self::Input {
                self.#field
            }
        }
    }
}

/// `{Method}Result`: success in field 0, declared exceptions in theirs.
fn result_enum(m: &MethodCtx, method_wire: &str) -> TokenStream {
    let (name, error, ok) = (&m.result_name, &m.error_name, &m.ok);
    let is_void = m.f.result.is_none();
    let variants = exception_variants(m);
    let doc =
        format!(" The result of `{method_wire}` on the wire: the value or a declared exception.");
    let exc_variants = m.throws.iter().zip(&variants).map(|(t, v)| {
        let ty = &t.ty;
        quote!(#[doc = " A declared exception."] #v(#ty),)
    });
    let wire = format!("{}_result", m.wire);
    let (ok_encode, ok_size) = if is_void {
        (
            quote!(Self::Success(()) => Ok(()),),
            quote!(Self::Success(()) => 0,),
        )
    } else {
        (
            quote!(Self::Success(v) => write_field(p, 0, v),),
            quote!(Self::Success(v) => field_len(p, 0, v),),
        )
    };
    let exc_encode = variant_specs(
        &m.throws,
        &variants,
        |v, id| quote!(Self::#v(v) => write_field(p, #id, v),),
    );
    let exc_size = variant_specs(
        &m.throws,
        &variants,
        |v, id| quote!(Self::#v(v) => field_len(p, #id, v),),
    );
    let encode = quote!(write_struct(p, #wire, |p| match self { #ok_encode #(#exc_encode)* }));
    let size = quote!(struct_len(p, #wire, |p| match self { #ok_size #(#exc_size)* }));
    // The success value is field 0; a void method's empty Result is success.
    let mut specs = m.throws.clone();
    let mut all_variants = variants.clone();
    let finish = if is_void {
        quote!(Ok(slot.into_value().unwrap_or(Self::Success(()))))
    } else {
        specs.insert(0, success_spec(ok));
        all_variants.insert(0, quote::format_ident!("Success"));
        quote!(slot.into_value().ok_or_else(|| missing_result(#method_wire)))
    };
    let decode = slot_decode(&wire, &specs, &all_variants, finish);
    let message = message_impl(name, false, &encode, &decode, &size);
    let to_wire = variants
        .iter()
        .map(|v| quote!(Err(#error::#v(e)) => Ok(Self::#v(e)),));
    let from_wire = variants
        .iter()
        .map(|v| quote!(Self::#v(e) => Err(#error::#v(e)),));
    let ok_pat = if is_void { quote!(()) } else { quote!(v) };
    let derive = derives(false);
    quote! {
        #[doc = #doc]
        #[derive(#derive)]
        pub enum #name {
            /// The method's value.
            Success(#ok),
            #(#exc_variants)*
        }
        #message
        impl ThriftResult for #name {
            type Ok = #ok;
            type Err = #error;
            fn from_outcome(outcome: Result<#ok, #error>) -> Result<Self, Status> {
                match outcome {
                    Ok(v) => Ok(Self::Success(v)),
                    #(#to_wire)*
                    Err(#error::Status(s)) => Err(s),
                }
            }
            fn into_outcome(self) -> Result<#ok, #error> {
                match self {
                    Self::Success(#ok_pat) => Ok(#ok_pat),
                    #(#from_wire)*
                }
            }
        }
    }
}

/// Field 0 of a Result struct: the success value.
fn success_spec(ok: &TokenStream) -> crate::gen::types::FieldSpec {
    crate::gen::types::FieldSpec {
        id: 0,
        wire_name: "success".into(),
        ident: quote::format_ident!("success"),
        ty: ok.clone(),
        optional: false,
        required: false,
        default: None,
        cheap_default: false,
        doc: TokenStream::new(),
    }
}

/// `{Method}Error`: the declared exceptions, or a gRPC status.
fn error_enum(m: &MethodCtx, method_wire: &str) -> TokenStream {
    let name = &m.error_name;
    let variants = exception_variants(m);
    let doc = format!(" How `{method_wire}` fails: a declared exception, or a gRPC status.");
    let err_variants = m.throws.iter().zip(&variants).map(|(t, v)| {
        let ty = &t.ty;
        let doc = format!(" The declared exception `{}`.", t.wire_name);
        quote!(#[doc = #doc] #v(#ty),)
    });
    let display = variants
        .iter()
        .map(|v| quote!(Self::#v(e) => ::core::fmt::Display::fmt(e, f),));
    // `From<Exception>` only where the exception type is unique among the throws.
    let froms = m.throws.iter().zip(&variants).filter_map(|(t, v)| {
        let same = m
            .throws
            .iter()
            .filter(|o| o.ty.to_string() == t.ty.to_string())
            .count();
        (same == 1).then(|| {
            let ty = &t.ty;
            quote! {
                impl From<#ty> for #name {
                    fn from(e: #ty) -> Self {
                        Self::#v(e)
                    }
                }
            }
        })
    });
    quote! {
        #[doc = #doc]
        #[derive(Debug)]
        pub enum #name {
            #(#err_variants)*
            /// A gRPC status: a transport failure or an error the handler returned.
            Status(Status),
        }
        impl From<Status> for #name {
            fn from(s: Status) -> Self {
                Self::Status(s)
            }
        }
        #(#froms)*
        impl ::core::fmt::Display for #name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                match self {
                    #(#display)*
                    Self::Status(s) => ::core::fmt::Display::fmt(s, f),
                }
            }
        }
        impl ::std::error::Error for #name {}
    }
}
