//! The cases of Apache's cross-test client, run by our generated client.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use tonic_thrift::pingpong::{application_exception, ExceptionKind};
use tonic_thrift::{Bytes, FastStr};

use crate::handler::{insanity_of, map_map};
use crate::thrift_test::second_service_client::SecondServicePingPongClient;
use crate::thrift_test::thrift_test_client::ThriftTestPingPongClient;
use crate::thrift_test::thrift_test_client::{TestMultiArgs, TestMultiExceptionArgs, TestVoidArgs};
use crate::thrift_test::thrift_test_server::{TestExceptionError, TestMultiExceptionError};
use crate::thrift_test::{Insanity, Numberz, Xtruct, Xtruct2};

fn xtruct() -> Xtruct {
    Xtruct {
        string_thing: "Zero".into(),
        byte_thing: 1,
        i32_thing: -3,
        i64_thing: -5,
    }
}

/// Runs every case against `c`, failing with the case's name. The client
/// must have one connection at most (the oneway case relies on it).
pub(crate) async fn run_all(
    c: &ThriftTestPingPongClient,
    second: Option<&SecondServicePingPongClient>,
) {
    c.test_void(TestVoidArgs {}).await.expect("testVoid");
    let s = "Rust 🦀 ü";
    assert_eq!(
        c.test_string(FastStr::from(s))
            .await
            .expect("testString")
            .into_inner(),
        s
    );
    for b in [true, false] {
        assert_eq!(c.test_bool(b).await.expect("testBool").into_inner(), b);
    }
    assert_eq!(
        c.test_byte(-127).await.expect("testByte").into_inner(),
        -127
    );
    assert_eq!(
        c.test_i32(i32::MIN).await.expect("testI32").into_inner(),
        i32::MIN
    );
    let big = -34_359_738_368i64;
    assert_eq!(c.test_i64(big).await.expect("testI64").into_inner(), big);
    let d = -5.209_852_3;
    assert_eq!(c.test_double(d).await.expect("testDouble").into_inner(), d);
    let bin = Bytes::from((0..=255u8).collect::<Vec<u8>>());
    assert_eq!(
        c.test_binary(bin.clone())
            .await
            .expect("testBinary")
            .into_inner(),
        bin
    );
    assert_eq!(
        c.test_struct(xtruct())
            .await
            .expect("testStruct")
            .into_inner(),
        xtruct()
    );
    let nest = Xtruct2 {
        byte_thing: 1,
        struct_thing: xtruct(),
        i32_thing: 5,
    };
    assert_eq!(
        c.test_nest(nest.clone())
            .await
            .expect("testNest")
            .into_inner(),
        nest
    );
    let map = HashMap::from([(0, 10), (1, 11), (-2, 8)]);
    assert_eq!(
        c.test_map(map.clone()).await.expect("testMap").into_inner(),
        map
    );
    let smap = HashMap::from([("a".into(), "2".into()), ("ü".into(), "🦀".into())]);
    assert_eq!(
        c.test_string_map(smap.clone())
            .await
            .expect("testStringMap")
            .into_inner(),
        smap
    );
    let set = HashSet::from([-2, 0, 1, 99]);
    assert_eq!(
        c.test_set(set.clone()).await.expect("testSet").into_inner(),
        set
    );
    // More than 14 elements: the Compact list header's long form.
    let list: Vec<i32> = (-5..20).collect();
    assert_eq!(
        c.test_list(list.clone())
            .await
            .expect("testList")
            .into_inner(),
        list
    );
    assert_eq!(
        c.test_enum(Numberz::Five)
            .await
            .expect("testEnum")
            .into_inner(),
        Numberz::Five
    );
    let id = 309_858_235_082_523i64;
    assert_eq!(
        c.test_typedef(id).await.expect("testTypedef").into_inner(),
        id
    );
    assert_eq!(
        c.test_map_map(1).await.expect("testMapMap").into_inner(),
        map_map()
    );
    let insanity = Insanity {
        user_map: HashMap::from([(Numberz::Five, 5), (Numberz::Eight, 8)]),
        xtructs: vec![Xtruct {
            string_thing: "Goodbye4".into(),
            byte_thing: 4,
            i32_thing: 4,
            i64_thing: 4,
        }],
    };
    assert_eq!(
        c.test_insanity(insanity.clone())
            .await
            .expect("testInsanity")
            .into_inner(),
        insanity_of(&insanity)
    );
    let multi = TestMultiArgs {
        arg0: 1,
        arg1: 2,
        arg2: 3,
        arg3: HashMap::from([(1, "one".into())]),
        arg4: Numberz::Two,
        arg5: 6,
    };
    assert_eq!(
        c.test_multi(multi).await.expect("testMulti").into_inner(),
        Xtruct {
            string_thing: "Hello2".into(),
            byte_thing: 1,
            i32_thing: 2,
            i64_thing: 3,
        }
    );
    match c.test_exception(FastStr::from("Xception")).await {
        Err(TestExceptionError::Err1(e)) => {
            assert_eq!((e.error_code, e.message.as_str()), (1001, "Xception"))
        }
        other => panic!("testException(Xception): {other:?}"),
    }
    match c.test_exception(FastStr::from("TException")).await {
        Err(TestExceptionError::Status(s)) => {
            let e = application_exception(&s).expect("a TApplicationException");
            assert_eq!(e.kind, ExceptionKind::INTERNAL_ERROR, "{e}");
        }
        other => panic!("testException(TException): {other:?}"),
    }
    c.test_exception(FastStr::from("success"))
        .await
        .expect("testException(success)");
    let args = |a: &'static str, b: &'static str| TestMultiExceptionArgs {
        arg0: a.into(),
        arg1: b.into(),
    };
    match c.test_multi_exception(args("Xception", "x")).await {
        Err(TestMultiExceptionError::Err1(e)) => {
            assert_eq!(
                (e.error_code, e.message.as_str()),
                (1001, "This is an Xception")
            )
        }
        other => panic!("testMultiException(Xception): {other:?}"),
    }
    match c.test_multi_exception(args("Xception2", "x")).await {
        Err(TestMultiExceptionError::Err2(e)) => assert_eq!(
            (e.error_code, e.struct_thing.string_thing.as_str()),
            (2002, "This is an Xception2")
        ),
        other => panic!("testMultiException(Xception2): {other:?}"),
    }
    let r = c
        .test_multi_exception(args("other", "Hello"))
        .await
        .expect("testMultiException");
    assert_eq!(r.into_inner().string_thing, "Hello");

    // testOneway(1): returns at once; the server sleeps 1 s on it, so the
    // next call on the (single) connection waits for that sleep: proof that
    // the server got the oneway call, and that no reply to it is pending.
    let start = Instant::now();
    c.test_oneway(1).await.expect("testOneway");
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "testOneway waited {:?}",
        start.elapsed()
    );
    assert_eq!(
        c.test_i32(7)
            .await
            .expect("testI32 after testOneway")
            .into_inner(),
        7
    );
    assert!(
        start.elapsed() >= Duration::from_millis(900),
        "the server did not run testOneway"
    );

    if let Some(second) = second {
        let r = second
            .secondtest_string(FastStr::from("foo"))
            .await
            .expect("secondtestString");
        assert_eq!(r.into_inner(), "testString(\"foo\")");
    }
}
