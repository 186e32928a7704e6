//! `idl/torture.thrift`: IDL names chosen to clash with the generated code
//! (generic parameters, locals, glob-imported and prelude names, generated
//! modules and methods), with crate names, and with each other once
//! Rust-cased. They compile through the macro (clippy-clean: this file is
//! linted with the rest), the renamed ones follow the README's rule, wire
//! names stay the IDL's, and a service named `B` answers over gRPC and
//! ping-pong.

use std::time::Duration;

use tonic::{Request, Response, Status};
use tonic_thrift::codec::{BinaryInput, BinaryOutput};
use tonic_thrift::Message;

mod generated {
    tonic_thrift::thrift_service!("idl/torture.thrift");
}

use generated::torture;
use torture::b_client::{BClient, BPingPongClient};
use torture::b_server::{BServer, CloneError, B};

fn encode<M: Message>(m: &M) -> bytes::Bytes {
    let mut buf = bytes::BytesMut::new();
    m.encode(&mut BinaryOutput::new(&mut buf)).unwrap();
    buf.freeze()
}

fn decode<M: Message>(mut bytes: bytes::Bytes) -> M {
    M::decode(&mut BinaryInput::new(&mut bytes)).unwrap()
}

#[test]
fn colliding_names_get_a_trailing_underscore_and_keep_their_ids() {
    let f = torture::Fields {
        new_result: 1,
        new_result_: 2,
        self_: "a".into(),
        self__: "b".into(),
        r#type: "t".into(),
        p: 3,
        ttype: 4,
        id: 5,
        slot: 6,
        f_p: 7,
        opt: Some(torture::Option { some: 8 }),
        ..Default::default()
    };
    assert_eq!(decode::<torture::Fields>(encode(&f)), f);
    // `new_result_` is the IDL's `new_result`, field 2: an i32 (8) with id 2.
    let only = torture::Fields {
        new_result_: 9,
        ..Default::default()
    };
    let bytes = encode(&only);
    assert!(
        bytes.windows(7).any(|w| w == [8, 0, 2, 0, 0, 0, 9]),
        "{bytes:?}"
    );
    // Defaults naming types called like generic parameters.
    assert_eq!(f.generic.p, torture::P::X);
    assert_eq!(f.pp, torture::P::Y);
    assert_eq!(f.color, torture::Color::AB);
    assert_eq!(f.l, 3);
    assert_eq!(torture::D::default().p, torture::P::Y);
    assert_eq!(torture::Default::default().x, 7);
}

#[test]
fn enum_union_and_const_names() {
    use torture::Color;
    let values = [
        Color::AB,
        Color::Ab,
        Color::FooBar,
        Color::FooBar_,
        Color::Unknown,
        Color::Self_,
    ];
    for (i, c) in values.into_iter().enumerate() {
        assert_eq!(c.value(), i as i32);
    }
    assert_eq!(Color::from_value(77), Color::Unknown_(77));
    assert_eq!(Color::Unknown_(77).to_string(), "Color(77)");
    let choice = torture::Choice::AB_("x".into());
    assert_eq!(decode::<torture::Choice>(encode(&choice)), choice);
    assert_eq!(torture::MAX_SIZE, 1);
    assert_eq!(torture::MAX_SIZE_, 2);
    assert_eq!(torture::DEFAULT_P, torture::P::X);
    assert_eq!(torture::DEFAULT_D.p, torture::P::Y);
}

#[test]
fn modules_and_types_named_like_rust_things() {
    // A dotted include, two `common.thrift`, a file named `std.thrift`.
    let dotted = generated::a_b_c::Request { text: "x".into() };
    let _ = generated::common::Shared { id: 1 };
    let _ = generated::packa_common::Other { name: "n".into() };
    let _ = generated::torture_std::Thing { on: true };
    let req = torture::Request {
        text: "r".into(),
        dotted,
    };
    assert_eq!(decode::<torture::Request>(encode(&req)), req);
    // Primitive names get `_`; prelude names and names the generated code
    // imports are kept.
    let _ = torture::f64_ { value: 1.5 };
    let _ = torture::str_ { s: "s".into() };
    let _ = torture::usize_ {};
    let boxed = torture::Box {
        inner: torture::Option { some: 1 },
    };
    let v = torture::Vec { items: vec![boxed] };
    assert_eq!(decode::<torture::Vec>(encode(&v)), v);
    let _ = (torture::Thing { a: 1 }, torture::thing { b: 2 });
    let _ = torture::echo_server { x: 1 };
    let _: Option<torture::echo_server_::EchoServer<()>> = None;
}

