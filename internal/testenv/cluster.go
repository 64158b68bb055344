package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// RedisCluster is a Redis Cluster of six redis-server processes (three masters, one replica
// each) owned by one test, created with `redis-cli --cluster create`. It is stopped when the
// test ends. The cluster node timeout is 1 s, so a killed master's replica is promoted within a
// few seconds.
type RedisCluster struct {
	t     testing.TB
	nodes []*clusterNode
}

type clusterNode struct {
	addr string
	dir  string
	proc *process
}

// NewRedisCluster starts the cluster and waits until every slot is served.
func NewRedisCluster(t testing.TB) *RedisCluster {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		unavailable(t, missing("redis-server", redisInstall))
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		unavailable(t, missing("redis-cli", redisInstall))
	}
	c := &RedisCluster{t: t}
	t.Cleanup(c.stop)
	for range 6 {
		n, err := startClusterNode(bin)
		if err != nil {
			unavailable(t, err)
		}
		c.nodes = append(c.nodes, n)
	}
	args := []string{"--cluster", "create"}
	args = append(args, c.Addrs()...)
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	c.waitOK(30 * time.Second)
	// Every node must see every other one (the create command returns before gossip settles).
	time.Sleep(500 * time.Millisecond)
	return c
}

func startClusterNode(bin string) (*clusterNode, error) {
	dir, err := os.MkdirTemp("", "testenv-redis-cluster-")
	if err != nil {
		return nil, err
	}
	var lastErr error
	for range 10 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		if port+10000 > 65535 || !portFree(port+10000) { // the cluster bus port
			continue
		}
		addr := hostPort(port)
		args := []string{
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no", "--loglevel", "warning",
			"--cluster-enabled", "yes", "--cluster-config-file", "nodes-" + strconv.Itoa(port) + ".conf",
			"--cluster-node-timeout", "1000",
			// A replica that has not completed its first sync cannot be promoted: sync at once.
			"--repl-diskless-sync-delay", "0",
		}
		p, err := start("redis-server (cluster)", bin, args, dir, func() error { return redisPing(addr) })
		if err == nil {
			return &clusterNode{addr: addr, dir: dir, proc: p}, nil
		}
		lastErr = err
	}
	_ = os.RemoveAll(dir)
	if lastErr == nil {
		lastErr = fmt.Errorf("no free port pair for a cluster node")
	}
	return nil, lastErr
}

func portFree(port int) bool {
	ln, err := net.Listen("tcp", hostPort(port))
	if err != nil {
		return false
	}
	_ = ln.Close()
	return true
}

// Addrs returns every node's host:port (seeds for a cluster client).
func (c *RedisCluster) Addrs() []string {
	out := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		out[i] = n.addr
	}
	return out
}

// MasterOf returns the address of the master serving key.
func (c *RedisCluster) MasterOf(key string) string {
	c.t.Helper()
	slot := goredis.NewClient(&goredis.Options{Addr: c.alive()})
	defer slot.Close()
	ctx := context.Background()
	n, err := slot.ClusterKeySlot(ctx, key).Result()
	if err != nil {
		c.t.Fatal(err)
	}
	slots, err := slot.ClusterSlots(ctx).Result()
	if err != nil {
		c.t.Fatal(err)
	}
	for _, s := range slots {
		if int64(s.Start) <= n && n <= int64(s.End) && len(s.Nodes) > 0 {
			return s.Nodes[0].Addr
		}
	}
	c.t.Fatalf("no master serves slot %d", n)
	return ""
}

// Kill kills the node at addr (SIGKILL, as a crash).
func (c *RedisCluster) Kill(addr string) {
	for _, n := range c.nodes {
		if n.addr == addr {
			n.proc.stop()
			return
		}
	}
	c.t.Fatalf("no cluster node %s", addr)
}

// alive returns a node that answers.
func (c *RedisCluster) alive() string {
	for _, n := range c.nodes {
		if redisPing(n.addr) == nil {
			return n.addr
		}
	}
	c.t.Fatal("no cluster node answers")
	return ""
}

// WaitOK waits until the cluster serves every slot again (after a failover), at most d, and
// returns how long that took.
func (c *RedisCluster) WaitOK(d time.Duration) time.Duration { return c.waitOK(d) }

func (c *RedisCluster) waitOK(d time.Duration) time.Duration {
	start := time.Now()
	for time.Since(start) < d {
		ok := true
		for _, n := range c.nodes {
			if redisPing(n.addr) != nil {
				continue
			}
			cl := goredis.NewClient(&goredis.Options{Addr: n.addr})
			info, err := cl.ClusterInfo(context.Background()).Result()
			repl, rerr := cl.Info(context.Background(), "replication").Result()
			cl.Close()
			if err != nil || !strings.Contains(info, "cluster_state:ok") {
				ok = false
			}
			// Every replica in sync with its master (else it could not take over).
			if rerr != nil || strings.Contains(repl, "role:slave") && !strings.Contains(repl, "master_link_status:up") {
				ok = false
			}
		}
		if ok {
			return time.Since(start)
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Fatalf("cluster not ok within %s", d)
	return d
}

func (c *RedisCluster) stop() {
	for _, n := range c.nodes {
		n.proc.stop()
		_ = os.RemoveAll(n.dir)
	}
}
