//! `<service>_server`: the handler trait and `XxxServer<T>`, which serves a
//! handler over gRPC (a tower `Service` + `NamedService`) and ping-pong (a
//! `PingPongService`).

use proc_macro2::TokenStream;
use quote::quote;

use crate::check::Mode;
use crate::gen::service::method::MethodCtx;
use crate::gen::service::wrappers::MethodTypes;
use crate::gen::service::ServiceCtx;
use crate::gen::{doc_attrs, names};

/// The whole server module.
pub(super) fn server_module(svc: &ServiceCtx, types: &MethodTypes) -> TokenStream {
    let module = &svc.server_mod;
    let doc = format!(
        " The server side of `{}`: the handler trait [`{}`], the tower service [`{}`], and the per-method types handlers see.",
        svc.wire, svc.trait_name, svc.server_name
    );
    let items = &types.items;
    let handler = handler_trait(svc);
    let server = server_struct(svc);
    let pingpong = pingpong_impl(svc);
    let grpc = grpc_impl(svc);
    quote! {
        #[doc = #doc]
        pub mod #module {
            use ::tonic_thrift::codegen::*;
            #items
            #handler
            #server
            #pingpong
            #grpc
        }
    }
}

/// The handler trait: one async method per IDL method.
fn handler_trait(svc: &ServiceCtx) -> TokenStream {
    let name = &svc.trait_name;
    let doc = match svc.doc {
        Some(d) => doc_attrs(Some(d)),
        None => {
            let text = format!(
                " The handler of `{}`: implement it and serve it with [`{}`].",
                svc.wire, svc.server_name
            );
            quote!(#[doc = #text])
        }
    };
    let items = svc.methods.iter().map(trait_items);
    quote! {
        #doc
        #[async_trait]
        pub trait #name: Send + Sync + 'static {
            #(#items)*
        }
    }
}

/// The trait items of one method: its signature, and the response stream
/// type of server and bidirectional streaming methods.
fn trait_items(m: &MethodCtx) -> TokenStream {
    let ident = &m.ident;
    let doc = m.doc_or(&format!("Handles `{}`, {}.", m.wire, m.kind_words()));
    let (req, ok, err) = (&m.stream_arg, &m.ok, &m.err);
    let stream = &m.stream_name;
    let stream_item = || {
        let doc = format!(" The response stream of `{}`.", m.wire);
        quote! {
            #[doc = #doc]
            type #stream: Stream<Item = Result<#ok, Status>> + Send + 'static;
        }
    };
    match m.mode {
        Mode::Bidi => {
            let assoc = stream_item();
            quote! {
                #assoc
                #doc
                async fn #ident(&self, request: Request<Streaming<#req>>) -> Result<Response<Self::#stream>, Status>;
            }
        }
        Mode::Server => {
            let assoc = stream_item();
            quote! {
                #assoc
                #doc
                async fn #ident(&self, request: Request<#req>) -> Result<Response<Self::#stream>, Status>;
            }
        }
        Mode::Client => quote! {
            #doc
            async fn #ident(&self, request: Request<Streaming<#req>>) -> Result<Response<#ok>, Status>;
        },
        Mode::Unary | Mode::PingPong => {
            let input = &m.input;
            quote! {
                #doc
                async fn #ident(&self, request: Request<#input>) -> Result<Response<#ok>, #err>;
            }
        }
    }
}

/// `XxxServer<T>`, its constructors and options.
fn server_struct(svc: &ServiceCtx) -> TokenStream {
    let (name, trait_name, full_name) = (&svc.server_name, &svc.trait_name, &svc.full_name);
    let doc = format!(
        " Serves `{}` with a handler implementing [`{trait_name}`]; add it to a `tonic_thrift::Server` (gRPC and ping-pong on one port) or a `tonic::transport::Server`.",
        svc.wire
    );
    quote! {
        #[doc = #doc]
        #[derive(Debug)]
        pub struct #name<T> {
            inner: Arc<T>,
            config: ServiceConfig,
        }

        impl<T> #name<T> {
            /// Serves `inner`.
            pub fn new(inner: T) -> Self {
                Self::from_arc(Arc::new(inner))
            }
            /// Serves a shared handler.
            pub fn from_arc(inner: Arc<T>) -> Self {
                Self { inner, config: Default::default() }
            }
            /// Limits the size of received messages (default 4 MiB); larger
            /// ones are refused with `RESOURCE_EXHAUSTED`.
            #[must_use]
            pub fn max_decoding_message_size(mut self, limit: usize) -> Self {
                self.config.set_max_decoding_message_size(limit);
                self
            }
            /// Limits the size of sent messages (default unlimited).
            #[must_use]
            pub fn max_encoding_message_size(mut self, limit: usize) -> Self {
                self.config.set_max_encoding_message_size(limit);
                self
            }
            /// Accepts gRPC requests compressed with `encoding`.
            #[must_use]
            pub fn accept_compressed(mut self, encoding: CompressionEncoding) -> Self {
                self.config.accept_compressed(encoding);
                self
            }
            /// Compresses gRPC replies with `encoding` when the client accepts it.
            #[must_use]
            pub fn send_compressed(mut self, encoding: CompressionEncoding) -> Self {
                self.config.send_compressed(encoding);
                self
            }
            /// Calls and streams in progress on this service (all clones).
            pub fn active_calls(&self) -> usize {
                self.config.active_calls()
            }
            /// Adds a middleware layer over every call and stream, gRPC and
            /// ping-pong alike (see `tonic_thrift::call`); the first added
            /// runs outermost.
            #[must_use]
            pub fn layer<L: CallLayer>(mut self, layer: L) -> Self {
                self.config.push_layer(layer);
                self
            }
            /// Adds a hook that sees every message received and sent, with its size.
            #[must_use]
            pub fn message_hook(mut self, hook: impl MessageHook) -> Self {
                self.config.add_message_hook(hook);
                self
            }
            /// Adds a tracer that hears when calls start and finish, and each message.
            #[must_use]
            pub fn tracer(mut self, tracer: impl Tracer) -> Self {
                self.config.add_tracer(tracer);
                self
            }
            /// Adds a hook on each call's request headers, run before the
            /// middleware and the handler; an error refuses the call.
            #[must_use]
            pub fn on_read_stream(
                mut self,
                hook: impl Fn(&CallInfo, &mut tonic::metadata::MetadataMap, &mut tonic::Extensions) -> Result<(), Status>
                    + Send
                    + Sync
                    + 'static,
            ) -> Self {
                self.config.add_read_hook(hook);
                self
            }
        }

        impl<T> Clone for #name<T> {
            fn clone(&self) -> Self {
                Self { inner: self.inner.clone(), config: self.config.clone() }
            }
        }

        impl<T> NamedService for #name<T> {
            const NAME: &'static str = #full_name;
        }
    }
}

