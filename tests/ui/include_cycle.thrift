include "include_cycle_b.thrift"

struct A {
    1: include_cycle_b.B b,
}
