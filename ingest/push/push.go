// Package push is the HTTP ingestion endpoint, POST /v1/events, for services that compute
// features themselves. The body is one envelope or a JSON array of envelopes; each event is
// dispatched like a Kafka event, its writes are stored before the response, and the response
// says what happened to each event.
package push

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/featuregraph/featuregraph/ingest"
)

// Path is where the handler is usually mounted.
const Path = "/v1/events"

// Config configures a Handler. Zero fields take the defaults of DefaultConfig.
type Config struct {
	// MaxBodyBytes bounds the request body; larger bodies get 413. Default 1 MiB.
	MaxBodyBytes int64
	// MaxEvents bounds the events of one batch; more get 413. Default 1000.
	MaxEvents int
	// Timeout bounds the wait for the store when the request has no earlier deadline; when it
	// passes the response is 503 (the events stay queued and are still written; retrying is
	// safe, writes are idempotent). Default 10s.
	Timeout time.Duration
	// Logger receives store failures. Default slog.Default().
	Logger *slog.Logger
	// Check, when set, is asked about every event that was read (routed or not) before anything
	// is written: an error (access control: the client may not write the event's stream or
	// entities) rejects the event with status "forbidden", nothing of it written; the other
	// events of the batch are still processed. When every event is rejected and one was
	// forbidden, the answer is 403. Default nil: every event may be written.
	Check func(ctx context.Context, res *ingest.Result) error
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{MaxBodyBytes: 1 << 20, MaxEvents: 1000, Timeout: 10 * time.Second}
}

