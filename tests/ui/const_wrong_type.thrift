enum Color { RED = 1 }

const i32 SEVEN = "seven"
const i8 BIG = 300
const uuid ID = 'not-a-uuid'
const i32 NOPE = Color.PURPLE
struct Point { 1: i32 x, 2: i32 y }
const Point TWICE = {"x": 1, "y": 2, "x": 3}
