package resolvers

import "fmt"

// onDemandOnly is the reference executor's answer for an on-demand (service or derived)
// feature: the compiled plans (package plan) fetch and derive them; gqlgen's executor, kept as
// the test reference of the stored features, does not (docs/on-demand.md).
func onDemandOnly(entity, feature string) error {
	return fmt.Errorf("%s.%s is an on-demand feature: the compiled executor answers it, the reference executor does not", entity, feature)
}
