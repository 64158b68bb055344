package offline_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/featuregraph/featuregraph/ingest/load"
	"github.com/featuregraph/featuregraph/internal/testenv"
	"github.com/featuregraph/featuregraph/offline"
	"github.com/featuregraph/featuregraph/schema"
	"github.com/featuregraph/featuregraph/store/dynamodb"
)

// fakeS3 starts gofakes3 with a bucket and returns its URL and a client.
func fakeS3(t *testing.T, bucket string) (string, offline.S3API) {
	t.Helper()
	be := s3mem.New()
	if err := be.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(be).Server())
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	c, err := load.NewS3Client(context.Background(), load.S3Config{Endpoint: srv.URL, Region: "us-east-1", PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	return srv.URL, c
}

// event is one produced record and the row downsync must make of it ("" when none).
type event struct {
	value string
	row   string // feature|id|event time ms|value
}

// activity is n events over 200 users: score updates, clicks and tier updates (tier is not
// downsynced).
func activity(n int, base time.Time) []event {
	var out []event
	for i := range n {
		id := 1 + i%200
		ts := base.Add(time.Duration(i) * time.Second).UnixMilli()
		switch i % 3 {
		case 0:
			out = append(out, event{fmt.Sprintf(`{"event_name":"score_set","user_id":%d,"ts":%d,"score":%d}`, id, ts, i),
				fmt.Sprintf("score|%d|%d|%d", id, ts, i)})
		case 1:
			out = append(out, event{fmt.Sprintf(`{"event_name":"click","user_id":%d,"ts":%d,"item":%d}`, id, ts, i),
				fmt.Sprintf(`clicks|%d|%d|{"item":%d}`, id, ts, i)})
		default:
			out = append(out, event{fmt.Sprintf(`{"event_name":"tier_set","user_id":%d,"ts":%d,"tier":"t%d"}`, id, ts, i%4), ""})
		}
	}
	return out
}

func rowString(r offline.Row) string {
	v := ""
	switch {
	case r.ValueInt != nil:
		v = strconv.FormatInt(*r.ValueInt, 10)
	case r.ValueJSON != nil:
		v = *r.ValueJSON
	}
	return fmt.Sprintf("%s|%s|%d|%s", r.Feature, r.EntityID, r.EventTime.UnixMilli(), v)
}

// TestDownsyncKillRestart kills the ingest worker (a child process: Kafka → Redis + DynamoDB,
// downsync to S3 through a spool) with SIGKILL mid-stream while its S3 uploads are slow, then
// starts another on the same spool directory: every write that the sampling keeps reaches S3 at
// least once, none of the others does, and every row carries the registry fingerprint.
func TestDownsyncKillRestart(t *testing.T) {
	testenv.Slow(t, "kills and restarts an ingest worker child process mid-stream under slow S3 uploads")
	const ratio, n = 0.5, 3000
	redisAddr := testenv.Redis(t)
	endpoint := testenv.DynamoDB(t)
	table := fmt.Sprintf("offline_%d", time.Now().UnixNano()%1e9)
	dyn, err := dynamodb.New(context.Background(), dynamodb.Config{Endpoint: endpoint, Region: "us-east-1", Table: table})
	if err != nil {
		t.Fatal(err)
	}
	if err := dyn.CreateTable(context.Background()); err != nil {
		t.Fatal(err)
	}
	s3URL, s3c := fakeS3(t, "lake")
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "activity", "offline-kill.dlq"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	events := activity(n, time.Date(2026, 12, 5, 22, 0, 0, 0, time.UTC))
	cl, err := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var recs []*kgo.Record
	for i, e := range events {
		recs = append(recs, &kgo.Record{Topic: "activity", Key: []byte(strconv.Itoa(1 + i%200)), Value: []byte(e.value)})
	}
	if err := cl.ProduceSync(ctxT(t), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	committed := func() int64 {
		req := kmsg.NewPtrOffsetFetchRequest()
		req.Group = "offline-kill"
		resp, err := req.RequestWith(context.Background(), cl)
		if err != nil || resp.ErrorCode != 0 {
			return 0
		}
		var sum int64
		for _, tp := range resp.Topics {
			for _, p := range tp.Partitions {
				if p.Offset > 0 {
					sum += p.Offset
				}
			}
		}
		return sum
	}

	spool := t.TempDir()
	child := func(delay string) (*exec.Cmd, *bytes.Buffer) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		cmd.Env = append(os.Environ(), childEnv+"=1",
			"OFFLINE_RATIO="+strconv.FormatFloat(ratio, 'f', -1, 64), "OFFLINE_DYNAMODB="+endpoint, "OFFLINE_TABLE="+table,
			"OFFLINE_REDIS="+redisAddr, "OFFLINE_S3="+s3URL, "OFFLINE_BUCKET=lake", "OFFLINE_SPOOL="+spool,
			"OFFLINE_BROKERS="+strings.Join(kc.ListenAddrs(), ","), "OFFLINE_SINK_DELAY="+delay)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd, &out
	}

	first, out1 := child("300ms")
	eventually(t, 2*time.Minute, "the first worker to commit some offsets", func() bool { return committed() >= n/5 })
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	atKill := committed()
	if atKill >= n {
		t.Fatalf("the first worker committed everything (%d) before it was killed: the test proves nothing", atKill)
	}
	segs, _ := filepath.Glob(filepath.Join(spool, "downsync", "seg-*.jsonl"))
	t.Logf("killed with %d of %d offsets committed, %d spool segments left; first worker said:\n%s", atKill, n, len(segs), out1)
	if len(segs) == 0 {
		t.Fatalf("the first worker left no spool segment: the restart does not exercise the spool")
	}

	second, out2 := child("")
	eventually(t, 2*time.Minute, "the second worker to commit everything", func() bool { return committed() >= n })
	if err := second.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := second.Wait(); err != nil {
		t.Fatalf("second worker: %v\n%s", err, out2)
	}
	if !strings.Contains(out2.String(), "recovered segments: ") || strings.Contains(out2.String(), "recovered segments: 0\n") {
		t.Errorf("the second worker recovered no segment:\n%s", out2)
	}

	st := offline.S3Store{API: s3c, Bucket: "lake", Prefix: "offline/"}
	rows, err := offline.ReadAll[offline.Row](context.Background(), st, "downsync/")
	if err != nil {
		t.Fatal(err)
	}
	reg := testRegistry(t, ratio)
	fp := schema.Fingerprint(reg)
	got := map[string]int{}
	for _, r := range rows {
		got[rowString(r)]++
		if r.Fingerprint != fp {
			t.Fatalf("row %s has fingerprint %q, want %q", rowString(r), r.Fingerprint, fp)
		}
		if want := r.Partition(); !strings.HasPrefix(want, "downsync/entity=user/feature="+r.Feature+"/date=2026-12-0") {
			t.Fatalf("row partition %s", want)
		}
		if !strings.HasPrefix(r.Source, "kafka:activity/") {
			t.Fatalf("row source %q", r.Source)
		}
	}
	want, sampledUsers := 0, map[string]bool{}
	for _, e := range events {
		if e.row == "" {
			continue
		}
		id := strings.Split(e.row, "|")[1]
		if !offline.Sampled("u", id, ratio) {
			continue
		}
		sampledUsers[id] = true
		want++
		if got[e.row] == 0 {
			t.Errorf("sampled write %s never reached the sink", e.row)
		}
		delete(got, e.row)
	}
	for r := range got {
		t.Errorf("unexpected row %s (not sampled, or not downsynced)", r)
	}
	dups := len(rows) - want
	t.Logf("%d sampled writes of %d users (%.1f%% of 200), %d rows in S3 (%d duplicates after the kill)",
		want, len(sampledUsers), float64(len(sampledUsers))/2, len(rows), dups)
	if f := float64(len(sampledUsers)) / 200; f < 0.4 || f > 0.6 {
		t.Errorf("%.2f of the users sampled at ratio %v", f, ratio)
	}
	sc := bufio.NewScanner(out2)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "child:") {
			t.Errorf("second worker: %s", sc.Text())
		}
	}
}
