package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/internal/cli"
	"github.com/featuregraph/featuregraph/systemtest/harness"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is an OTLP/HTTP trace endpoint that keeps what it is sent.
type otlpReceiver struct {
	mu       sync.Mutex
	spans    []string // span names
	services []string // service.name of each resource
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req coltrace.ExportTraceServiceRequest
	if r.URL.Path != "/v1/traces" || proto.Unmarshal(body, &req) != nil {
		http.Error(w, "bad export", http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.Key == "service.name" {
				o.services = append(o.services, kv.GetValue().GetStringValue())
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				o.spans = append(o.spans, s.Name)
			}
		}
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
	w.Write(out)
}

// `featuregraph serve` with OTEL_EXPORTER_OTLP_ENDPOINT set exports the spans of a query over
// OTLP/HTTP (flushed at shutdown), named by OTEL_SERVICE_NAME.
func TestServeExportsTracesOverOTLP(t *testing.T) {
	recv := &otlpReceiver{}
	collector := httptest.NewServer(recv)
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	t.Setenv("OTEL_SERVICE_NAME", "featuregraph-test")

	addr := harness.FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs bytes.Buffer
	go func() {
		done <- cli.Run(ctx, []string{"serve", "--addr", addr, "--shutdown-drain", "0"}, &logs, &logs, os.Getenv)
	}()
	body, _ := json.Marshal(map[string]string{"query": harness.ReadmeQuery})
	for deadline := time.Now().Add(15 * time.Second); ; {
		res, err := http.Post("http://"+addr+"/graphql", "application/json", bytes.NewReader(body))
		if err == nil {
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if !strings.Contains(string(b), `"os":"ios"`) {
				t.Fatalf("unexpected answer %s", b)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not answer: %v\n%s", err, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v\n%s", err, logs.String())
	}
	if !strings.Contains(logs.String(), "tracing on") {
		t.Errorf("the start-up log should say tracing is on:\n%s", logs.String())
	}
	recv.mu.Lock()
	defer recv.mu.Unlock()
	seen := map[string]bool{}
	for _, s := range recv.spans {
		seen[s] = true
	}
	for _, want := range []string{"POST /graphql", "query", "plan.static_read",
		"plan.action_read", "store.ReadStatic", "store.ReadActions"} {
		if !seen[want] {
			sort.Strings(recv.spans)
			t.Errorf("no %q span exported; got %q", want, recv.spans)
		}
	}
	for _, s := range recv.services {
		if s != "featuregraph-test" {
			t.Errorf("service.name %q, want OTEL_SERVICE_NAME's featuregraph-test", s)
		}
	}
}
