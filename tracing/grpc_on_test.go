//go:build otlpgrpc

package tracing_test

const grpcBuilt = true
