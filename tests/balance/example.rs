//! The balancing part of `examples/governance` runs to the end (it is a
//! module of that example; here it is compiled on its own).

#[path = "../../examples/governance/balancing.rs"]
mod balancing;

#[tokio::test]
async fn balancing_example_runs() {
    balancing::run().await.unwrap();
}
