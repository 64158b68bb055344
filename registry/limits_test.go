package registry

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestLimits(t *testing.T) {
	base := "entities:\n  user: {prefix: u}\n"
	feats := `features:
  user:
    os: {featureType: static, type: String}
    tags: {featureType: static, type: String, containerType: set, limits: {maxElements: 50}}
`
	reg := mustParse(t, map[string]string{"a.yaml": base + feats})
	if reg.Limits != DefaultLimits || DefaultLimits != (Limits{65536, 10000}) {
		t.Errorf("registry limits %+v, want the defaults 64 KiB and 10,000", reg.Limits)
	}
	if got := reg.Entity("user").Feature("tags").Limits; got != (Limits{65536, 50}) {
		t.Errorf("tags limits %+v: the feature overrides maxElements only", got)
	}
	reg = mustParse(t, map[string]string{"a.yaml": base + "limits: {maxStringBytes: 1024}\n", "b.yaml": feats})
	if got := reg.Entity("user").Feature("os").Limits; got != (Limits{1024, 10000}) {
		t.Errorf("os limits %+v: the registry's maxStringBytes, the default maxElements", got)
	}
	if got := reg.Entity("user").Feature("tags").Limits; got != (Limits{1024, 50}) {
		t.Errorf("tags limits %+v", got)
	}
	for _, tc := range []struct{ name, files, want string }{
		{"zero", base + "limits: {maxElements: 0}\n", "limits: maxElements must be at least 1, got 0"},
		{"not a number", base + "limits: {maxStringBytes: big}\n", `limits: maxStringBytes must be a whole number, got "big"`},
		{"unknown key", base + "limits: {maxBytes: 3}\n", `unknown key "maxBytes" in limits`},
		{"feature", base + "features:\n  user:\n    os: {featureType: static, type: String, limits: {maxStringBytes: -1}}\n",
			"feature user.os: limits: maxStringBytes must be at least 1, got -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(toBytes(map[string]string{"a.yaml": tc.files}))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to say %q", err, tc.want)
			}
		})
	}
	_, err := Parse(toBytes(map[string]string{"a.yaml": base + "limits: {maxElements: 5}\n", "b.yaml": "limits: {maxElements: 6}\n"}))
	if err == nil || !strings.Contains(err.Error(), "the registry's limits are set twice (first at a.yaml:3)") {
		t.Errorf("limits in two files: %v", err)
	}
}

// Numbers that would not be stored as given are rejected, never rounded, clamped or flushed to 0.
func TestStrictNumbers(t *testing.T) {
	for _, tc := range []struct {
		t    Type
		in   string
		want any    // nil: rejected
		says string // part of the error
	}{
		{Int, "42", int64(42), ""},
		{Int, "1e3", int64(1000), ""},
		{Int, "2.0", int64(2), ""},
		{Int, "-0.0e5", int64(0), ""},
		{Int, "9223372036854775807", int64(9223372036854775807), ""},
		{Int, "1.5", nil, "a fraction"},
		{Int, "1.0000000000000000001", nil, "a fraction"},
		{Int, "9223372036854775808", nil, "out of the 64-bit range"},
		{Int, "1e19", nil, "out of the 64-bit range"},
		{Int, "1e400", nil, "out of the 64-bit range"},
		{Int, "1e-400", nil, "fraction"},
		{Float, "1.5", 1.5, ""},
		{Float, "0.0", 0.0, ""},
		{Float, "-0e-999", 0.0, ""},
		{Float, "1e-310", 1e-310, ""}, // subnormal, not zero
		{Float, "1e-400", nil, "too small: it would be stored as 0"},
		{Float, "1e400", nil, "out of the 64-bit range"},
		{Float, "-1e309", nil, "out of the 64-bit range"},
	} {
		got, err := CoerceScalar(tc.t, json.Number(tc.in))
		if tc.want == nil {
			if err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("%s %s: got %v, %v; want an error saying %q", tc.t, tc.in, got, err, tc.says)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s %s: got %v (%T), %v; want %v", tc.t, tc.in, got, got, err, tc.want)
		}
	}
}
