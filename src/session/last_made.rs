//! The last plan laid out, kept while the page scores its passes slice by slice.

use std::sync::Arc;

/// The last value made, by the key it was made for: kept until another key asks. The page's
/// workers score a forward-only method's passes slice by slice, and every slice reuses the plan
/// laid out for the same settings and target.
#[derive(Debug)]
pub struct LastMade<K, V> {
    last: Option<(K, Arc<V>)>,
}

impl<K, V> Default for LastMade<K, V> {
    fn default() -> Self {
        LastMade { last: None }
    }
}

impl<K: PartialEq, V> LastMade<K, V> {
    /// The value for `key`: the last one if it was made for `key`, else a new one from `make`
    /// (which replaces it). A failed `make` forgets the last one.
    pub fn get_or_make<E>(&mut self, key: K, make: impl FnOnce() -> Result<V, E>) -> Result<Arc<V>, E> {
        match &self.last {
            Some((last, value)) if *last == key => Ok(Arc::clone(value)),
            _ => {
                self.last = None;
                let value = Arc::new(make()?);
                self.last = Some((key, Arc::clone(&value)));
                Ok(value)
            }
        }
    }

    /// Forgets the last value (the input it was made for has changed).
    pub fn clear(&mut self) {
        self.last = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_made_once_per_key_in_a_row() {
        let made = std::cell::Cell::new(0);
        let mut cache = LastMade::default();
        let mut get = |key: &str| {
            *cache
                .get_or_make(key.to_owned(), || -> Result<usize, ()> {
                    made.set(made.get() + 1);
                    Ok(key.len())
                })
                .unwrap()
        };
        assert_eq!([get("lime"), get("lime"), get("rise"), get("lime")], [4; 4]);
        assert_eq!(made.get(), 3, "made again only when the key changed");
        assert!(cache.get_or_make("x".to_owned(), || Err("no")).is_err());
        assert!(cache.last.is_none(), "a failure forgets the last value");
    }
}
