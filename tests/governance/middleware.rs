//! Governance item 3: middleware (tower layers over `Call`) on servers and
//! clients, per-message hooks with encoded sizes, the `on_read_stream`
//! header hook, layer order, and panics in layers, hooks and handlers
//! (INTERNAL, the server keeps serving), on gRPC and ping-pong.

use std::any::Any;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::*;
use futures_util::StreamExt;
use tonic::{Code, Request, Status};
use tonic_thrift::call::{CallInfo, CallKind, Transport};
use tonic_thrift::grpc::GrpcOptions;
use tonic_thrift::metainfo::MetaInfo;
use tonic_thrift::observe::{Direction, MessageHook};
use tonic_thrift::pingpong::{application_exception, ExceptionKind, PingPongOptions};
use tonic_thrift::transport::Framing;

/// The wire wrappers of `EchoUnary` and `EchoPingPong` (one argument, a value result).
type EchoArgs = tonic_thrift::OneArg<echo::Request, 1>;
type EchoResult = tonic_thrift::ValueResult<echo::Response>;

const TTHEADER: Framing = Framing::TTHeader {
    inner_framed: false,
};

/// What a recording layer saw of one call.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    method: &'static str,
    kind: CallKind,
    transport: Transport,
    x_test: Option<String>,
    request: Option<String>,
    response: Option<String>,
    code: Code,
}

type Log<T> = Arc<Mutex<Vec<T>>>;

fn log<T>() -> Log<T> {
    Arc::new(Mutex::new(Vec::new()))
}

/// A layer recording method, metadata `x-test`, and the typed request and
/// response of each call.
fn recording(
    seen: Log<Seen>,
) -> FnLayer<
    impl Fn(
            tonic_thrift::call::Call,
            tonic_thrift::call::CallService,
        ) -> tonic_thrift::call::CallFuture
        + Send
        + Sync
        + 'static,
> {
    layer_fn(move |call, next| {
        let seen = seen.clone();
        let info = call.info().clone();
        let x_test = call
            .metadata()
            .get("x-test")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let request = call
            .message::<echo::Request>()
            .map(|r| r.message.to_string());
        Box::pin(async move {
            let resp = call_next(next, call).await;
            let response = resp.as_ref().ok().and_then(|r| {
                r.message::<EchoResult>()
                    .map(|tonic_thrift::ValueResult(v)| v.message.to_string())
                    .or_else(|| {
                        r.message::<EchoResult>()
                            .map(|tonic_thrift::ValueResult(v)| v.message.to_string())
                    })
            });
            seen.lock().unwrap().push(Seen {
                method: info.method,
                kind: info.kind,
                transport: info.transport,
                x_test,
                request,
                response,
                code: resp.as_ref().err().map(|s| s.code()).unwrap_or(Code::Ok),
            });
            resp
        })
    })
}

fn with_x_test(text: &str) -> Request<echo::Request> {
    let mut r = Request::new(req(text));
    r.metadata_mut().insert("x-test", "xv".parse().unwrap());
    r
}

// ------------------------------------------------------------ layers see the call

