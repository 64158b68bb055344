// Package catalog renders the feature catalog (/catalog): every entity and feature of the
// registry with its type, owner, tags, description, deprecation, limits and the ingestion rules
// that feed it, a ready example query that opens in the playground, and live figures per
// feature (reads per second, writes, freshness, dead letters). It also writes the example
// queries the playground starts with. The page is server-rendered html/template with no
// external assets.
package catalog
