struct Msg {
    1: string text,
}

service Api {
    Msg Watch() (streaming.mode = "server"),
}
