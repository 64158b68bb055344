package offline

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/parquet-go/parquet-go/encoding/delta"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// TestPageHeaderIsThriftCompact: the page headers written by hand decode, with parquet-go's
// Thrift compact decoder, into the PageHeader they stand for (parquet-go's encoder would add
// empty statistics) — data and dictionary pages, small and large sizes.
func TestPageHeaderIsThriftCompact(t *testing.T) {
	for _, c := range []struct {
		typ          format.PageType
		unc, comp, n int
		enc          format.Encoding
	}{
		{format.DataPage, 0, 0, 0, format.Plain},
		{format.DataPage, 123456789, 98765, 16384, format.DeltaBinaryPacked},
		{format.DataPage, 70, 63, 1, format.RLEDictionary},
		{format.DictionaryPage, 5000, 4000, 300, format.Plain},
		{format.DictionaryPage, 1 << 30, 1, 1 << 20, format.Plain},
	} {
		want := format.PageHeader{Type: c.typ, UncompressedPageSize: int32(c.unc), CompressedPageSize: int32(c.comp)}
		if c.typ == format.DictionaryPage {
			want.DictionaryPageHeader = thrift.New(format.DictionaryPageHeader{NumValues: int32(c.n), Encoding: c.enc})
		} else {
			want.DataPageHeader = thrift.New(format.DataPageHeader{NumValues: int32(c.n), Encoding: c.enc, DefinitionLevelEncoding: format.RLE, RepetitionLevelEncoding: format.RLE})
		}
		b := appendPageHeader(nil, c.typ, c.unc, c.comp, c.n, c.enc)
		var got format.PageHeader
		if err := thrift.Unmarshal(new(thrift.CompactProtocol), b, &got); err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%+v: decoded %+v, want %+v", c, got, want)
		}
	}
}

// TestDeltaBinaryPackedDecodes: the DELTA_BINARY_PACKED pages written here decode, with
// parquet-go's decoder, into the values encoded — whole and partial blocks, deltas of every
// width from 0 to 64 bits (equal values, small steps, random 64-bit values that wrap).
func TestDeltaBinaryPackedDecodes(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 22))
	for w := 0; w <= 64; w++ {
		for _, n := range []int{1, 2, 33, 128, 129, 1000} {
			v := make([]uint64, n)
			x := rng.Uint64()
			for i := range v {
				v[i] = x
				step := uint64(0)
				if w > 0 {
					step = rng.Uint64() >> (64 - w)
				}
				x += step
			}
			page := appendDeltaBinaryPacked(nil, v)
			got, err := new(delta.BinaryPackedEncoding).DecodeInt64(nil, page)
			if err != nil {
				t.Fatalf("width %d, %d values: %v", w, n, err)
			}
			for i := range v {
				if i >= len(got) || uint64(got[i]) != v[i] {
					t.Fatalf("width %d, %d values: value %d decoded wrong (%d decoded)", w, n, i, len(got))
				}
			}
		}
	}
}

// TestDeltaRunsSameBytes: the event times kept as runs of one value encode to the bytes of the
// values one by one (and so decode with parquet-go's decoder): runs longer and shorter than a
// block, a block ending at a run's end, one run, runs of one value, a last partial block.
func TestDeltaRunsSameBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 22))
	lens := [][]int{{1}, {2}, {129}, {128, 1}, {1, 128}, {50, 50, 50}, {257, 3, 1, 1, 640}, {5000}}
	for range 200 {
		var ns []int
		for range 1 + rng.IntN(40) {
			ns = append(ns, 1+rng.IntN([]int{3, 60, 300}[rng.IntN(3)]))
		}
		lens = append(lens, ns)
	}
	for _, ns := range lens {
		var runs []evRun
		var flat []uint64
		x := uint64(1_700_000_000_000)
		for _, n := range ns {
			x += uint64(1 + rng.IntN(1000)) // adjacent runs differ, as addEv keeps them
			if rng.IntN(4) == 0 {
				x -= uint64(rng.IntN(5000))
			}
			runs = append(runs, evRun{x, n})
			for range n {
				flat = append(flat, x)
			}
		}
		got, want := appendDeltaRuns(nil, runs), appendDeltaBinaryPacked(nil, flat)
		if !bytes.Equal(got, want) {
			t.Fatalf("runs %v: %d bytes, want %d (%x, want %x)", ns, len(got), len(want), got, want)
		}
		dec, err := new(delta.BinaryPackedEncoding).DecodeInt64(nil, got)
		if err != nil || len(dec) != len(flat) || uint64(dec[len(dec)-1]) != flat[len(flat)-1] {
			t.Fatalf("runs %v: decoded %d values, %v", ns, len(dec), err)
		}
	}
}