// Validate reports every field that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.MaxBodyBytes < 0 {
		errs = append(errs, fmt.Errorf("push: MaxBodyBytes %d must not be negative", c.MaxBodyBytes))
	}
	if c.MaxEvents < 0 {
		errs = append(errs, fmt.Errorf("push: MaxEvents %d must not be negative", c.MaxEvents))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("push: Timeout %v must not be negative", c.Timeout))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = d.MaxBodyBytes
	}
	if c.MaxEvents == 0 {
		c.MaxEvents = d.MaxEvents
	}
	if c.Timeout == 0 {
		c.Timeout = d.Timeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Handler serves POST /v1/events.
type Handler struct {
	d   ingest.Router
	w   *ingest.Writer
	cfg Config

	requests, badRequests, unavailable, accepted, rejected, unrouted, writes atomic.Int64
}

// Stats are counters since the Handler was created, for metrics.
type Stats struct {
	Requests    int64 // requests served
	BadRequests int64 // requests answered 4xx before any event was processed (shape, size, method)
	Unavailable int64 // requests answered 503 (store down past the deadline)
	Accepted    int64 // events accepted (stored or unrouted)
	Rejected    int64 // events rejected
	Unrouted    int64 // events that matched no feature spec
	Writes      int64 // store writes made
}

// Stats returns the counters.
func (h *Handler) Stats() Stats {
	return Stats{
		Requests: h.requests.Load(), BadRequests: h.badRequests.Load(), Unavailable: h.unavailable.Load(),
		Accepted: h.accepted.Load(), Rejected: h.rejected.Load(), Unrouted: h.unrouted.Load(), Writes: h.writes.Load(),
	}
}

// New returns a Handler that routes with d and stores through w. Share one Writer between
// handlers so that concurrent requests are batched together; close it at shutdown.
func New(d ingest.Router, w *ingest.Writer, cfg Config) (*Handler, error) {
	if d == nil || w == nil {
		return nil, errors.New("push: New needs a dispatcher and a writer")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Handler{d: d, w: w, cfg: cfg.withDefaults()}, nil
}

// Response is the body of a processed request. Accepted counts events that were stored (whole
// or partially) or matched no feature (unrouted); Rejected counts events of which nothing was
// written. The status is 200 when at least one event was accepted, 422 when every event was
// rejected. Events that were not stored in time are never answered 4xx: the whole request is then
// a 503 with Retry-After (retrying is safe: writes are idempotent).
type Response struct {
	Accepted int      `json:"accepted"`
	Rejected int      `json:"rejected"`
	Unrouted int      `json:"unrouted"`
	Results  []Result `json:"results"`
}

// Result is what happened to one event of the request.
type Result struct {
	Index  int    `json:"index"`
	Status string `json:"status"` // "ok", "partial", "error" or "unrouted"
	// Error says what failed: the envelope, or each feature that could not use the event
	// (naming the feature, the path and the problem), cut to 512 bytes. With status "partial"
	// the features that could use the event were written (Writes counts the store writes made)
	// and Failed names the others; with "error" nothing was written.
	Error  string   `json:"error,omitempty"`
	Failed []string `json:"failed,omitempty"`
	Writes int      `json:"writes"`
	// Skipped lists the features the event matched but lacked the value of (a path not marked
	// required): they were not written; the event is still accepted.
	Skipped []ingest.Skip `json:"skipped,omitempty"`
}

// The statuses of a Result.
const (
	StatusOK       = "ok"
	StatusPartial  = "partial"
	StatusError    = "error"
	StatusUnrouted = "unrouted"
	// StatusForbidden: the client may not write the event (Config.Check); nothing was written.
	StatusForbidden = "forbidden"
)

type errorBody struct {
	Error string `json:"error"`
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	h.requests.Add(1)
	if r.Method != http.MethodPost {
		h.badRequests.Add(1)
		rw.Header().Set("Allow", http.MethodPost)
		writeJSON(rw, http.StatusMethodNotAllowed, errorBody{fmt.Sprintf("method %s not allowed: POST one event envelope or a JSON array of them", r.Method)})
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		// Only JSON: a web page can POST text/plain (or a form) to any origin without a CORS
		// preflight, so accepting it would let any page a user opens push events (CSRF).
		h.badRequests.Add(1)
		rw.Header().Set("Accept-Post", "application/json")
		writeJSON(rw, http.StatusUnsupportedMediaType, errorBody{fmt.Sprintf("Content-Type must be application/json (got %q): "+
			"other types are refused because a web page can send them cross-origin without a preflight", excerpt(r.Header.Get("Content-Type")))})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, h.cfg.MaxBodyBytes))
	if err != nil {
		h.badRequests.Add(1)
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeJSON(rw, http.StatusRequestEntityTooLarge, errorBody{fmt.Sprintf("request body is larger than %d bytes: send fewer events per request", h.cfg.MaxBodyBytes)})
			return
		}
		writeJSON(rw, http.StatusBadRequest, errorBody{"reading the request body: " + excerpt(err.Error())})
		return
	}
	items, status, msg := h.split(body)
	if status != 0 {
		h.badRequests.Add(1)
		writeJSON(rw, status, errorBody{msg})
		return
	}

	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.Timeout)
	defer cancel()
	// Every event is read and converted before anything is written.
	resp := Response{Results: make([]Result, len(items))}
	outs := make([]*ingest.Result, len(items))
	forbidden := 0
	for i, raw := range items {
		res := &resp.Results[i]
		res.Index = i
		env, err := ingest.DecodeEnvelope(raw)
		if err != nil {
			res.Status, res.Error = StatusError, excerpt(err.Error())
			continue
		}
		out, err := h.d.Dispatch(env)
		if h.cfg.Check != nil && out != nil && (out.StreamName != "" || out.Writes() > 0) {
			if cerr := h.cfg.Check(ctx, out); cerr != nil {
				res.Status, res.Error = StatusForbidden, excerpt(cerr.Error())
				forbidden++
				continue
			}
		}
		res.Skipped = out.Skipped
		switch {
		case err != nil && out.Writes() > 0:
			res.Status, res.Error, res.Failed = StatusPartial, excerpt(err.Error()), failedFeatures(err)
		case err != nil:
			res.Status, res.Error, res.Failed = StatusError, excerpt(err.Error()), failedFeatures(err)
		case out.Unrouted():
			res.Status = StatusUnrouted
		default:
			res.Status = StatusOK
		}
		if out.Writes() > 0 {
			outs[i] = out
		}
	}
	tickets := make([]*ingest.Ticket, len(items))
	for i, out := range outs {
		if out == nil {
			continue
		}
		t, err := h.w.Enqueue(ingest.WithSource(ctx, "push"), out.Static, out.Actions)
		if err != nil {
			h.countLater(tickets, resp.Results)
			h.storeUnavailable(ctx, rw, err, outs, tickets)
			return
		}
		tickets[i] = t
	}
	for i, t := range tickets {
		if t == nil {
			continue
		}
		if err := t.Wait(ctx); err != nil {
			if ctx.Err() != nil || errors.Is(err, ingest.ErrClosed) {
				// Not stored (yet): the client must retry, so never a 4xx. What is stored
				// later is still counted.
				h.countLater(tickets, resp.Results)
				h.storeUnavailable(ctx, rw, err, outs, tickets)
				return
			}
			res := &resp.Results[i]
			res.Status = StatusError
			res.Error = excerpt(joinMsg(res.Error, "store rejected the writes: "+err.Error()))
			continue
		}
		resp.Results[i].Writes = outs[i].Writes()
	}
	h.count(&resp)
	code := http.StatusOK
	if resp.Accepted == 0 {
		code = http.StatusUnprocessableEntity
		if forbidden > 0 {
			code = http.StatusForbidden
		}
	}
	writeJSON(rw, code, resp)
}

