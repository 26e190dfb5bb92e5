// Package httpserve runs dcskit's HTTP listeners (the fake server and the
// exporter) with the same timeouts and the same graceful shutdown.
package httpserve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

const (
	// DrainTimeout is how long a shutdown waits for in-flight requests
	// before it cuts them off.
	DrainTimeout   = 5 * time.Second
	MaxHeaderBytes = 64 << 10
)

// New returns an http.Server for h with the limits every dcskit listener
// applies, so that a slow or hostile client cannot hold a connection or
// memory. logger receives the server's own errors (TLS handshakes, panics
// it recovers); nil discards them.
func New(h http.Handler, logger *slog.Logger) *http.Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &http.Server{
		Handler: h,
		// OPTIONS * goes to the handler, which answers it as any URL it
		// does not serve, instead of net/http's empty 200.
		DisableGeneralOptionsHandler: true,
		ReadHeaderTimeout:            5 * time.Second,
		ReadTimeout:                  30 * time.Second,
		WriteTimeout:                 60 * time.Second, // above MaxFaultDelay
		IdleTimeout:                  2 * time.Minute,
		MaxHeaderBytes:               MaxHeaderBytes,
		ErrorLog:                     slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// Run serves srv on ln until ctx is done. Then it logs "shutting down",
// stops accepting, and waits up to drain for the requests in flight
// (functions registered with srv.RegisterOnShutdown run as it starts).
// It returns nil when every request finished, and an error that says how
// many were cut off when drain was not enough.
func Run(ctx context.Context, srv *http.Server, ln net.Listener, drain time.Duration, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var inFlight atomic.Int64
	h := srv.Handler
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inFlight.Add(1)
		defer inFlight.Add(-1)
		h.ServeHTTP(w, r)
	})
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down", "in_flight", inFlight.Load(), "drain_timeout", drain)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drain)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("shut down with %d request(s) cut off, still in flight after draining for %s", inFlight.Load(), drain)
		_ = srv.Close()
	}
	if serveErr := <-errc; !errors.Is(serveErr, http.ErrServerClosed) && err == nil {
		err = serveErr
	}
	return err
}
