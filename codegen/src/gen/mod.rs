//! The checked program → Rust tokens.
//!
//! One `pub mod` per IDL file (the main file and each include), named by
//! `namespace rs` or the file stem; modules refer to each other through
//! `super::`. Generated code names only `::tonic_thrift::codegen::…` paths
//! (glob-imported in service modules and in the `const _` blocks that hold
//! each type's encoding) and the public `::tonic_thrift::{FastStr, Bytes}`.

pub(crate) mod consts;
pub(crate) mod names;
pub(crate) mod rust_type;
pub(crate) mod service;
pub(crate) mod types;

use proc_macro2::TokenStream;
use quote::quote;

use crate::ast::{Definition, StructKind};
use crate::resolve::{DefId, Program};

/// `#[doc = "..."]` attributes for an IDL comment.
pub(crate) fn doc_attrs(doc: Option<&str>) -> TokenStream {
    match doc {
        Some(text) => {
            let lines = text.lines().map(|l| format!(" {l}"));
            quote!(#(#[doc = #lines])*)
        }
        None => TokenStream::new(),
    }
}

/// Which parts of each service to generate (all by default), like
/// tonic-build's `build_server` / `build_client`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Switches {
    /// `<service>_server`: the handler trait and `XxxServer`.
    pub(crate) server: bool,
    /// `XxxClient`: the gRPC client.
    pub(crate) client: bool,
    /// `XxxPingPongClient`: the ping-pong client.
    pub(crate) pingpong_client: bool,
}

impl Default for Switches {
    fn default() -> Self {
        Switches {
            server: true,
            client: true,
            pingpong_client: true,
        }
    }
}

/// Generates every module of the program.
pub(crate) fn generate(p: &Program, switches: &Switches) -> TokenStream {
    let modules = p.files.iter().enumerate().map(|(fi, f)| {
        let items = f.doc.definitions.iter().enumerate().map(|(di, d)| {
            let id = DefId { file: fi, def: di };
            match d {
                Definition::Struct(s) if s.kind == StructKind::Union => types::union_item(p, id, s),
                Definition::Struct(s) => types::struct_item(p, id, s),
                Definition::Enum(e) => types::enum_item(p, id, e),
                Definition::Typedef(t) => types::typedef_item(p, id, t),
                Definition::Const(c) => consts::const_item(p, id, c),
                Definition::Service(s) => service::service_items(p, id, s, switches),
            }
        });
        let name = names::ident(&p.modules[fi]);
        let doc = format!(" Generated from `{}`.", f.display.display());
        // `unnecessary_lazy_evaluations`: decoding takes a struct default
        // (`{"p": 1}`) in a closure; whether clippy deems it cheap depends
        // on its fields.
        quote! {
            #[doc = #doc]
            #[allow(
                dead_code,
                non_camel_case_types,
                clippy::unnecessary_lazy_evaluations,
                clippy::large_enum_variant,
                clippy::too_many_arguments,
                clippy::derive_partial_eq_without_eq,
                clippy::approx_constant,
                clippy::excessive_precision
            )]
            pub mod #name {
                #(#items)*
            }
        }
    });
    quote!(#(#modules)*)
}
