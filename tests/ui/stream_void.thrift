struct Msg {
    1: string text,
}

service Api {
    void Upload(1: Msg chunk) (streaming.mode = "client"),
}
