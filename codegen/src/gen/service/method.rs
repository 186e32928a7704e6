//! One method of a service, with everything its code needs computed once.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use crate::ast;
use crate::check::{mode_of, Mode};
use crate::gen::rust_type::rust_type_up;
use crate::gen::types::{field_specs_at, id_lit, FieldSpec};
use crate::gen::{doc_attrs, names};

use crate::resolve::{DefId, Program};

/// How a `unary` or ping-pong method's arguments travel.
pub(super) enum ArgsShape {
    /// One argument of default requiredness without a default value: the
    /// runtime's `OneArg<T, ID>`; the handler receives the argument.
    One { ty: TokenStream, id: i16 },
    /// One `optional` or `required` argument, or one with a default: a
    /// generated `{Method}Args` struct; the handler receives the argument.
    OneGenerated(FieldSpec),
    /// Zero or several arguments: a generated `{Method}Args` struct the
    /// handler receives whole, carried as `WholeArgs<{Method}Args>`.
    Whole,
}

/// One method, as every part of the generator sees it.
pub(super) struct MethodCtx<'a> {
    /// The IDL function.
    pub(super) f: &'a ast::Function,
    pub(super) mode: Mode,
    /// The method's IDL name: the wire name.
    pub(super) wire: &'a str,
    /// The Rust method name.
    pub(super) ident: Ident,
    /// `{Method}Args`, `{Method}Result`, `{Method}Error`, `{Method}Stream`.
    pub(super) args_name: Ident,
    pub(super) result_name: Ident,
    pub(super) error_name: Ident,
    pub(super) stream_name: Ident,
    /// The argument fields (for generated Args structs).
    pub(super) args: Vec<FieldSpec>,
    /// The declared exceptions.
    pub(super) throws: Vec<FieldSpec>,
    /// The type of the one message of a streaming method (`super::Req`).
    pub(super) stream_arg: TokenStream,
    /// The success type (`()` for `void`).
    pub(super) ok: TokenStream,
    /// What the handler receives inside `Request<..>` (Args/Result methods).
    pub(super) input: TokenStream,
    /// The wire Args type and Result type (Args/Result methods).
    pub(super) args_ty: TokenStream,
    pub(super) result_ty: TokenStream,
    /// The error type handlers return and callers get back.
    pub(super) err: TokenStream,
    pub(super) shape: ArgsShape,
    /// The IDL comment as doc attributes, if any.
    pub(super) idl_doc: Option<TokenStream>,
}

impl MethodCtx<'_> {
    /// `unary` and ping-pong methods carry Args/Result structs.
    pub(super) fn has_wrappers(&self) -> bool {
        matches!(self.mode, Mode::Unary | Mode::PingPong)
    }

    /// What kind of method this is, in words, for docs.
    pub(super) fn kind_words(&self) -> &'static str {
        match self.mode {
            Mode::Bidi => "a bidirectional-streaming method",
            Mode::Client => "a client-streaming method",
            Mode::Server => "a server-streaming method",
            Mode::Unary => "a `unary` gRPC method",
            Mode::PingPong if self.f.oneway.is_some() => "a oneway ping-pong method",
            Mode::PingPong => "a ping-pong method",
        }
    }

    /// The IDL comment, else `fallback`.
    pub(super) fn doc_or(&self, fallback: &str) -> TokenStream {
        match &self.idl_doc {
            Some(d) => d.clone(),
            None => {
                let text = format!(" {fallback}");
                quote!(#[doc = #text])
            }
        }
    }
}

/// The Rust names of one method.
struct MethodNames {
    /// The method (trait and client methods).
    ident: Ident,
    /// `{Method}Args`, `{Method}Result`, `{Method}Error`, `{Method}Stream`.
    args: Ident,
    result: Ident,
    error: Ident,
    stream: Ident,
}

/// Inherent methods of the generated clients, and `clone` (both clients are
/// `Clone`, and a method of that name would hide it from method calls): a
/// method named like one of these gets `_` (`new_`).
const CLIENT_METHODS: &[&str] = &[
    "balance_status",
    "clone",
    "connect",
    "connect_with",
    "idle_connections",
    "max_decoding_message_size",
    "max_encoding_message_size",
    "new",
    "with_balancer",
    "with_options",
];

