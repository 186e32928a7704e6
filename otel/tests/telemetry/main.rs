//! End-to-end tests of tonic-thrift-otel: traces across hops on every
//! transport, the exact propagation keys, stream events, and a Prometheus
//! scrape after known traffic.

mod golden;
mod prometheus;
mod streams;
mod support;
mod traces;
