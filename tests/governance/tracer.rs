//! Governance item 6: tracing — a custom `Tracer` hears `on_start`,
//! `on_message` (sizes, counts) and `on_finish` (code, counts, last sizes)
//! on servers and clients, for streams and failing calls, on gRPC and
//! ping-pong; and the `tracing` output (events `call started` / `call
//! finished` / `message`, spans per call) seen by a minimal capturing
//! subscriber written here (no `tracing-subscriber`).
//!
//! The subscriber is installed as the default of the test's thread only,
//! not globally: the other governance tests run in the same process. Every
//! `#[tokio::test]` runs its runtime (and the servers and clients it spawns)
//! on its own thread, so each test sees, and reads, only the records of its
//! thread.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::ThreadId;
use std::time::Duration;

use crate::support::*;
use futures_util::StreamExt;
use tonic::Code;
use tonic_thrift::call::{CallInfo, CallKind, Transport};
use tonic_thrift::grpc::GrpcOptions;
use tonic_thrift::observe::{CallEnd, Direction, MessageEvent, Tracer};
use tonic_thrift::pingpong::PingPongOptions;
use tonic_thrift::transport::Framing;

const TTHEADER: Framing = Framing::TTHeader {
    inner_framed: false,
};

// ------------------------------------------------------------ a custom tracer

#[derive(Debug, Clone, PartialEq)]
enum Ev {
    Start(&'static str, CallKind, Transport),
    Msg(&'static str, MessageEvent),
    Finish(&'static str, CallEnd),
}

#[derive(Clone, Default)]
struct Rec(Arc<Mutex<Vec<Ev>>>);

impl Rec {
    fn events(&self) -> Vec<Ev> {
        self.0.lock().unwrap().clone()
    }
    fn finish(&self, method: &str) -> Option<CallEnd> {
        self.events().into_iter().find_map(|e| match e {
            Ev::Finish(m, end) if m == method => Some(end),
            _ => None,
        })
    }
    fn messages(&self, method: &str) -> Vec<MessageEvent> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                Ev::Msg(m, ev) if m == method => Some(ev),
                _ => None,
            })
            .collect()
    }
    async fn wait_finish(&self, method: &str) -> CallEnd {
        eventually(
            &format!("on_finish of {method}"),
            Duration::from_secs(2),
            || self.finish(method).is_some(),
        )
        .await;
        self.finish(method).unwrap()
    }
}

impl Tracer for Rec {
    fn on_start(&self, info: &CallInfo) {
        self.0
            .lock()
            .unwrap()
            .push(Ev::Start(info.method, info.kind, info.transport));
    }
    fn on_message(&self, info: &CallInfo, event: &MessageEvent) {
        self.0.lock().unwrap().push(Ev::Msg(info.method, *event));
    }
    fn on_finish(&self, info: &CallInfo, end: &CallEnd) {
        self.0
            .lock()
            .unwrap()
            .push(Ev::Finish(info.method, end.clone()));
    }
}

fn ev(direction: Direction, size: usize, count: u64) -> MessageEvent {
    MessageEvent {
        direction,
        size,
        count,
    }
}

/// `Request{1:"abc"}` / `Response{1:"abc"}`.
const ABC: usize = 11;
/// `Args{1: Request{1:"abc"}}` / `Result{0: Response{1:"abc"}}`.
const ABC_WRAPPED: usize = 15;

