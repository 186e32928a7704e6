struct Msg {
    1: string text,
}

service Api {
    oneway void Push(1: Msg m) (streaming.mode = "client"),
}
