//! The `thrift_service!` macro of tonic-thrift. Use it through the
//! `tonic-thrift` crate, which re-exports it.
//!
//! The macro is thin: it reads the path, asks `tonic-thrift-build` for the
//! code, turns IDL diagnostics into compile errors, and makes Cargo rebuild
//! when any IDL file it read changes.

use std::path::PathBuf;

use proc_macro::TokenStream;
use quote::quote;
use syn::LitStr;

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
/// A mistake in the IDL is a compile error that names the `.thrift` file,
/// line and column.
#[proc_macro]
pub fn thrift_service(input: TokenStream) -> TokenStream {
    let lit = match syn::parse::<LitStr>(input) {
        Ok(l) => l,
        Err(e) => {
            return syn::Error::new(
                e.span(),
                "expected the path of a .thrift file as a string literal, e.g. `thrift_service!(\"idl/echo.thrift\")`",
            )
            .into_compile_error()
            .into()
        }
    };
    // TONIC_THRIFT_MANIFEST_DIR lets tests that compile elsewhere (trybuild)
    // point the macro at their own files.
    let base = std::env::var_os("TONIC_THRIFT_MANIFEST_DIR")
        .or_else(|| std::env::var_os("CARGO_MANIFEST_DIR"))
        .map(PathBuf::from)
        .unwrap_or_default();
    let path = base.join(lit.value());
    let (body, files) = match tonic_thrift_build::generate(&path, &[], Some(&base)) {
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
