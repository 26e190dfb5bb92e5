package contract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
)

// Violation is one way a request or a response breaks the spec.
type Violation struct {
	// Field is where: a field of the JSON body as a dotted path
	// ("redis.running_count"), "Content-Type", or "" for the message as a
	// whole.
	Field   string
	Message string
}

func (v Violation) String() string {
	if v.Field == "" {
		return v.Message
	}
	return v.Field + ": " + v.Message
}

// ResponseViolations lists every way a response to req breaks the spec,
// none if it keeps to it. req's body is not read.
func (c *Checker) ResponseViolations(ctx context.Context, req *http.Request, status int, header http.Header, body []byte) []Violation {
	return violations(c.checkResponse(ctx, req, status, header, body, c.all))
}

// RequestViolations lists every way req, whose body is body (nil for
// none), breaks the spec: no operation for its method and path, a bad
// parameter or body, or neither of the credentials the spec asks for
// (their values are not judged, nor ever quoted). req's own body is not
// read.
func (c *Checker) RequestViolations(ctx context.Context, req *http.Request, body []byte) []Violation {
	r := req.Clone(ctx)
	r.Body = io.NopCloser(bytes.NewReader(body))
	for _, router := range c.routers {
		route, params, err := router.FindRoute(r)
		if err != nil {
			continue
		}
		return violations(openapi3filter.ValidateRequest(ctx, &openapi3filter.RequestValidationInput{
			Request: r, PathParams: params, Route: route, Options: c.all,
		}))
	}
	return []Violation{{Message: fmt.Sprintf("no operation of the spec is %s %s", req.Method, req.URL.EscapedPath())}}
}

// credentialPresent passes a security scheme of the spec (an API key in
// a header: Authorization or X-Auth-Token) if the request carries the
// header. Whether the value is good is the server's business.
func credentialPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	sc := in.SecurityScheme
	if sc == nil || sc.Type != "apiKey" || sc.In != "header" {
		return nil
	}
	if in.RequestValidationInput.Request.Header.Get(sc.Name) == "" {
		return fmt.Errorf("no %s header", sc.Name)
	}
	return nil
}

// violations flattens kin-openapi's error tree into its leaves, each
// with the field it names.
func violations(err error) []Violation {
	if err == nil {
		return nil
	}
	var out []Violation
	var walk func(err error, context string)
	walk = func(err error, context string) {
		prefix := func(msg string) string {
			if context == "" {
				return msg
			}
			return context + ": " + msg
		}
		switch e := err.(type) {
		case openapi3.MultiError:
			for _, x := range e {
				walk(x, context)
			}
			return
		case *openapi3.SchemaError:
			if e.Origin != nil {
				walk(e.Origin, context)
				return
			}
			msg := e.Reason
			switch e.Value.(type) {
			case map[string]any, []any, nil:
			default:
				msg += fmt.Sprintf(" (got %.64v)", e.Value)
			}
			out = append(out, Violation{Field: strings.Join(e.JSONPointer(), "."), Message: prefix(msg)})
			return
		case *openapi3filter.ResponseError:
			if e.Err != nil {
				walk(e.Err, prefix(e.Reason))
				return
			}
			v := Violation{Message: prefix(e.Reason)}
			// kin-openapi's one error about a header it checks itself.
			if strings.Contains(e.Reason, "Content-Type") {
				v.Field = "Content-Type"
			}
			out = append(out, v)
			return
		case *openapi3filter.RequestError:
			where := e.Reason
			if e.Parameter != nil {
				where = fmt.Sprintf("parameter %s in %s", e.Parameter.Name, e.Parameter.In)
			}
			if e.Err != nil {
				walk(e.Err, prefix(where))
				return
			}
			out = append(out, Violation{Message: prefix(where)})
			return
		case *openapi3filter.SecurityRequirementsError:
			var missing []string
			for _, x := range e.Errors {
				missing = append(missing, x.Error())
			}
			out = append(out, Violation{Message: prefix("no credentials the spec accepts: " + strings.Join(missing, ", "))})
			return
		}
		if in := errors.Unwrap(err); in != nil {
			walk(in, context)
			return
		}
		out = append(out, Violation{Message: prefix(err.Error())})
	}
	walk(err, "")
	return out
}
