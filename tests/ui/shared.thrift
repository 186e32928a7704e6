// Included by the include test cases.
struct Item {
    1: i64 id,
}

service Base {
    void Ping(),
}
