//! The generic client against a generated server, and generated clients
//! against the generic server: every mode, gRPC and TTHeader Streaming,
//! ping-pong over TTHeader, TTHeader+Framed, Framed and Buffered.

use std::pin::Pin;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use serde_json::{json, Value};
use tonic::{Request, Response, Status, Streaming};
use tonic_thrift::grpc::{GrpcOptions, StreamTransport};
use tonic_thrift::pingpong::PingPongOptions;
use tonic_thrift::transport::Framing;
use tonic_thrift_generic::{
    CallError, ClientOptions, GenericClient, GenericServer, Handler, HandlerError, JsonStream,
    PingPongTransport,
};

use super::load;

tonic_thrift::thrift_service!("idl/echo.thrift");

use echo::test_service_client::{TestServiceClient, TestServicePingPongClient};
use echo::test_service_server::{TestService, TestServiceServer};

type Replies = Pin<Box<dyn Stream<Item = Result<echo::Response, Status>> + Send>>;

fn resp(m: impl Into<String>) -> echo::Response {
    echo::Response {
        message: m.into().into(),
    }
}

/// A generated echo server that says which transport it saw.
struct Generated;

fn tag<T>(r: &Request<T>, m: &str) -> String {
    let framing = match r.extensions().get::<Framing>() {
        Some(Framing::TTHeader {
            inner_framed: false,
        }) => "ttheader",
        Some(Framing::TTHeader { inner_framed: true }) => "ttheader_framed",
        Some(Framing::Framed) => "framed",
        Some(Framing::Buffered) => "buffered",
        Some(Framing::THeader) => "theader",
        None if r
            .extensions()
            .get::<tonic_thrift::ttstream::TTHeaderStreaming>()
            .is_some() =>
        {
            "ttstream"
        }
        None => "grpc",
    };
    format!("{m}@{framing}")
}

#[tonic::async_trait]
impl TestService for Generated {
    type EchoStream = Replies;
    type EchoServerStream = Replies;

    async fn echo(
        &self,
        r: Request<Streaming<echo::Request>>,
    ) -> Result<Response<Replies>, Status> {
        let t = tag(&r, "");
        let s = r
            .into_inner()
            .map(move |m| m.map(|m| resp(format!("{}{t}", m.message))));
        Ok(Response::new(Box::pin(s)))
    }

    async fn echo_client(
        &self,
        r: Request<Streaming<echo::Request>>,
    ) -> Result<Response<echo::Response>, Status> {
        let t = tag(&r, "");
        let mut s = r.into_inner();
        let mut all = Vec::new();
        while let Some(m) = s.next().await {
            all.push(m?.message.to_string());
        }
        Ok(Response::new(resp(format!("{}{t}", all.join(",")))))
    }

    async fn echo_server(&self, r: Request<echo::Request>) -> Result<Response<Replies>, Status> {
        let t = tag(&r, "");
        let n: usize = r.into_inner().message.parse().unwrap_or(0);
        let s = futures_util::stream::iter(0..n).map(move |i| Ok(resp(format!("{i}{t}"))));
        Ok(Response::new(Box::pin(s)))
    }

    async fn echo_unary(
        &self,
        r: Request<echo::Request>,
    ) -> Result<Response<echo::Response>, Status> {
        let t = tag(&r, &r.get_ref().message);
        Ok(Response::new(resp(t)))
    }

    async fn echo_ping_pong(
        &self,
        r: Request<echo::Request>,
    ) -> Result<Response<echo::Response>, Status> {
        if r.get_ref().message == "biz" {
            return Err(tonic_thrift::BizStatusError::new(1001, "biz error msg").into());
        }
        let t = tag(&r, &r.get_ref().message);
        Ok(Response::new(resp(t)))
    }
}

async fn serve<S: tonic_thrift::server::ThriftService>(svc: S) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(
        tonic_thrift::Server::builder()
            .add_service(svc)
            .serve_with_listener(listener, std::future::pending()),
    );
    addr
}

