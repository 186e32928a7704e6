//! Governance on both transports, end to end, printing what happens:
//! a client with a deadline, a logging layer and a message hook on both
//! sides, a tracer, a rate-limited server, and a graceful shutdown.
//!
//! Run it with
//!
//! ```text
//! cargo run --example governance
//! ```
//!
//! It starts its own servers on 127.0.0.1 (random ports), prints a short
//! transcript and exits 0. Each part lives in its own module:
//!
//! - [`client_side`]: deadlines (client default vs per call), a logging
//!   layer and a message hook on client and server, gRPC and ping-pong;
//! - [`server_side`]: a token-bucket rate limit, a tracer, and a graceful
//!   shutdown with a stream still running;
//! - [`balancing`]: round robin over two servers, and a circuit breaker
//!   opening when one of them dies.

mod balancing;
mod client_side;
mod demo;
mod server_side;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    client_side::run().await?;
    server_side::run().await?;
    balancing::run().await?;
    Ok(())
}