struct Handler;

#[tonic::async_trait]
impl B for Handler {
    async fn new_(
        &self,
        request: Request<torture::Request>,
    ) -> Result<Response<torture::Response>, Status> {
        let text = format!("new {}", request.into_inner().text);
        Ok(Response::new(torture::Response { text: text.into() }))
    }
    async fn call(&self, _: Request<i32>) -> Result<Response<()>, Status> {
        Ok(Response::new(()))
    }
    async fn layer(&self, _: Request<tonic_thrift::FastStr>) -> Result<Response<()>, Status> {
        Ok(Response::new(()))
    }
    async fn poll_ready(
        &self,
        _: Request<torture::b_server::PollReadyArgs>,
    ) -> Result<Response<()>, Status> {
        Ok(Response::new(()))
    }
    async fn clone_(
        &self,
        request: Request<torture::Option>,
    ) -> Result<Response<torture::Result>, CloneError> {
        match request.into_inner().some {
            0 => Err(CloneError::Status_(torture::Oops {
                message: "status".into(),
            })),
            n => Ok(Response::new(torture::Result {
                ok: n.to_string().into(),
                err: "".into(),
            })),
        }
    }
    async fn get_x(&self, request: Request<i32>) -> Result<Response<i32>, Status> {
        Ok(Response::new(request.into_inner() + 1))
    }
    async fn get_x_(&self, request: Request<i32>) -> Result<Response<i32>, Status> {
        Ok(Response::new(request.into_inner() + 2))
    }
    async fn as_ref(&self, request: Request<torture::P>) -> Result<Response<torture::P>, Status> {
        Ok(Response::new(request.into_inner()))
    }
    async fn connect_(
        &self,
        _: Request<torture::b_server::ConnectArgs>,
    ) -> Result<Response<torture::Box>, Status> {
        Ok(Response::new(torture::Box::default()))
    }
    type StreamStream = tokio_stream::Once<Result<torture::Response, Status>>;
    async fn stream(
        &self,
        request: Request<torture::Request>,
    ) -> Result<Response<Self::StreamStream>, Status> {
        let text = request.into_inner().text;
        Ok(Response::new(tokio_stream::once(Ok(torture::Response {
            text,
        }))))
    }
}

#[tokio::test]
async fn a_service_named_b_with_methods_named_new_and_clone_answers() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        tonic_thrift::Server::builder()
            .add_service(BServer::new(Handler))
            .serve_with_listener(listener, async {
                let _ = stopped.await;
            }),
    );
    let req = || torture::Request {
        text: "hi".into(),
        dotted: Default::default(),
    };

    let mut grpc = BClient::connect(format!("http://{addr}")).await.unwrap();
    let reply = grpc.new_(req()).await.unwrap().into_inner();
    assert_eq!(reply.text, "new hi");
    assert_eq!(grpc.get_x(1).await.unwrap().into_inner(), 2);
    assert_eq!(grpc.get_x_(1).await.unwrap().into_inner(), 3);
    let ok = grpc.clone_(torture::Option { some: 4 }).await.unwrap();
    assert_eq!(ok.into_inner().ok, "4");
    match grpc.clone_(torture::Option { some: 0 }).await {
        Err(CloneError::Status_(e)) => assert_eq!(e.message, "status"),
        other => panic!("expected the declared exception, got {other:?}"),
    }
    let cloned = grpc.clone();
    drop(cloned);

    let pingpong = BPingPongClient::new(addr.to_string());
    let mut call = Request::new(req());
    tonic_thrift::CallOptions::new()
        .timeout(Duration::from_secs(5))
        .apply(&mut call);
    let reply = pingpong.new_(call).await.unwrap().into_inner();
    assert_eq!(reply.text, "new hi");
    assert_eq!(pingpong.get_x_(10).await.unwrap().into_inner(), 12);
    assert_eq!(
        pingpong.as_ref(torture::P::Y).await.unwrap().into_inner(),
        torture::P::Y
    );

    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