#[tokio::test]
async fn a_tracer_sees_a_bidi_stream_of_three_messages() {
    let (server_rec, client_rec) = (Rec::default(), Rec::default());
    let server = serve_svc(TestServiceServer::new(Gov::default()).tracer(server_rec.clone())).await;
    let mut grpc = server
        .grpc_with(GrpcOptions::default().tracer(client_rec.clone()))
        .await;
    let out = futures_util::stream::iter(["abc", "abc", "abc"].map(req));
    let replies: Vec<_> = grpc.echo(out).await.unwrap().into_inner().collect().await;
    assert_eq!(replies.len(), 3);

    for (side, rec, first, second) in [
        ("server", &server_rec, Direction::Recv, Direction::Send),
        ("client", &client_rec, Direction::Send, Direction::Recv),
    ] {
        let end = rec.wait_finish("Echo").await;
        let events = rec.events();
        assert_eq!(
            events.first(),
            Some(&Ev::Start("Echo", CallKind::Bidi, Transport::Grpc)),
            "{side}: {events:?}"
        );
        let msgs = rec.messages("Echo");
        let of = |d: Direction| {
            msgs.iter()
                .filter(|m| m.direction == d)
                .copied()
                .collect::<Vec<_>>()
        };
        assert_eq!(
            of(first),
            [ev(first, ABC, 1), ev(first, ABC, 2), ev(first, ABC, 3)],
            "{side}"
        );
        assert_eq!(
            of(second),
            [ev(second, ABC, 1), ev(second, ABC, 2), ev(second, ABC, 3)],
            "{side}"
        );
        assert_eq!(end.code, Code::Ok, "{side}: {end:?}");
        assert_eq!((end.sent, end.received), (3, 3), "{side}: {end:?}");
        assert_eq!(
            (end.last_send_size, end.last_recv_size),
            (ABC, ABC),
            "{side}: {end:?}"
        );
        assert!(
            matches!(events.last(), Some(Ev::Finish(..))),
            "{side}: finish comes last: {events:?}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn a_tracer_sees_the_code_of_a_failing_call() {
    let (server_rec, client_rec) = (Rec::default(), Rec::default());
    let server = serve_svc(TestServiceServer::new(Gov::default()).tracer(server_rec.clone())).await;
    let mut grpc = server
        .grpc_with(GrpcOptions::default().tracer(client_rec.clone()))
        .await;
    let err = grpc.echo_unary(req("fail")).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let end = server_rec.wait_finish("EchoUnary").await;
    assert_eq!(
        (end.code, end.message.as_str()),
        (Code::NotFound, "no such thing"),
        "server: {end:?}"
    );
    assert_eq!((end.received, end.sent), (1, 0), "server: {end:?}");
    assert_eq!(
        end.last_recv_size,
        ABC_WRAPPED - 3 + 4,
        "server: Args{{Request{{\"fail\"}}}}"
    );
    let end = client_rec.wait_finish("EchoUnary").await;
    assert_eq!(end.code, Code::NotFound, "client: {end:?}");
    assert_eq!((end.sent, end.received), (1, 0), "client: {end:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_tracer_sees_the_code_of_a_stream_failing_midway() {
    let (server_rec, client_rec) = (Rec::default(), Rec::default());
    let server = serve_svc(TestServiceServer::new(Gov::default()).tracer(server_rec.clone())).await;
    let mut grpc = server
        .grpc_with(GrpcOptions::default().tracer(client_rec.clone()))
        .await;
    let out = futures_util::stream::iter(["abc", "fail"].map(req));
    let mut inbound = grpc.echo(out).await.unwrap().into_inner();
    assert_eq!(inbound.next().await.unwrap().unwrap().message, "abc");
    let err = inbound.next().await.unwrap().unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert!(inbound.next().await.is_none());
    drop(inbound);
    let end = server_rec.wait_finish("Echo").await;
    assert_eq!(end.code, Code::NotFound, "server: {end:?}");
    assert_eq!((end.received, end.sent), (2, 1), "server: {end:?}");
    let end = client_rec.wait_finish("Echo").await;
    assert_eq!(
        end.code,
        Code::NotFound,
        "client: the stream ended with NOT_FOUND, the tracer heard {end:?}"
    );
    assert_eq!((end.sent, end.received), (2, 1), "client: {end:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_tracer_sees_pingpong_calls() {
    let (server_rec, client_rec) = (Rec::default(), Rec::default());
    let server = serve_svc(TestServiceServer::new(Gov::default()).tracer(server_rec.clone())).await;
    let pp = server.pingpong(
        PingPongOptions::default()
            .framing(TTHEADER)
            .tracer(client_rec.clone()),
    );
    pp.echo_ping_pong(req("abc")).await.unwrap();
    let end = server_rec.wait_finish("EchoPingPong").await;
    assert_eq!(
        server_rec.events()[0],
        Ev::Start(
            "EchoPingPong",
            CallKind::Unary,
            Transport::PingPong(TTHEADER)
        )
    );
    assert_eq!(end.code, Code::Ok, "server: {end:?}");
    assert_eq!((end.received, end.sent), (1, 1), "server: {end:?}");
    assert_eq!(
        (end.last_recv_size, end.last_send_size),
        (ABC_WRAPPED, ABC_WRAPPED),
        "server: {end:?}"
    );
    let end = client_rec.wait_finish("EchoPingPong").await;
    assert_eq!(end.code, Code::Ok, "client: {end:?}");
    assert_eq!((end.sent, end.received), (1, 1), "client: {end:?}");

    // A failing call: both sides hear a failure; the client the code it returned.
    let (server_rec2, client_rec2) = (Rec::default(), Rec::default());
    let server2 =
        serve_svc(TestServiceServer::new(Gov::default()).tracer(server_rec2.clone())).await;
    let pp = server2.pingpong(PingPongOptions::default().tracer(client_rec2.clone()));
    let err = pp.echo_ping_pong(req("fail")).await.unwrap_err();
    let end = server_rec2.wait_finish("EchoPingPong").await;
    assert_eq!(end.code, Code::NotFound, "server: {end:?}");
    let end = client_rec2.wait_finish("EchoPingPong").await;
    assert_eq!(end.code, err.code(), "client: {end:?}");
    assert_ne!(end.code, Code::Ok);
    server.stop().await;
    server2.stop().await;
}

#[tokio::test]
async fn pingpong_sizes_agree_between_client_and_server() {
    let (server_rec, client_rec) = (Rec::default(), Rec::default());
    let server = serve_svc(TestServiceServer::new(Gov::default()).tracer(server_rec.clone())).await;
    for framing in FRAMINGS {
        let pp = server.pingpong(
            PingPongOptions::default()
                .framing(framing)
                .tracer(client_rec.clone()),
        );
        pp.echo_ping_pong(req("abc")).await.unwrap();
    }
    eventually("server finishes", Duration::from_secs(2), || {
        server_rec
            .events()
            .iter()
            .filter(|e| matches!(e, Ev::Finish(..)))
            .count()
            == 4
    })
    .await;
    let sizes = |rec: &Rec, d: Direction| {
        rec.messages("EchoPingPong")
            .iter()
            .filter(|m| m.direction == d)
            .map(|m| m.size)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        sizes(&server_rec, Direction::Recv),
        [ABC_WRAPPED; 4],
        "server recv (Args)"
    );
    assert_eq!(
        sizes(&server_rec, Direction::Send),
        [ABC_WRAPPED; 4],
        "server send (Result)"
    );
    assert_eq!(
        sizes(&client_rec, Direction::Send),
        sizes(&server_rec, Direction::Recv),
        "the client's send size should be what the server received (the Args payload, \
         as for gRPC), whatever the framing"
    );
    assert_eq!(
        sizes(&client_rec, Direction::Recv),
        sizes(&server_rec, Direction::Send),
        "the client's recv size should be what the server sent (the Result payload)"
    );
    server.stop().await;
}

// ------------------------------------------------------------ `tracing` output

/// One captured event.
#[derive(Debug, Clone)]
struct Captured {
    thread: ThreadId,
    target: String,
    level: tracing::Level,
    fields: HashMap<String, String>,
    /// Fields of the spans entered on this thread when the event fired.
    spans: Vec<HashMap<String, String>>,
}

#[derive(Default)]
struct Capture {
    events: Mutex<Vec<Captured>>,
    spans: Mutex<HashMap<u64, HashMap<String, String>>>,
    next_id: std::sync::atomic::AtomicU64,
}

thread_local! {
    static STACK: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
}

struct Fields<'a>(&'a mut HashMap<String, String>);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
}

impl tracing::Subscriber for &'static Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::TRACE)
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let id = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        let mut fields = HashMap::new();
        fields.insert("span.name".to_string(), span.metadata().name().to_string());
        fields.insert(
            "span.target".to_string(),
            span.metadata().target().to_string(),
        );
        span.record(&mut Fields(&mut fields));
        self.spans.lock().unwrap().insert(id, fields);
        tracing::span::Id::from_u64(id)
    }
    fn record(&self, span: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        if let Some(f) = self.spans.lock().unwrap().get_mut(&span.into_u64()) {
            values.record(&mut Fields(f));
        }
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = HashMap::new();
        event.record(&mut Fields(&mut fields));
        let stack = STACK.with(|s| s.borrow().clone());
        let spans = {
            let all = self.spans.lock().unwrap();
            stack.iter().filter_map(|id| all.get(id).cloned()).collect()
        };
        self.events.lock().unwrap().push(Captured {
            thread: std::thread::current().id(),
            target: event.metadata().target().to_string(),
            level: *event.metadata().level(),
            fields,
            spans,
        });
    }
    fn enter(&self, span: &tracing::span::Id) {
        STACK.with(|s| s.borrow_mut().push(span.into_u64()));
    }
    fn exit(&self, span: &tracing::span::Id) {
        STACK.with(|s| {
            let mut s = s.borrow_mut();
            if let Some(pos) = s.iter().rposition(|id| *id == span.into_u64()) {
                s.remove(pos);
            }
        });
    }
}

