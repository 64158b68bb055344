// Package ingest turns events into store writes. A Dispatcher routes each event (an Envelope:
// stream, topic, sub-topic and the event JSON) to every feature spec of the registry that it
// matches — one event may feed many features, one feature many event types — and converts it
// into static and action writes. A Writer batches those writes into a store.Writer, retrying
// store outages without dropping work. The sources live in sub-packages: kafka (consumer
// group), push (HTTP POST /v1/events) and load (JSONL/CSV files).
package ingest
