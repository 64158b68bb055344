package readme_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/systemtest/harness"
)

// TestReadmeOnDemand produces the README's on-demand examples (the blocks marked `<!-- tested
// by TestReadmeOnDemand -->`): the example registry plus the README's fragment, its service URL
// pointing at a real HTTP trust-and-safety service started here (the batch contract of
// docs/on-demand.md; 503 for user 2), the README's push, then each query gives the answer shown
// — stored features, the service feature and the derived one in one answer, and the failure
// answer. It also checks the README's figure of one call per level, and the validation error
// the README quotes for a wrong expression.
func TestReadmeOnDemand(t *testing.T) {
	var calls atomic.Int64
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var req struct {
			Entity   string  `json:"entity"`
			IDs      []int64 `json:"ids"`
			Features []string
		}
		if r.Method != http.MethodPost || r.URL.Path != "/v1/blocked-users" || json.NewDecoder(r.Body).Decode(&req) != nil || req.Entity != "user" {
			http.Error(w, "not the contract", http.StatusBadRequest)
			return
		}
		if slices.Contains(req.IDs, 2) {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		results := map[string]any{}
		for _, id := range req.IDs {
			results[fmt.Sprint(id)] = map[string]any{"blocked_users": []int64{17, 42}}
		}
		json.NewEncoder(w).Encode(map[string]any{"results": results})
	}))
	defer svc.Close()

	var fragment harness.Fence
	var push harness.Fence
	type example struct{ where, query, answer string }
	var examples []example
	fences := harness.ReadmeFences(t)
	for i, f := range fences {
		switch {
		case f.Lang == "yaml" && f.Before == harness.FragmentMarker && strings.Contains(f.Body, "click_through_rate_7d"):
			fragment = f
		case f.Before == "<!-- tested by TestReadmeOnDemand -->" && f.Lang == "sh":
			push = f
		case f.Before == "<!-- tested by TestReadmeOnDemand -->" && f.Lang == "graphql":
			if i+1 >= len(fences) || fences[i+1].Lang != "json" {
				t.Fatalf("README.md:%d: the query has no answer after it", f.Line)
			}
			examples = append(examples, example{fmt.Sprintf("README.md:%d", f.Line), f.Body, fences[i+1].Body})
		}
	}
	if fragment.Body == "" || push.Body == "" || len(examples) != 2 {
		t.Fatalf("README on-demand blocks: fragment %t, push %t, %d queries (want 2)", fragment.Body != "", push.Body != "", len(examples))
	}
	dir := t.TempDir()
	harness.CopyDir(t, "features", dir)
	yaml := strings.Replace(fragment.Body, "http://trust-safety.internal", svc.URL, 1)
	if err := os.WriteFile(filepath.Join(dir, "ondemand.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	base := harness.StartServer(t, "--features", dir)
	addr := strings.TrimPrefix(base, "http://")
	for _, ex := range harness.CurlExamples(t, fmt.Sprintf("README.md:%d", push.Line), push.Body) {
		if got := ex.Send(t, addr); !harness.SameJSON(got, ex.Answer) {
			t.Errorf("%s: the push answers\n%s\nwant\n%s", ex.Where, got, ex.Answer)
		}
	}
	calls.Store(0)
	for _, ex := range examples {
		body, _ := json.Marshal(map[string]string{"query": ex.query})
		if got := harness.Post(t, base, "/graphql", string(body)); !harness.SameJSON(got, ex.answer) {
			t.Errorf("%s: got\n%s\nwant\n%s", ex.where, got, ex.answer)
		}
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("%d calls to the service for the README's 2 queries, want 2", n)
	}
	// One call per level, not per entity: 20 users are one call.
	calls.Store(0)
	harness.Post(t, base, "/graphql", `{"query":"{ users(ids: [3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22]) { blockedUsers } }"}`)
	if n := calls.Load(); n != 1 {
		t.Errorf("20 users cost %d calls, want 1", n)
	}

	// The validation error the README quotes.
	wrong := strings.Replace(fragment.Body, "double(count(feed_clicks, 7 * 86400)) /", "count(feed_clicks, 7 * 86400) /", 1)
	files := map[string][]byte{"features/ondemand.yaml": []byte(wrong)}
	stored, _ := filepath.Glob("features/*.yaml")
	for _, p := range stored {
		files[p], _ = os.ReadFile(p)
	}
	_, err := registry.Parse(files)
	const quoted = "features/ondemand.yaml:33: feature user.click_through_rate_7d: expr: found no matching overload for '_/_' applied to '(int, double)'"
	if err == nil || !strings.Contains(err.Error(), quoted) {
		t.Errorf("a wrong expression: %v\nwant %s", err, quoted)
	}
	readme, _ := os.ReadFile("README.md")
	if !strings.Contains(strings.Join(strings.Fields(string(readme)), " "), strings.Join(strings.Fields(quoted), " ")) {
		t.Errorf("the README does not quote %q", quoted)
	}
}
