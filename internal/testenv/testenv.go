package testenv

import (
	"fmt"
	"os"
	"sync"
	"testing"
)

// IntegrationEnv is the environment variable that makes a missing server a test failure.
const IntegrationEnv = "FEATUREGRAPH_INTEGRATION"

// Required reports whether the integration environment was requested (IntegrationEnv=1).
func Required() bool { return os.Getenv(IntegrationEnv) == "1" }

// unavailable fails the test when the integration environment is required, else skips it.
func unavailable(t testing.TB, err error) {
	t.Helper()
	if Required() {
		t.Fatalf("testenv: %v (%s=1 requires every test server)", err, IntegrationEnv)
		return
	}
	t.Skipf("testenv: %v (set %s=1 to make this a failure)", err, IntegrationEnv)
}

// shared is a server started at most once per test binary.
type shared struct {
	once  sync.Once
	addr  string
	err   error
	stopF func()
}

func (s *shared) get(t testing.TB, startF func() (addr string, stop func(), err error)) string {
	t.Helper()
	s.once.Do(func() {
		s.addr, s.stopF, s.err = startF()
		register(s)
	})
	if s.err != nil {
		unavailable(t, s.err)
	}
	return s.addr
}

var (
	mu      sync.Mutex
	started []*shared
)

func register(s *shared) {
	mu.Lock()
	defer mu.Unlock()
	started = append(started, s)
}

// Main runs the package's tests and then stops the shared servers. Call it from TestMain:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	StopShared()
	os.Exit(code)
}

// StopShared stops every shared server started so far. Main calls it.
func StopShared() {
	mu.Lock()
	defer mu.Unlock()
	for _, s := range started {
		if s.stopF != nil {
			s.stopF()
		}
	}
	started = nil
}

func missing(what, install string) error { return fmt.Errorf("%s not found: %s", what, install) }

// Slow marks a test that takes long on its own (it builds the module, an image, or runs phases
// of a load for seconds): it runs when the integration environment is required (scripts/test,
// CI) and is skipped, saying why, otherwise, so that a plain `go test ./...` stays quick.
func Slow(t testing.TB, why string) {
	t.Helper()
	if !Required() {
		t.Skipf("slow (%s): runs with %s=1, as scripts/test sets", why, IntegrationEnv)
	}
}
