//! The instruments of each side (see the crate docs' Metrics section).

use opentelemetry::metrics::{Histogram, Meter, UpDownCounter};

/// Which side of a call an instrument or span is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Server,
    Client,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Server => "server",
            Side::Client => "client",
        }
    }
}

/// One side's instruments.
#[derive(Debug, Clone)]
pub(crate) struct Instruments {
    pub(crate) duration: Histogram<f64>,
    pub(crate) requests_per_rpc: Histogram<u64>,
    pub(crate) responses_per_rpc: Histogram<u64>,
    pub(crate) request_size: Histogram<u64>,
    pub(crate) response_size: Histogram<u64>,
    pub(crate) request_size_per_rpc: Histogram<u64>,
    pub(crate) response_size_per_rpc: Histogram<u64>,
    pub(crate) active_streams: UpDownCounter<i64>,
}

impl Instruments {
    pub(crate) fn new(meter: &Meter, side: Side) -> Self {
        let s = side.name();
        Instruments {
            duration: meter
                .f64_histogram(format!("rpc.{s}.duration"))
                .with_unit("ms")
                .with_description(format!(
                    "Duration of {s} RPCs, from start to the final status"
                ))
                .build(),
            requests_per_rpc: meter
                .u64_histogram(format!("rpc.{s}.requests_per_rpc"))
                .with_unit("{message}")
                .with_description("Request messages per RPC (1 for non-streaming calls)")
                .with_boundaries(vec![0.0, 1.0, 2.0, 5.0, 10.0, 100.0, 1000.0, 10000.0])
                .build(),
            responses_per_rpc: meter
                .u64_histogram(format!("rpc.{s}.responses_per_rpc"))
                .with_unit("{message}")
                .with_description("Response messages per RPC (1 for non-streaming calls)")
                .with_boundaries(vec![0.0, 1.0, 2.0, 5.0, 10.0, 100.0, 1000.0, 10000.0])
                .build(),
            request_size: meter
                .u64_histogram(format!("rpc.{s}.request.size"))
                .with_unit("By")
                .with_description("Encoded size of each request message")
                .with_boundaries(size_buckets())
                .build(),
            response_size: meter
                .u64_histogram(format!("rpc.{s}.response.size"))
                .with_unit("By")
                .with_description("Encoded size of each response message")
                .with_boundaries(size_buckets())
                .build(),
            request_size_per_rpc: meter
                .u64_histogram(format!("rpc.{s}.request.size_per_rpc"))
                .with_unit("By")
                .with_description("Encoded bytes of all request messages of an RPC")
                .with_boundaries(size_buckets())
                .build(),
            response_size_per_rpc: meter
                .u64_histogram(format!("rpc.{s}.response.size_per_rpc"))
                .with_unit("By")
                .with_description("Encoded bytes of all response messages of an RPC")
                .with_boundaries(size_buckets())
                .build(),
            active_streams: meter
                .i64_up_down_counter(format!("rpc.{s}.active_streams"))
                .with_unit("{stream}")
                .with_description("Streams open now")
                .build(),
        }
    }
}

fn size_buckets() -> Vec<f64> {
    vec![
        0.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0,
    ]
}
