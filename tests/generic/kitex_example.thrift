# The shape of the IDL Kitex's JSON generic tests call (pkg/generic/json_test
# in cloudwego/kitex): same type names, field names, ids and types, so that
# the payloads of those tests are golden inputs here. Written for this test.
namespace go kitex.test.server

enum FOO {
    A = 1,
}

struct TrafficEnv {
    1: bool Open = false,
    2: string Env = "",
}

struct Base {
    1: string LogID = "",
    2: string Caller = "",
    3: string Addr = "",
    4: string Client = "",
    5: optional TrafficEnv TrafficEnv,
    6: optional map<string, string> Extra,
}

struct BaseResp {
    1: string StatusMessage = "",
    2: i32 StatusCode = 0,
    3: optional map<string, string> Extra,
}

struct InnerBase {
    255: Base Base,
}

struct Test {
    1: optional string aaa = "aaaaaaa",
    2: string bbb,
}

struct ExampleReq {
    1: required string Msg,
    2: FOO Foo,
    3: InnerBase InnerBase,
    4: optional i8 I8,
    5: optional i16 I16,
    6: optional i32 I32,
    7: optional i64 I64,
    8: optional double Double,
    9: optional Test Test,
    255: Base Base,
}

struct ExampleResp {
    1: required string Msg,
    2: string required_field,
    3: optional i64 num,
    4: optional i8 I8 = 8,
    5: optional i16 I16,
    6: optional i32 I32,
    7: optional i64 I64,
    8: optional double Double,
    9: Test Test,
    255: BaseResp BaseResp,
}

exception Exception {
    1: i32 code,
    2: string msg,
}

service ExampleService {
    ExampleResp ExampleMethod(1: ExampleReq req) throws (1: Exception err),
    string Ping(1: string msg),
    oneway void Oneway(1: string msg),
    void Void(1: string msg),
    i32 Add(1: i32 a, 2: i32 b),
}
