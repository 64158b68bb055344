package testenv

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// FaultProxy is a TCP proxy in front of a real server (Redis, dynalite) that injects faults:
// added latency, connection resets, or a blackhole (connections stay open, nothing passes). It
// listens on 127.0.0.1 and is closed when the test ends.
type FaultProxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	mode    Fault
	latency time.Duration
	conns   map[net.Conn]struct{}
	changed chan struct{} // closed and replaced when the mode changes
}

// Fault is what a FaultProxy does to the traffic.
type Fault int

const (
	// Pass forwards everything (after the configured latency, if any).
	Pass Fault = iota
	// Reset closes every connection at once and every new one on accept.
	Reset
	// Blackhole accepts connections and forwards nothing, in either direction.
	Blackhole
)

// NewFaultProxy starts a proxy to target (host:port).
func NewFaultProxy(t testing.TB, target string) *FaultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &FaultProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}, changed: make(chan struct{})}
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

// Addr is the proxy's host:port.
func (p *FaultProxy) Addr() string { return p.ln.Addr().String() }

// Set changes the fault; latency is added to every chunk forwarded in Pass mode.
func (p *FaultProxy) Set(mode Fault, latency time.Duration) {
	p.mu.Lock()
	p.mode, p.latency = mode, latency
	close(p.changed)
	p.changed = make(chan struct{})
	var reset []net.Conn
	if mode == Reset {
		for c := range p.conns {
			reset = append(reset, c)
		}
	}
	p.mu.Unlock()
	for _, c := range reset {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // RST, not FIN
		}
		_ = c.Close()
	}
}

// Close stops the proxy and closes every connection.
func (p *FaultProxy) Close() {
	_ = p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		_ = c.Close()
	}
}

func (p *FaultProxy) state() (Fault, time.Duration, chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode, p.latency, p.changed
}

func (p *FaultProxy) track(c net.Conn, on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on {
		p.conns[c] = struct{}{}
	} else {
		delete(p.conns, c)
	}
}

func (p *FaultProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if mode, _, _ := p.state(); mode == Reset {
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			_ = c.Close()
			continue
		}
		go p.serve(c)
	}
}

func (p *FaultProxy) serve(client net.Conn) {
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		_ = client.Close()
		return
	}
	p.track(client, true)
	p.track(server, true)
	defer func() {
		p.track(client, false)
		p.track(server, false)
		_ = client.Close()
		_ = server.Close()
	}()
	done := make(chan struct{}, 2)
	go func() { p.pipe(server, client); done <- struct{}{} }()
	go func() { p.pipe(client, server); done <- struct{}{} }()
	<-done
}

// pipe copies src to dst, applying the fault to each chunk read.
func (p *FaultProxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			for {
				mode, latency, changed := p.state()
				if mode == Blackhole {
					<-changed // hold the chunk until the fault changes
					continue
				}
				if mode == Reset {
					return
				}
				if latency > 0 {
					time.Sleep(latency)
				}
				break
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				return
			}
			if tc, ok := dst.(*net.TCPConn); ok {
				_ = tc.CloseWrite()
			}
			return
		}
	}
}
