// Package proxy is a reverse proxy that validates the traffic between a
// client and an endpoint of the DCS instance status API against the spec:
// the logic behind `dcskit proxy`.
//
// It forwards each request as it came, only to another host. That keeps
// an SDK-HMAC-SHA256 signature valid, because the scheme does not sign
// Host (unless a client opts in, as signer.Sign allows; the official SDK
// never does). What net/http's reverse proxy always changes is not signed
// either: hop-by-hop headers such as Connection, and X-Forwarded-For.
//
// Every request and every answer is checked against openapi/dcs.yaml (and
// admin.yaml for a fake's /_fake/ API), and each violation is logged with
// the request id. Bodies are read up to client.MaxBodySize for checking;
// past that the proxy notes a violation and streams the rest unchecked.
// No header value, and so no Authorization or token, is ever logged.
package proxy

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"

	"github.com/dcskit/dcskit/client"
	"github.com/dcskit/dcskit/internal/contract"
)

// Options configure a Proxy.
type Options struct {
	// Upstream is where requests go: scheme and host, such as
	// https://dcs.ap-southeast-1.myhuaweicloud.com. A path would change
	// what was signed, so there is none.
	Upstream string
	// Transport carries requests upstream; nil means http.DefaultTransport.
	Transport http.RoundTripper
	// Logger gets a line per violation at Warn, and one per exchange at
	// Info; nil discards them.
	Logger *slog.Logger
}

// Summary counts what a Proxy has seen.
type Summary struct {
	Requests int // forwarded or refused by the upstream's absence
	// Flagged is how many exchanges broke the spec, and Violations how
	// many ways in all.
	Flagged, Violations int
	// Failed is how many requests got no answer from the upstream.
	Failed int
}

func (s Summary) String() string {
	return fmt.Sprintf("%d requests, %d with violations of the spec (%d violations), %d without an answer from upstream",
		s.Requests, s.Flagged, s.Violations, s.Failed)
}

// Proxy is an http.Handler that forwards to the upstream and validates.
// It is safe for concurrent use.
type Proxy struct {
	rp      *httputil.ReverseProxy
	checker *contract.Checker
	log     *slog.Logger

	mu      sync.Mutex
	summary Summary
}

// New returns a Proxy to opts.Upstream.
func New(opts Options) (*Proxy, error) {
	target, err := parseUpstream(opts.Upstream)
	if err != nil {
		return nil, err
	}
	checker, err := contract.New()
	if err != nil {
		return nil, err
	}
	p := &Proxy{checker: checker, log: opts.Logger}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite:        func(pr *httputil.ProxyRequest) { pr.SetURL(target) },
		Transport:      opts.Transport,
		ModifyResponse: p.checkResponse,
		ErrorHandler:   p.upstreamFailed,
	}
	return p, nil
}

// parseUpstream accepts scheme://host[:port] with nothing after it.
func parseUpstream(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL, which may hold a password
		}
		return nil, fmt.Errorf("upstream: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		return nil, fmt.Errorf("upstream %q: want http(s)://host[:port]", u.Redacted())
	case u.User != nil, u.RawQuery != "", u.Fragment != "", u.Path != "" && u.Path != "/":
		return nil, fmt.Errorf("upstream %q: no path, user info, query or fragment: the path is signed", u.Redacted())
	}
	u.Path = ""
	return u, nil
}

// Summary is what the Proxy has seen so far.
func (p *Proxy) Summary() Summary {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.summary
}

// exchange is one request on its way through, found again by its
// context when the answer comes.
type exchange struct {
	method, path string
	found        []contract.Violation // the request's
}

type exchangeKey struct{}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x := &exchange{method: r.Method, path: r.URL.EscapedPath()}
	body, rest, err := readUpTo(r.Body)
	switch {
	case err != nil:
		http.Error(w, "reading the request: "+err.Error(), http.StatusBadRequest)
		return
	case rest != nil:
		x.found = append(x.found, tooLarge("request"))
		r.Body = readCloser{io.MultiReader(bytes.NewReader(body), rest), r.Body}
	default:
		x.found = append(x.found, p.checker.RequestViolations(r.Context(), r, body)...)
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
	}
	p.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), exchangeKey{}, x)))
}

