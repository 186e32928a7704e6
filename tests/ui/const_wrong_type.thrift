enum Color { RED = 1 }

const i32 SEVEN = "seven"
const i8 BIG = 300
const uuid ID = 'not-a-uuid'
const i32 NOPE = Color.PURPLE