// count tallies the results into the response and the handler's counters.
func (h *Handler) count(resp *Response) {
	for _, res := range resp.Results {
		switch res.Status {
		case StatusError, StatusForbidden:
			resp.Rejected++
		case StatusUnrouted:
			resp.Unrouted++
			resp.Accepted++
		default:
			resp.Accepted++
		}
	}
	h.accepted.Add(int64(resp.Accepted))
	h.rejected.Add(int64(resp.Rejected))
	h.unrouted.Add(int64(resp.Unrouted))
	for _, res := range resp.Results {
		h.writes.Add(int64(res.Writes))
	}
}

// countLater counts, once their writes are stored, the events of a request answered 503 (their
// writes stay queued and are still stored, or fail when the writer closes): the counters say
// what was finally stored.
func (h *Handler) countLater(tickets []*ingest.Ticket, results []Result) {
	pending := 0
	for _, t := range tickets {
		if t != nil {
			pending++
		}
	}
	if pending == 0 {
		return
	}
	go func() {
		for i, t := range tickets {
			if t == nil {
				continue
			}
			<-t.Done()
			if t.Err() == nil {
				h.accepted.Add(1)
				h.writes.Add(int64(len(t.Static()) + len(t.Actions())))
			} else if results[i].Status != StatusError {
				h.rejected.Add(1)
			}
		}
	}()
}

// failedFeatures names the features an event could not set.
func failedFeatures(err error) []string {
	var names []string
	var walk func(error)
	walk = func(err error) {
		var ce *ingest.ConversionError
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
		} else if errors.As(err, &ce) && len(names) < 32 {
			names = append(names, ce.Feature)
		}
	}
	walk(err)
	return names
}

// excerpt cuts an error message (which may quote the event: a 1 MiB id) to a short one.
func excerpt(s string) string {
	const n = 512
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s…(%d bytes)", s[:cut], len(s))
}

// split returns the envelopes of the body (one object or an array), or a status and message.
func (h *Handler) split(body []byte) ([]json.RawMessage, int, string) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, http.StatusBadRequest, `empty body: send one envelope {"streamName": …, "topic": …, "event": {…}} or a JSON array of them`
	}
	if !json.Valid(trimmed) {
		var v any
		err := json.Unmarshal(trimmed, &v)
		return nil, http.StatusBadRequest, "malformed JSON: " + describeJSONError(err, trimmed)
	}
	switch trimmed[0] {
	case '{':
		return []json.RawMessage{trimmed}, 0, ""
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(trimmed, &items); err != nil {
			return nil, http.StatusBadRequest, "malformed JSON: " + err.Error()
		}
		if len(items) == 0 {
			return nil, http.StatusBadRequest, "empty batch: send at least one envelope"
		}
		if len(items) > h.cfg.MaxEvents {
			return nil, http.StatusRequestEntityTooLarge, fmt.Sprintf("%d events in one request, at most %d allowed", len(items), h.cfg.MaxEvents)
		}
		return items, 0, ""
	}
	return nil, http.StatusBadRequest, "the body must be a JSON object (one envelope) or an array of envelopes"
}

