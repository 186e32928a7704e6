//! `<service>_client`: `XxxClient<T>` over gRPC (HTTP/2), for every method,
//! and `XxxPingPongClient` over TTHeader/Framed/Buffered, for the ping-pong
//! methods. Every method takes `impl IntoRequest<T>` with `T` what the
//! handler receives, so per-call options (`CallOptions::apply`) work on all.

use proc_macro2::TokenStream;
use quote::quote;

use crate::check::Mode;
use crate::gen::service::method::MethodCtx;
use crate::gen::service::wrappers::MethodTypes;
use crate::gen::service::ServiceCtx;
use crate::gen::Switches;

/// The whole client module.
pub(super) fn client_module(
    svc: &ServiceCtx,
    switches: &Switches,
    types_on_server: bool,
    types: &MethodTypes,
) -> TokenStream {
    let module = &svc.client_mod;
    let doc = format!(" The client side of `{}`.", svc.wire);
    let types = if types_on_server {
        let server_mod = &svc.server_mod;
        let public = &types.public;
        let results = &types.results;
        let public =
            (!public.is_empty()).then(|| quote!(pub use super::#server_mod::{#(#public),*};));
        let results =
            (!results.is_empty()).then(|| quote!(use super::#server_mod::{#(#results),*};));
        quote!(#public #results)
    } else {
        types.items.clone()
    };
    let grpc = switches.client.then(|| grpc_client(svc));
    let has_pingpong = svc.methods.iter().any(|m| m.mode == Mode::PingPong);
    let pingpong = (switches.pingpong_client && has_pingpong).then(|| pingpong_client(svc));
    quote! {
        #[doc = #doc]
        pub mod #module {
            use ::tonic_thrift::codegen::*;
            #types
            #grpc
            #pingpong
        }
    }
}

/// `XxxClient<T>`: the gRPC client.
fn grpc_client(svc: &ServiceCtx) -> TokenStream {
    let (name, wire) = (&svc.client_name, svc.wire);
    let doc =
        format!(" A gRPC (HTTP/2) client for `{wire}`: streaming, `unary` and ping-pong methods.");
    let methods = svc.methods.iter().map(|m| grpc_method(svc, m));
    quote! {
        #[doc = #doc]
        #[derive(Debug, Clone)]
        pub struct #name<T = Channel> {
            inner: GrpcClient<T>,
        }

        impl #name<Channel> {
            /// Connects to `dst` (for example `"http://127.0.0.1:8888"`).
            pub async fn connect<D>(dst: D) -> Result<Self, tonic::transport::Error>
            where
                D: TryInto<Endpoint>,
                D::Error: Into<StdError>,
            {
                Self::connect_with(dst, Default::default()).await
            }

            /// Connects to `dst` with `options` (connect timeout, deadline,
            /// middleware, hooks, tracers, limits, stream transport).
            pub async fn connect_with<D>(dst: D, options: GrpcOptions) -> Result<Self, tonic::transport::Error>
            where
                D: TryInto<Endpoint>,
                D::Error: Into<StdError>,
            {
                let endpoint = Endpoint::new(dst)?;
                Ok(Self { inner: GrpcClient::connect(endpoint, options, #wire).await? })
            }
        }

        impl<T: GrpcTransport> #name<T> {
            /// A client over an HTTP/2 transport such as a tonic `Channel`.
            pub fn new(transport: T) -> Self {
                Self { inner: GrpcClient::new(transport) }
            }
            /// A client over an HTTP/2 transport, with `options`.
            pub fn with_options(transport: T, options: GrpcOptions) -> Self {
                Self { inner: GrpcClient::with_options(transport, options) }
            }
            /// Limits the size of received messages (default 4 MiB); larger
            /// ones fail the call with `RESOURCE_EXHAUSTED`.
            #[must_use]
            pub fn max_decoding_message_size(mut self, limit: usize) -> Self {
                self.inner.set_max_decoding_message_size(limit);
                self
            }
            /// Limits the size of sent messages (default unlimited).
            #[must_use]
            pub fn max_encoding_message_size(mut self, limit: usize) -> Self {
                self.inner.set_max_encoding_message_size(limit);
                self
            }
            /// Compresses requests with `encoding`; the server must accept it.
            #[must_use]
            pub fn send_compressed(mut self, encoding: CompressionEncoding) -> Self {
                self.inner.set_send_compressed(encoding);
                self
            }
            /// Accepts replies compressed with `encoding`.
            #[must_use]
            pub fn accept_compressed(mut self, encoding: CompressionEncoding) -> Self {
                self.inner.set_accept_compressed(encoding);
                self
            }
            #(#methods)*
        }
    }
}

/// One method of the gRPC client.
fn grpc_method(svc: &ServiceCtx, m: &MethodCtx) -> TokenStream {
    let ident = &m.ident;
    let doc = m.doc_or(&format!("Calls `{}`, {}.", m.wire, m.kind_words()));
    let path = format!("/{}/{}", svc.full_name, m.wire);
    let (req, ok) = (&m.stream_arg, &m.ok);
    match m.mode {
        Mode::Bidi => quote! {
            #doc
            pub async fn #ident(
                &mut self,
                request: impl IntoStreamingRequest<Message = #req>,
            ) -> Result<Response<Streaming<#ok>>, Status> {
                self.inner.streaming(request.into_streaming_request(), #path).await
            }
        },
        Mode::Client => quote! {
            #doc
            pub async fn #ident(
                &mut self,
                request: impl IntoStreamingRequest<Message = #req>,
            ) -> Result<Response<#ok>, Status> {
                self.inner.client_streaming(request.into_streaming_request(), #path).await
            }
        },
        Mode::Server => quote! {
            #doc
            pub async fn #ident(&mut self, request: impl IntoRequest<#req>) -> Result<Response<Streaming<#ok>>, Status> {
                self.inner.server_streaming(request.into_request(), #path).await
            }
        },
        Mode::Unary | Mode::PingPong => {
            let (input, err, args, result) = (&m.input, &m.err, &m.args_ty, &m.result_ty);
            quote! {
                #doc
                pub async fn #ident(&mut self, request: impl IntoRequest<#input>) -> Result<Response<#ok>, #err> {
                    self.inner.unary::<#args, #result>(request.into_request(), #path).await
                }
            }
        }
    }
}

/// `XxxPingPongClient`: the ping-pong client.
fn pingpong_client(svc: &ServiceCtx) -> TokenStream {
    let (name, wire) = (&svc.pingpong_name, svc.wire);
    let doc = format!(" A client for the ping-pong methods of `{wire}` over TTHeader (default), Framed or Buffered, with a connection pool.");
    let methods = svc
        .methods
        .iter()
        .filter(|m| m.mode == Mode::PingPong)
        .map(pingpong_method);
    quote! {
        #[doc = #doc]
        #[derive(Debug, Clone)]
        pub struct #name {
            inner: PingPongClient,
        }

        impl #name {
            /// A client of the service at `addr` (`host:port`) with default options.
            pub fn new(addr: impl Into<String>) -> Self {
                Self::with_options(addr, Default::default())
            }
            /// A client of the service at `addr` (`host:port`).
            pub fn with_options(addr: impl Into<String>, options: PingPongOptions) -> Self {
                Self { inner: PingPongClient::new(addr, #wire, options) }
            }
            /// A client over the instances `balance` finds: per-call load
            /// balancing, a pool and circuit breakers per instance (see
            /// `tonic_thrift::balance`).
            pub fn with_balancer(balance: BalanceOptions, options: PingPongOptions) -> Self {
                Self { inner: PingPongClient::balanced(balance, #wire, options) }
            }
            /// Connections open and idle in the pool (all pools, when balanced).
            pub fn idle_connections(&self) -> usize {
                self.inner.idle_connections()
            }
            /// When balanced, the instances with their breakers and health.
            pub fn balance_status(&self) -> Option<ClusterStatus> {
                self.inner.status()
            }
            #(#methods)*
        }
    }
}

/// One method of the ping-pong client.
fn pingpong_method(m: &MethodCtx) -> TokenStream {
    let ident = &m.ident;
    let doc = m.doc_or(&format!("Calls `{}`, {}.", m.wire, m.kind_words()));
    let (input, ok, err, args, result) = (&m.input, &m.ok, &m.err, &m.args_ty, &m.result_ty);
    let (method, oneway) = (m.wire, m.f.oneway.is_some());
    quote! {
        #doc
        pub async fn #ident(&self, request: impl IntoRequest<#input>) -> Result<Response<#ok>, #err> {
            self.inner.call::<#args, #result>(#method, request.into_request(), #oneway).await
        }
    }
}
