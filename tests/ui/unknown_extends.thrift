include "shared.thrift"

service Api extends shared.Bsae {
    void Hello(),
}

service Other extends Missing {
    void Bye(),
}
