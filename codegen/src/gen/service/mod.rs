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
use quote::{format_ident, quote};

use crate::ast;
use crate::gen::{names, Switches};
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
    let snake = names::snake(wire);
    let ctx = ServiceCtx {
        wire,
        full_name: format!("{}.{}", p.package(id.file), wire),
        trait_name: names::generated(&names::type_ident(wire).to_string()),
        server_name: names::generated(&format!("{wire}Server")),
        client_name: names::generated(&format!("{wire}Client")),
        pingpong_name: names::generated(&format!("{wire}PingPongClient")),
        server_mod: format_ident!("{}_server", snake),
        client_mod: format_ident!("{}_client", snake),
        doc: s.doc.as_deref(),
        methods: method::methods(p, id, s),
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
