package exporter

// Waiting is how many scrapes of e wait for the call in flight of the
// target id.
func Waiting(e *Exporter, id TargetID) int {
	ent, ok := e.table.find(id)
	if !ok {
		return 0
	}
	t := ent.target
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.call == nil {
		return 0
	}
	return t.call.waiters
}

// Find reports whether e remembers the target id.
func Find(e *Exporter, id TargetID) bool {
	_, ok := e.table.find(id)
	return ok
}

// Scrapes is how many scrapes of /metrics e serves now.
func Scrapes(e *Exporter) int { return len(e.scrapes) }
