package tracing_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/featuregraph/featuregraph/tracing"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFromEnv(t *testing.T) {
	const endpoint = "http://127.0.0.1:4318"
	type testCase struct {
		name    string
		env     map[string]string
		on      string // Exporters when on; "" when off
		wantErr string
	}
	var tests []testCase
	for _, tc := range []testCase{
		{name: "nothing set: off", env: nil},
		{name: "endpoint: otlp over http", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint}, on: "otlp http/protobuf"},
		{name: "traces endpoint", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": endpoint + "/v1/traces"}, on: "otlp http/protobuf"},
		{name: "traces protocol wins", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}, on: "otlp http/protobuf"},
		{name: "console", env: map[string]string{"OTEL_TRACES_EXPORTER": "console"}, on: "console"},
		{name: "otlp and console", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp,console"}, on: "otlp http/protobuf, console"},
		{name: "exporter none wins over an endpoint", env: map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint}},
		{name: "sdk disabled", env: map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint}},
		{name: "unknown exporter", env: map[string]string{"OTEL_TRACES_EXPORTER": "jaeger"}, wantErr: `unknown exporter "jaeger"`},
		{name: "unknown protocol", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, wantErr: `OTLP protocol "http/json" is not supported`},
		{name: "bad endpoint", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://"}, wantErr: `want a URL like http://collector:4318`},
		{name: "bad headers", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_EXPORTER_OTLP_HEADERS": "novalue"}, wantErr: `"novalue" is not key=value`},
		{name: "bad timeout", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_EXPORTER_OTLP_TIMEOUT": "10s"}, wantErr: `want milliseconds`},
		{name: "bad compression", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_EXPORTER_OTLP_COMPRESSION": "zstd"}, wantErr: `want gzip or none`},
	} {
		tests = append(tests, tc)
	}
	grpc := testCase{name: "grpc", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, on: "otlp grpc"}
	if !grpcBuilt {
		grpc.on, grpc.wantErr = "", "OTEL_EXPORTER_OTLP_PROTOCOL=grpc: OTLP over gRPC is not compiled into this binary"
	}
	for _, tc := range append(tests, grpc) {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tracing.FromEnv(context.Background(), envOf(tc.env), &bytes.Buffer{})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("want error containing %q, got %v", tc.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer p.Shutdown(context.Background())
			if tc.on == "" {
				if p != nil {
					t.Fatalf("want tracing off, got on (%s)", p.Exporters)
				}
				return
			}
			if p == nil || !p.Tracer().Enabled() {
				t.Fatal("want tracing on, got off")
			}
			if p.Exporters != tc.on {
				t.Errorf("exporters %q, want %q", p.Exporters, tc.on)
			}
		})
	}
}

// The console exporter writes each span as JSON.
func TestConsoleExporter(t *testing.T) {
	var out bytes.Buffer
	p, err := tracing.FromEnv(context.Background(), envOf(map[string]string{"OTEL_TRACES_EXPORTER": "console"}), &out)
	if err != nil {
		t.Fatal(err)
	}
	_, sp := p.Tracer().Start(context.Background(), "console-span")
	sp.End()
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"Name":"console-span"`) {
		t.Fatalf("console output lacks the span:\n%s", out.String())
	}
}
