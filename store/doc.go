// Package store defines what featuregraph keeps and how it is addressed: the key layout, the
// values of static features, the events of action features, the small role-split interfaces
// that serving reads through and ingestion writes through, and the sentinel errors every
// backend maps its failures to. Backends live in sub-packages (memory, redis, dynamodb) and all
// pass the contract suite in store/storetest.
package store
