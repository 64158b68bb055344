package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// server is a redis-server or dynalite process the bench started on a free loopback port. It
// runs in its own process group and is killed (with its children) by stop, or by the kernel when
// the bench dies (Pdeathsig).
type server struct {
	name string
	addr string // 127.0.0.1:PORT
	cmd  *exec.Cmd
	out  *tailBuffer
	done chan struct{}
}

const serverStartTimeout = 20 * time.Second

// startRedis runs `redis-server --port N --save "" --appendonly no` on 127.0.0.1.
func startRedis(ctx context.Context) (*server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server not found (apt-get install -y redis-server): %w", err)
	}
	dir, err := os.MkdirTemp("", "featuregraph-bench-redis-")
	if err != nil {
		return nil, err
	}
	return startOnFreePort(ctx, "redis-server", func(port int) (*exec.Cmd, func(addr string) error) {
		cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no", "--loglevel", "warning")
		cmd.Dir = dir
		return cmd, redisPing
	})
}

// startDynalite runs `node_modules/.bin/dynalite --port N --createTableMs 0` from the repository
// root (run `npm ci` there first).
func startDynalite(ctx context.Context) (*server, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(root, "node_modules", ".bin", "dynalite")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("dynalite not found at %s: run `npm ci` at the repository root", bin)
	}
	return startOnFreePort(ctx, "dynalite", func(port int) (*exec.Cmd, func(addr string) error) {
		cmd := exec.Command(bin, "--host", "127.0.0.1", "--port", strconv.Itoa(port),
			"--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0")
		cmd.Dir = root
		return cmd, tcpDial
	})
}

// startOnFreePort starts the command that mk builds for a free port and waits until ready
// answers; a port taken between the probe and the start is retried twice.
func startOnFreePort(ctx context.Context, name string, mk func(port int) (*exec.Cmd, func(addr string) error)) (*server, error) {
	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		cmd, ready := mk(port)
		s := &server{name: name, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), cmd: cmd,
			out: &tailBuffer{}, done: make(chan struct{})}
		cmd.Stdout, cmd.Stderr = s.out, s.out
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("start %s: %w", name, err)
		}
		go func() { _ = cmd.Wait(); close(s.done) }()
		if lastErr = s.waitReady(ctx, ready); lastErr == nil {
			return s, nil
		}
		s.stop()
	}
	return nil, lastErr
}

func (s *server) waitReady(ctx context.Context, ready func(addr string) error) error {
	deadline := time.Now().Add(serverStartTimeout)
	for {
		err := ready(s.addr)
		if err == nil {
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("%s exited before answering: %s", s.name, s.out.String())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer on %s within %s: %v", s.name, s.addr, serverStartTimeout, err)
		}
	}
}

// stop kills the server's process group and waits for it to exit.
func (s *server) stop() {
	if s == nil || s.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
	}
	if s.name == "redis-server" {
		_ = os.RemoveAll(s.cmd.Dir)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tcpDial(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}

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

// repoRoot is the directory holding go.mod, found from the working directory upwards.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found: run the bench from inside the repository")
		}
		dir = parent
	}
}

// tailBuffer keeps the last 4 KiB a server printed, for error messages.
type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if b.buf.Len() > 8<<10 {
		tail := append([]byte(nil), b.buf.Bytes()[b.buf.Len()-4<<10:]...)
		b.buf.Reset()
		b.buf.Write(tail)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.TrimSpace(b.buf.String())
}
