//go:build otlpgrpc

package tracing

import (
	"context"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// With -tags otlpgrpc the binary also exports over OTLP/gRPC (OTEL_EXPORTER_OTLP_PROTOCOL=grpc),
// with the OTel exporter and the gRPC stack it brings.
func init() {
	grpcExporter = func(ctx context.Context) (sdktrace.SpanExporter, error) { return otlptracegrpc.New(ctx) }
}
