//! Services → three modules each, in tonic's shape:
//!
//! - `<service>`: the wire wrappers of `unary` and ping-pong methods
//!   (`{Method}Args`, `{Method}Result`) and, for methods with `throws`, the
//!   `{Method}Error` enum handlers return and callers get back;
//! - `<service>_server`: the handler trait and `XxxServer<T>`, a tower
//!   `Service` + `NamedService`;
//! - `<service>_client`: `XxxClient<T>` over a tonic `Channel`.
//!
//! Methods of `extends` bases are flattened into the derived service, as
//! Kitex does.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use crate::ast;
use crate::check::{mode_of, Mode};
use crate::gen::rust_type::rust_type_up;
use crate::gen::types::{field_loop, field_specs_at, message_only_impl, plain_struct, read_arm};
use crate::gen::{doc_attrs, names};
use crate::resolve::{DefId, Program};

/// One method of a service, with the file it was declared in.
struct Method<'a> {
    file: usize,
    f: &'a ast::Function,
    mode: Mode,
    /// Rust method name.
    ident: Ident,
    /// CamelCase stem for wrapper type names.
    camel: String,
}

impl Method<'_> {
    fn has_wrappers(&self) -> bool {
        matches!(self.mode, Mode::Unary | Mode::PingPong)
    }
}

/// The methods of `s`, bases first.
fn methods<'a>(p: &'a Program, id: DefId, s: &'a ast::Service) -> Vec<Method<'a>> {
    let mut chain = vec![(id.file, s)];
    let mut cur = s
        .extends
        .as_ref()
        .and_then(|e| p.lookup_service(id.file, e).ok());
    while let Some((bid, b)) = cur {
        if chain.len() > 64 || chain.iter().any(|(_, c)| std::ptr::eq(*c, b)) {
            break;
        }
        chain.push((bid.file, b));
        cur = b
            .extends
            .as_ref()
            .and_then(|e| p.lookup_service(bid.file, e).ok());
    }
    let mut out: Vec<Method<'a>> = Vec::new();
    for (file, svc) in chain.into_iter().rev() {
        for f in &svc.functions {
            let ident = names::field_ident(&f.name.name);
            // A derived service may redefine a base method: the last wins.
            out.retain(|m| m.ident != ident);
            out.push(Method {
                file,
                f,
                mode: mode_of(f),
                ident,
                camel: names::camel(&f.name.name),
            });
        }
    }
    out
}

/// The package of a file on the gRPC path: the last segment of
/// `namespace go`, else the lower-cased file stem (as Kitex does).
fn package(p: &Program, file: usize) -> String {
    let f = &p.files[file];
    f.doc
        .namespaces
        .iter()
        .find(|n| n.scope.name == "go")
        .map(|n| n.name.name.rsplit('.').next().unwrap_or("").to_string())
        .unwrap_or_else(|| {
            f.path
                .file_stem()
                .map(|s| s.to_string_lossy().to_lowercase())
                .unwrap_or_default()
        })
}

/// All items of one service.
pub(crate) fn service_items(p: &Program, id: DefId, s: &ast::Service) -> TokenStream {
    let methods = methods(p, id, s);
    let svc_name = s.name.name.as_str();
    let full_name = format!("{}.{}", package(p, id.file), svc_name);
    let wrappers_mod = names::ident(&names::snake(svc_name));
    let server_mod = format_ident!("{}_server", names::snake(svc_name));
    let client_mod = format_ident!("{}_client", names::snake(svc_name));
    let wrappers = methods
        .iter()
        .filter(|m| m.has_wrappers())
        .map(|m| method_wrappers(p, id.file, svc_name, m));
    let server = server(p, id.file, s, &methods, &full_name, &wrappers_mod);
    let client = client(p, id.file, s, &methods, &full_name, &wrappers_mod);
    let doc = format!(" Wire wrappers and error types of the methods of `{svc_name}`.");
    quote! {
        #[doc = #doc]
        pub mod #wrappers_mod {
            #(#wrappers)*
        }
        #[doc = " The server side of the service: the handler trait and the tower service."]
        pub mod #server_mod {
            #server
        }
        #[doc = " The client side of the service."]
        pub mod #client_mod {
            #client
        }
    }
}

