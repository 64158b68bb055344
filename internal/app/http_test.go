package app

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// The drain waits while someone may still route requests here: a /readyz poll within the last
// minute, a request in flight or one within the last second; otherwise it is over.
func TestDrainWaitsOnlyWhileWatched(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	a := &activity{}
	h := a.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(started)
			<-release
		}
	}))
	now := time.Now()
	if !a.unwatched(now) {
		t.Fatal("a server nobody ever asked anything is watched")
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/graphql", nil))
	if a.unwatched(time.Now()) {
		t.Error("a request just now: the drain must go on")
	}
	if !a.unwatched(time.Now().Add(trafficQuiet)) {
		t.Error("idle for trafficQuiet with no /readyz poll: the drain must end")
	}
	go h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/slow", nil))
	<-started
	if a.unwatched(time.Now().Add(time.Hour)) {
		t.Error("a request in flight: the drain must go on")
	}
	close(release)
	for a.inFlight.Load() != 0 {
		time.Sleep(time.Millisecond)
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/readyz", nil))
	if a.unwatched(time.Now().Add(trafficQuiet)) {
		t.Error("/readyz polled just now: a load balancer is watching, the drain must go on")
	}
	if !a.unwatched(time.Now().Add(lbWatchWindow)) {
		t.Error("no /readyz poll for lbWatchWindow and no request: the drain must end")
	}
}
