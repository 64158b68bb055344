package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/featuregraph/featuregraph/plan"
)

// fastPOST serves the common request — POST application/json, a JSON response — like gqlgen's
// transport.POST, but writes an error-free response as {"data":…} directly: transport.POST
// json.Marshals the whole response, which re-validates and copies the already rendered data
// (about 9% of a user-vector request). It also answers what transport.POST gets wrong for an
// exposed server: a body that is not a GraphQL request is a short 400 (transport.POST quotes the
// whole body back), and a request whose context ended before execution (deadline, client gone)
// is a 503 rather than a nil response. Other Accept types are left to transport.POST.
type fastPOST struct {
	post transport.POST
}

var _ graphql.Transport = fastPOST{}

func (t fastPOST) Supports(r *http.Request) bool {
	return t.post.Supports(r)
}

// responseMedia picks the response media type from Accept as gqlgen does: the first of
// application/json and application/graphql-response+json listed; application/json by default.
func responseMedia(accept string) string {
	for _, part := range strings.Split(accept, ",") {
		switch mt, _, _ := strings.Cut(strings.TrimSpace(part), ";"); strings.TrimSpace(mt) {
		case "application/json", "*/*", "application/*":
			return "application/json"
		case "application/graphql-response+json":
			return "application/graphql-response+json"
		}
	}
	return "application/json"
}

func (t fastPOST) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	body, err := readBody(r)
	if err != nil {
		writeGraphQLError(w, http.StatusBadRequest, codeBadRequest, "reading the request body: "+excerpt(err.Error(), 200))
		return
	}
	start := graphql.Now()
	params := &graphql.RawParams{}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(params); err != nil {
		writeGraphQLError(w, http.StatusBadRequest, codeBadRequest,
			`the body is not a GraphQL request ({"query": …, "variables": {…}, "operationName": …}): `+excerpt(err.Error(), 200))
		return
	}
	if params.Query == "" && params.Extensions["persistedQuery"] == nil {
		writeGraphQLError(w, http.StatusBadRequest, codeBadRequest, "the request has no query")
		return
	}
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	ctx := r.Context()
	media := responseMedia(r.Header.Get("Accept"))
	w.Header().Set("Content-Type", media)
	rc, opErr := exec.CreateOperationContext(ctx, params)
	if opErr != nil {
		// GraphQL over HTTP: a request error is 200 with application/json, 400 with
		// application/graphql-response+json, and carries no data entry (nothing ran).
		if media != "application/json" && errcode.GetErrorKind(opErr) == errcode.KindProtocol {
			w.WriteHeader(http.StatusBadRequest)
		}
		resp := exec.DispatchError(graphql.WithOperationContext(ctx, rc), opErr)
		b, err := json.Marshal(struct {
			Errors     gqlerror.List  `json:"errors"`
			Extensions map[string]any `json:"extensions,omitempty"`
		}{resp.Errors, resp.Extensions})
		if err == nil {
			_, _ = w.Write(b)
		}
		return
	}
	responses, ctx := exec.DispatchOperation(ctx, rc)
	resp := responses(ctx)
	if resp == nil {
		// The executor answers nothing once the context has ended.
		writeContextEnded(w, ctx)
		return
	}
	if req := requestFrom(ctx); req != nil && req.ended.Load() {
		// Stopped at the end of its context (endedStop): errors only, no data entry.
		writeErrors(w, http.StatusServiceUnavailable, resp.Errors)
		return
	}
	if len(resp.Errors) == 0 && len(resp.Extensions) == 0 && resp.Label == "" && resp.Path == nil && resp.HasNext == nil && (plan.Wrote(ctx, resp.Data) || json.Valid(resp.Data)) {
		// Written in place, not copied into a buffer of its own: with the length known the
		// response is not chunked (a P2 answer is about 60 KB).
		w.Header().Set("Content-Length", strconv.Itoa(len(dataPrefix)+len(resp.Data)+1))
		_, _ = io.WriteString(w, dataPrefix)
		_, _ = w.Write(resp.Data)
		_, _ = io.WriteString(w, "}")
		return
	}
	writeResponse(w, resp)
}

const dataPrefix = `{"data":`

func writeResponse(w http.ResponseWriter, resp *graphql.Response) {
	b, err := json.Marshal(resp)
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, `{"errors":[{"message":"the response could not be encoded"}]}`)
		return
	}
	_, _ = w.Write(b)
}

// writeErrors answers errors without a data entry.
func writeErrors(w http.ResponseWriter, status int, errs gqlerror.List) {
	b, err := json.Marshal(struct {
		Errors gqlerror.List `json:"errors"`
	}{errs})
	if err != nil {
		writeResponse(w, &graphql.Response{Errors: errs})
		return
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeContextEnded answers a request whose context ended before it was executed.
func writeContextEnded(w http.ResponseWriter, ctx context.Context) {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		writeGraphQLError(w, http.StatusServiceUnavailable, codeTimeout,
			"the request deadline passed before the query was executed (the gateway is overloaded): retry later")
		return
	}
	// The client is gone: nobody reads this.
	writeGraphQLError(w, http.StatusServiceUnavailable, codeTimeout, "the request was canceled")
}

// bufferedBody is a request body the gateway has already read (bounded by MaxBodyBytes).
type bufferedBody struct {
	*bytes.Reader
	b []byte
}

func (bufferedBody) Close() error { return nil }

func readBody(r *http.Request) ([]byte, error) {
	if bb, ok := r.Body.(bufferedBody); ok {
		return bb.b, nil
	}
	return io.ReadAll(r.Body)
}

// shortError cuts what a GraphQL error quotes back of the request (field and argument names,
// values, the body) to a short excerpt, and its path to its first elements: a 900 KB field name
// or a 100,000-deep variable must not come back whole.
func shortError(e *gqlerror.Error) *gqlerror.Error {
	if e == nil {
		return nil
	}
	e.Message = excerpt(e.Message, maxErrorMessage)
	if len(e.Path) > maxErrorPath {
		e.Path = e.Path[:maxErrorPath]
	}
	if len(e.Locations) > 4 {
		e.Locations = e.Locations[:4]
	}
	return e
}

const (
	maxErrorMessage = 300
	maxErrorPath    = 32
	// maxRequestErrors is how many errors a response without data lists (validation can report
	// one per selection of a hostile query).
	maxRequestErrors = 10
)

// errorCap keeps at most maxRequestErrors errors in a response that has no data, saying how many
// were left out.
type errorCap struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.ResponseInterceptor
} = errorCap{}

func (errorCap) ExtensionName() string                   { return "ErrorCap" }
func (errorCap) Validate(graphql.ExecutableSchema) error { return nil }

func (errorCap) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if resp != nil && len(resp.Data) == 0 && len(resp.Errors) > maxRequestErrors {
		n := len(resp.Errors) - maxRequestErrors + 1
		resp.Errors = append(resp.Errors[:maxRequestErrors-1:maxRequestErrors-1], &gqlerror.Error{
			Message: fmt.Sprintf("%d more errors not shown: fix the ones above first", n),
		})
	}
	return resp
}
