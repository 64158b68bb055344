package gateway_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// A request no transport serves is answered with what the endpoint accepts: a POST without
// (or with another) Content-Type is a 415 naming application/json, another method a 405 with
// Allow. A POST with application/json still answers.
func TestUnsupportedRequestSaysWhatIsAccepted(t *testing.T) {
	e := newEnv(t)
	body := `{"query":"{ __typename }"}`
	for _, tc := range []struct {
		name, method, contentType, upgrade string
		status                             int
		code                               string
		msg                                []string
		header                             [2]string
	}{
		{"POST without Content-Type", http.MethodPost, "", "", 415, "UNSUPPORTED_MEDIA_TYPE",
			[]string{"needs Content-Type: application/json", "got no Content-Type", "curl -H 'Content-Type: application/json'"}, [2]string{"Accept-Post", "application/json"}},
		{"POST as curl -d sends it", http.MethodPost, "application/x-www-form-urlencoded", "", 415, "UNSUPPORTED_MEDIA_TYPE",
			[]string{"got Content-Type: application/x-www-form-urlencoded (what curl -d sends by default)"}, [2]string{"Accept-Post", "application/json"}},
		{"POST application/graphql", http.MethodPost, "application/graphql", "", 415, "UNSUPPORTED_MEDIA_TYPE",
			[]string{"got Content-Type: application/graphql:"}, [2]string{}},
		{"POST with a malformed Content-Type", http.MethodPost, "json;;", "", 415, "UNSUPPORTED_MEDIA_TYPE",
			[]string{"(not a media type)"}, [2]string{}},
		{"PUT", http.MethodPut, "application/json", "", 405, "BAD_REQUEST",
			[]string{"method PUT is not served", "POST with Content-Type: application/json"}, [2]string{"Allow", "GET, POST, OPTIONS"}},
		{"websocket upgrade", http.MethodGet, "", "websocket", 400, "BAD_REQUEST",
			[]string{"protocol upgrades (websocket) are not served"}, [2]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, e.srv.URL+"/graphql", strings.NewReader(body))
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			if tc.upgrade != "" {
				req.Header.Set("Connection", "Upgrade")
				req.Header.Set("Upgrade", tc.upgrade)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out struct {
				Errors []struct {
					Message    string
					Extensions map[string]string
				}
			}
			b, _ := io.ReadAll(resp.Body)
			if err := json.Unmarshal(b, &out); err != nil || len(out.Errors) != 1 {
				t.Fatalf("%d %s: want one GraphQL error (%v)", resp.StatusCode, b, err)
			}
			if resp.StatusCode != tc.status || out.Errors[0].Extensions["code"] != tc.code {
				t.Errorf("%d %s, want %d %s", resp.StatusCode, out.Errors[0].Extensions["code"], tc.status, tc.code)
			}
			for _, m := range tc.msg {
				if !strings.Contains(out.Errors[0].Message, m) {
					t.Errorf("message %q does not say %q", out.Errors[0].Message, m)
				}
			}
			if tc.header[0] != "" && resp.Header.Get(tc.header[0]) != tc.header[1] {
				t.Errorf("%s: %q, want %q", tc.header[0], resp.Header.Get(tc.header[0]), tc.header[1])
			}
		})
	}
	resp, err := http.Post(e.srv.URL+"/graphql", "application/json; charset=utf-8", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"__typename":"Query"`) {
		t.Errorf("POST application/json: %d %s", resp.StatusCode, b)
	}
}