/// The capturing subscriber, made the default of this thread (the test's)
/// until the guard drops.
fn capture() -> (&'static Capture, tracing::subscriber::DefaultGuard) {
    static CAPTURE: OnceLock<&'static Capture> = OnceLock::new();
    let c = *CAPTURE.get_or_init(|| Box::leak(Box::default()));
    (c, tracing::subscriber::set_default(c))
}

/// The events captured on this thread.
fn mine(c: &Capture) -> Vec<Captured> {
    let me = std::thread::current().id();
    c.events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.thread == me)
        .cloned()
        .collect()
}

fn field<'a>(e: &'a Captured, name: &str) -> Option<&'a str> {
    e.fields.get(name).map(String::as_str)
}

#[tokio::test]
async fn tracing_events_report_calls_and_messages() {
    let (c, _subscriber) = capture();
    let server = serve_svc(TestServiceServer::new(Gov::default())).await;
    let mut grpc = server.grpc().await;
    let out = futures_util::stream::iter(["abc", "abc", "abc"].map(req));
    let replies: Vec<_> = grpc.echo(out).await.unwrap().into_inner().collect().await;
    assert_eq!(replies.len(), 3);
    let _ = grpc.echo_unary(req("fail")).await.unwrap_err();

    let finished = |method: &str| {
        mine(c)
            .into_iter()
            .filter(|e| {
                e.target == "tonic_thrift::call"
                    && field(e, "message") == Some("call finished")
                    && field(e, "method") == Some(method)
            })
            .collect::<Vec<_>>()
    };
    // Client and server each report the end of each call.
    eventually("call finished events", Duration::from_secs(2), || {
        finished("Echo").len() == 2 && finished("EchoUnary").len() == 2
    })
    .await;
    let events = mine(c);
    let started: Vec<_> = events
        .iter()
        .filter(|e| e.target == "tonic_thrift::call" && field(e, "message") == Some("call started"))
        .collect();
    assert!(
        started
            .iter()
            .filter(|e| field(e, "method") == Some("Echo"))
            .count()
            == 2,
        "{started:?}"
    );
    for e in &started {
        assert_eq!(e.level, tracing::Level::DEBUG);
        assert_eq!(field(e, "service"), Some("TestService"));
        assert_eq!(field(e, "transport"), Some("GRPC"));
    }
    assert!(
        started
            .iter()
            .any(|e| field(e, "peer").is_some_and(|p| p.contains("127.0.0.1"))),
        "the server side names the peer: {started:?}"
    );
    for e in finished("Echo") {
        assert_eq!(field(&e, "code"), Some("Ok"), "{e:?}");
        assert_eq!(
            (field(&e, "sent"), field(&e, "received")),
            (Some("3"), Some("3")),
            "{e:?}"
        );
    }
    let failed = finished("EchoUnary");
    assert!(
        failed.iter().all(|e| field(e, "code") == Some("NotFound")),
        "{failed:?}"
    );

    let messages: Vec<_> = events
        .iter()
        .filter(|e| e.target == "tonic_thrift::message" && field(e, "method") == Some("Echo"))
        .collect();
    assert_eq!(
        messages.len(),
        12,
        "3 sent and 3 received on each side: {messages:?}"
    );
    for e in &messages {
        assert_eq!(e.level, tracing::Level::TRACE);
        assert_eq!(field(e, "size"), Some("11"), "{e:?}");
    }
    server.stop().await;
}

#[tokio::test]
async fn handlers_run_inside_a_span_of_their_call() {
    let (c, _subscriber) = capture();
    // A layer runs inside the call; it logs an event of its own.
    let logging = layer_fn(|call, next| {
        tracing::info!(target: "governance_tracing", "inside the call");
        call_next(next, call)
    });
    let server = serve_svc(TestServiceServer::new(Gov::default()).layer(logging)).await;
    let mut grpc = server.grpc().await;
    grpc.echo_unary(req("x")).await.unwrap();
    let pp = server.pingpong(PingPongOptions::default());
    pp.echo_ping_pong(req("x")).await.unwrap();
    let inside: Vec<_> = mine(c)
        .into_iter()
        .filter(|e| e.target == "governance_tracing")
        .collect();
    assert_eq!(inside.len(), 2);
    for (e, method) in inside.iter().zip(["EchoUnary", "EchoPingPong"]) {
        assert!(
            e.spans
                .iter()
                .any(|s| s.get("method").map(String::as_str) == Some(method)),
            "an event inside `{method}` is not in a span naming the call (the issue asks for \
             `tracing` spans per call/stream): spans {:?}",
            e.spans
        );
    }
    server.stop().await;
}
