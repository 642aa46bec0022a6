package taxii

import "container/list"

// lru is a map bounded to max entries: adding one more evicts the least
// recently used. It is not safe for concurrent use; its owners hold their
// own lock.
type lru[K comparable, V any] struct {
	max   int
	order *list.List // of *lruEntry[K, V], most recently used first
	items map[K]*list.Element
	// onEvict, if set, is called with each entry add evicts.
	onEvict func(K, V)
}

type lruEntry[K comparable, V any] struct {
	key   K
	value V
}

// newLRU returns an empty lru of at most size (at least 1) entries.
func newLRU[K comparable, V any](size int) *lru[K, V] {
	return &lru[K, V]{max: max(1, size), order: list.New(), items: map[K]*list.Element{}}
}

// get returns the value of k and marks it used.
func (c *lru[K, V]) get(k K) (V, bool) {
	e, ok := c.items[k]
	if !ok {
		var zero V
		return zero, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*lruEntry[K, V]).value, true
}

// add sets k to v and marks it used, evicting the least recently used
// entry if the map is full.
func (c *lru[K, V]) add(k K, v V) {
	if e, ok := c.items[k]; ok {
		e.Value.(*lruEntry[K, V]).value = v
		c.order.MoveToFront(e)
		return
	}
	if c.order.Len() >= c.max {
		old := c.order.Remove(c.order.Back()).(*lruEntry[K, V])
		delete(c.items, old.key)
		if c.onEvict != nil {
			c.onEvict(old.key, old.value)
		}
	}
	c.items[k] = c.order.PushFront(&lruEntry[K, V]{key: k, value: v})
}

// len returns the number of entries.
func (c *lru[K, V]) len() int { return c.order.Len() }

// each calls fn for every entry, most recently used first, without
// marking any used.
func (c *lru[K, V]) each(fn func(K, V)) {
	for e := c.order.Front(); e != nil; e = e.Next() {
		ent := e.Value.(*lruEntry[K, V])
		fn(ent.key, ent.value)
	}
}
