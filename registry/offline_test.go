package registry

import (
	"testing"
	"time"
)

func TestDownsyncResolution(t *testing.T) {
	reg := mustParse(t, map[string]string{
		"base.yaml": baseYAML,
		"defaults.yaml": `
downsync: {enabled: true, samplingRatio: 0.5}
servedLog:
  samplingRatio: 0.25
  operations: {HomeFeed: 1, Search: 0}
`,
		"f.yaml": `
features:
  user:
    os: {featureType: static, type: String}
    region: {featureType: static, type: Int, downsync: {minIntervalByKey: 1m}}
    secret: {featureType: static, type: String, downsync: {enabled: false}}
    clicks:
      featureType: action
      fields: [{name: article_id, type: Int}]
      downsync: {samplingRatio: 1, minIntervalByKey: 1h}
`,
	})
	u := reg.Entity("user")
	cases := []struct {
		feature string
		want    Downsync
	}{
		{"os", Downsync{Enabled: true, SamplingRatio: 0.5}},
		{"region", Downsync{Enabled: true, SamplingRatio: 0.5, MinIntervalByKey: time.Minute}},
		{"secret", Downsync{Enabled: false, SamplingRatio: 0.5}},
		{"clicks", Downsync{Enabled: true, SamplingRatio: 1, MinIntervalByKey: time.Hour}},
	}
	for _, c := range cases {
		t.Run(c.feature, func(t *testing.T) {
			got := u.Feature(c.feature).Downsync
			got.Pos = Pos{}
			if got != c.want {
				t.Errorf("downsync = %+v, want %+v", got, c.want)
			}
		})
	}
	if got := reg.DownsyncedFeatures(); len(got) != 3 || got[0] != "user.clicks" {
		t.Errorf("DownsyncedFeatures = %v", got)
	}
	for op, want := range map[string]float64{"HomeFeed": 1, "Search": 0, "Other": 0.25, "": 0.25} {
		if got := reg.ServedLog.Ratio(op); got != want {
			t.Errorf("served ratio of %q = %v, want %v", op, got, want)
		}
	}
}

func TestDownsyncOffByDefault(t *testing.T) {
	reg := mustParse(t, map[string]string{"base.yaml": baseYAML, "f.yaml": `
features:
  user:
    os: {featureType: static, type: String}
`})
	if d := reg.Entity("user").Feature("os").Downsync; d.Enabled || d.SamplingRatio != 1 {
		t.Errorf("default downsync = %+v, want disabled with ratio 1", d)
	}
	if reg.ServedLog.Enabled || reg.ServedLog.Ratio("x") != 0 {
		t.Errorf("served log = %+v, want off", reg.ServedLog)
	}
}

func TestDownsyncProblems(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		wants []want
	}{
		{"ratio above 1", map[string]string{"f.yaml": `features:
  user:
    os: {featureType: static, type: String, downsync: {enabled: true, samplingRatio: 1.5}}
`}, []want{{"f.yaml:3", `downsync samplingRatio "1.5" is not a ratio from 0 to 1`, "from 0 to 1"}}},
		{"ratio not a number", map[string]string{"f.yaml": `downsync: {samplingRatio: half}
`}, []want{{"f.yaml:1", `the registry default: downsync samplingRatio "half"`, ""}}},
		{"bad interval", map[string]string{"f.yaml": `features:
  user:
    os:
      featureType: static
      type: String
      downsync:
        minIntervalByKey: soon
`}, []want{{"f.yaml:7", `minIntervalByKey "soon" is not a duration`, "1m"}}},
		{"unknown key", map[string]string{"f.yaml": `downsync: {enable: true}
`}, []want{{"f.yaml:1", `unknown key "enable" in the registry default downsync`, `did you mean "enabled"?`}}},
		{"enabled not a bool", map[string]string{"f.yaml": `downsync: {enabled: yes please}
`}, []want{{"f.yaml:1", `downsync enabled must be true or false`, ""}}},
		{"two defaults", map[string]string{"a.yaml": "downsync: {enabled: true}\n", "b.yaml": "downsync: {enabled: false}\n"},
			[]want{{"b.yaml:1", "the default downsync is defined twice (first at a.yaml:1)", ""}}},
		{"served ratio", map[string]string{"f.yaml": `servedLog:
  operations: {HomeFeed: 2}
`}, []want{{"f.yaml:2", `servedLog operations: HomeFeed "2" is not a ratio`, ""}}},
		{"served unknown key", map[string]string{"f.yaml": "servedLog: {sampling: 1}\n"},
			[]want{{"f.yaml:1", `unknown key "sampling" in servedLog`, ""}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkProblems(t, parseProblems(t, c.files, false), c.wants)
		})
	}
}
