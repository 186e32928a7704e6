// The IDL of tests/public_api: a service with every method shape, used by a
// test written only against tonic-thrift's documented public API.
namespace go publicapi

struct Item {
    1: required string name,
    2: optional i64 count,
    3: binary blob,
}

exception NotFound {
    1: string name,
}

service Store {
    /// Adds `count` to the item called `name`: several arguments.
    i64 Add(1: string name, 2: i64 count),
    /// Looks an item up; throws a declared exception when absent.
    Item Get(1: string name) throws (1: NotFound not_found),
    /// Forgets everything: no arguments, no value.
    void Clear(),
    /// One request, a stream of replies.
    Item Watch(1: Item filter) (streaming.mode = "server"),
    /// A stream of requests, one reply.
    Item Collect(1: Item item) (streaming.mode = "client"),
    /// Streams both ways.
    Item Chat(1: Item item) (streaming.mode = "bidirectional"),
    /// One message each way over gRPC.
    Item Lookup(1: Item item) (streaming.mode = "unary"),
}
