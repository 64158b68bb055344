// Package dataset builds point-in-time correct training sets: for each row of a spine (an
// entity id and a time, optionally a label) it answers the model's own GraphQL operation as of
// that time — static features as their history held them then, action features with the events
// up to then, exactly as `asOf` answers online — and writes one Parquet row per spine row.
// Rows are answered in batches: one GraphQL request carries a batch of spine rows as aliased
// copies of the operation's entity field, so the store is read in batches as for any request.
package dataset
