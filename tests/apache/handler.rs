//! Our ThriftTest server: the behaviour Apache's cross-test expects of
//! every ThriftTest server (echo each argument; fixed answers for
//! `testMapMap`, `testInsanity`, `testMulti` and the exception cases).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tonic::{Request, Response, Status};
use tonic_thrift::{Bytes, FastStr};

use crate::thrift_test::second_service_server::SecondService;
use crate::thrift_test::thrift_test_client::{TestMultiArgs, TestMultiExceptionArgs, TestVoidArgs};
use crate::thrift_test::thrift_test_server::{
    TestExceptionError, TestMultiExceptionError, ThriftTest,
};
use crate::thrift_test::{Insanity, Numberz, Xception, Xception2, Xtruct, Xtruct2};

/// The handler; records the `testOneway` calls it received.
#[derive(Clone, Default)]
pub(crate) struct Handler {
    pub(crate) oneway: Arc<Mutex<Vec<i32>>>,
}

type R<T> = Result<Response<T>, Status>;

fn ok<T>(v: T) -> R<T> {
    Ok(Response::new(v))
}

/// The answer every ThriftTest server gives to `testMapMap`.
pub(crate) fn map_map() -> HashMap<i32, HashMap<i32, i32>> {
    HashMap::from([
        (-4, HashMap::from([(-4, -4), (-3, -3), (-2, -2), (-1, -1)])),
        (4, HashMap::from([(1, 1), (2, 2), (3, 3), (4, 4)])),
    ])
}

/// The answer every ThriftTest server gives to `testInsanity(argument)`.
pub(crate) fn insanity_of(argument: &Insanity) -> HashMap<i64, HashMap<Numberz, Insanity>> {
    HashMap::from([
        (
            1,
            HashMap::from([
                (Numberz::Two, argument.clone()),
                (Numberz::Three, argument.clone()),
            ]),
        ),
        (2, HashMap::from([(Numberz::Six, Insanity::default())])),
    ])
}

#[tonic::async_trait]
impl ThriftTest for Handler {
    async fn test_void(&self, _r: Request<TestVoidArgs>) -> R<()> {
        ok(())
    }
    async fn test_string(&self, r: Request<FastStr>) -> R<FastStr> {
        ok(r.into_inner())
    }
    async fn test_bool(&self, r: Request<bool>) -> R<bool> {
        ok(r.into_inner())
    }
    async fn test_byte(&self, r: Request<i8>) -> R<i8> {
        ok(r.into_inner())
    }
    async fn test_i32(&self, r: Request<i32>) -> R<i32> {
        ok(r.into_inner())
    }
    async fn test_i64(&self, r: Request<i64>) -> R<i64> {
        ok(r.into_inner())
    }
    async fn test_double(&self, r: Request<f64>) -> R<f64> {
        ok(r.into_inner())
    }
    async fn test_binary(&self, r: Request<Bytes>) -> R<Bytes> {
        ok(r.into_inner())
    }
    async fn test_struct(&self, r: Request<Xtruct>) -> R<Xtruct> {
        ok(r.into_inner())
    }
    async fn test_nest(&self, r: Request<Xtruct2>) -> R<Xtruct2> {
        ok(r.into_inner())
    }
    async fn test_map(&self, r: Request<HashMap<i32, i32>>) -> R<HashMap<i32, i32>> {
        ok(r.into_inner())
    }
    async fn test_string_map(
        &self,
        r: Request<HashMap<FastStr, FastStr>>,
    ) -> R<HashMap<FastStr, FastStr>> {
        ok(r.into_inner())
    }
    async fn test_set(&self, r: Request<HashSet<i32>>) -> R<HashSet<i32>> {
        ok(r.into_inner())
    }
    async fn test_list(&self, r: Request<Vec<i32>>) -> R<Vec<i32>> {
        ok(r.into_inner())
    }
    async fn test_enum(&self, r: Request<Numberz>) -> R<Numberz> {
        ok(r.into_inner())
    }
    async fn test_typedef(&self, r: Request<i64>) -> R<i64> {
        ok(r.into_inner())
    }
    async fn test_map_map(&self, _r: Request<i32>) -> R<HashMap<i32, HashMap<i32, i32>>> {
        ok(map_map())
    }
    async fn test_insanity(
        &self,
        r: Request<Insanity>,
    ) -> R<HashMap<i64, HashMap<Numberz, Insanity>>> {
        ok(insanity_of(r.get_ref()))
    }
    async fn test_multi(&self, r: Request<TestMultiArgs>) -> R<Xtruct> {
        let a = r.into_inner();
        ok(Xtruct {
            string_thing: "Hello2".into(),
            byte_thing: a.arg0,
            i32_thing: a.arg1,
            i64_thing: a.arg2,
        })
    }
    async fn test_exception(
        &self,
        r: Request<FastStr>,
    ) -> Result<Response<()>, TestExceptionError> {
        let arg = r.into_inner();
        match arg.as_str() {
            "Xception" => Err(Xception {
                error_code: 1001,
                message: arg,
            }
            .into()),
            "TException" => Err(Status::internal("TException").into()),
            _ => Ok(Response::new(())),
        }
    }
    async fn test_multi_exception(
        &self,
        r: Request<TestMultiExceptionArgs>,
    ) -> Result<Response<Xtruct>, TestMultiExceptionError> {
        let a = r.into_inner();
        match a.arg0.as_str() {
            "Xception" => Err(Xception {
                error_code: 1001,
                message: "This is an Xception".into(),
            }
            .into()),
            "Xception2" => Err(Xception2 {
                error_code: 2002,
                struct_thing: Xtruct {
                    string_thing: "This is an Xception2".into(),
                    ..Default::default()
                },
            }
            .into()),
            _ => Ok(Response::new(Xtruct {
                string_thing: a.arg1,
                ..Default::default()
            })),
        }
    }
    async fn test_oneway(&self, r: Request<i32>) -> R<()> {
        let seconds = r.into_inner();
        self.oneway.lock().unwrap().push(seconds);
        tokio::time::sleep(Duration::from_secs(u64::try_from(seconds).unwrap_or(0))).await;
        ok(())
    }
}

#[tonic::async_trait]
impl SecondService for Handler {
    async fn secondtest_string(&self, r: Request<FastStr>) -> R<FastStr> {
        ok(format!("testString(\"{}\")", r.into_inner()).into())
    }
}
