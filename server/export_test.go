package server

// SetBeforeQuery installs a hook that runs at the start of every DCS
// query, so that tests can make the handler panic. Call it before the
// server serves anything.
func SetBeforeQuery(s *Server, f func()) { s.beforeQuery = f }
