package tracing

// Attribute keys shared by the instrumented packages. Standard OpenTelemetry semantic
// conventions are used where one fits (db.*, http.*, graphql.*); the featuregraph.* keys say
// what a feature store call carried and found.
const (
	// DBSystem is the backend of a client span: "redis", "aws.dynamodb", "memory".
	DBSystem = "db.system.name"
	// DBOperation is the store method a span covers: "ReadStatic", "ReadActions", ...
	DBOperation = "db.operation.name"
	// Store names the composed store a store span covers: "memory", "dynamodb", "dynamodb+redis".
	Store = "featuregraph.store"

	// Keys is the batch size of a static call: feature keys asked for or written.
	Keys = "featuregraph.keys"
	// Queries is the batch size of an action read: series queries asked for.
	Queries = "featuregraph.queries"
	// Writes is the batch size of a write call.
	Writes = "featuregraph.writes"
	// Hits is how many keys or queries the backend answered with data (a static value found, a
	// Redis key present).
	Hits = "featuregraph.hits"
	// Misses is how many keys or queries it did not (absent static values, Redis keys missing).
	Misses = "featuregraph.misses"
	// Events is how many action events a read returned.
	Events = "featuregraph.events"
	// Fallback marks a DynamoDB action read that stands in for Redis (a miss or Redis down).
	Fallback = "featuregraph.fallback"
	// Fallbacks counts the action queries of a read that Redis did not answer.
	Fallbacks = "featuregraph.fallbacks"

	// GraphQL attributes (OpenTelemetry's graphql.* conventions, plus the field of a resolver).
	OperationType = "graphql.operation.type"
	OperationName = "graphql.operation.name"
	FieldPath     = "graphql.field.path"
	FieldName     = "graphql.field.name"
	FieldType     = "graphql.field.parent_type"
	Errors        = "graphql.errors"
)