#[tokio::test]
async fn layers_see_method_metadata_request_and_response_grpc() {
    let (server_seen, client_seen) = (log(), log());
    let server =
        serve_svc(TestServiceServer::new(Gov::default()).layer(recording(server_seen.clone())))
            .await;
    let mut client = server
        .grpc_with(GrpcOptions::default().layer(recording(client_seen.clone())))
        .await;
    let r = client.echo_unary(with_x_test("hello")).await.unwrap();
    assert_eq!(r.into_inner().message, "hello");

    let want = Seen {
        method: "EchoUnary",
        kind: CallKind::Unary,
        transport: Transport::Grpc,
        x_test: Some("xv".into()),
        request: Some("hello".into()),
        response: Some("hello".into()),
        code: Code::Ok,
    };
    eventually("server layer", Duration::from_secs(1), || {
        server_seen.lock().unwrap().len() == 1
    })
    .await;
    assert_eq!(server_seen.lock().unwrap()[0], want, "server layer");
    assert_eq!(client_seen.lock().unwrap()[0], want, "client layer");

    // A failing call: the layer sees the error.
    let err = client.echo_unary(req("fail")).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    eventually("server layer", Duration::from_secs(1), || {
        server_seen.lock().unwrap().len() == 2
    })
    .await;
    assert_eq!(server_seen.lock().unwrap()[1].code, Code::NotFound);
    assert_eq!(client_seen.lock().unwrap()[1].code, Code::NotFound);

    // A stream: method, kind and metadata, no typed request.
    let mut r = Request::new(futures_util::stream::iter([req("s")]));
    r.metadata_mut().insert("x-test", "xv".parse().unwrap());
    let replies: Vec<_> = client.echo(r).await.unwrap().into_inner().collect().await;
    assert_eq!(replies.len(), 1);
    eventually("server layer", Duration::from_secs(1), || {
        server_seen.lock().unwrap().len() == 3
    })
    .await;
    for (side, seen) in [("server", &server_seen), ("client", &client_seen)] {
        let s = seen.lock().unwrap()[2].clone();
        assert_eq!(
            (s.method, s.kind, s.x_test.as_deref(), s.request),
            ("Echo", CallKind::Bidi, Some("xv"), None),
            "{side}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn layers_see_method_request_and_response_pingpong() {
    let (server_seen, client_seen) = (log(), log());
    let server =
        serve_svc(TestServiceServer::new(Gov::default()).layer(recording(server_seen.clone())))
            .await;
    for (i, framing) in FRAMINGS.into_iter().enumerate() {
        let client = server.pingpong(
            PingPongOptions::default()
                .framing(framing)
                .layer(recording(client_seen.clone())),
        );
        let r = client.echo_ping_pong(with_x_test("hello")).await.unwrap();
        assert_eq!(r.into_inner().message, "hello");
        eventually("server layer", Duration::from_secs(1), || {
            server_seen.lock().unwrap().len() == i + 1
        })
        .await;
        let want = Seen {
            method: "EchoPingPong",
            kind: CallKind::Unary,
            transport: Transport::PingPong(framing),
            x_test: None, // ping-pong carries no HTTP/2 metadata
            request: Some("hello".into()),
            response: Some("hello".into()),
            code: Code::Ok,
        };
        assert_eq!(
            server_seen.lock().unwrap()[i],
            want,
            "server layer, {framing:?}"
        );
        let want = Seen {
            x_test: Some("xv".into()),
            ..want
        };
        assert_eq!(
            client_seen.lock().unwrap()[i],
            want,
            "client layer, {framing:?}"
        );
    }
    server.stop().await;
}

// ------------------------------------------------------------ extensions and order

/// A layer that inserts `Tag(value)` in the request extensions.
fn tagging(
    value: &'static str,
) -> FnLayer<
    impl Fn(
            tonic_thrift::call::Call,
            tonic_thrift::call::CallService,
        ) -> tonic_thrift::call::CallFuture
        + Send
        + Sync
        + 'static,
> {
    layer_fn(move |mut call, next| {
        call.extensions_mut().insert(Tag(value.into()));
        call_next(next, call)
    })
}

#[tokio::test]
async fn a_layer_value_reaches_later_layers_and_the_handler() {
    let later: Log<Option<String>> = log();
    let l = later.clone();
    let reader = layer_fn(move |call, next| {
        l.lock()
            .unwrap()
            .push(call.extensions().get::<Tag>().map(|t| t.0.clone()));
        call_next(next, call)
    });
    let server = serve_svc(
        TestServiceServer::new(Gov::default())
            .layer(tagging("from-layer"))
            .layer(reader),
    )
    .await;
    let mut grpc = server.grpc().await;
    let r = grpc.echo_unary(req("ext")).await.unwrap();
    assert_eq!(r.into_inner().message, "from-layer", "gRPC handler");
    for framing in FRAMINGS {
        let pp = server.pingpong(PingPongOptions::default().framing(framing));
        let r = pp.echo_ping_pong(req("ext")).await.unwrap();
        assert_eq!(r.into_inner().message, "from-layer", "{framing:?} handler");
    }
    let later = later.lock().unwrap().clone();
    assert_eq!(later.len(), 5);
    assert!(
        later.iter().all(|t| t.as_deref() == Some("from-layer")),
        "{later:?}"
    );
    server.stop().await;
}

/// A layer logging `NAME>` before and `<NAME` after the rest of the stack.
fn ordered(
    name: &'static str,
    order: Log<String>,
) -> FnLayer<
    impl Fn(
            tonic_thrift::call::Call,
            tonic_thrift::call::CallService,
        ) -> tonic_thrift::call::CallFuture
        + Send
        + Sync
        + 'static,
> {
    layer_fn(move |call, next| {
        let order = order.clone();
        Box::pin(async move {
            order.lock().unwrap().push(format!("{name}>"));
            let r = call_next(next, call).await;
            order.lock().unwrap().push(format!("<{name}"));
            r
        })
    })
}

#[tokio::test]
async fn the_first_layer_added_is_the_outermost() {
    let order = log();
    let server = serve_svc(
        TestServiceServer::new(Gov::default())
            .layer(ordered("A", order.clone()))
            .layer(ordered("B", order.clone())),
    )
    .await;
    let client_order = log();
    let mut grpc = server
        .grpc_with(
            GrpcOptions::default()
                .layer(ordered("a", client_order.clone()))
                .layer(ordered("b", client_order.clone())),
        )
        .await;
    grpc.echo_unary(req("x")).await.unwrap();
    eventually("server layers", Duration::from_secs(1), || {
        order.lock().unwrap().len() == 4
    })
    .await;
    assert_eq!(*order.lock().unwrap(), ["A>", "B>", "<B", "<A"]);
    assert_eq!(*client_order.lock().unwrap(), ["a>", "b>", "<b", "<a"]);

    order.lock().unwrap().clear();
    let pp_order = log();
    let pp = server.pingpong(
        PingPongOptions::default()
            .layer(ordered("a", pp_order.clone()))
            .layer(ordered("b", pp_order.clone())),
    );
    pp.echo_ping_pong(req("x")).await.unwrap();
    eventually("server layers", Duration::from_secs(1), || {
        order.lock().unwrap().len() == 4
    })
    .await;
    assert_eq!(*order.lock().unwrap(), ["A>", "B>", "<B", "<A"]);
    assert_eq!(*pp_order.lock().unwrap(), ["a>", "b>", "<b", "<a"]);
    server.stop().await;
}

// ------------------------------------------------------------ message hooks

/// The text of a message a hook sees, whatever its type.
fn text_of(m: &dyn Any) -> Option<String> {
    if let Some(r) = m.downcast_ref::<echo::Request>() {
        return Some(r.message.to_string());
    }
    if let Some(r) = m.downcast_ref::<echo::Response>() {
        return Some(r.message.to_string());
    }
    if let Some(a) = m.downcast_ref::<EchoArgs>() {
        return Some(a.0.message.to_string());
    }
    if let Some(r) = m.downcast_ref::<EchoResult>() {
        return Some(r.0.message.to_string());
    }
    None
}

/// A hook that records (direction, size, text) and refuses or panics on
/// given texts.
#[derive(Clone, Default)]
struct Hook {
    log: Log<(Direction, usize, Option<String>)>,
    refuse: Option<(Direction, &'static str)>,
    panic_on: Option<&'static str>,
}

impl Hook {
    fn see(&self, d: Direction, message: &dyn Any, size: usize) -> Result<(), Status> {
        let text = text_of(message);
        if self.panic_on.is_some() && text.as_deref() == self.panic_on {
            panic!("the message hook panics on purpose");
        }
        self.log.lock().unwrap().push((d, size, text.clone()));
        match self.refuse {
            Some((rd, t)) if rd == d && text.as_deref() == Some(t) => {
                Err(Status::permission_denied(format!("hook refuses `{t}`")))
            }
            _ => Ok(()),
        }
    }
}

impl MessageHook for Hook {
    fn on_recv(&self, _: &CallInfo, message: &dyn Any, size: usize) -> Result<(), Status> {
        self.see(Direction::Recv, message, size)
    }
    fn on_send(&self, _: &CallInfo, message: &dyn Any, size: usize) -> Result<(), Status> {
        self.see(Direction::Send, message, size)
    }
}

/// `Request{1: "abc"}`: 1 (type) + 2 (id) + 4 (length) + 3 + 1 (stop).
const ABC_SIZE: usize = 11;

#[tokio::test]
async fn hooks_see_every_bidi_message_with_its_exact_size() {
    let (server_hook, client_hook) = (Hook::default(), Hook::default());
    let server =
        serve_svc(TestServiceServer::new(Gov::default()).message_hook(server_hook.clone())).await;
    let mut grpc = server
        .grpc_with(GrpcOptions::default().message_hook(client_hook.clone()))
        .await;
    let out = futures_util::stream::iter(["abc", "abc", "abc"].map(req));
    let replies: Vec<_> = grpc.echo(out).await.unwrap().into_inner().collect().await;
    assert_eq!(replies.len(), 3);
    assert!(replies.iter().all(|r| r.as_ref().unwrap().message == "abc"));

    let abc = Some("abc".to_string());
    let count = |h: &Hook, d: Direction| {
        h.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(dd, size, text)| *dd == d && *size == ABC_SIZE && *text == abc)
            .count()
    };
    eventually("server hook", Duration::from_secs(1), || {
        server_hook.log.lock().unwrap().len() == 6
    })
    .await;
    assert_eq!(
        count(&server_hook, Direction::Recv),
        3,
        "server recv: {:?}",
        server_hook.log
    );
    assert_eq!(
        count(&server_hook, Direction::Send),
        3,
        "server send: {:?}",
        server_hook.log
    );
    assert_eq!(
        count(&client_hook, Direction::Send),
        3,
        "client send: {:?}",
        client_hook.log
    );
    assert_eq!(
        count(&client_hook, Direction::Recv),
        3,
        "client recv: {:?}",
        client_hook.log
    );
    assert_eq!(client_hook.log.lock().unwrap().len(), 6);
    server.stop().await;
}

#[tokio::test]
async fn hooks_see_unary_and_pingpong_messages() {
    let server_hook = Hook::default();
    let server =
        serve_svc(TestServiceServer::new(Gov::default()).message_hook(server_hook.clone())).await;
    // Args{1: Request{1: "abc"}} and Result{0: Response{1: "abc"}}: 1 + 2 + 11 + 1.
    let wrapped = ABC_SIZE + 4;
    let mut grpc = server.grpc().await;
    grpc.echo_unary(req("abc")).await.unwrap();
    eventually("server hook", Duration::from_secs(1), || {
        server_hook.log.lock().unwrap().len() == 2
    })
    .await;
    assert_eq!(
        *server_hook.log.lock().unwrap(),
        [
            (Direction::Recv, wrapped, Some("abc".into())),
            (Direction::Send, wrapped, Some("abc".into()))
        ]
    );
    server_hook.log.lock().unwrap().clear();
    let client_hook = Hook::default();
    let pp = server.pingpong(PingPongOptions::default().message_hook(client_hook.clone()));
    pp.echo_ping_pong(req("abc")).await.unwrap();
    eventually("server hook", Duration::from_secs(1), || {
        server_hook.log.lock().unwrap().len() == 2
    })
    .await;
    let server_log = server_hook.log.lock().unwrap().clone();
    assert_eq!(server_log[0].0, Direction::Recv);
    assert_eq!(
        server_log[0].1, wrapped,
        "ping-pong server recv size: {server_log:?}"
    );
    assert_eq!(server_log[1].0, Direction::Send);
    assert_eq!(
        server_log[1].1, wrapped,
        "ping-pong server send size: {server_log:?}"
    );
    let client_log = client_hook.log.lock().unwrap().clone();
    assert_eq!(
        client_log.iter().map(|(d, _, _)| *d).collect::<Vec<_>>(),
        [Direction::Send, Direction::Recv],
        "{client_log:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_server_hook_error_ends_the_stream_with_its_status() {
    let server = serve_svc(TestServiceServer::new(Gov::default()).message_hook(Hook {
        refuse: Some((Direction::Recv, "bad")),
        ..Hook::default()
    }))
    .await;
    let mut grpc = server.grpc().await;
    let out = futures_util::stream::iter(["ok", "bad", "never"].map(req));
    let mut inbound = grpc.echo(out).await.unwrap().into_inner();
    assert_eq!(inbound.next().await.unwrap().unwrap().message, "ok");
    let err = inbound.next().await.expect("an error").unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    assert!(err.message().contains("hook refuses `bad`"), "{err:?}");
    assert!(inbound.next().await.is_none());

    // Unary and ping-pong: the call fails with the hook's message.
    let err = grpc.echo_unary(req("bad")).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    for framing in FRAMINGS {
        let pp = server.pingpong(PingPongOptions::default().framing(framing));
        let err = pp.echo_ping_pong(req("bad")).await.unwrap_err();
        assert!(
            err.message().contains("hook refuses `bad`"),
            "{framing:?}: {err:?}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn a_server_send_hook_error_ends_the_stream_with_its_status() {
    let server2 = serve_svc(TestServiceServer::new(Gov::default()).message_hook(Hook {
        refuse: Some((Direction::Send, "secret")),
        ..Hook::default()
    }))
    .await;
    let mut grpc2 = server2.grpc().await;
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let mut inbound = grpc2
        .echo(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    tx.send(req("ok")).await.unwrap();
    assert_eq!(inbound.next().await.unwrap().unwrap().message, "ok");
    tx.send(req("secret")).await.unwrap();
    let err = inbound.next().await.expect("an error").unwrap_err();
    drop(tx);
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    assert!(err.message().contains("hook refuses `secret`"), "{err:?}");
    server2.stop().await;
}

#[tokio::test]
async fn a_client_recv_hook_error_ends_the_stream_with_its_status() {
    let server = serve_svc(TestServiceServer::new(Gov::default())).await;
    let mut grpc = server
        .grpc_with(GrpcOptions::default().message_hook(Hook {
            refuse: Some((Direction::Recv, "bad")),
            ..Hook::default()
        }))
        .await;
    let out = futures_util::stream::iter(["ok", "bad", "never"].map(req));
    let mut inbound = grpc.echo(out).await.unwrap().into_inner();
    assert_eq!(inbound.next().await.unwrap().unwrap().message, "ok");
    let err = inbound.next().await.expect("an error").unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    assert!(err.message().contains("hook refuses `bad`"), "{err:?}");
    server.stop().await;
}

#[tokio::test]
async fn pingpong_client_hooks_see_the_typed_messages() {
    let server = serve_svc(TestServiceServer::new(Gov::default())).await;
    let hook = Hook::default();
    let pp = server.pingpong(PingPongOptions::default().message_hook(hook.clone()));
    pp.echo_ping_pong(req("abc")).await.unwrap();
    let texts: Vec<_> = hook
        .log
        .lock()
        .unwrap()
        .iter()
        .map(|(d, _, t)| (*d, t.clone()))
        .collect();
    assert_eq!(
        texts,
        [
            (Direction::Send, Some("abc".to_string())),
            (Direction::Recv, Some("abc".to_string()))
        ],
        "the ping-pong client's hook should see the Args / Result it sends and receives"
    );
    // And so a client hook can refuse a reply.
    let pp = server.pingpong(PingPongOptions::default().message_hook(Hook {
        refuse: Some((Direction::Recv, "bad")),
        ..Hook::default()
    }));
    let err = pp.echo_ping_pong(req("bad")).await.unwrap_err();
    assert_eq!(
        err.code(),
        Code::PermissionDenied,
        "ping-pong client recv hook: {err:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_client_send_hook_error_ends_the_stream_with_its_status() {
    let server = serve_svc(TestServiceServer::new(Gov::default())).await;
    let mut grpc = server
        .grpc_with(GrpcOptions::default().message_hook(Hook {
            refuse: Some((Direction::Send, "bad")),
            ..Hook::default()
        }))
        .await;
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let mut inbound = grpc
        .echo(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    tx.send(req("ok")).await.unwrap();
    assert_eq!(inbound.next().await.unwrap().unwrap().message, "ok");
    tx.send(req("bad")).await.unwrap();
    let err = tokio::time::timeout(Duration::from_secs(2), inbound.next())
        .await
        .expect("the stream must end")
        .expect("an error")
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::PermissionDenied,
        "client send hook on a stream: {err:?}"
    );
    assert!(err.message().contains("hook refuses `bad`"), "{err:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_client_send_hook_error_fails_the_unary_call_with_its_status() {
    let server = serve_svc(TestServiceServer::new(Gov::default())).await;
    let mut grpc = server
        .grpc_with(GrpcOptions::default().message_hook(Hook {
            refuse: Some((Direction::Send, "bad")),
            ..Hook::default()
        }))
        .await;
    let err = grpc.echo_unary(req("bad")).await.unwrap_err();
    assert_eq!(
        err.code(),
        Code::PermissionDenied,
        "client send hook on unary: {err:?}"
    );
    assert!(err.message().contains("hook refuses `bad`"), "{err:?}");
    server.stop().await;
}

// ------------------------------------------------------------ on_read_stream

#[tokio::test]
async fn the_read_hook_runs_before_the_handler_and_can_refuse() {
    let (gov, mut guards) = Gov::with_guards();
    let server = serve_svc(
        TestServiceServer::new(gov).on_read_stream(|info, meta, ext| {
            let by_header = meta.get("x-auth").is_some();
            let by_meta = ext
                .get::<MetaInfo>()
                .and_then(|m| m.transient("AUTH"))
                .is_some();
            if !by_header && !by_meta {
                return Err(Status::unauthenticated(format!(
                    "{}: no credentials",
                    info.method
                )));
            }
            ext.insert(Tag("read-hook".into()));
            Ok(())
        }),
    )
    .await;
    let mut grpc = server.grpc().await;
    // Refused: the handler never runs.
    let err = grpc.echo_unary(req("sleep:1")).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
    assert!(
        err.message().contains("EchoUnary: no credentials"),
        "{err:?}"
    );
    let res = grpc.echo(futures_util::stream::iter([req("x")])).await;
    let err = match res {
        Err(e) => e,
        Ok(r) => r.into_inner().next().await.expect("an error").unwrap_err(),
    };
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
    // Admitted: the handler sees what the hook added.
    let mut r = Request::new(req("ext"));
    r.metadata_mut().insert("x-auth", "1".parse().unwrap());
    assert_eq!(
        grpc.echo_unary(r).await.unwrap().into_inner().message,
        "read-hook"
    );
    let mut r = Request::new(futures_util::stream::iter([req("y")]));
    r.metadata_mut().insert("x-auth", "1".parse().unwrap());
    let replies: Vec<_> = grpc.echo(r).await.unwrap().into_inner().collect().await;
    assert_eq!(replies.len(), 1);
    // Only the admitted stream started a handler.
    wait_for(
        &mut guards,
        GuardEvent::Started("bidi"),
        Duration::from_secs(1),
    )
    .await
    .unwrap();
    let mut rest = Vec::new();
    while let Ok(e) = guards.try_recv() {
        rest.push(e);
    }
    assert!(
        !rest.contains(&GuardEvent::Started("unary")),
        "a refused call ran its handler: {rest:?}"
    );

    // Ping-pong: refused with a TApplicationException; admitted through TTHeader metainfo.
    let pp = server.pingpong(PingPongOptions::default().framing(TTHEADER));
    let err = pp.echo_ping_pong(req("x")).await.unwrap_err();
    assert!(err.message().contains("no credentials"), "{err:?}");
    assert!(application_exception(&err).is_some(), "{err:?}");
    let mut r = Request::new(req("ext"));
    MetaInfo::attach(&mut r).set_transient("AUTH", "1").unwrap();
    assert_eq!(
        pp.echo_ping_pong(r).await.unwrap().into_inner().message,
        "read-hook"
    );
    server.stop().await;
}

// ------------------------------------------------------------ panics

fn is_internal_exception(err: &Status) -> bool {
    application_exception(err).is_some_and(|e| e.kind == ExceptionKind::INTERNAL_ERROR)
}

async fn assert_serving(server: &Running) {
    let mut grpc = server.grpc().await;
    assert_eq!(
        grpc.echo_unary(req("alive"))
            .await
            .unwrap()
            .into_inner()
            .message,
        "alive"
    );
    let pp = server.pingpong(PingPongOptions::default());
    assert_eq!(
        pp.echo_ping_pong(req("alive"))
            .await
            .unwrap()
            .into_inner()
            .message,
        "alive"
    );
}

#[tokio::test]
async fn a_panicking_handler_fails_the_call_with_internal() {
    let server = serve_svc(TestServiceServer::new(Gov::default())).await;
    let mut grpc = server.grpc().await;
    let err = grpc.echo_unary(req("panic")).await.unwrap_err();
    assert_eq!(err.code(), Code::Internal, "{err:?}");
    for framing in FRAMINGS {
        let pp = server.pingpong(PingPongOptions::default().framing(framing));
        let err = pp.echo_ping_pong(req("panic")).await.unwrap_err();
        assert!(is_internal_exception(&err), "{framing:?}: {err:?}");
        // The same client (and its pooled connection) keeps working.
        assert_eq!(
            pp.echo_ping_pong(req("after"))
                .await
                .unwrap()
                .into_inner()
                .message,
            "after"
        );
    }
    assert_eq!(
        grpc.echo_unary(req("after"))
            .await
            .unwrap()
            .into_inner()
            .message,
        "after"
    );
    assert_serving(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn a_panicking_layer_fails_the_call_with_internal() {
    let panicky = layer_fn(|call, next| {
        if call
            .message::<echo::Request>()
            .is_some_and(|r| r.message == "panic-layer")
            || call.metadata().get("x-panic").is_some()
        {
            panic!("the layer panics on purpose");
        }
        call_next(next, call)
    });
    let server = serve_svc(TestServiceServer::new(Gov::default()).layer(panicky)).await;
    let mut grpc = server.grpc().await;
    let err = grpc.echo_unary(req("panic-layer")).await.unwrap_err();
    assert_eq!(err.code(), Code::Internal, "unary: {err:?}");
    let mut r = Request::new(futures_util::stream::iter([req("x")]));
    r.metadata_mut().insert("x-panic", "1".parse().unwrap());
    let err = match grpc.echo(r).await {
        Err(e) => e,
        Ok(r) => r.into_inner().next().await.expect("an error").unwrap_err(),
    };
    assert_eq!(err.code(), Code::Internal, "bidi: {err:?}");
    for framing in FRAMINGS {
        let pp = server.pingpong(PingPongOptions::default().framing(framing));
        let err = pp.echo_ping_pong(req("panic-layer")).await.unwrap_err();
        assert!(is_internal_exception(&err), "{framing:?}: {err:?}");
    }
    assert_serving(&server).await;

    // A client layer that panics: the call fails with INTERNAL, the client survives.
    let client_panicky = layer_fn(|call, next| {
        if call
            .message::<echo::Request>()
            .is_some_and(|r| r.message == "panic-layer")
        {
            panic!("the client layer panics on purpose");
        }
        call_next(next, call)
    });
    let mut grpc = server
        .grpc_with(GrpcOptions::default().layer(client_panicky.clone()))
        .await;
    let err = grpc.echo_unary(req("panic-layer")).await.unwrap_err();
    assert_eq!(err.code(), Code::Internal, "client layer: {err:?}");
    assert_eq!(
        grpc.echo_unary(req("after"))
            .await
            .unwrap()
            .into_inner()
            .message,
        "after"
    );
    let pp = server.pingpong(PingPongOptions::default().layer(client_panicky));
    let err = pp.echo_ping_pong(req("panic-layer")).await.unwrap_err();
    assert_eq!(
        err.code(),
        Code::Internal,
        "ping-pong client layer: {err:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_panicking_message_hook_fails_the_call_with_internal_grpc() {
    let server = serve_svc(TestServiceServer::new(Gov::default()).message_hook(Hook {
        panic_on: Some("panic-hook"),
        ..Hook::default()
    }))
    .await;
    let mut grpc = server.grpc().await;
    let err = grpc.echo_unary(req("panic-hook")).await.unwrap_err();
    assert_eq!(err.code(), Code::Internal, "unary: {err:?}");
    let out = futures_util::stream::iter(["ok", "panic-hook"].map(req));
    let mut inbound = grpc.echo(out).await.unwrap().into_inner();
    assert_eq!(inbound.next().await.unwrap().unwrap().message, "ok");
    let err = inbound.next().await.expect("an error").unwrap_err();
    assert_eq!(err.code(), Code::Internal, "bidi: {err:?}");
    assert_serving(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn a_panicking_message_hook_fails_the_call_with_internal_pingpong() {
    let server = serve_svc(TestServiceServer::new(Gov::default()).message_hook(Hook {
        panic_on: Some("panic-hook"),
        ..Hook::default()
    }))
    .await;
    for framing in FRAMINGS {
        let pp = server.pingpong(PingPongOptions::default().framing(framing));
        let err = pp.echo_ping_pong(req("panic-hook")).await.unwrap_err();
        assert!(is_internal_exception(&err), "{framing:?}: {err:?}");
    }
    assert_serving(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn a_panicking_read_hook_fails_the_call_with_internal_grpc() {
    let server = serve_svc(TestServiceServer::new(Gov::default()).on_read_stream(
        |_, meta, ext| {
            if meta.get("x-panic").is_some()
                || ext
                    .get::<MetaInfo>()
                    .and_then(|m| m.transient("PANIC"))
                    .is_some()
            {
                panic!("the read hook panics on purpose");
            }
            Ok(())
        },
    ))
    .await;
    let mut grpc = server.grpc().await;
    let mut r = Request::new(req("x"));
    r.metadata_mut().insert("x-panic", "1".parse().unwrap());
    let err = grpc.echo_unary(r).await.unwrap_err();
    assert_eq!(err.code(), Code::Internal, "gRPC: {err:?}");
    assert_serving(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn a_panicking_read_hook_fails_the_call_with_internal_pingpong() {
    let server = serve_svc(
        TestServiceServer::new(Gov::default()).on_read_stream(|_, _, ext| {
            if ext
                .get::<MetaInfo>()
                .and_then(|m| m.transient("PANIC"))
                .is_some()
            {
                panic!("the read hook panics on purpose");
            }
            Ok(())
        }),
    )
    .await;
    let pp = server.pingpong(PingPongOptions::default().framing(TTHEADER));
    let mut r = Request::new(req("x"));
    MetaInfo::attach(&mut r)
        .set_transient("PANIC", "1")
        .unwrap();
    let err = pp.echo_ping_pong(r).await.unwrap_err();
    assert!(is_internal_exception(&err), "ping-pong: {err:?}");
    assert_serving(&server).await;
    server.stop().await;
}
