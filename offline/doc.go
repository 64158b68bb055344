// Package offline copies what featuregraph writes and serves online to an offline store, and
// builds training sets from it:
//
//   - Downsync (a Tap of the ingestion writer): every store write that a feature's
//     `downsync:` sampling keeps becomes a Row.
//   - Served-feature logging (ServedLog): what the gateway answered, as ServedRows, sampled per
//     operation and buffered off the request path.
//
// Rows go through a Spool (an fsync'ed local log that survives a restart) to a Sink: Parquet
// files on a local directory or S3, partitioned by entity, feature (or operation), date and
// hour, or a Kafka topic. Delivery is at-least-once: a row the spool acknowledged reaches the
// sink, possibly twice after a crash, never not at all.
package offline
