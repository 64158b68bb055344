//go:build !unix

package offline

// lockDir does not lock on this platform: run one process per spool directory.
func lockDir(string) (func(), error) { return func() {}, nil }
