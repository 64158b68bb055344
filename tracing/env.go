package tracing

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// Provider is a tracer provider built from the environment. A nil *Provider is tracing off:
// its Tracer is the zero Tracer and Shutdown does nothing.
type Provider struct {
	tp *sdktrace.TracerProvider
	// Exporters describes where spans go, for the start-up log ("otlp http/protobuf").
	Exporters string
}

// The environment variables FromEnv reads itself; the OTLP exporter reads the rest of the
// standard set (OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT, _HEADERS, _TIMEOUT, _INSECURE,
// _CERTIFICATE, _COMPRESSION; see otlpHTTP), the SDK reads OTEL_TRACES_SAMPLER[_ARG] and OTEL_BSP_*, and the
// resource reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
const (
	envDisabled       = "OTEL_SDK_DISABLED"
	envExporter       = "OTEL_TRACES_EXPORTER"
	envEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	envTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	envProtocol       = "OTEL_EXPORTER_OTLP_PROTOCOL"
	envTracesProtocol = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
)

// DefaultServiceName is service.name unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES says
// otherwise.
const DefaultServiceName = "featuregraph"

// FromEnv builds the tracer provider the OTEL_* variables ask for, or returns nil (off):
//
//   - OTEL_SDK_DISABLED=true, or OTEL_TRACES_EXPORTER=none: off.
//   - OTEL_TRACES_EXPORTER unset: on (otlp) when OTEL_EXPORTER_OTLP_ENDPOINT or
//     OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set, else off.
//   - OTEL_TRACES_EXPORTER=otlp, console or both (comma-separated): OTLP over
//     OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL (http/protobuf, the default; grpc in a binary built
//     with -tags otlpgrpc), and console writes spans as JSON to console.
//
// getenv decides what is on and configures the OTLP/HTTP exporter; the SDK (and the gRPC
// exporter) read the process environment.
func FromEnv(ctx context.Context, getenv func(string) string, console io.Writer) (*Provider, error) {
	if strings.EqualFold(strings.TrimSpace(getenv(envDisabled)), "true") {
		return nil, nil
	}
	names := strings.TrimSpace(getenv(envExporter))
	if names == "" {
		if getenv(envEndpoint) == "" && getenv(envTracesEndpoint) == "" {
			return nil, nil
		}
		names = "otlp"
	}
	var opts []sdktrace.TracerProviderOption
	var described []string
	for _, name := range strings.Split(names, ",") {
		switch name = strings.TrimSpace(name); name {
		case "none":
			return nil, nil
		case "otlp":
			exp, proto, err := otlpExporter(ctx, getenv)
			if err != nil {
				return nil, err
			}
			opts = append(opts, sdktrace.WithBatcher(exp))
			described = append(described, "otlp "+proto)
		case "console":
			exp, err := stdouttrace.New(stdouttrace.WithWriter(console))
			if err != nil {
				return nil, fmt.Errorf("%s=console: %w", envExporter, err)
			}
			opts = append(opts, sdktrace.WithSyncer(exp))
			described = append(described, "console")
		default:
			return nil, fmt.Errorf("%s=%q: unknown exporter %q (want otlp, console or none)", envExporter, names, name)
		}
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(DefaultServiceName)),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES win over the default
		resource.WithTelemetrySDK(),
	)
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("tracing resource: %w", err)
	}
	opts = append(opts, sdktrace.WithResource(res))
	return &Provider{tp: sdktrace.NewTracerProvider(opts...), Exporters: strings.Join(described, ", ")}, nil
}

func otlpExporter(ctx context.Context, getenv func(string) string) (sdktrace.SpanExporter, string, error) {
	proto := strings.TrimSpace(getenv(envTracesProtocol))
	if proto == "" {
		proto = strings.TrimSpace(getenv(envProtocol))
	}
	if proto == "" {
		proto = "http/protobuf"
	}
	var exp sdktrace.SpanExporter
	var err error
	switch proto {
	case "http/protobuf":
		exp, err = newOTLPHTTP(getenv)
	case "grpc":
		if grpcExporter == nil {
			return nil, "", fmt.Errorf("%s=grpc: %w", envProtocolVar(getenv), errGRPCNotBuilt)
		}
		exp, err = grpcExporter(ctx)
	default:
		return nil, "", fmt.Errorf("OTLP protocol %q is not supported (want http/protobuf or grpc; set %s)", proto, envTracesProtocol)
	}
	if err != nil {
		return nil, "", fmt.Errorf("OTLP trace exporter (%s): %w", proto, err)
	}
	return exp, proto, nil
}

// grpcExporter builds the OTLP/gRPC exporter; nil unless the binary is built with -tags otlpgrpc
// (grpc.go).
var grpcExporter func(context.Context) (sdktrace.SpanExporter, error)

// envProtocolVar names the variable that chose the protocol.
func envProtocolVar(getenv func(string) string) string {
	if strings.TrimSpace(getenv(envTracesProtocol)) != "" {
		return envTracesProtocol
	}
	return envProtocol
}

// Tracer returns the provider's Tracer; the zero Tracer when p is nil.
func (p *Provider) Tracer() Tracer {
	if p == nil {
		return Tracer{}
	}
	return New(p.tp)
}

// Shutdown exports the spans still buffered and stops the exporters.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p == nil {
		return nil
	}
	return p.tp.Shutdown(ctx)
}