fn wrapper_names(m: &Method) -> (Ident, Ident, Ident) {
    (
        format_ident!("{}Args", m.camel),
        format_ident!("{}Result", m.camel),
        format_ident!("{}Error", m.camel),
    )
}

/// `{Method}Args`, `{Method}Result` and (with `throws`) `{Method}Error`.
fn method_wrappers(p: &Program, svc_file: usize, svc_name: &str, m: &Method) -> TokenStream {
    let (args_name, result_name, error_name) = wrapper_names(m);
    let method_wire = format!("{svc_name}.{}", m.f.name.name);

    // Args: a struct of the arguments.
    let specs = field_specs_at(p, m.file, (svc_file, 1), None, &m.f.args);
    let args_doc = format!(" The arguments of `{method_wire}`.");
    let args_doc = quote!(#[doc = #args_doc]);
    let derive = quote!(#[derive(Debug, Clone, PartialEq)]);
    let args_struct = plain_struct(
        &args_name,
        &format!("{}_args", m.f.name.name),
        &args_doc,
        &derive,
        &specs,
        false,
    );
    let args_impl = if specs.len() == 1 {
        let f = &specs[0];
        let (field, ty) = (&f.ident, &f.ty);
        let ty = if f.optional {
            quote!(::core::option::Option<#ty>)
        } else {
            ty.clone()
        };
        quote! {
            impl ::tonic_thrift::codegen::ThriftArgs for #args_name {
                type Input = #ty;
                fn from_input(input: Self::Input) -> Self {
                    Self { #field: input }
                }
                fn into_input(self) -> Self::Input {
                    self.#field
                }
            }
        }
    } else {
        quote! {
            impl ::tonic_thrift::codegen::ThriftArgs for #args_name {
                type Input = Self;
                fn from_input(input: Self) -> Self {
                    input
                }
                fn into_input(self) -> Self {
                    self
                }
            }
        }
    };

    // Result: success in field 0, declared exceptions in their fields.
    let ok_ty = ok_type(p, svc_file, m, 1);
    let is_void = m.f.result.is_none();
    let throws = field_specs_at(p, m.file, (svc_file, 1), None, &m.f.throws);
    let exc_variants: Vec<Ident> = throws
        .iter()
        .map(|t| names::ident(&names::camel(&t.wire_name)))
        .collect();
    let result_doc =
        format!(" The result of `{method_wire}` on the wire: the value or a declared exception.");
    let variants = throws.iter().zip(&exc_variants).map(|(t, v)| {
        let ty = &t.ty;
        quote!(#[doc = " A declared exception."] #v(#ty),)
    });
    let ok_encode = if is_void {
        quote!(#result_name::Success(()) => {})
    } else {
        quote!(#result_name::Success(v) => ::tonic_thrift::codegen::write_field(p, 0, v)?,)
    };
    let ok_size = if is_void {
        quote!(#result_name::Success(()) => 0,)
    } else {
        quote!(#result_name::Success(v) => ::tonic_thrift::codegen::field_len(p, 0, v),)
    };
    let exc_encode = throws.iter().zip(&exc_variants).map(|(t, v)| {
        let id = t.id;
        quote!(#result_name::#v(v) => ::tonic_thrift::codegen::write_field(p, #id, v)?,)
    });
    let exc_size = throws.iter().zip(&exc_variants).map(|(t, v)| {
        let id = t.id;
        quote!(#result_name::#v(v) => ::tonic_thrift::codegen::field_len(p, #id, v),)
    });
    let result_wire = format!("{}_result", m.f.name.name);
    let decode = || {
        let mut arms = Vec::new();
        if !is_void {
            arms.push(read_arm(
                0,
                &ok_ty,
                &result_wire,
                "success",
                |read| quote!(value = ::core::option::Option::Some(#result_name::Success(#read));),
            ));
        }
        for (t, v) in throws.iter().zip(&exc_variants) {
            arms.push(read_arm(
                t.id,
                &t.ty,
                &result_wire,
                &t.wire_name,
                |read| quote!(value = ::core::option::Option::Some(#result_name::#v(#read));),
            ));
        }
        let field_loop = field_loop(&arms);
        let missing = if is_void {
            quote!(::core::result::Result::Ok(#result_name::Success(())))
        } else {
            quote!(::core::result::Result::Err(::tonic_thrift::codegen::missing_result(#method_wire)))
        };
        let declare = if arms.is_empty() {
            quote!()
        } else {
            quote!(let mut value: ::core::option::Option<Self> = ::core::option::Option::None;)
        };
        let finish = if arms.is_empty() {
            missing
        } else {
            quote! {
                match value {
                    ::core::option::Option::Some(v) => ::core::result::Result::Ok(v),
                    ::core::option::Option::None => #missing,
                }
            }
        };
        quote! {
            #declare
            #field_loop
            #finish
        }
    };
    let decode_sync = decode();
    let encode_body = quote! {
        p.write_struct_begin(&::tonic_thrift::codegen::TStructIdentifier { name: #result_wire })?;
        match self {
            #ok_encode
            #(#exc_encode)*
        }
        p.write_field_stop()?;
        p.write_struct_end()
    };
    let size_body = quote! {
        p.struct_begin_len(&::tonic_thrift::codegen::TStructIdentifier { name: #result_wire })
            + match self {
                #ok_size
                #(#exc_size)*
            }
            + p.field_stop_len()
            + p.struct_end_len()
    };
    // Wire wrappers are never fields: `Message` is all they need.
    let message = message_only_impl(&result_name, &encode_body, &decode_sync, &size_body);

    let (err_ty, error_enum, from_err, into_err) = if throws.is_empty() {
        (
            quote!(::tonic_thrift::codegen::tonic::Status),
            TokenStream::new(),
            quote!(::core::result::Result::Err(e) => ::core::result::Result::Err(e),),
            TokenStream::new(),
        )
    } else {
        let error_doc =
            format!(" How `{method_wire}` fails: a declared exception, or a gRPC status.");
        let err_variants = throws.iter().zip(&exc_variants).map(|(t, v)| {
            let ty = &t.ty;
            let doc = format!(" The declared exception `{}`.", t.wire_name);
            quote!(#[doc = #doc] #v(#ty),)
        });
        let display = exc_variants
            .iter()
            .map(|v| quote!(#error_name::#v(e) => ::core::fmt::Display::fmt(e, f),));
        // `From<Exception>` only where the exception type is unique among the throws.
        let froms = throws.iter().zip(&exc_variants).filter_map(|(t, v)| {
            let same = throws
                .iter()
                .filter(|o| o.ty.to_string() == t.ty.to_string())
                .count();
            (same == 1).then(|| {
                let ty = &t.ty;
                quote! {
                    impl ::core::convert::From<#ty> for #error_name {
                        fn from(e: #ty) -> Self {
                            #error_name::#v(e)
                        }
                    }
                }
            })
        });
        let to_wire = exc_variants
            .iter()
            .map(|v| quote!(::core::result::Result::Err(#error_name::#v(e)) => ::core::result::Result::Ok(#result_name::#v(e)),));
        let from_wire = exc_variants.iter().map(
            |v| quote!(#result_name::#v(e) => ::core::result::Result::Err(#error_name::#v(e)),),
        );
        (
            quote!(#error_name),
            quote! {
                #[doc = #error_doc]
                #[derive(Debug)]
                pub enum #error_name {
                    #(#err_variants)*
                    /// A gRPC status: a transport failure or an error the handler returned.
                    Status(::tonic_thrift::codegen::tonic::Status),
                }
                impl ::core::convert::From<::tonic_thrift::codegen::tonic::Status> for #error_name {
                    fn from(s: ::tonic_thrift::codegen::tonic::Status) -> Self {
                        #error_name::Status(s)
                    }
                }
                #(#froms)*
                impl ::core::fmt::Display for #error_name {
                    fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                        match self {
                            #(#display)*
                            #error_name::Status(s) => ::core::fmt::Display::fmt(s, f),
                        }
                    }
                }
                impl ::std::error::Error for #error_name {}
            },
            quote! {
                #(#to_wire)*
                ::core::result::Result::Err(#error_name::Status(s)) => ::core::result::Result::Err(s),
            },
            quote!(#(#from_wire)*),
        )
    };
    let ok_pat = if is_void { quote!(()) } else { quote!(v) };
    quote! {
        #args_struct
        #args_impl
        #[doc = #result_doc]
        #[derive(Debug, Clone, PartialEq)]
        pub enum #result_name {
            /// The method's value.
            Success(#ok_ty),
            #(#variants)*
        }
        #message
        impl ::tonic_thrift::codegen::ThriftResult for #result_name {
            type Ok = #ok_ty;
            type Err = #err_ty;
            fn from_outcome(
                outcome: ::core::result::Result<Self::Ok, Self::Err>,
            ) -> ::core::result::Result<Self, ::tonic_thrift::codegen::tonic::Status> {
                match outcome {
                    ::core::result::Result::Ok(v) => ::core::result::Result::Ok(#result_name::Success(v)),
                    #from_err
                }
            }
            fn into_outcome(self) -> ::core::result::Result<Self::Ok, Self::Err> {
                match self {
                    #result_name::Success(#ok_pat) => ::core::result::Result::Ok(#ok_pat),
                    #into_err
                }
            }
        }
        #error_enum
    }
}

/// The Rust type of a method's success value (`()` for `void`).
fn ok_type(p: &Program, svc_file: usize, m: &Method, up: usize) -> TokenStream {
    match &m.f.result {
        Some(t) => match p.resolve_type(m.file, t) {
            Ok(ty) => rust_type_up(p, svc_file, &ty, false, up),
            Err(_) => quote!(()),
        },
        None => quote!(()),
    }
}

/// The single argument type of a streaming method.
fn stream_arg_type(p: &Program, svc_file: usize, m: &Method, up: usize) -> TokenStream {
    m.f.args
        .first()
        .and_then(|a| p.resolve_type(m.file, &a.ty).ok())
        .map(|ty| rust_type_up(p, svc_file, &ty, false, up))
        .unwrap_or_else(|| quote!(()))
}

/// What the handler of an Args/Result method receives.
fn handler_input(p: &Program, svc_file: usize, m: &Method, wrappers: &Ident) -> TokenStream {
    if m.f.args.len() == 1 {
        let specs = field_specs_at(p, m.file, (svc_file, 1), None, &m.f.args);
        match specs.first() {
            Some(f) if f.optional => {
                let ty = &f.ty;
                quote!(::core::option::Option<#ty>)
            }
            Some(f) => f.ty.clone(),
            None => quote!(()),
        }
    } else {
        let (args, _, _) = wrapper_names(m);
        quote!(super::#wrappers::#args)
    }
}

fn server(
    p: &Program,
    file: usize,
    s: &ast::Service,
    methods: &[Method],
    full_name: &str,
    wrappers: &Ident,
) -> TokenStream {
    let trait_name = names::type_ident(&s.name.name);
    let server_name = format_ident!("{}Server", s.name.name);
    let svc_name = s.name.name.as_str();
    let trait_doc = doc_attrs(s.doc.as_deref());
    let mut trait_items = Vec::new();
    let mut arms = Vec::new();
    let mut kinds = Vec::new();
    let mut pingpong_arms = Vec::new();
    for m in methods {
        let ident = &m.ident;
        let doc = doc_attrs(m.f.doc.as_deref());
        let wire = m.f.name.name.as_str();
        let req = stream_arg_type(p, file, m, 1);
        let resp = ok_type(p, file, m, 1);
        let stream_ty = format_ident!("{}Stream", m.camel);
        let (sig, call) = match m.mode {
            Mode::Bidi | Mode::Server => {
                let stream_doc = format!(" The response stream of `{wire}`.");
                trait_items.push(quote! {
                    #[doc = #stream_doc]
                    type #stream_ty: ::tonic_thrift::codegen::Stream<
                            Item = ::core::result::Result<#resp, ::tonic_thrift::codegen::tonic::Status>,
                        > + ::core::marker::Send
                        + 'static;
                });
                let input = if m.mode == Mode::Bidi {
                    quote!(::tonic_thrift::codegen::tonic::Streaming<#req>)
                } else {
                    req.clone()
                };
                let helper = if m.mode == Mode::Bidi {
                    quote!(streaming)
                } else {
                    quote!(server_streaming)
                };
                (
                    quote! {
                        async fn #ident(
                            &self,
                            request: ::tonic_thrift::codegen::tonic::Request<#input>,
                        ) -> ::core::result::Result<
                            ::tonic_thrift::codegen::tonic::Response<Self::#stream_ty>,
                            ::tonic_thrift::codegen::tonic::Status,
                        >;
                    },
                    quote!(::tonic_thrift::codegen::#helper(&config, #svc_name, #wire, req, move |r| async move { inner.#ident(r).await }).await),
                )
            }
            Mode::Client => (
                quote! {
                    async fn #ident(
                        &self,
                        request: ::tonic_thrift::codegen::tonic::Request<::tonic_thrift::codegen::tonic::Streaming<#req>>,
                    ) -> ::core::result::Result<
                        ::tonic_thrift::codegen::tonic::Response<#resp>,
                        ::tonic_thrift::codegen::tonic::Status,
                    >;
                },
                quote!(::tonic_thrift::codegen::client_streaming(&config, #svc_name, #wire, req, move |r| async move { inner.#ident(r).await }).await),
            ),
            Mode::Unary | Mode::PingPong => {
                let (args, result, error) = wrapper_names(m);
                let input = handler_input(p, file, m, wrappers);
                let err = if m.f.throws.is_empty() {
                    quote!(::tonic_thrift::codegen::tonic::Status)
                } else {
                    quote!(super::#wrappers::#error)
                };
                (
                    quote! {
                        async fn #ident(
                            &self,
                            request: ::tonic_thrift::codegen::tonic::Request<#input>,
                        ) -> ::core::result::Result<::tonic_thrift::codegen::tonic::Response<#resp>, #err>;
                    },
                    quote! {
                        ::tonic_thrift::codegen::unary::<super::#wrappers::#args, super::#wrappers::#result, _, _, _>(
                            &config,
                            #svc_name,
                            #wire,
                            req,
                            move |r| async move { inner.#ident(r).await },
                        )
                        .await
                    },
                )
            }
        };
        let kind = match m.mode {
            Mode::Unary | Mode::PingPong if m.f.oneway.is_some() => quote!(Oneway),
            Mode::Unary | Mode::PingPong => quote!(Call),
            _ => quote!(Streaming),
        };
        kinds.push(quote!(#wire => ::core::option::Option::Some(::tonic_thrift::codegen::MethodKind::#kind),));
        if m.has_wrappers() {
            let (args, result, _) = wrapper_names(m);
            pingpong_arms.push(quote! {
                #wire => ::tonic_thrift::codegen::pingpong_call::<super::#wrappers::#args, super::#wrappers::#result, _, _>(
                    &self.config,
                    #svc_name,
                    #wire,
                    args,
                    ctx,
                    move |r| async move { inner.#ident(r).await },
                ),
            });
        }
        trait_items.push(quote!(#doc #sig));
        arms.push(quote! {
            #wire => ::std::boxed::Box::pin(async move { ::core::result::Result::Ok(#call) }),
        });
    }
    let server_doc = format!(" Serves `{svc_name}` with a handler implementing [`{svc_name}`]; add it to a `tonic_thrift::Server` or a `tonic::transport::Server`.");
    quote! {
        #trait_doc
        #[::tonic_thrift::codegen::async_trait]
        pub trait #trait_name: ::core::marker::Send + ::core::marker::Sync + 'static {
            #(#trait_items)*
        }

        #[doc = #server_doc]
        #[derive(Debug)]
        pub struct #server_name<T> {
            inner: ::tonic_thrift::codegen::Arc<T>,
            config: ::tonic_thrift::codegen::ServiceConfig,
        }

        impl<T> #server_name<T> {
            /// Serves `inner`.
            pub fn new(inner: T) -> Self {
                Self::from_arc(::tonic_thrift::codegen::Arc::new(inner))
            }
            /// Serves a shared handler.
            pub fn from_arc(inner: ::tonic_thrift::codegen::Arc<T>) -> Self {
                Self { inner, config: ::core::default::Default::default() }
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
            /// Calls and streams in progress on this service (all clones).
            pub fn active_calls(&self) -> usize {
                self.config.active_calls()
            }
            /// Adds a middleware layer over every call and stream, gRPC and
            /// ping-pong alike (see `tonic_thrift::call`); the first added
            /// runs outermost.
            #[must_use]
            pub fn layer<L: ::tonic_thrift::codegen::CallLayer>(mut self, layer: L) -> Self {
                self.config.push_layer(layer);
                self
            }
            /// Adds a hook that sees every message received and sent, with its size.
            #[must_use]
            pub fn message_hook(mut self, hook: impl ::tonic_thrift::codegen::MessageHook) -> Self {
                self.config.add_message_hook(hook);
                self
            }
            /// Adds a tracer that hears when calls start and finish, and each message.
            #[must_use]
            pub fn tracer(mut self, tracer: impl ::tonic_thrift::codegen::Tracer) -> Self {
                self.config.add_tracer(tracer);
                self
            }
            /// Adds a hook on each call's request headers, run before the
            /// middleware and the handler; an error refuses the call.
            #[must_use]
            pub fn on_read_stream(
                mut self,
                hook: impl ::core::ops::Fn(
                        &::tonic_thrift::codegen::CallInfo,
                        &mut ::tonic_thrift::codegen::tonic::metadata::MetadataMap,
                        &mut ::tonic_thrift::codegen::tonic::Extensions,
                    ) -> ::core::result::Result<(), ::tonic_thrift::codegen::tonic::Status>
                    + ::core::marker::Send
                    + ::core::marker::Sync
                    + 'static,
            ) -> Self {
                self.config.add_read_hook(hook);
                self
            }
        }

        impl<T> ::core::clone::Clone for #server_name<T> {
            fn clone(&self) -> Self {
                Self { inner: self.inner.clone(), config: self.config.clone() }
            }
        }

        impl<T> ::tonic_thrift::codegen::NamedService for #server_name<T> {
            const NAME: &'static str = #full_name;
        }

        impl<T: #trait_name> ::tonic_thrift::codegen::PingPongService for #server_name<T> {
            fn service_name(&self) -> &'static str {
                #svc_name
            }
            fn method_kind(&self, method: &str) -> ::core::option::Option<::tonic_thrift::codegen::MethodKind> {
                match method {
                    #(#kinds)*
                    _ => ::core::option::Option::None,
                }
            }
            fn call(
                &self,
                method: &str,
                args: ::tonic_thrift::codegen::Bytes,
                ctx: ::tonic_thrift::codegen::CallContext,
            ) -> ::tonic_thrift::codegen::ReplyFuture {
                let inner = self.inner.clone();
                match method {
                    #(#pingpong_arms)*
                    other => {
                        let e = ::tonic_thrift::codegen::pingpong_unknown_method(#svc_name, other);
                        ::std::boxed::Box::pin(async move { ::tonic_thrift::codegen::Reply::Exception(e) })
                    }
                }
            }
        }

        impl<T, B> ::tonic_thrift::codegen::Service<::tonic_thrift::codegen::http::Request<B>> for #server_name<T>
        where
            T: #trait_name,
            B: ::tonic_thrift::codegen::http_body::Body + ::core::marker::Send + 'static,
            B::Error: ::core::convert::Into<::tonic_thrift::codegen::StdError> + ::core::marker::Send + 'static,
        {
            type Response = ::tonic_thrift::codegen::http::Response<::tonic_thrift::codegen::Body>;
            type Error = ::tonic_thrift::codegen::Infallible;
            type Future = ::tonic_thrift::codegen::BoxFuture<'static, ::core::result::Result<Self::Response, Self::Error>>;

            fn poll_ready(
                &mut self,
                _cx: &mut ::tonic_thrift::codegen::Context<'_>,
            ) -> ::tonic_thrift::codegen::Poll<::core::result::Result<(), Self::Error>> {
                ::tonic_thrift::codegen::Poll::Ready(::core::result::Result::Ok(()))
            }

            fn call(&mut self, req: ::tonic_thrift::codegen::http::Request<B>) -> Self::Future {
                let inner = self.inner.clone();
                let config = self.config.clone();
                match ::tonic_thrift::codegen::method_of(req.uri().path()) {
                    #(#arms)*
                    other => {
                        let resp = ::tonic_thrift::codegen::unknown_method(#svc_name, other);
                        ::std::boxed::Box::pin(async move { ::core::result::Result::Ok(resp) })
                    }
                }
            }
        }
    }
}

fn client(
    p: &Program,
    file: usize,
    s: &ast::Service,
    methods: &[Method],
    full_name: &str,
    wrappers: &Ident,
) -> TokenStream {
    let client_name = format_ident!("{}Client", s.name.name);
    let svc_name = s.name.name.as_str();
    let fns = methods.iter().map(|m| {
        let ident = &m.ident;
        let doc = doc_attrs(m.f.doc.as_deref());
        let path = format!("/{full_name}/{}", m.f.name.name);
        let req = stream_arg_type(p, file, m, 1);
        let resp = ok_type(p, file, m, 1);
        let status = quote!(::tonic_thrift::codegen::tonic::Status);
        match m.mode {
            Mode::Bidi => quote! {
                #doc
                pub async fn #ident(
                    &mut self,
                    request: impl ::tonic_thrift::codegen::tonic::IntoStreamingRequest<Message = #req>,
                ) -> ::core::result::Result<
                    ::tonic_thrift::codegen::tonic::Response<::tonic_thrift::codegen::tonic::Streaming<#resp>>,
                    #status,
                > {
                    self.inner.streaming(request.into_streaming_request(), #path).await
                }
            },
            Mode::Client => quote! {
                #doc
                pub async fn #ident(
                    &mut self,
                    request: impl ::tonic_thrift::codegen::tonic::IntoStreamingRequest<Message = #req>,
                ) -> ::core::result::Result<::tonic_thrift::codegen::tonic::Response<#resp>, #status> {
                    self.inner.client_streaming(request.into_streaming_request(), #path).await
                }
            },
            Mode::Server => quote! {
                #doc
                pub async fn #ident(
                    &mut self,
                    request: impl ::tonic_thrift::codegen::tonic::IntoRequest<#req>,
                ) -> ::core::result::Result<
                    ::tonic_thrift::codegen::tonic::Response<::tonic_thrift::codegen::tonic::Streaming<#resp>>,
                    #status,
                > {
                    self.inner.server_streaming(request.into_request(), #path).await
                }
            },
            Mode::Unary | Mode::PingPong => args_result_method(
                p,
                file,
                m,
                wrappers,
                |args, result| {
                    quote! {
                        self.inner
                            .unary::<super::#wrappers::#args, super::#wrappers::#result>(request, #path)
                            .await
                    }
                },
                quote!(&mut self),
            ),
        }
    });
    let pingpong_fns = methods.iter().filter(|m| m.mode == Mode::PingPong).map(|m| {
        let wire = m.f.name.name.as_str();
        let oneway = m.f.oneway.is_some();
        args_result_method(
            p,
            file,
            m,
            wrappers,
            |args, result| {
                quote! {
                    self.inner
                        .call::<super::#wrappers::#args, super::#wrappers::#result>(#wire, request, #oneway)
                        .await
                }
            },
            quote!(&self),
        )
    });
    let pingpong_name = format_ident!("{}PingPongClient", s.name.name);
    let pingpong_doc = format!(" A client for the ping-pong methods of `{svc_name}` over TTHeader (default), Framed or Buffered, with a connection pool.");
    let pingpong = quote! {
        #[doc = #pingpong_doc]
        #[derive(Debug, Clone)]
        pub struct #pingpong_name {
            inner: ::tonic_thrift::codegen::PingPongClient,
        }

        impl #pingpong_name {
            /// A client of the service at `addr` (`host:port`) with default options.
            pub fn new(addr: impl ::core::convert::Into<::std::string::String>) -> Self {
                Self::with_options(addr, ::core::default::Default::default())
            }
            /// A client of the service at `addr` (`host:port`).
            pub fn with_options(
                addr: impl ::core::convert::Into<::std::string::String>,
                options: ::tonic_thrift::codegen::PingPongOptions,
            ) -> Self {
                Self { inner: ::tonic_thrift::codegen::PingPongClient::new(addr, #svc_name, options) }
            }
            /// A client over the instances `balance` finds: per-call load
            /// balancing, a pool and circuit breakers per instance (see
            /// `tonic_thrift::balance`).
            pub fn with_balancer(
                balance: ::tonic_thrift::codegen::BalanceOptions,
                options: ::tonic_thrift::codegen::PingPongOptions,
            ) -> Self {
                Self { inner: ::tonic_thrift::codegen::PingPongClient::balanced(balance, #svc_name, options) }
            }
            /// Connections open and idle in the pool (all pools, when balanced).
            pub fn idle_connections(&self) -> usize {
                self.inner.idle_connections()
            }
            /// When balanced, the instances with their breakers and health.
            pub fn balance_status(&self) -> ::core::option::Option<::tonic_thrift::codegen::ClusterStatus> {
                self.inner.status()
            }
            #(#pingpong_fns)*
        }
    };
    let doc = format!(
        " A client for the streaming and `unary` methods of `{svc_name}` over gRPC (HTTP/2)."
    );
    quote! {
        #[doc = #doc]
        #[derive(Debug, Clone)]
        pub struct #client_name<T = ::tonic_thrift::codegen::tonic::transport::Channel> {
            inner: ::tonic_thrift::codegen::GrpcClient<T>,
        }

        impl #client_name<::tonic_thrift::codegen::tonic::transport::Channel> {
            /// Connects to `dst` (for example `"http://127.0.0.1:8888"`).
            pub async fn connect<D>(dst: D) -> ::core::result::Result<Self, ::tonic_thrift::codegen::tonic::transport::Error>
            where
                D: ::core::convert::TryInto<::tonic_thrift::codegen::tonic::transport::Endpoint>,
                D::Error: ::core::convert::Into<::tonic_thrift::codegen::StdError>,
            {
                Self::connect_with(dst, ::core::default::Default::default()).await
            }

            /// Connects to `dst` with `options` (connect timeout, deadline,
            /// middleware, hooks, tracers, limits).
            pub async fn connect_with<D>(
                dst: D,
                options: ::tonic_thrift::codegen::GrpcOptions,
            ) -> ::core::result::Result<Self, ::tonic_thrift::codegen::tonic::transport::Error>
            where
                D: ::core::convert::TryInto<::tonic_thrift::codegen::tonic::transport::Endpoint>,
                D::Error: ::core::convert::Into<::tonic_thrift::codegen::StdError>,
            {
                let endpoint = ::tonic_thrift::codegen::tonic::transport::Endpoint::new(dst)?;
                let channel = options
                    .configure_endpoint_for(endpoint, #svc_name)
                    .connect()
                    .await?;
                ::core::result::Result::Ok(Self::with_options(channel, options))
            }
        }

        impl<T: ::tonic_thrift::codegen::GrpcTransport> #client_name<T> {
            /// A client over an HTTP/2 transport such as a tonic `Channel`.
            pub fn new(transport: T) -> Self {
                Self { inner: ::tonic_thrift::codegen::GrpcClient::new(transport) }
            }
            /// A client over an HTTP/2 transport, with `options`.
            pub fn with_options(transport: T, options: ::tonic_thrift::codegen::GrpcOptions) -> Self {
                Self { inner: ::tonic_thrift::codegen::GrpcClient::with_options(transport, options) }
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
            #(#fns)*
        }

        #pingpong
    }
}

/// A client method for an Args/Result method: one argument as
/// `impl IntoRequest<Arg>`, zero or several as plain parameters.
fn args_result_method(
    p: &Program,
    file: usize,
    m: &Method,
    wrappers: &Ident,
    call: impl FnOnce(&Ident, &Ident) -> TokenStream,
    receiver: TokenStream,
) -> TokenStream {
    let ident = &m.ident;
    let doc = doc_attrs(m.f.doc.as_deref());
    let resp = ok_type(p, file, m, 1);
    let (args, result, error) = wrapper_names(m);
    let err = if m.f.throws.is_empty() {
        quote!(::tonic_thrift::codegen::tonic::Status)
    } else {
        quote!(super::#wrappers::#error)
    };
    let call = call(&args, &result);
    let ret = quote!(::core::result::Result<::tonic_thrift::codegen::tonic::Response<#resp>, #err>);
    if m.f.args.len() == 1 {
        let input = handler_input(p, file, m, wrappers);
        quote! {
            #doc
            pub async fn #ident(
                #receiver,
                request: impl ::tonic_thrift::codegen::tonic::IntoRequest<#input>,
            ) -> #ret {
                let request = request.into_request();
                #call
            }
        }
    } else {
        let specs = field_specs_at(p, m.file, (file, 1), None, &m.f.args);
        let params = specs.iter().map(|f| {
            let (i, t) = (&f.ident, &f.ty);
            if f.optional {
                quote!(#i: ::core::option::Option<#t>)
            } else {
                quote!(#i: #t)
            }
        });
        let fields = specs.iter().map(|f| &f.ident);
        quote! {
            #doc
            pub async fn #ident(#receiver, #(#params),*) -> #ret {
                let request = ::tonic_thrift::codegen::tonic::Request::new(
                    super::#wrappers::#args { #(#fields),* },
                );
                #call
            }
        }
    }
}
