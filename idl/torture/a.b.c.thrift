# A file name with dots: included as `a.b.c`, named `a.b.c.Request`.
struct Request { 1: string text }
