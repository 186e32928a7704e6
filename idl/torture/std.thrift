# Named like a crate: module `torture_std` (its folder first), so user
# code keeps `std`.
struct Thing { 1: bool on }
