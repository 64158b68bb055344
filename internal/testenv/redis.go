package testenv

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const redisInstall = "install the Debian package redis-server (apt-get install -y redis-server)"

var sharedRedis shared

// Redis returns the address (host:port) of a redis-server shared by the tests of this binary.
// Tests must keep to their own keys and never flush it; a test that needs to flush, stop or
// restart Redis uses NewRedis.
func Redis(t testing.TB) string {
	t.Helper()
	return sharedRedis.get(t, func() (string, func(), error) {
		s, err := startRedis()
		if err != nil {
			return "", nil, err
		}
		return s.addr, func() { s.Stop(); _ = os.RemoveAll(s.dir) }, nil
	})
}

// RedisServer is a redis-server owned by one test. It is stopped when the test ends.
type RedisServer struct {
	t    testing.TB
	mu   sync.Mutex
	bin  string
	dir  string
	port int
	addr string
	proc *process
}

// NewRedis starts a redis-server for t alone.
func NewRedis(t testing.TB) *RedisServer {
	t.Helper()
	s, err := startRedis()
	if err != nil {
		unavailable(t, err)
	}
	s.t = t
	t.Cleanup(func() { s.Stop(); _ = os.RemoveAll(s.dir) })
	return s
}

// Addr returns host:port. It stays the same across Stop and Start.
func (s *RedisServer) Addr() string { return s.addr }

// Stop kills the server; connections to Addr are refused until Start. Stopping a stopped
// server does nothing.
func (s *RedisServer) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

func (s *RedisServer) stopLocked() {
	s.proc.stop()
	s.proc = nil
}

// Start starts the server again on the same port, empty. Starting a running server does
// nothing. A failure to start fails the test.
func (s *RedisServer) Start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		return
	}
	p, err := runRedis(s.bin, s.dir, s.port)
	if err != nil {
		s.t.Fatalf("testenv: restart redis-server: %v", err)
	}
	s.proc = p
}

func startRedis() (*RedisServer, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if _, serr := os.Stat("/usr/bin/redis-server"); serr != nil {
			return nil, missing("redis-server", redisInstall)
		}
		bin = "/usr/bin/redis-server"
	}
	dir, err := os.MkdirTemp("", "testenv-redis-")
	if err != nil {
		return nil, err
	}
	var lastErr error
	for range 3 { // the free port may be taken between the probe and the start
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		p, err := runRedis(bin, dir, port)
		if err == nil {
			return &RedisServer{bin: bin, dir: dir, port: port, addr: hostPort(port), proc: p}, nil
		}
		lastErr = err
	}
	_ = os.RemoveAll(dir)
	return nil, lastErr
}

func runRedis(bin, dir string, port int) (*process, error) {
	args := []string{
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir,
		"--daemonize", "no", "--loglevel", "warning",
	}
	addr := hostPort(port)
	return start("redis-server", bin, args, dir, func() error { return redisPing(addr) })
}

// redisPing sends PING and expects +PONG.
func redisPing(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("unexpected reply %q", line)
	}
	return nil
}
