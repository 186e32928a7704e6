//! `tonic-thrift serve --mock`: every service of the IDL's main file,
//! answering with default values.

use std::io::Write as _;
use std::sync::Arc;

use tonic_thrift_build::descriptor::Descriptor;
use tonic_thrift_generic::{GenericServer, MockHandler};

use crate::Failure;

pub(crate) async fn serve(desc: Descriptor, addr: &str, mock: bool) -> Result<(), Failure> {
    if !mock {
        return Err(Failure::usage(
            "serve needs --mock (answer every method with default values); \
             for real handlers use the GenericServer of tonic-thrift-generic",
        ));
    }
    let desc = Arc::new(desc);
    let names: Vec<String> = desc
        .services()
        .iter()
        .filter(|s| s.file == 0)
        .map(|s| s.name.clone())
        .collect();
    if names.is_empty() {
        return Err(Failure::usage("the IDL declares no service"));
    }
    let handler: Arc<dyn tonic_thrift_generic::Handler> = Arc::new(MockHandler::new(desc.clone()));
    let mut router: Option<tonic_thrift::server::Router> = None;
    for name in &names {
        let Some(svc) = GenericServer::with_handler(desc.clone(), name, handler.clone()) else {
            continue;
        };
        router = Some(match router {
            None => svc.add_to(tonic_thrift::Server::builder()),
            Some(r) => svc.add_to_router(r),
        });
    }
    let Some(router) = router else {
        return Err(Failure::usage("the IDL declares no service"));
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Failure::usage(format!("cannot listen on {addr}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| Failure::usage(format!("cannot listen on {addr}: {e}")))?;
    println!("LISTENING {local}");
    let _ = std::io::stdout().flush();
    eprintln!("serving {} (mock) on {local}", names.join(", "));
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    router
        .serve_with_listener(listener, shutdown)
        .await
        .map_err(|e| Failure::usage(format!("server failed: {e}")))
}
