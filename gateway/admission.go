package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"golang.org/x/sync/semaphore"
)

// admission bounds the work the gateway takes on, in two stages. At the door a request takes one
// of maxInFlight slots, waiting at most queueWait in a queue of at most maxQueue; after its cost
// is known (queryCost) it takes that many units of a budget of maxCost values being built, with
// the same bounded wait. A request that gets neither in time is answered 503 with Retry-After at
// once: overload turns into fast refusals, never into unbounded memory or goroutines.
//
// The second stage is cost-aware, so that a flood of heavy queries cannot starve cheap ones. An
// operation costing at most cheapCost values is cheap: it takes no cost units (the door bounds
// the values of cheap operations to maxInFlight × cheapCost) and so never queues behind a heavy
// one (the weighted semaphore is first come, first served). A heavy operation must also take one
// of maxHeavy lane places (three quarters of the slots by default), without waiting: when the
// lane is full it is answered 503 at once. So at least a quarter of the slots stay free for
// cheap operations during a heavy flood, and refusing the excess costs no wait.
type admission struct {
	slots     chan struct{}
	queued    atomic.Int64
	maxQueue  int64
	queueWait time.Duration
	cost      *semaphore.Weighted
	maxCost   int64
	cheapCost float64
	heavy     chan struct{} // the heavy lane
	fair      *fairShare    // per-client shares (fair.go)

	rejected atomic.Int64 // requests refused (for tests and metrics)
}

func newAdmission(maxInFlight, maxQueue int, queueWait time.Duration, maxCost int64, cheapCost, maxHeavy int) *admission {
	return &admission{
		slots: make(chan struct{}, maxInFlight), maxQueue: int64(maxQueue), queueWait: queueWait,
		cost: semaphore.NewWeighted(maxCost), maxCost: maxCost,
		cheapCost: float64(cheapCost), heavy: make(chan struct{}, maxHeavy),
		fair: newFairShare(maxInFlight, maxCost),
	}
}

// enterFor takes a slot for a request of client ("": no share, see fair.go): first one of the
// client's own, then one of the door's; the wait for both is at most the queue wait.
func (a *admission) enterFor(ctx context.Context, client string, req *request) (release func(), ok bool) {
	if client == "" {
		return a.enter(ctx)
	}
	s, ok := a.fair.enter(ctx, client, a.queueWait)
	if !ok {
		a.rejected.Add(1)
		return nil, false
	}
	rel, ok := a.enter(ctx)
	if !ok {
		a.fair.leave(client, s)
		return nil, false
	}
	req.share, req.client = s, client
	return func() { rel(); a.fair.leave(client, s) }, true
}

// enter takes a slot, or reports false when none frees up within the queue wait (or the queue
// is full, or ctx ends).
func (a *admission) enter(ctx context.Context) (release func(), ok bool) {
	select {
	case a.slots <- struct{}{}:
		return a.leave, true
	default:
	}
	if a.queued.Add(1) > a.maxQueue {
		a.queued.Add(-1)
		a.rejected.Add(1)
		return nil, false
	}
	defer a.queued.Add(-1)
	t := time.NewTimer(a.queueWait)
	defer t.Stop()
	select {
	case a.slots <- struct{}{}:
		return a.leave, true
	case <-t.C:
	case <-ctx.Done():
	}
	a.rejected.Add(1)
	return nil, false
}

func (a *admission) leave() { <-a.slots }

// request is the admission state of one request, in its context: the cost units it holds and
// whether it was refused after entering (its answer is then a 503).
type request struct {
	adm        *admission
	held       int64
	lane       bool // holds a place in the heavy lane
	overloaded atomic.Bool
	// ended: the request's context ended while it was executed; its answer is a 503 TIMEOUT
	// (endedStop).
	ended atomic.Bool
	// forbidden: access control refused the operation; its answer is a 403 (overloadWriter).
	forbidden atomic.Bool
	// share is the client's share of the budgets (fair.go; nil without access control), and
	// shareHeld the cost units taken from it.
	share     *share
	client    string
	shareHeld int64
}

type requestKey struct{}

func requestFrom(ctx context.Context) *request {
	r, _ := ctx.Value(requestKey{}).(*request)
	return r
}

