package testenv_test

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	_, err = bufio.NewReader(c).ReadString('\n')
	return err
}

func TestSharedServersAnswer(t *testing.T) {
	t.Run("redis", func(t *testing.T) {
		addr := testenv.Redis(t)
		if addr2 := testenv.Redis(t); addr2 != addr {
			t.Fatalf("shared redis changed address: %s then %s", addr, addr2)
		}
		if addr == "127.0.0.1:6379" {
			t.Fatal("shared redis must not be the system redis on 6379")
		}
		if err := ping(addr); err != nil {
			t.Fatalf("ping %s: %v", addr, err)
		}
	})
	t.Run("dynamodb", func(t *testing.T) {
		url := testenv.DynamoDB(t)
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader("{}"))
		req.Header.Set("X-Amz-Target", "DynamoDB_20120810.ListTables")
		req.Header.Set("Content-Type", "application/x-amz-json-1.0")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("dynalite at %s: %v", url, err)
		}
		resp.Body.Close()
	})
}

func TestRedisServerStopStart(t *testing.T) {
	s := testenv.NewRedis(t)
	if err := ping(s.Addr()); err != nil {
		t.Fatalf("ping after start: %v", err)
	}
	s.Stop()
	if err := ping(s.Addr()); err == nil {
		t.Fatal("ping after Stop succeeded")
	}
	s.Stop() // idempotent
	s.Start()
	if err := ping(s.Addr()); err != nil {
		t.Fatalf("ping after restart: %v", err)
	}
}
