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
	// Upstream is scheme and host, such as
	// https://dcs.ap-southeast-1.myhuaweicloud.com: a path would change
	// what was signed.
	Upstream  string
	Transport http.RoundTripper // nil: http.DefaultTransport
	Logger    *slog.Logger      // a line per violation at Warn, per exchange at Info; nil: none
}

// Summary counts what a Proxy has seen.
type Summary struct {
	Requests   int // forwarded or refused by the upstream's absence
	Flagged    int // exchanges that broke the spec
	Violations int // ways they broke it, in all
	Failed     int // requests that got no answer from the upstream
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
	if ue, ok := errors.AsType[*url.Error](err); ok {
		err = ue.Err // url.Error repeats the URL, which may hold a password
	}
	switch {
	case err != nil:
		return nil, fmt.Errorf("upstream: %w", err)
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		return nil, fmt.Errorf("upstream %q: want http(s)://host[:port]", u.Redacted())
	case u.User != nil, u.RawQuery != "", u.Fragment != "", u.Path != "" && u.Path != "/":
		return nil, fmt.Errorf("upstream %q: no path, user info, query or fragment: the path is signed", u.Redacted())
	}
	u.Path = ""
	return u, nil
}

func (p *Proxy) Summary() Summary {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.summary
}

// requestFound is the context key of a request's violations, found
// again when its answer comes.
type requestFound struct{}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	found := []contract.Violation{tooLarge("request")}
	body, whole, err := buffer(&r.Body)
	switch {
	case err != nil:
		http.Error(w, "reading the request: "+err.Error(), http.StatusBadRequest)
		return
	case whole:
		found = p.checker.RequestViolations(r.Context(), r, body)
	}
	p.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestFound{}, found)))
}

// checkResponse validates the upstream's answer on its way back.
func (p *Proxy) checkResponse(resp *http.Response) error {
	req := resp.Request
	found, _ := req.Context().Value(requestFound{}).([]contract.Violation)
	raw, whole, err := buffer(&resp.Body)
	switch {
	case err != nil:
		return err // the client gets a 502, and the log says why
	case !whole:
		found = append(found, tooLarge("response"))
	default:
		if body, ok := p.decoded(resp, raw); ok {
			found = append(found, p.checker.ResponseViolations(req.Context(), req, resp.StatusCode, resp.Header, body)...)
		}
	}
	p.count(len(found), false)
	attrs := []slog.Attr{slog.String("request_id", resp.Header.Get("X-Request-Id")),
		slog.String("method", req.Method), slog.String("path", req.URL.EscapedPath()), slog.Int("status", resp.StatusCode)}
	for _, v := range found {
		p.log.LogAttrs(req.Context(), slog.LevelWarn, "violation", append(attrs, slog.String("field", v.Field), slog.String("message", v.Message))...)
	}
	p.log.LogAttrs(req.Context(), slog.LevelInfo, "exchange", append(attrs, slog.Int("violations", len(found)))...)
	return nil
}

// decoded is the body as the spec describes it: without the
// Content-Encoding that the client asked for and the upstream applied.
func (p *Proxy) decoded(resp *http.Response, raw []byte) ([]byte, bool) {
	id := resp.Header.Get("X-Request-Id")
	switch enc := strings.ToLower(resp.Header.Get("Content-Encoding")); enc {
	case "", "identity":
		return raw, true
	case "gzip":
		if zr, err := gzip.NewReader(bytes.NewReader(raw)); err == nil {
			body, err := io.ReadAll(io.LimitReader(zr, client.MaxBodySize+1))
			if err == nil && len(body) <= client.MaxBodySize {
				return body, true
			}
		}
		p.log.Warn("answer not checked: its gzip body cannot be read within the limit", "request_id", id)
	default:
		p.log.Warn("answer not checked: unknown Content-Encoding", "request_id", id, "content_encoding", enc)
	}
	return nil, false
}

// count adds an exchange, with its violations, to the summary.
func (p *Proxy) count(violations int, failed bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.summary.Requests++
	p.summary.Violations += violations
	if violations > 0 {
		p.summary.Flagged++
	}
	if failed {
		p.summary.Failed++
	}
}

// upstreamFailed answers 502 when the upstream gives no answer.
func (p *Proxy) upstreamFailed(w http.ResponseWriter, r *http.Request, err error) {
	p.count(0, true)
	p.log.LogAttrs(r.Context(), slog.LevelError, "no answer from upstream",
		slog.String("method", r.Method), slog.String("path", r.URL.EscapedPath()), slog.String("error", err.Error()))
	w.WriteHeader(http.StatusBadGateway)
}

func tooLarge(what string) contract.Violation {
	return contract.Violation{Message: fmt.Sprintf("%s body over %d bytes, the client's limit: not checked", what, client.MaxBodySize)}
}

// buffer reads *body up to client.MaxBodySize, and puts back a body that
// reads it all. whole is false if there is more.
func buffer(body *io.ReadCloser) (head []byte, whole bool, err error) {
	if *body == nil || *body == http.NoBody {
		return nil, true, nil
	}
	head, err = io.ReadAll(io.LimitReader(*body, client.MaxBodySize+1))
	*body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), *body), *body}
	return head, len(head) <= client.MaxBodySize, err
}
