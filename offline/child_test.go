package offline_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/featuregraph/featuregraph/ingest"
	"github.com/featuregraph/featuregraph/ingest/kafka"
	"github.com/featuregraph/featuregraph/ingest/load"
	"github.com/featuregraph/featuregraph/offline"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store/dynamodb"
	"github.com/featuregraph/featuregraph/store/redis"
	"github.com/featuregraph/featuregraph/store/tiered"
)

// childEnv is set when the test binary runs as an ingest worker (TestDownsyncKillRestart).
const childEnv = "OFFLINE_TEST_CHILD"

// childMain runs the ingest worker of TestDownsyncKillRestart when the binary was started as
// one: a Kafka consumer into Redis + DynamoDB with downsync to S3 through a spool, until
// SIGTERM (then it flushes the spool and exits) or SIGKILL (then it leaves what it left).
func childMain() bool {
	if os.Getenv(childEnv) == "" {
		return false
	}
	if err := runChild(); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(1)
	}
	os.Exit(0)
	return true
}

func runChild() error {
	env := os.Getenv
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	ratio, _ := strconv.ParseFloat(env("OFFLINE_RATIO"), 64)
	reg, err := registry.Parse(map[string][]byte{"features.yaml": []byte(testYAML(ratio))})
	if err != nil {
		return err
	}
	dyn, err := dynamodb.New(ctx, dynamodb.Config{Endpoint: env("OFFLINE_DYNAMODB"), Region: "us-east-1", Table: env("OFFLINE_TABLE")})
	if err != nil {
		return err
	}
	rds, err := redis.New(redis.Config{Addrs: []string{env("OFFLINE_REDIS")}})
	if err != nil {
		return err
	}
	st, err := tiered.New(rds, dyn, tiered.Config{NegativeTTL: -1})
	if err != nil {
		return err
	}
	defer st.Close()
	s3c, err := load.NewS3Client(ctx, load.S3Config{Endpoint: env("OFFLINE_S3"), Region: "us-east-1", PathStyle: true})
	if err != nil {
		return err
	}
	spool := offline.DefaultSpoolConfig()
	spool.FlushInterval = 100 * time.Millisecond
	spool.SegmentRows = 100
	api := offline.S3API(s3c)
	if d, _ := time.ParseDuration(env("OFFLINE_SINK_DELAY")); d > 0 {
		api = slowS3{S3API: s3c, delay: d}
	}
	p, err := offline.Open(ctx, reg, offline.Config{Sink: "s3://" + env("OFFLINE_BUCKET") + "/offline/", SpoolDir: env("OFFLINE_SPOOL"),
		Spool: spool, S3: api, Logger: quiet()})
	if err != nil {
		return err
	}
	fmt.Printf("recovered segments: %d\n", p.Status().Downsync.Segments)
	cfg := kafka.DefaultConfig()
	cfg.Brokers = strings.Split(env("OFFLINE_BROKERS"), ",")
	cfg.Group = "offline-kill"
	cfg.MaxPollRecords = 10
	cfg.Writer.Linger = time.Millisecond
	cfg.Writer.Tap = p.Tap()
	cfg.Logger = quiet()
	cfg.ClientOpts = []kgo.Opt{kgo.FetchMaxWait(50 * time.Millisecond), kgo.SessionTimeout(6 * time.Second), kgo.HeartbeatInterval(200 * time.Millisecond)}
	c, err := kafka.New(ingest.NewDispatcher(reg), st, cfg)
	if err != nil {
		return err
	}
	runErr := c.Run(ctx)
	cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Close(cctx); err != nil {
		return err
	}
	return runErr
}

// slowS3 delays every call, so that the first worker dies with segments not yet shipped.
type slowS3 struct {
	offline.S3API
	delay time.Duration
}

func (s slowS3) Put(ctx context.Context, bucket, key string, body io.ReadSeeker) error {
	time.Sleep(s.delay)
	return s.S3API.Put(ctx, bucket, key, body)
}
