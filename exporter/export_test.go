package exporter

// Waiting is how many scrapes of e wait for the call in flight.
func Waiting(e *Exporter) int {
	t := e.target
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.call == nil {
		return 0
	}
	return t.call.waiters
}
