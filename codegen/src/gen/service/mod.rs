//! Services → two modules each, in tonic's shape:
//!
//! - `<service>_server`: the handler trait, `XxxServer<T>` (a tower
//!   `Service` + `NamedService` that also answers ping-pong calls), and the
//!   per-method types handlers see: `{Method}Args` for methods with zero or
//!   several arguments, `{Method}Error` for methods with `throws`;
//! - `<service>_client`: `XxxClient<T>` over gRPC (HTTP/2) and, when the
//!   service has ping-pong methods, `XxxPingPongClient` over
//!   TTHeader/Framed/Buffered. It re-exports the per-method types.
//!
//! Each module opens with `use ::tonic_thrift::codegen::*;` and names IDL
//! types through `super::`. Methods of `extends` bases are flattened into
//! the derived service, as Kitex does.

mod client;
mod method;
mod server;
mod wrappers;

use proc_macro2::{Ident, TokenStream};
use quote::quote;

use crate::ast;
use crate::gen::names::{self, Namespace, CODEGEN_NAMES, PRELUDE, PRIMITIVES};
use crate::gen::Switches;
use crate::resolve::{DefId, Program};

use method::MethodCtx;

/// What every part of one service's code needs, computed once.
struct ServiceCtx<'a> {
    /// IDL name of the service (as on the wire).
    wire: &'a str,
    /// `<package>.<Service>`: the gRPC service name.
    full_name: String,
    /// The handler trait.
    trait_name: Ident,
    /// The tower service serving a handler.
    server_name: Ident,
    /// The gRPC client.
    client_name: Ident,
    /// The ping-pong client.
    pingpong_name: Ident,
    /// Module of the server side.
    server_mod: Ident,
    /// Module of the client side.
    client_mod: Ident,
    /// The IDL comment of the service.
    doc: Option<&'a str>,
    /// Every method, bases first.
    methods: Vec<MethodCtx<'a>>,
}

/// All items of one service.
pub(crate) fn service_items(
    p: &Program,
    id: DefId,
    s: &ast::Service,
    switches: &Switches,
) -> TokenStream {
    let wire = s.name.name.as_str();
    // The names of the service modules: what they glob-import and the
    // prelude names they use unqualified are taken; then the handler trait,
    // the servers and clients, then per-method types (`{Method}Args`, ...).
    let mut types = Namespace::with_reserved(&[CODEGEN_NAMES, PRIMITIVES, PRELUDE]);
    let trait_name = types.add_ident(wire);
    let server_name = types.add_ident(&format!("{wire}Server"));
    let client_name = types.add_ident(&format!("{wire}Client"));
    let pingpong_name = types.add_ident(&format!("{wire}PingPongClient"));
    let file_names = &p.names[id.file];
    let ctx = ServiceCtx {
        wire,
        full_name: format!("{}.{}", p.package(id.file), wire),
        trait_name,
        server_name,
        client_name,
        pingpong_name,
        server_mod: names::ident(&file_names.defs[id.def]),
        client_mod: names::ident(&file_names.client_modules[id.def]),
        doc: s.doc.as_deref(),
        methods: method::methods(p, id, s, &mut types),
    };
    // The per-method types live on the server side, or on the client side
    // when only clients are generated.
    let home_is_server = switches.server;
    let wrappers = wrappers::method_types(&ctx);
    let mut out = TokenStream::new();
    if switches.server {
        let server = server::server_module(&ctx, &wrappers);
        out.extend(server);
    }
    if switches.client || switches.pingpong_client {
        let client = client::client_module(&ctx, switches, home_is_server, &wrappers);
        out.extend(client);
    }
    quote!(#out)
}
