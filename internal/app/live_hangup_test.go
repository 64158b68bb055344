//go:build unix

package app

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// With --registry-watch=false a SIGHUP (by default the end of a process) is logged and ignored:
// the process goes on serving the registry of its start, even when the files changed.
func TestSIGHUPWithoutWatchIsIgnored(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "r.yaml"), liveBase)
	s := startLive(t, dir, LiveOptions{Watch: false}, false)
	first := s.live.Serving().Fingerprint
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.live.Run(ctx) // returns at once with watching off, SIGHUP handled
	writeFile(t, filepath.Join(dir, "r.yaml"), liveBase+liveFeature("age"))
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(s.logs.String(), "SIGHUP ignored") {
		if time.Now().After(deadline) {
			t.Fatalf("no log of the ignored SIGHUP after 5 s:\n%s", s.logs)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if s.live.Serving().Fingerprint != first {
		t.Fatal("a registry was reloaded with watching off")
	}
	if a := s.query(t, `{ user(id: 1) { os } }`); len(a.Errors) > 0 {
		t.Fatalf("after SIGHUP: %+v", a.Errors)
	}
}
