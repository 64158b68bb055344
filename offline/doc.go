// Package offline copies what featuregraph writes and serves online to an offline store:
//
//   - Downsync (Downsync, the ingestion writer's Tap): every store write that a feature's
//     `downsync:` sampling keeps becomes a Row. Rows go through a Spool (an fsync'ed local log
//     that survives a restart) to a Sink: delivery is at-least-once — a row the spool
//     acknowledged reaches the sink, possibly twice after a crash, never not at all.
//   - Served-feature logging (ServedLog): what the gateway answered, one ServedValue row per value
//     a sampled request read, buffered in memory off the request path (a full buffer drops and counts rows).
//
// Sinks: Parquet files on a local directory or S3 (ObjectStore: Put, List, Get), partitioned
// by entity, feature (or operation), date and hour; or a Kafka topic. The training sets built
// from the online stores are package offline/dataset's.
package offline
