//! Subscriber-side de-duplication.
//!
//! JetStream stores a message id once per duplicate window, but it delivers at least once:
//! a delivery whose ack was lost, or not sent within the consumer's ack wait, comes again
//! (`Delivery::delivered > 1`), possibly after later messages. And an id re-published after
//! its duplicate window has passed is stored a second time. A subscriber that must not handle
//! a message twice remembers the ids it has handled; this is that memory, bounded.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

/// The last `capacity` distinct message ids seen, oldest forgotten first.
#[derive(Debug)]
pub struct SeenIds {
    set: HashSet<Arc<str>>,
    order: VecDeque<Arc<str>>,
    capacity: usize,
}

impl SeenIds {
    /// Remembers up to `capacity` ids (at least one). Size it to cover the messages that can
    /// arrive within a consumer's ack wait (30 s), with margin: e.g. 100,000 for a few
    /// thousand messages a second; memory is about 100 bytes per id.
    pub fn new(capacity: usize) -> SeenIds {
        let capacity = capacity.max(1);
        SeenIds {
            set: HashSet::with_capacity(capacity.min(1 << 16)),
            order: VecDeque::with_capacity(capacity.min(1 << 16)),
            capacity,
        }
    }

    /// `true` the first time `id` is offered (and remembers it), `false` when it is among the
    /// remembered ones.
    pub fn first_time(&mut self, id: &str) -> bool {
        if self.set.contains(id) {
            return false;
        }
        if self.order.len() == self.capacity
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        let id: Arc<str> = Arc::from(id);
        self.set.insert(id.clone());
        self.order.push_back(id);
        true
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_up_to_capacity() {
        let mut s = SeenIds::new(2);
        assert!(s.first_time("a"));
        assert!(!s.first_time("a"));
        assert!(s.first_time("b"));
        assert!(s.first_time("c")); // forgets a
        assert_eq!(s.len(), 2);
        assert!(!s.first_time("b"));
        assert!(!s.first_time("c"));
        assert!(s.first_time("a"));
        let mut one = SeenIds::new(0);
        assert!(one.first_time("x"));
        assert!(!one.first_time("x"));
    }
}
