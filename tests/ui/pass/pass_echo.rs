// Every streaming mode compiles.
tonic_thrift::thrift_service!("idl/echo.thrift");

fn main() {
    let req = echo::Request {
        message: "hi".into(),
    };
    assert_eq!(req.message, "hi");
}
