// Included by include_cycle.thrift, and includes it back.
include "include_cycle.thrift"

struct B {
    // Not reported again: the include of `include_cycle` is the cycle.
    1: include_cycle.A a,
}