/// The methods of `s`, bases first; a derived service may redefine a base
/// method of the same name (the last definition wins, in the base's place). `types` is the
/// service modules' namespace, for the per-method types.
pub(super) fn methods<'a>(
    p: &'a Program,
    id: DefId,
    s: &'a ast::Service,
    types: &mut names::Namespace,
) -> Vec<MethodCtx<'a>> {
    let mut fns: Vec<(usize, &'a ast::Function)> = Vec::new();
    for (base, svc) in p.service_chain(id, s).into_iter().rev() {
        for f in &svc.functions {
            // A redefinition keeps the base method's place, so that the
            // method's Rust name is the same in base and derived services.
            match fns.iter_mut().find(|(_, o)| o.name.name == f.name.name) {
                Some(slot) => *slot = (base.file, f),
                None => fns.push((base.file, f)),
            }
        }
    }
    let mut idents = names::Namespace::with_reserved(&[CLIENT_METHODS]);
    let mut stems = names::Namespace::default();
    fns.into_iter()
        .map(|(file, f)| {
            let stem = stems.add(&names::camel(&f.name.name));
            let names = MethodNames {
                ident: idents.add_ident(&names::snake(&f.name.name)),
                args: types.add_ident(&format!("{stem}Args")),
                result: types.add_ident(&format!("{stem}Result")),
                error: types.add_ident(&format!("{stem}Error")),
                stream: format_ident!("{stem}Stream"),
            };
            method(p, id.file, file, f, names)
        })
        .collect()
}

/// The context of `f`, declared in `file`, for code emitted one module
/// below the service's file module `svc_file`.
fn method<'a>(
    p: &Program,
    svc_file: usize,
    file: usize,
    f: &'a ast::Function,
    names: MethodNames,
) -> MethodCtx<'a> {
    let mode = mode_of(f);
    let at = (svc_file, 1);
    let args = field_specs_at(p, file, at, None, &f.args);
    let throws = field_specs_at(p, file, at, None, &f.throws);
    let resolve = |t: &ast::Type| {
        p.resolve_type(file, t)
            .map(|ty| rust_type_up(p, svc_file, &ty, false, 1))
            .unwrap_or_else(|_| quote!(()))
    };
    let ok = f.result.as_ref().map_or_else(|| quote!(()), resolve);
    let stream_arg = f
        .args
        .first()
        .map_or_else(|| quote!(()), |a| resolve(&a.ty));
    let MethodNames {
        ident,
        args: args_name,
        result: result_name,
        error: error_name,
        stream: stream_name,
    } = names;
    let mut args_iter = args.iter();
    let shape = match (args_iter.next(), args_iter.next()) {
        (Some(a), None) if !a.optional && !a.required && a.default.is_none() => ArgsShape::One {
            ty: a.ty.clone(),
            id: a.id,
        },
        (Some(a), None) => ArgsShape::OneGenerated(a.clone()),
        _ => ArgsShape::Whole,
    };
    let (input, args_ty) = match &shape {
        ArgsShape::One { ty, id } => {
            // A negative id is an expression: braces make it a const argument.
            let id = if *id < 0 {
                let id = id_lit(*id);
                quote!({ #id })
            } else {
                id_lit(*id)
            };
            (ty.clone(), quote!(OneArg<#ty, #id>))
        }
        ArgsShape::OneGenerated(a) => {
            let ty = &a.ty;
            let input = if a.optional {
                quote!(Option<#ty>)
            } else {
                ty.clone()
            };
            (input, quote!(#args_name))
        }
        ArgsShape::Whole => (quote!(#args_name), quote!(WholeArgs<#args_name>)),
    };
    let (result_ty, err) = if !throws.is_empty() {
        (quote!(#result_name), quote!(#error_name))
    } else if f.result.is_none() {
        (quote!(VoidResult), quote!(Status))
    } else {
        (quote!(ValueResult<#ok>), quote!(Status))
    };
    MethodCtx {
        f,
        mode,
        wire: &f.name.name,
        ident,
        args_name,
        result_name,
        error_name,
        stream_name,
        args,
        throws,
        stream_arg,
        ok,
        input,
        args_ty,
        result_ty,
        err,
        shape,
        idl_doc: f.doc.as_deref().map(|d| doc_attrs(Some(d))),
    }
}
