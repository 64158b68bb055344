package gateway

import (
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/99designs/gqlgen/graphql"
)

// unsupported is the last transport: it takes every request the others refuse and says what
// the endpoint accepts, where gqlgen would answer only "transport not supported". The usual
// case is a POST without Content-Type: application/json (curl -d sends
// application/x-www-form-urlencoded unless told otherwise).
type unsupported struct{}

var _ graphql.Transport = unsupported{}

func (unsupported) Supports(*http.Request) bool { return true }

// acceptedMedia is what POST /graphql reads.
const acceptedMedia = "application/json"

func (unsupported) Do(w http.ResponseWriter, r *http.Request, _ graphql.GraphExecutor) {
	example := `e.g. curl -H 'Content-Type: application/json' -d '{"query": "{ __typename }"}' ` + r.URL.Path
	switch {
	case r.Header.Get("Upgrade") != "":
		writeGraphQLError(w, http.StatusBadRequest, codeBadRequest,
			fmt.Sprintf("protocol upgrades (%s) are not served: send queries as POST with Content-Type: %s", excerpt(r.Header.Get("Upgrade"), 40), acceptedMedia))
	case r.Method == http.MethodPost:
		got := "no Content-Type"
		if ct := r.Header.Get("Content-Type"); ct != "" {
			got = "Content-Type: " + excerpt(ct, 80)
			if mt, _, err := mime.ParseMediaType(ct); err != nil {
				got += " (not a media type)"
			} else if mt == "application/x-www-form-urlencoded" {
				got += " (what curl -d sends by default)"
			}
		}
		w.Header().Set("Accept-Post", acceptedMedia)
		writeGraphQLError(w, http.StatusUnsupportedMediaType, codeUnsupportedMedia,
			fmt.Sprintf("a GraphQL POST needs Content-Type: %s with a body {\"query\": …, \"variables\": {…}}; got %s: %s", acceptedMedia, got, example))
	default:
		w.Header().Set("Allow", "GET, POST, OPTIONS")
		writeGraphQLError(w, http.StatusMethodNotAllowed, codeBadRequest,
			fmt.Sprintf("method %s is not served: send queries as POST with Content-Type: %s (or GET with ?query=…): %s",
				strings.ToUpper(excerpt(r.Method, 20)), acceptedMedia, example))
	}
}
