// Package serving holds what every executor of the GraphQL API shares, so that they answer
// alike: the serving limits (Config), the meaning of the arguments (ActionQuery,
// EffectiveCount, CheckAsOf, the scalars' input coercion), the errors they report and the error
// presenter that gives them their codes. The run-time executor (package plan) and the generated
// reference executor (packages resolvers and graph) both use it; neither imports the other.
package serving
