// Three independent mistakes, all reported by one build.
struct Msg {
    1: string text,
    1: i32 count,
}

struct Reply {
    1: Mesage msg,
}

service Api {
    Reply Chat(1: Msg m) (streaming.mode = "duplex"),
}
