struct Msg {
    1: string text,
}

service Api {
    Msg Chat(1: Msg first, 2: Msg second) (streaming.mode = "bidirectional"),
}