func describeJSONError(err error, body []byte) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line := 1 + bytes.Count(body[:min(int(se.Offset), len(body))], []byte("\n"))
		return fmt.Sprintf("%v (byte %d, line %d)", se, se.Offset, line)
	}
	if err == nil {
		return "invalid JSON"
	}
	return err.Error()
}

// storeUnavailable answers 503 with Retry-After. When the writer is closed (the server is
// shutting down) this process stores nothing more of the request: the answer says how many of
// its events the store did not confirm (a write already sent may still have been applied: it is
// not claimed either way) and how many it did. Otherwise (the store is slow or down past the
// deadline) the writes queued stay queued and may still be stored; the answer says how many of
// the events were queued when the writer had no room for the others.
func (h *Handler) storeUnavailable(ctx context.Context, rw http.ResponseWriter, err error, outs []*ingest.Result, tickets []*ingest.Ticket) {
	h.unavailable.Add(1)
	var msg string
	if errors.Is(err, ingest.ErrClosed) {
		stored, lost := closedOutcome(ctx, outs, tickets)
		msg = fmt.Sprintf("the server is shutting down: the store did not confirm %d %s before the writer closed, so %s may not be stored",
			lost, plural(lost, "event", "events"), plural(lost, "it", "they"))
		if stored > 0 {
			msg += fmt.Sprintf(" (%d confirmed stored)", stored)
		}
		msg += ": " + err.Error() + "; send the request again (retrying is safe: writes are idempotent)"
		h.cfg.Logger.Warn("push: events not stored at shutdown", "not_stored", lost, "stored", stored, "err", err)
	} else {
		msg = "the store did not accept the events in time"
		if cause := h.w.Health(); cause != nil {
			msg += ": " + cause.Error()
		} else if err != nil {
			msg += ": " + err.Error()
		}
		queued, total := 0, 0
		for i, out := range outs {
			if out == nil {
				continue
			}
			total++
			if tickets[i] != nil {
				queued++
			}
		}
		if queued == total {
			msg += "; they stay queued and may still be stored"
		} else {
			msg += fmt.Sprintf("; %d of the %d events with writes were queued and may still be stored, the others were not", queued, total)
		}
		msg += " (retrying the request is safe: writes are idempotent)"
		h.cfg.Logger.Warn("push: store unavailable", "err", err, "queued", queued, "events", total)
	}
	rw.Header().Set("Retry-After", "1")
	writeJSON(rw, http.StatusServiceUnavailable, errorBody{excerpt(msg)})
}

// closedOutcome counts, once the writer is closed, the request's events with writes that were
// stored and those that were not. Their tickets end as soon as the writer's flushers stop; one
// still open when ctx ends is counted as not stored.
func closedOutcome(ctx context.Context, outs []*ingest.Result, tickets []*ingest.Ticket) (stored, lost int) {
	for i, out := range outs {
		if out == nil {
			continue
		}
		t := tickets[i]
		if t != nil {
			_ = t.Wait(ctx)
		}
		if t != nil && t.Err() == nil {
			stored++
		} else {
			lost++
		}
	}
	return stored, lost
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func joinMsg(a, b string) string {
	return strings.TrimPrefix(a+"; "+b, "; ")
}

func writeJSON(rw http.ResponseWriter, code int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	rw.Header().Set("X-Content-Type-Options", "nosniff")
	rw.WriteHeader(code)
	enc := json.NewEncoder(rw)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
