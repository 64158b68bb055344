package dev

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"sync"
)

// pushPath is the gateway's push endpoint, whose accepted events are kept for replay.
const pushPath = "/v1/events"

// maxPushBody bounds a pushed body the proxy reads (the server applies its own, lower, limit).
const maxPushBody = 16 << 20

// proxy forwards every request to the current server. Pushed events that the server accepted
// (written or unrouted) are kept, in order, and replayed into each new server before it takes
// over; pushes wait while a switch is under way, so none is lost between the two servers.
type proxy struct {
	log    *slog.Logger
	client *http.Client

	mu     sync.RWMutex
	target *url.URL
	rp     *httputil.ReverseProxy

	pushMu sync.Mutex        // held by a push and by a switch
	events []json.RawMessage // accepted envelopes, oldest first
	file   io.Writer         // nil, or where accepted envelopes are appended (JSONL)
}

func newProxy(log *slog.Logger) *proxy {
	p := &proxy{log: log, client: &http.Client{}}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			p.mu.RLock()
			t := p.target
			p.mu.RUnlock()
			r.SetURL(t)
			r.Out.Host = r.In.Host
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			http.Error(w, "dev: the server is restarting: "+err.Error(), http.StatusBadGateway)
		},
	}
	return p
}

func (p *proxy) current() *url.URL {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.target
}

// ServeHTTP implements http.Handler.
func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p.current() == nil {
		http.Error(w, "dev: "+errNoServer.Error()+"; it is being built", http.StatusServiceUnavailable)
		return
	}
	if r.URL.Path == pushPath && r.Method == http.MethodPost {
		p.push(w, r)
		return
	}
	p.rp.ServeHTTP(w, r)
}

// push forwards a push and keeps the envelopes the server accepted.
func (p *proxy) push(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPushBody))
	if err != nil {
		http.Error(w, "dev: reading the request body: "+err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	p.pushMu.Lock()
	defer p.pushMu.Unlock()
	status, answer, header, err := p.post(r.Context(), p.current(), body, r.Header.Get("Content-Type"))
	if err != nil {
		http.Error(w, "dev: the server is restarting: "+err.Error(), http.StatusBadGateway)
		return
	}
	kept := acceptedEnvelopes(body, answer)
	p.events = append(p.events, kept...)
	if p.file != nil {
		var lines bytes.Buffer
		for _, env := range kept {
			if err := json.Compact(&lines, env); err == nil {
				lines.WriteByte('\n')
			}
		}
		if _, err := p.file.Write(lines.Bytes()); err != nil {
			p.log.Warn("dev: appending to the events log", "err", err)
		}
	}
	for k, vs := range header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(status)
	w.Write(answer)
}

func (p *proxy) post(ctx context.Context, target *url.URL, body []byte, contentType string) (int, []byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target.String()+pushPath, bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	if contentType == "" {
		contentType = "application/json"
	}
	req.Header.Set("Content-Type", contentType)
	res, err := p.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer res.Body.Close()
	answer, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, nil, nil, err
	}
	return res.StatusCode, answer, res.Header, nil
}

// pushAnswer is the part of the push endpoint's answer that says which events were accepted.
type pushAnswer struct {
	Results []struct {
		Index  int    `json:"index"`
		Status string `json:"status"`
	} `json:"results"`
}

// acceptedEnvelopes returns the envelopes of body (one or an array) whose result is not an
// error. A body or answer that cannot be read gives none (the server rejected it whole).
func acceptedEnvelopes(body, answer []byte) []json.RawMessage {
	var ans pushAnswer
	if json.Unmarshal(answer, &ans) != nil || len(ans.Results) == 0 {
		return nil
	}
	items := splitBody(body)
	var out []json.RawMessage
	for _, res := range ans.Results {
		if res.Status != "error" && res.Index >= 0 && res.Index < len(items) {
			out = append(out, items[res.Index])
		}
	}
	return out
}

func splitBody(body []byte) []json.RawMessage {
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] == '[' {
		var items []json.RawMessage
		if json.Unmarshal(body, &items) != nil {
			return nil
		}
		return items
	}
	var one json.RawMessage
	if json.Unmarshal(body, &one) != nil {
		return nil
	}
	return []json.RawMessage{one}
}

// Replay batches: the push endpoint takes at most 1000 events and 1 MiB per request.
const (
	replayBatch      = 500
	replayBatchBytes = 512 << 10
)

// switchTo replays every kept event into the server at target and then sends all requests
// there. It returns how many events were replayed and how many the new server rejected (for
// example an event lacking a field now marked required); those are kept for later versions.
func (p *proxy) switchTo(ctx context.Context, target *url.URL) (replayed, rejected int, err error) {
	p.pushMu.Lock()
	defer p.pushMu.Unlock()
	for i := 0; i < len(p.events); {
		var batch bytes.Buffer
		batch.WriteByte('[')
		n := 0
		for ; i < len(p.events) && n < replayBatch && (n == 0 || batch.Len()+len(p.events[i]) < replayBatchBytes); i++ {
			if n > 0 {
				batch.WriteByte(',')
			}
			batch.Write(p.events[i])
			n++
		}
		batch.WriteByte(']')
		status, answer, _, err := p.post(ctx, target, batch.Bytes(), "application/json")
		if err != nil {
			return replayed, rejected, err
		}
		if status != http.StatusOK && status != http.StatusUnprocessableEntity {
			return replayed, rejected, fmt.Errorf("the push endpoint answered %d: %s", status, bytes.TrimSpace(answer))
		}
		var ans pushAnswer
		if err := json.Unmarshal(answer, &ans); err != nil {
			return replayed, rejected, fmt.Errorf("reading the push answer: %w", err)
		}
		for _, res := range ans.Results {
			if res.Status == "error" {
				rejected++
			}
		}
		replayed += n
	}
	p.mu.Lock()
	p.target = target
	p.mu.Unlock()
	return replayed, rejected, nil
}

// openEventsLog reads the envelopes already in path (one JSON object per line) into p's log and
// opens path for appending the next ones.
func openEventsLog(path string, p *proxy) (*os.File, int, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, 0, fmt.Errorf("dev: events log: %w", err)
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), maxPushBody)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		if !json.Valid(b) {
			f.Close()
			return nil, 0, fmt.Errorf("dev: events log %s:%d is not JSON: remove the line or the file", path, line)
		}
		p.events = append(p.events, json.RawMessage(bytes.Clone(b)))
	}
	if err := sc.Err(); err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("dev: events log %s: %w", path, err)
	}
	p.file = f
	return f, len(p.events), nil
}
