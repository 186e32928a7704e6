include "shared.thrift"

struct Msg {
    1: shared.Item item,
    2: shared.Nope nope,
    3: other.Item other,
}
