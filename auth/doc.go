// Package auth is featuregraph's access control: who a request comes from (an API key, a JWT of
// an OIDC issuer, a TLS client certificate) and what that client may do (read which entities and
// features, write which streams and entities, introspect, use the playground, catalog and
// /metrics), loaded from a clients file next to the registry into one immutable Policy.
//
// A Policy is a value: the gateway resolves a request's Client with Policy.Authenticate once per
// request, plans are compiled per operation and Grant (plan.Access), and pushes are checked per
// event with Grant.Writes. Loading a new clients file builds a new Policy; nothing in one changes.
package auth
