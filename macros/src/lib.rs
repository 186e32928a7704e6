//! The `thrift_service!` macro of tonic-thrift. Use it through the
//! `tonic-thrift` crate, which re-exports it.
//!
//! The macro is thin: it reads the path, asks `tonic-thrift-build` for the
//! code, turns IDL diagnostics into compile errors, and makes Cargo rebuild
//! when any IDL file it read changes.

use std::path::PathBuf;

use proc_macro::TokenStream;
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitBool, LitStr, Token};

/// Expands a Thrift IDL file into Rust modules: types, service traits,
/// servers and clients.
///
/// The path is relative to the calling crate's `CARGO_MANIFEST_DIR`. Includes
/// are looked up relative to the including file. One `pub mod` is emitted per
/// IDL file read, named by `namespace rs` or the file stem.
///
/// ```ignore
/// tonic_thrift::thrift_service!("idl/echo.thrift");
/// let req = echo::Request { message: "hi".into() };
/// ```
///
/// After the path, `build_server`, `build_client` and `build_pingpong_client`
/// switch parts of each service off, as `tonic_thrift_build::Builder` does:
///
/// ```ignore
/// tonic_thrift::thrift_service!("idl/echo.thrift", build_server = false);
/// ```
///
/// A mistake in the IDL is a compile error that names the `.thrift` file,
/// line and column.
#[proc_macro]
pub fn thrift_service(input: TokenStream) -> TokenStream {
    let args = match syn::parse::<Args>(input) {
        Ok(a) => a,
        Err(e) => return e.into_compile_error().into(),
    };
    let lit = &args.path;
    // TONIC_THRIFT_MANIFEST_DIR lets tests that compile elsewhere (trybuild)
    // point the macro at their own files.
    let base = std::env::var_os("TONIC_THRIFT_MANIFEST_DIR")
        .or_else(|| std::env::var_os("CARGO_MANIFEST_DIR"))
        .map(PathBuf::from)
        .unwrap_or_default();
    let path = base.join(lit.value());
    let (body, files) = match args.builder.generate(&path, &[], Some(&base)) {
        Ok(g) => (g.tokens, g.files),
        Err(e) => {
            let mut combined: Option<syn::Error> = None;
            for d in &e.errors().0 {
                let e = syn::Error::new(lit.span(), d.to_string());
                match &mut combined {
                    Some(c) => c.combine(e),
                    None => combined = Some(e),
                }
            }
            let body = combined.map(|e| e.into_compile_error()).unwrap_or_default();
            (body, e.files().to_vec())
        }
    };
    let watches = files.iter().filter_map(|f| f.to_str()).map(|f| {
        quote!(
            const _: &[u8] = include_bytes!(#f);
        )
    });
    quote!(#(#watches)* #body).into()
}

/// `"path"` followed by optional `, switch = bool` pairs.
struct Args {
    path: LitStr,
    builder: tonic_thrift_build::Builder,
}

impl Parse for Args {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let path: LitStr = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected the path of a .thrift file as a string literal, e.g. `thrift_service!(\"idl/echo.thrift\")`",
            )
        })?;
        let mut builder = tonic_thrift_build::configure();
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            let key: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            let value: LitBool = input.parse()?;
            builder = match key.to_string().as_str() {
                "build_server" => builder.build_server(value.value),
                "build_client" => builder.build_client(value.value),
                "build_pingpong_client" => builder.build_pingpong_client(value.value),
                other => {
                    return Err(syn::Error::new(
                        key.span(),
                        format!("unknown option `{other}`; expected `build_server`, `build_client` or `build_pingpong_client`"),
                    ))
                }
            };
        }
        Ok(Args { path, builder })
    }
}