/// The ping-pong side: which methods exist, and one arm per Args/Result method.
fn pingpong_impl(svc: &ServiceCtx) -> TokenStream {
    let (name, wire) = (&svc.server_name, svc.wire);
    // `self::B` for a service named like a generic parameter (`B`).
    let trait_path = names::local_path(&svc.trait_name);
    let kinds = svc.methods.iter().map(|m| {
        let method = m.wire;
        let kind = match m.mode {
            Mode::Unary | Mode::PingPong if m.f.oneway.is_some() => quote!(Oneway),
            Mode::Unary | Mode::PingPong => quote!(Call),
            _ => quote!(Streaming),
        };
        quote!(#method => Some(MethodKind::#kind),)
    });
    let arms = svc.methods.iter().filter(|m| m.has_wrappers()).map(|m| {
        let (method, ident, args, result) = (m.wire, &m.ident, &m.args_ty, &m.result_ty);
        quote! {
            #method => pingpong_call::<#args, #result, _, _>(&self.config, #wire, #method, args, ctx, move |r| async move {
                <T as #trait_path>::#ident(&inner, r).await
            }),
        }
    });
    let arms: Vec<TokenStream> = arms.collect();
    // A service of streaming methods only answers every ping-pong call
    // with UNKNOWN_METHOD.
    let call = if arms.is_empty() {
        quote! {
            fn call(&self, method: &str, _args: Bytes, _ctx: CallContext) -> ReplyFuture {
                pingpong_unknown_method_reply(#wire, method)
            }
        }
    } else {
        quote! {
            fn call(&self, method: &str, args: Bytes, ctx: CallContext) -> ReplyFuture {
                let inner = self.inner.clone();
                match method {
                    #(#arms)*
                    other => pingpong_unknown_method_reply(#wire, other),
                }
            }
        }
    };
    quote! {
        impl<T: #trait_path> PingPongService for #name<T> {
            fn service_name(&self) -> &'static str {
                #wire
            }
            fn method_kind(&self, method: &str) -> Option<MethodKind> {
                match method {
                    #(#kinds)*
                    _ => None,
                }
            }
            #call
        }
    }
}

/// The gRPC side: a tower `Service` over HTTP requests, one arm per method.
fn grpc_impl(svc: &ServiceCtx) -> TokenStream {
    let (name, wire) = (&svc.server_name, svc.wire);
    // `self::B` for a service named like a generic parameter (`B`).
    let trait_path = names::local_path(&svc.trait_name);
    let arms = svc.methods.iter().map(|m| {
        let (method, ident) = (m.wire, &m.ident);
        let handle = quote!(move |r| async move { <T as #trait_path>::#ident(&inner, r).await });
        let call = match m.mode {
            Mode::Bidi => quote!(streaming(&config, #wire, #method, req, #handle)),
            Mode::Server => quote!(server_streaming(&config, #wire, #method, req, #handle)),
            Mode::Client => quote!(client_streaming(&config, #wire, #method, req, #handle)),
            Mode::Unary | Mode::PingPong => {
                let (args, result) = (&m.args_ty, &m.result_ty);
                quote!(unary::<#args, #result, _, _, _>(&config, #wire, #method, req, #handle))
            }
        };
        quote!(#method => Box::pin(async move { Ok(#call.await) }),)
    });
    quote! {
        impl<T, B> Service<http::Request<B>> for #name<T>
        where
            T: #trait_path,
            B: http_body::Body + Send + 'static,
            B::Error: Into<StdError> + Send + 'static,
        {
            type Response = http::Response<Body>;
            type Error = Infallible;
            type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

            fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
                Poll::Ready(Ok(()))
            }

            fn call(&mut self, req: http::Request<B>) -> Self::Future {
                let inner = self.inner.clone();
                let config = self.config.clone();
                match method_of(req.uri().path()) {
                    #(#arms)*
                    other => {
                        let resp = unknown_method(#wire, other);
                        Box::pin(async move { Ok(resp) })
                    }
                }
            }
        }
    }
}
