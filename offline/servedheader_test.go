package offline

import (
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