// checkResponse validates the upstream's answer on its way back.
func (p *Proxy) checkResponse(resp *http.Response) error {
	x, _ := resp.Request.Context().Value(exchangeKey{}).(*exchange)
	if x == nil {
		return nil
	}
	found := x.found
	raw, rest, err := readUpTo(resp.Body)
	switch {
	case err != nil:
		return err // the client gets a 502, and the log says why
	case rest != nil:
		found = append(found, tooLarge("response"))
		resp.Body = readCloser{io.MultiReader(bytes.NewReader(raw), rest), resp.Body}
	default:
		resp.Body = io.NopCloser(bytes.NewReader(raw))
		if body, ok := p.decoded(resp, raw); ok {
			found = append(found, p.checker.ResponseViolations(resp.Request.Context(), resp.Request, resp.StatusCode, resp.Header, body)...)
		}
	}
	p.report(resp.Request.Context(), x, resp.StatusCode, resp.Header.Get("X-Request-Id"), found)
	return nil
}

// decoded is the body as the spec describes it: without the
// Content-Encoding that the client asked for and the upstream applied.
func (p *Proxy) decoded(resp *http.Response, raw []byte) ([]byte, bool) {
	switch enc := strings.ToLower(resp.Header.Get("Content-Encoding")); enc {
	case "", "identity":
		return raw, true
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err == nil {
			var body []byte
			if body, err = io.ReadAll(io.LimitReader(zr, client.MaxBodySize+1)); err == nil && len(body) <= client.MaxBodySize {
				return body, true
			}
		}
		p.log.Warn("answer not checked: its gzip body cannot be read within the limit", "request_id", resp.Header.Get("X-Request-Id"))
		return nil, false
	default:
		p.log.Warn("answer not checked: unknown Content-Encoding", "request_id", resp.Header.Get("X-Request-Id"), "content_encoding", enc)
		return nil, false
	}
}

// report counts an exchange and logs its violations.
func (p *Proxy) report(ctx context.Context, x *exchange, status int, requestID string, found []contract.Violation) {
	p.mu.Lock()
	p.summary.Requests++
	p.summary.Violations += len(found)
	if len(found) > 0 {
		p.summary.Flagged++
	}
	p.mu.Unlock()
	attrs := []slog.Attr{
		slog.String("request_id", requestID),
		slog.String("method", x.method),
		slog.String("path", x.path),
		slog.Int("status", status),
	}
	for _, v := range found {
		p.log.LogAttrs(ctx, slog.LevelWarn, "violation", append(attrs, slog.String("field", v.Field), slog.String("message", v.Message))...)
	}
	p.log.LogAttrs(ctx, slog.LevelInfo, "exchange", append(attrs, slog.Int("violations", len(found)))...)
}

// upstreamFailed answers 502 when the upstream gives no answer.
func (p *Proxy) upstreamFailed(w http.ResponseWriter, r *http.Request, err error) {
	p.mu.Lock()
	p.summary.Requests++
	p.summary.Failed++
	p.mu.Unlock()
	p.log.LogAttrs(r.Context(), slog.LevelError, "no answer from upstream",
		slog.String("method", r.Method), slog.String("path", r.URL.EscapedPath()), slog.String("error", err.Error()))
	w.WriteHeader(http.StatusBadGateway)
}

func tooLarge(what string) contract.Violation {
	return contract.Violation{Message: fmt.Sprintf("%s body over %d bytes, the client's limit: not checked", what, client.MaxBodySize)}
}

// readUpTo reads r up to client.MaxBodySize. Past that it returns what it
// read and the rest of r, unread.
func readUpTo(r io.Reader) (head []byte, rest io.Reader, err error) {
	if r == nil || r == http.NoBody {
		return nil, nil, nil
	}
	head, err = io.ReadAll(io.LimitReader(r, client.MaxBodySize+1))
	if err != nil || len(head) <= client.MaxBodySize {
		return head, nil, err
	}
	return head, r, nil
}

// readCloser reads from one reader and closes another.
type readCloser struct {
	io.Reader
	io.Closer
}
