package gateway_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// An error-free answer is written in place with its Content-Length: a large one (here 300
// users) is not chunked, and the length is that of the body, which is {"data":…}.
func TestErrorFreeAnswerHasContentLength(t *testing.T) {
	e := newEnv(t)
	ids := make([]string, 300)
	for i := range ids {
		id := strconv.Itoa(i + 1)
		ids[i] = id
		e.static("user", id, "os", "ios", 1)
	}
	body, _ := json.Marshal(map[string]any{"query": `{ users(ids: [` + strings.Join(ids, ",") + `]) { id os regionId } }`})
	res, err := http.Post(e.srv.URL+"/graphql", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	got, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || len(res.TransferEncoding) != 0 || res.ContentLength != int64(len(got)) || len(got) < 4096 {
		t.Fatalf("status %d, transfer encoding %v, Content-Length %d, body %d bytes", res.StatusCode, res.TransferEncoding, res.ContentLength, len(got))
	}
	var r response
	if err := json.Unmarshal(got, &r); err != nil || len(r.Errors) != 0 || !bytes.HasPrefix(got, []byte(`{"data":{"users":[`)) {
		t.Fatalf("answer %.200s: %v", got, err)
	}
	var data struct{ Users []struct{ OS string } }
	if err := json.Unmarshal(r.Data, &data); err != nil || len(data.Users) != 300 || data.Users[299].OS != "ios" {
		t.Fatalf("data %.200s: %v", r.Data, err)
	}
}
