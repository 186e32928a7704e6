//! [`HashableSet`] and [`HashableMap`]: a Thrift `set` or `map` where Rust
//! needs a hash key.
//!
//! Thrift lets a set or map be a set element or a map key
//! (`map<set<i32>, string>`, `set<Insanity>` where `Insanity` holds a map);
//! `std`'s `HashSet` and `HashMap` do not implement `Hash`. In those
//! positions (and in the fields of a struct that appears in one) the
//! generated code uses these wrappers instead: they dereference to the
//! `std` collection and hash without regard to order, so two equal sets
//! hash alike.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher, Hash, Hasher};
use std::ops::{Deref, DerefMut};

/// The hash of one element on its own, with fixed keys, so that a sum of
/// them does not depend on iteration order.
fn element_hash<T: Hash + ?Sized>(value: &T) -> u64 {
    BuildHasherDefault::<DefaultHasher>::default().hash_one(value)
}

/// A Thrift `set` that can itself be hashed: a [`HashSet`] underneath
/// (through `Deref`), hashed without regard to order.
///
/// ```
/// use std::collections::HashSet;
/// use tonic_thrift::HashableSet;
///
/// let a: HashableSet<i32> = [1, 2, 3].into_iter().collect();
/// let b = HashableSet::from(HashSet::from([3, 2, 1]));
/// assert_eq!(a, b);
/// let outer: HashSet<HashableSet<i32>> = HashSet::from([a, b]);
/// assert_eq!(outer.len(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct HashableSet<T>(pub HashSet<T>);

/// A Thrift `map` that can itself be hashed: a [`HashMap`] underneath
/// (through `Deref`), hashed without regard to order.
#[derive(Debug, Clone)]
pub struct HashableMap<K, V>(pub HashMap<K, V>);

impl<T: Eq + Hash> PartialEq for HashableSet<T> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl<T: Eq + Hash> Eq for HashableSet<T> {}

impl<K: Eq + Hash, V: PartialEq> PartialEq for HashableMap<K, V> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl<K: Eq + Hash, V: Eq> Eq for HashableMap<K, V> {}

impl<T> Default for HashableSet<T> {
    fn default() -> Self {
        HashableSet(HashSet::new())
    }
}

impl<K, V> Default for HashableMap<K, V> {
    fn default() -> Self {
        HashableMap(HashMap::new())
    }
}

impl<T: Hash> Hash for HashableSet<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let sum = self
            .0
            .iter()
            .fold(0u64, |acc, e| acc.wrapping_add(element_hash(e)));
        state.write_usize(self.0.len());
        state.write_u64(sum);
    }
}

impl<K: Hash, V: Hash> Hash for HashableMap<K, V> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let sum = self
            .0
            .iter()
            .fold(0u64, |acc, entry| acc.wrapping_add(element_hash(&entry)));
        state.write_usize(self.0.len());
        state.write_u64(sum);
    }
}

impl<T> Deref for HashableSet<T> {
    type Target = HashSet<T>;
    fn deref(&self) -> &HashSet<T> {
        &self.0
    }
}

impl<T> DerefMut for HashableSet<T> {
    fn deref_mut(&mut self) -> &mut HashSet<T> {
        &mut self.0
    }
}

impl<K, V> Deref for HashableMap<K, V> {
    type Target = HashMap<K, V>;
    fn deref(&self) -> &HashMap<K, V> {
        &self.0
    }
}

impl<K, V> DerefMut for HashableMap<K, V> {
    fn deref_mut(&mut self) -> &mut HashMap<K, V> {
        &mut self.0
    }
}

impl<T> From<HashSet<T>> for HashableSet<T> {
    fn from(set: HashSet<T>) -> Self {
        HashableSet(set)
    }
}

impl<K, V> From<HashMap<K, V>> for HashableMap<K, V> {
    fn from(map: HashMap<K, V>) -> Self {
        HashableMap(map)
    }
}

impl<T: Eq + Hash> FromIterator<T> for HashableSet<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        HashableSet(iter.into_iter().collect())
    }
}

impl<K: Eq + Hash, V> FromIterator<(K, V)> for HashableMap<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        HashableMap(iter.into_iter().collect())
    }
}

impl<T> IntoIterator for HashableSet<T> {
    type Item = T;
    type IntoIter = std::collections::hash_set::IntoIter<T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<K, V> IntoIterator for HashableMap<K, V> {
    type Item = (K, V);
    type IntoIter = std::collections::hash_map::IntoIter<K, V>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_maps_hash_alike_whatever_the_order() {
        let a: HashableMap<i32, &str> = (0..100).map(|i| (i, "x")).collect();
        let b: HashableMap<i32, &str> = (0..100).rev().map(|i| (i, "x")).collect();
        assert_eq!(a, b);
        assert_eq!(element_hash(&a), element_hash(&b));
        let c: HashableMap<i32, &str> = (0..100).map(|i| (i, "y")).collect();
        assert_ne!(element_hash(&a), element_hash(&c));
    }
}