fn msg(m: &str) -> Value {
    json!({ "message": m })
}

fn lines(ms: &[&str]) -> impl Stream<Item = Value> + Send + 'static {
    let v: Vec<Value> = ms.iter().map(|m| msg(m)).collect();
    futures_util::stream::iter(v)
}

async fn collect(mut s: tonic_thrift_generic::ReplyStream) -> Vec<Value> {
    let mut out = Vec::new();
    while let Some(v) = s.message().await.unwrap() {
        out.push(v);
    }
    out
}

#[tokio::test]
async fn the_generic_client_calls_a_generated_server_in_every_mode() {
    let addr = serve(TestServiceServer::new(Generated)).await;
    let desc = load("idl/echo.thrift");
    for (st, name) in [
        (StreamTransport::Grpc, "grpc"),
        (StreamTransport::TTHeaderStreaming, "ttstream"),
    ] {
        let c = GenericClient::new(
            desc.clone(),
            &addr,
            ClientOptions::default().stream_transport(st),
        );
        let bidi = collect(
            c.bidi("TestService", "Echo", lines(&["a", "b"]))
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            bidi,
            vec![msg(&format!("a@{name}")), msg(&format!("b@{name}"))]
        );
        let joined = c
            .client_stream("TestService", "EchoClient", lines(&["a", "b", "c"]))
            .await
            .unwrap();
        assert_eq!(joined, msg(&format!("a,b,c@{name}")));
        let server = collect(
            c.server_stream("TestService", "EchoServer", &msg("2"))
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            server,
            vec![msg(&format!("0@{name}")), msg(&format!("1@{name}"))]
        );
        // `unary` always goes over gRPC.
        let unary = c.call("TestService", "EchoUnary", &msg("u")).await.unwrap();
        assert_eq!(unary, msg("u@grpc"));
    }
    for (t, name) in [
        (PingPongTransport::TTHeader, "ttheader"),
        (PingPongTransport::TTHeaderFramed, "ttheader_framed"),
        (PingPongTransport::Framed, "framed"),
        (PingPongTransport::Buffered, "buffered"),
        (PingPongTransport::Grpc, "grpc"),
    ] {
        let c = GenericClient::new(
            desc.clone(),
            &addr,
            ClientOptions::default().pingpong_transport(t),
        );
        let reply = c
            .call("TestService", "EchoPingPong", &msg("p"))
            .await
            .unwrap();
        assert_eq!(reply, msg(&format!("p@{name}")), "{t:?}");
    }
    let c = GenericClient::new(desc.clone(), &addr, ClientOptions::default());
    let err = c
        .call("TestService", "EchoPingPong", &msg("biz"))
        .await
        .unwrap_err();
    let biz = err.biz_error().expect("a business error");
    assert_eq!((biz.code(), biz.message()), (1001, "biz error msg"));
    // A message that does not fit the IDL is refused before anything is sent.
    let err = c
        .call("TestService", "EchoPingPong", &json!({"message": 5}))
        .await
        .unwrap_err();
    assert!(matches!(err, CallError::Transcode(_)), "{err}");
    // A bidi stream whose second message does not fit reports it.
    let mut s = c
        .bidi(
            "TestService",
            "Echo",
            futures_util::stream::iter(vec![msg("ok"), json!({"nope": 1})]),
        )
        .await
        .unwrap();
    let mut failed = None;
    loop {
        match s.message().await {
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    let failed = failed.expect("the bad message is reported");
    assert!(failed.to_string().contains("no field `nope`"), "{failed}");
}

/// A generic echo handler that tags each reply with the method.
struct JsonEcho;

#[tonic::async_trait]
impl Handler for JsonEcho {
    async fn handle(&self, r: tonic_thrift_generic::Request) -> Result<JsonStream, HandlerError> {
        let name = r.method.name.clone();
        let framing = match r.extensions.get::<Framing>() {
            Some(Framing::Framed) => "framed",
            Some(Framing::Buffered) => "buffered",
            Some(Framing::TTHeader { .. }) => "ttheader",
            Some(Framing::THeader) => "theader",
            None => "http2",
        };
        let meta = r
            .metainfo()
            .and_then(|m| m.transient("TEST_KEY"))
            .unwrap_or("")
            .to_string();
        let tag = format!("{name}/{framing}{meta}");
        match name.as_str() {
            "EchoClient" => {
                let all: Vec<Value> = r
                    .messages
                    .collect::<Vec<_>>()
                    .await
                    .into_iter()
                    .collect::<Result<_, _>>()?;
                let texts: Vec<&str> = all.iter().filter_map(|v| v["message"].as_str()).collect();
                Ok(Box::pin(futures_util::stream::iter([Ok(msg(&format!(
                    "{}:{tag}",
                    texts.join(",")
                )))])))
            }
            "EchoServer" => Ok(Box::pin(futures_util::stream::iter(
                (0..3).map(move |i| Ok(msg(&format!("{i}:{tag}")))),
            ))),
            _ => {
                if name == "EchoUnary" {
                    return Err(Status::permission_denied("no unary here").into());
                }
                Ok(Box::pin(r.messages.map(move |m| {
                    m.map(|v| msg(&format!("{}:{tag}", v["message"].as_str().unwrap_or(""))))
                })))
            }
        }
    }
}

#[tokio::test]
async fn generated_clients_call_the_generic_server_in_every_mode() {
    let desc = load("idl/echo.thrift");
    let server = GenericServer::new(desc.clone(), "TestService", JsonEcho).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(
        server
            .add_to(tonic_thrift::Server::builder())
            .serve_with_listener(listener, std::future::pending()),
    );
    for st in [StreamTransport::Grpc, StreamTransport::TTHeaderStreaming] {
        let options = GrpcOptions::default()
            .stream_transport(st)
            .timeout(Duration::from_secs(10));
        let mut c = TestServiceClient::connect_with(format!("http://{addr}"), options)
            .await
            .unwrap();
        let reqs =
            futures_util::stream::iter(["a", "b"].map(|m| echo::Request { message: m.into() }));
        let mut s = c.echo(reqs).await.unwrap().into_inner();
        assert_eq!(
            &s.message().await.unwrap().unwrap().message[..],
            "a:Echo/http2"
        );
        assert_eq!(
            &s.message().await.unwrap().unwrap().message[..],
            "b:Echo/http2"
        );
        assert!(s.message().await.unwrap().is_none());
        let reqs =
            futures_util::stream::iter(["x", "y"].map(|m| echo::Request { message: m.into() }));
        let r = c.echo_client(reqs).await.unwrap().into_inner();
        assert_eq!(&r.message[..], "x,y:EchoClient/http2");
        let mut s = c
            .echo_server(echo::Request {
                message: "3".into(),
            })
            .await
            .unwrap()
            .into_inner();
        let mut n = 0;
        while let Some(m) = s.message().await.unwrap() {
            assert_eq!(m.message.to_string(), format!("{n}:EchoServer/http2"));
            n += 1;
        }
        assert_eq!(n, 3);
        let e = c
            .echo_unary(echo::Request {
                message: "u".into(),
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::PermissionDenied);
    }
    for (framing, name) in [
        (Framing::TTHeader { inner_framed: true }, "ttheader"),
        (Framing::Framed, "framed"),
        (Framing::Buffered, "buffered"),
    ] {
        let c = TestServicePingPongClient::with_options(
            addr.clone(),
            PingPongOptions::default().framing(framing),
        );
        let mut req = Request::new(echo::Request {
            message: "p".into(),
        });
        tonic_thrift::metainfo::MetaInfo::attach(&mut req)
            .set_transient("TEST_KEY", "+m")
            .unwrap();
        let r = c.echo_ping_pong(req).await.unwrap().into_inner();
        // Metainfo travels in the TTHeader; Framed and Buffered have none.
        let meta = if name == "ttheader" { "+m" } else { "" };
        assert_eq!(
            r.message.to_string(),
            format!("p:EchoPingPong/{name}{meta}")
        );
    }
    // And the generic client against the generic server.
    let g = GenericClient::new(
        desc,
        &addr,
        ClientOptions::default().transient("TEST_KEY", "!"),
    );
    let r = g
        .call("TestService", "EchoPingPong", &msg("q"))
        .await
        .unwrap();
    assert_eq!(r, msg("q:EchoPingPong/ttheader!"));
    let e = g
        .call("TestService", "EchoUnary", &msg("u"))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, CallError::Status(s) if s.code() == tonic::Code::PermissionDenied),
        "{e}"
    );
}

/// A generic Sink that throws `not_found` for id 404.
struct Sink;

#[tonic::async_trait]
impl Handler for Sink {
    async fn handle(
        &self,
        mut r: tonic_thrift_generic::Request,
    ) -> Result<JsonStream, HandlerError> {
        let args = r.messages.next().await.unwrap_or(Ok(Value::Null))?;
        let reply = match r.method.name.as_str() {
            "Get" if args == json!(404) => {
                return Err(HandlerError::Exception {
                    field: "not_found".into(),
                    value: json!({"message": "gone", "id": 404}),
                })
            }
            "Get" => json!({"id": args, "label": "found"}),
            "Add" => json!(args["a"].as_i64().unwrap_or(0) + args["b"].as_i64().unwrap_or(0)),
            _ => Value::Null,
        };
        Ok(Box::pin(futures_util::stream::iter([Ok(reply)])))
    }
}

#[tokio::test]
async fn declared_exceptions_and_several_arguments_cross_both_ways() {
    use super::transcode::kitchen_sink::sink_client::SinkPingPongClient;
    use super::transcode::kitchen_sink::sink_server::{AddArgs, GetError};

    let desc = load("idl/kitchen_sink.thrift");
    let server = GenericServer::new(desc.clone(), "Sink", Sink).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(
        server
            .add_to(tonic_thrift::Server::builder())
            .serve_with_listener(listener, std::future::pending()),
    );
    // The generated client sees the generic server's exception as its own.
    let generated = SinkPingPongClient::new(addr.clone());
    match generated.get(404).await {
        Err(GetError::NotFound(e)) => assert_eq!((&e.message[..], e.id), ("gone", 404)),
        other => panic!("expected NotFound, got {other:?}"),
    }
    let item = generated.get(7).await.unwrap().into_inner();
    assert_eq!((item.id, item.label.as_deref()), (7, Some("found")));
    let sum = generated
        .add(AddArgs { a: 2, b: 3 })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(sum, 5);
    // And the generic client sees it by field name, with its IDL type.
    let g = GenericClient::new(desc, &addr, ClientOptions::default());
    match g.call("Sink", "Get", &json!(404)).await {
        Err(CallError::Exception {
            field,
            type_name,
            value,
        }) => {
            assert_eq!(
                (field.as_str(), type_name.as_str()),
                ("not_found", "shared.NotFound")
            );
            assert_eq!(value, json!({"message": "gone", "id": 404}));
        }
        other => panic!("expected the exception, got {other:?}"),
    }
    assert_eq!(
        g.call("Sink", "Add", &json!({"a": 40, "b": 2}))
            .await
            .unwrap(),
        json!(42)
    );
    // An inherited method (Sink extends shared.Base) and a void one.
    assert_eq!(
        g.call("Sink", "Ping", &Value::Null).await.unwrap(),
        Value::Null
    );
    assert_eq!(
        g.call("Sink", "Nothing", &Value::Null).await.unwrap(),
        Value::Null
    );
}
