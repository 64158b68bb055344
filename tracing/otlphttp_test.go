package tracing

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// collector is a fake OTLP/HTTP collector that decodes what it gets as the collector's
// ExportTraceServiceRequest and answers the statuses it is given, then 200.
type collector struct {
	mu       sync.Mutex
	statuses []int
	requests []*http.Request
	got      []*coltrace.ExportTraceServiceRequest
	srv      *httptest.Server
}

func newCollector(t *testing.T, statuses ...int) *collector {
	c := &collector{statuses: statuses}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.requests = append(c.requests, r)
		if len(c.statuses) > 0 {
			st := c.statuses[0]
			c.statuses = c.statuses[1:]
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(st)
			io.WriteString(w, "refused")
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				t.Error(err)
				return
			}
			body = zr
		}
		b, _ := io.ReadAll(body)
		req := &coltrace.ExportTraceServiceRequest{}
		if err := proto.Unmarshal(b, req); err != nil {
			t.Errorf("the body is not an ExportTraceServiceRequest: %v", err)
		}
		c.got = append(c.got, req)
		w.Header().Set("Content-Type", "application/x-protobuf")
		b, _ = proto.Marshal(&coltrace.ExportTraceServiceResponse{})
		w.Write(b)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func TestOTLPHTTPExport(t *testing.T) {
	col := newCollector(t, http.StatusServiceUnavailable) // one refusal: retried
	exp, err := newOTLPHTTP(envOf(map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT":    col.srv.URL + "/",
		"OTEL_EXPORTER_OTLP_HEADERS":     "authorization=Bearer%20token,x-tenant=a",
		"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip",
	}))
	if err != nil {
		t.Fatal(err)
	}
	res := resource.NewSchemaless(attribute.String("service.name", "featuregraph"))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(res))
	tr := tp.Tracer("featuregraph/gateway", trace.WithInstrumentationVersion("v1"))
	ctx, parent := tr.Start(context.Background(), "POST /graphql", trace.WithSpanKind(trace.SpanKindServer))
	_, child := tr.Start(ctx, "redis read", trace.WithAttributes(
		attribute.Int64("keys", 3), attribute.Bool("hit", true), attribute.Float64("ratio", 0.5),
		attribute.StringSlice("features", []string{"os", "region_id"}), attribute.Int64Slice("sizes", []int64{1, 2})))
	child.AddEvent("retry", trace.WithAttributes(attribute.String("why", "timeout")))
	child.SetStatus(codes.Error, "redis down")
	child.End()
	parent.End()
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	col.mu.Lock()
	defer col.mu.Unlock()
	if len(col.requests) != 3 || len(col.got) != 2 { // child: 503 then 200; parent: 200
		t.Fatalf("%d requests, %d exports; want 3 requests (one 503 retried) and 2 exports", len(col.requests), len(col.got))
	}
	r := col.requests[0]
	if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" || r.Header.Get("Content-Encoding") != "gzip" ||
		r.Header.Get("Authorization") != "Bearer token" || r.Header.Get("X-Tenant") != "a" {
		t.Errorf("request %s %v", r.URL.Path, r.Header)
	}
	spans := map[string]*tracepb.Span{}
	for _, req := range col.got {
		rs := req.ResourceSpans[0]
		if kv := rs.Resource.Attributes[0]; kv.Key != "service.name" || kv.Value.GetStringValue() != "featuregraph" {
			t.Errorf("resource %v", rs.Resource)
		}
		ss := rs.ScopeSpans[0]
		if ss.Scope.Name != "featuregraph/gateway" || ss.Scope.Version != "v1" {
			t.Errorf("scope %v", ss.Scope)
		}
		for _, s := range ss.Spans {
			spans[s.Name] = s
		}
	}
	p, c := spans["POST /graphql"], spans["redis read"]
	if p == nil || c == nil {
		t.Fatalf("spans %v", spans)
	}
	if !bytes.Equal(c.ParentSpanId, p.SpanId) || !bytes.Equal(c.TraceId, p.TraceId) || len(p.ParentSpanId) != 0 {
		t.Errorf("child's parent %x, parent's id %x", c.ParentSpanId, p.SpanId)
	}
	if p.Kind != tracepb.Span_SPAN_KIND_SERVER || c.Kind != tracepb.Span_SPAN_KIND_INTERNAL {
		t.Errorf("kinds %v %v", p.Kind, c.Kind)
	}
	if c.Status.Code != tracepb.Status_STATUS_CODE_ERROR || c.Status.Message != "redis down" || p.Status.Code != tracepb.Status_STATUS_CODE_UNSET {
		t.Errorf("status %v / %v", c.Status, p.Status)
	}
	if c.EndTimeUnixNano < c.StartTimeUnixNano || c.StartTimeUnixNano == 0 {
		t.Errorf("times %d..%d", c.StartTimeUnixNano, c.EndTimeUnixNano)
	}
	attrs := map[string]string{}
	for _, kv := range c.Attributes {
		attrs[kv.Key] = kv.Value.String()
	}
	for k, want := range map[string]string{"keys": "int_value:3", "hit": "bool_value:true", "ratio": "double_value:0.5",
		"features": `array_value:{values:{string_value:"os"} values:{string_value:"region_id"}}`, "sizes": "array_value:{values:{int_value:1} values:{int_value:2}}"} {
		if got := strings.Join(strings.Fields(attrs[k]), " "); got != want {
			t.Errorf("attribute %s = %q, want %q", k, got, want)
		}
	}
	if len(c.Events) != 1 || c.Events[0].Name != "retry" || c.Events[0].Attributes[0].Value.GetStringValue() != "timeout" {
		t.Errorf("events %v", c.Events)
	}
}

// A collector's 4xx is not retried, and the error says what it answered.
func TestOTLPHTTPRefused(t *testing.T) {
	col := newCollector(t, http.StatusBadRequest)
	exp, err := newOTLPHTTP(envOf(map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": col.srv.URL + "/custom/path"}))
	if err != nil {
		t.Fatal(err)
	}
	var got error
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(errRecorder{exp, &got}))
	_, s := tp.Tracer("t").Start(context.Background(), "x")
	s.End()
	tp.Shutdown(context.Background())
	col.mu.Lock()
	defer col.mu.Unlock()
	if len(col.requests) != 1 || col.requests[0].URL.Path != "/custom/path" {
		t.Fatalf("%d requests; want 1, to the traces endpoint as given", len(col.requests))
	}
	if got == nil || !strings.Contains(got.Error(), "400 Bad Request: refused") {
		t.Errorf("export error %v, want the 400 and the collector's message", got)
	}
}

// errRecorder keeps the exporter's error.
type errRecorder struct {
	*otlpHTTP
	err *error
}

func (r errRecorder) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := r.otlpHTTP.ExportSpans(ctx, spans)
	*r.err = errors.Join(*r.err, err)
	return err
}

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