// admitCost admits the operation being started by its cost (cheap: at once; heavy: a place in
// the heavy lane, or a refusal at once, then cost units within the queue wait); false means
// overloaded.
func (r *request) admitCost(ctx context.Context, cost float64) bool {
	if cost <= r.adm.cheapCost {
		return true
	}
	if !r.lane {
		select {
		case r.adm.heavy <- struct{}{}:
			r.lane = true
		default:
			r.adm.rejected.Add(1)
			r.overloaded.Store(true)
			return false
		}
	}
	n := int64(min(max(cost, 1), float64(r.adm.maxCost)))
	if r.share != nil {
		if !r.adm.fair.takeCost(r.share, n) {
			r.adm.rejected.Add(1)
			r.overloaded.Store(true)
			return false
		}
		r.shareHeld += n
	}
	if !r.adm.cost.TryAcquire(n) {
		wctx, cancel := context.WithTimeout(ctx, r.adm.queueWait)
		err := r.adm.cost.Acquire(wctx, n)
		cancel()
		if err != nil {
			r.adm.rejected.Add(1)
			r.overloaded.Store(true)
			return false
		}
	}
	r.held += n
	return true
}

func (r *request) release() {
	if r.shareHeld > 0 {
		r.adm.fair.giveCost(r.share, r.shareHeld)
		r.shareHeld = 0
	}
	if r.held > 0 {
		r.adm.cost.Release(r.held)
		r.held = 0
	}
	if r.lane {
		<-r.adm.heavy
		r.lane = false
	}
}

// overloadError is the GraphQL error of a refused request.
func overloadError(what string) *gqlerror.Error {
	return &gqlerror.Error{
		Message:    "the gateway is overloaded (" + what + "): retry after " + strconv.Itoa(retryAfterSeconds) + "s",
		Extensions: map[string]any{"code": codeOverloaded},
	}
}

const retryAfterSeconds = 1

// Error codes of the gateway's own refusals. They are request errors (no data): gqlgen's
// transports answer them 4xx like validation errors; overload becomes 503 (overloadWriter).
const (
	codeOverloaded = "OVERLOADED"
	codeShapeLimit = "QUERY_SHAPE_LIMIT_EXCEEDED"
	codeInputLimit = "INPUT_LIMIT_EXCEEDED"
	codeTimeout    = "TIMEOUT"
	codeTooLarge   = "REQUEST_TOO_LARGE"
	codeBadRequest = "BAD_REQUEST"
	// codeUnsupportedMedia: a POST whose Content-Type is not one the endpoint reads (415).
	codeUnsupportedMedia = "UNSUPPORTED_MEDIA_TYPE"
	// codeDepthLimit, codeCostLimit: the depth and cost limits (cost.go).
	codeDepthLimit = "DEPTH_LIMIT_EXCEEDED"
	codeCostLimit  = "COMPLEXITY_LIMIT_EXCEEDED"
)

func init() {
	for _, c := range []string{codeOverloaded, codeShapeLimit, codeInputLimit, codeDepthLimit, codeCostLimit} {
		errcode.RegisterErrorType(c, errcode.KindProtocol)
	}
}

// overloadWriter turns the answer of a request refused after it entered, or stopped when its
// context ended, into a 503 with Retry-After, whichever transport writes it.
type overloadWriter struct {
	http.ResponseWriter
	req         *request
	wroteHeader bool
}

func (w *overloadWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	w.wroteHeader = true
	if w.req.overloaded.Load() || w.req.ended.Load() {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
		code = http.StatusServiceUnavailable
	} else if w.req.forbidden.Load() {
		code = http.StatusForbidden
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *overloadWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *overloadWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// writeGraphQLError answers a request with one GraphQL error and no data.
func writeGraphQLError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
	}
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]any{"errors": []map[string]any{{"message": msg, "extensions": map[string]string{"code": code}}}})
	_, _ = w.Write(b)
}

func overloadMessage(a *admission) string {
	return fmt.Sprintf("the gateway is overloaded (%d requests in flight, %d queued): retry after %ds",
		cap(a.slots), a.maxQueue, retryAfterSeconds)
}
