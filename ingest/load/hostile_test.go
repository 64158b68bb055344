package load_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/featuregraph/featuregraph/ingest/internal/ingesttest"
	"github.com/featuregraph/featuregraph/ingest/load"
)

// TestLoadRejectsHostileRecords: every hostile event (ingesttest.HostileEvents, as JSONL
// envelopes), hostile feature values (JSONL and CSV) and a duplicate key in a value record are
// rejected, each with its error in the rejects file; nothing of them is stored, and the valid
// records around them are.
func TestLoadRejectsHostileRecords(t *testing.T) {
	f := newFixture(t, load.Config{RejectsPath: filepath.Join(t.TempDir(), "rej.jsonl")})
	hostile := ingesttest.HostileEvents()
	var lines []string
	var says [][]string
	for _, h := range hostile {
		lines = append(lines, h.Envelope())
		says = append(says, h.Says)
	}
	for _, v := range []struct{ line, says string }{
		{`{"entity":"user","id":920,"feature":"manner_temperature","value":1e-400,"timestamp":1760000000}`, "too small: it would be stored as 0"},
		{`{"entity":"user","id":921,"feature":"region_id","value":7.25,"timestamp":1760000000}`, "a fraction"},
		{`{"entity":"user","id":922,"feature":"os","value":"` + strings.Repeat("x", 70<<10) + `","timestamp":1760000000}`, "maxStringBytes"},
		{`{"entity":"user","id":923,"feature":"os","value":"ios","value":"web","timestamp":1760000000}`, `duplicate key "value"`},
		{`{"entity":"user","id":924,"feature":"os","value":"a\u0000b","timestamp":1760000000}`, "NUL"},
	} {
		lines = append(lines, v.line)
		says = append(says, []string{v.says})
	}
	lines = append(lines, `{"entity":"user","id":925,"feature":"os","value":"ios","timestamp":1760000000}`)
	sum, err := f.l.LoadFile(context.Background(), f.file(t, "hostile.jsonl", strings.Join(lines, "\n")+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Records != int64(len(lines)) || sum.Rejected != int64(len(lines)-1) || sum.Written != 1 {
		t.Errorf("summary %+v", sum)
	}
	// A pipeline learns of the rejects from the exit status (load --max-rejected).
	n := len(lines) - 1
	if err := load.CheckRejected([]load.Summary{sum}, 0); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%d of %d records rejected, more than --max-rejected 0 allows; see %s", n, n+1, sum.RejectsPath)) {
		t.Errorf("CheckRejected 0: %v", err)
	}
	if err := load.CheckRejected([]load.Summary{sum}, int64(n)); err != nil {
		t.Errorf("CheckRejected %d: %v", n, err)
	}
	if err := load.CheckRejected([]load.Summary{sum, sum}, int64(n)); err == nil {
		t.Errorf("CheckRejected over two objects: the total counts")
	}
	if err := load.CheckRejected([]load.Summary{sum}, -1); err != nil {
		t.Errorf("CheckRejected -1: %v", err)
	}
	rej := readRejectsNumbers(t, sum.RejectsPath)
	if len(rej) != len(lines)-1 {
		t.Fatalf("%d rejects, want %d", len(rej), len(lines)-1)
	}
	for _, r := range rej { // in no particular order: chunks are converted concurrently
		msg, _ := r["error"].(string)
		line, err := strconv.Atoi(fmt.Sprint(r["line"]))
		if err != nil || line < 1 || line > len(says) {
			t.Fatalf("reject without its line: %v", r)
		}
		for _, s := range says[line-1] {
			if !strings.Contains(msg, s) {
				t.Errorf("line %d: reject %.300q does not say %q", line, msg, s)
			}
		}
	}
	// CSV cells are text: the same rules apply to what they convert to.
	csv := "entity,id,feature,value,timestamp\nuser,926,manner_temperature,1e-400,1760000000\nuser,927,os,\"a\x00b\",1760000000\nuser,928,region_id,1e19,1760000000\n"
	sum, err = f.l.LoadFile(context.Background(), f.file(t, "hostile.csv", csv))
	if err != nil || sum.Rejected != 3 || sum.Written != 0 {
		t.Errorf("CSV: %+v %v", sum, err)
	}
	users := append(ingesttest.HostileUsers(), "920", "921", "922", "923", "924", "926", "927", "928")
	if got := ingesttest.Dump(t, f.mem, f.reg, map[string][]string{"user": append(users, "925")}); len(got) != 1 || !strings.HasPrefix(got[0], `u#925#os = "ios"`) {
		t.Errorf("store holds %.1000v, want only user 925's os", got)
	}
}

// readRejectsNumbers is readRejects with numbers as json.Number: a rejected record may hold a
// number out of float64's range.
func readRejectsNumbers(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		dec := json.NewDecoder(strings.NewReader(l))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("rejects line %.200q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}
