// Package helmtest lints and renders the featuregraph Helm chart with Helm's own Go packages and
// compares the rendered manifests with golden files. It is a separate Go module so that the main
// module does not depend on Helm or the Kubernetes libraries.
//
//	go test ./...            # from deploy/helm/test
//	go test ./... -update    # regenerate testdata/*.yaml after changing the chart
package helmtest

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/lint/support"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ from the chart")

const chartDir = "../featuregraph"

// cases are the values files rendered into golden files.
var cases = []struct {
	name   string
	values string // file under the chart, "" for the defaults alone
}{
	{"default", ""},
	{"production", "ci/production-values.yaml"},
}

func values(t *testing.T, file string) map[string]any {
	t.Helper()
	if file == "" {
		return map[string]any{}
	}
	v, err := chartutil.ReadValuesFile(filepath.Join(chartDir, file))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestChartLints(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := action.NewLint()
			l.Strict = true
			l.KubeVersion = &chartutil.KubeVersion{Version: "v1.31.0", Major: "1", Minor: "31"}
			res := l.Run([]string{chartDir}, values(t, c.values))
			for _, m := range res.Messages {
				// INFO (e.g. "icon is recommended") is advice; WARNING and ERROR fail.
				if m.Severity > support.InfoSev {
					t.Errorf("helm lint: %s", m)
				}
			}
			for _, err := range res.Errors {
				t.Errorf("helm lint: %v", err)
			}
		})
	}
}

// render renders the chart as `helm template fg --namespace feature-store` would, every
// manifest prefixed with its source, in file order.
func render(t *testing.T, vals map[string]any) string {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	caps := chartutil.DefaultCapabilities.Copy()
	caps.KubeVersion = chartutil.KubeVersion{Version: "v1.31.0", Major: "1", Minor: "31"}
	if !chartutil.IsCompatibleRange(ch.Metadata.KubeVersion, caps.KubeVersion.String()) {
		t.Fatalf("chart kubeVersion %q excludes %s", ch.Metadata.KubeVersion, caps.KubeVersion)
	}
	rv, err := chartutil.ToRenderValues(ch, vals, chartutil.ReleaseOptions{Name: "fg", Namespace: "feature-store", IsInstall: true, Revision: 1}, caps)
	if err != nil {
		t.Fatal(err)
	}
	out, err := engine.Engine{Strict: true}.Render(ch, rv)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	names := make([]string, 0, len(out))
	for name, body := range out {
		if strings.HasSuffix(name, "NOTES.txt") || strings.TrimSpace(body) == "" {
			continue
		}
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, name := range names {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", name, strings.TrimSpace(out[name]))
	}
	return b.String()
}

func TestRenderedManifestsMatchGolden(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := render(t, values(t, c.values))
			golden := filepath.Join("testdata", c.name+".yaml")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run `go test -update` in deploy/helm/test to create it)", err)
			}
			if got != string(want) {
				t.Fatalf("rendered manifests differ from %s (run `go test -update` and review the diff):\n%s", golden, diff(string(want), got))
			}
		})
	}
}

// diff shows the first differing lines.
func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n  golden:   %q\n  rendered: %q", i+1, wl, gl)
		}
	}
	return ""
}

// manifests decodes the rendered documents strictly into the Kubernetes API types (an unknown or
// misspelt field is an error), by kind and name.
type manifests struct {
	deployments map[string]*appsv1.Deployment
	services    map[string]*corev1.Service
	hpas        map[string]*autoscalingv2.HorizontalPodAutoscaler
	pdbs        map[string]*policyv1.PodDisruptionBudget
	kinds       map[string]int
}

func decode(t *testing.T, rendered string) manifests {
	t.Helper()
	m := manifests{deployments: map[string]*appsv1.Deployment{}, services: map[string]*corev1.Service{},
		hpas: map[string]*autoscalingv2.HorizontalPodAutoscaler{}, pdbs: map[string]*policyv1.PodDisruptionBudget{}, kinds: map[string]int{}}
	for _, doc := range strings.Split(rendered, "\n---\n") {
		doc = strings.TrimPrefix(doc, "---\n")
		var meta struct {
			Kind     string
			Metadata struct{ Name string }
		}
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatalf("%v\n%s", err, doc)
		}
		m.kinds[meta.Kind]++
		var into any
		switch meta.Kind {
		case "Deployment":
			d := &appsv1.Deployment{}
			m.deployments[meta.Metadata.Name], into = d, d
		case "Service":
			s := &corev1.Service{}
			m.services[meta.Metadata.Name], into = s, s
		case "HorizontalPodAutoscaler":
			h := &autoscalingv2.HorizontalPodAutoscaler{}
			m.hpas[meta.Metadata.Name], into = h, h
		case "PodDisruptionBudget":
			p := &policyv1.PodDisruptionBudget{}
			m.pdbs[meta.Metadata.Name], into = p, p
		case "ServiceAccount":
			into = &corev1.ServiceAccount{}
		default:
			continue
		}
		if err := yaml.UnmarshalStrict([]byte(doc), into); err != nil {
			t.Errorf("%s %s: %v", meta.Kind, meta.Metadata.Name, err)
		}
	}
	return m
}

func env(c corev1.Container) map[string]string {
	out := map[string]string{}
	for _, e := range c.Env {
		v := e.Value
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			v = "secret:" + e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
		}
		out[e.Name] = v
	}
	return out
}

func selects(sel map[string]string, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return len(sel) > 0
}

func TestRenderedManifestsAreWhatOperatorsNeed(t *testing.T) {
	// Defaults: the gateway alone, probes, grace period, HPA, PDB.
	m := decode(t, render(t, values(t, "")))
	gw := m.deployments["fg-featuregraph-gateway"]
	if gw == nil {
		t.Fatalf("no gateway Deployment: %v", m.kinds)
	}
	if m.kinds["Deployment"] != 1 || m.kinds["ServiceMonitor"] != 0 {
		t.Errorf("defaults render only the gateway and no ServiceMonitor: %v", m.kinds)
	}
	pod := gw.Spec.Template.Spec
	c := pod.Containers[0]
	if got := c.ReadinessProbe.HTTPGet.Path; got != "/readyz" {
		t.Errorf("readiness probe %s", got)
	}
	if got := c.LivenessProbe.HTTPGet.Path; got != "/healthz" {
		t.Errorf("liveness probe %s", got)
	}
	e := env(c)
	if e["FEATUREGRAPH_SHUTDOWN_TIMEOUT"] != "10s" || pod.TerminationGracePeriodSeconds == nil || *pod.TerminationGracePeriodSeconds != 20 {
		t.Errorf("grace period %v for --shutdown-timeout %s: want 5s preStop + 10s + 5s margin", pod.TerminationGracePeriodSeconds, e["FEATUREGRAPH_SHUTDOWN_TIMEOUT"])
	}
	if e["FEATUREGRAPH_PRODUCTION"] != "true" || e["FEATUREGRAPH_LOG_FORMAT"] != "json" || e["FEATUREGRAPH_DYNAMODB_TABLE"] != "featuregraph" {
		t.Errorf("gateway env %v", e)
	}
	if _, ok := e["FEATUREGRAPH_ADMIN_ADDR"]; ok {
		t.Errorf("admin endpoints must be off by default")
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("gateway resources %v", c.Resources)
	}
	if sc := pod.SecurityContext; sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || *sc.RunAsUser != 65532 {
		t.Errorf("pod security context %+v", sc)
	}
	hpa := m.hpas["fg-featuregraph-gateway"]
	if hpa == nil || hpa.Spec.ScaleTargetRef.Name != gw.Name || gw.Spec.Replicas != nil {
		t.Errorf("HPA must scale the gateway (and the Deployment leave replicas to it): %+v", hpa)
	}
	pdb := m.pdbs["fg-featuregraph-gateway"]
	if pdb == nil || !selects(pdb.Spec.Selector.MatchLabels, gw.Spec.Template.Labels) {
		t.Errorf("PDB does not select the gateway pods: %+v", pdb)
	}
	svc := m.services["fg-featuregraph"]
	if svc == nil || !selects(svc.Spec.Selector, gw.Spec.Template.Labels) || svc.Spec.Ports[0].TargetPort.String() != "http" {
		t.Errorf("Service does not reach the gateway pods: %+v", svc)
	}

	// Production: the ingest worker as its own Deployment, secrets, ServiceMonitor.
	m = decode(t, render(t, values(t, "ci/production-values.yaml")))
	gw, in := m.deployments["fg-featuregraph-gateway"], m.deployments["fg-featuregraph-ingest"]
	if gw == nil || in == nil || m.kinds["ServiceMonitor"] != 1 {
		t.Fatalf("production renders gateway, ingest and a ServiceMonitor: %v", m.kinds)
	}
	if got := in.Spec.Template.Spec.Containers[0].Args; len(got) != 1 || got[0] != "ingest" {
		t.Errorf("ingest args %v", got)
	}
	ie := env(in.Spec.Template.Spec.Containers[0])
	if ie["FEATUREGRAPH_KAFKA_GROUP"] != "featuregraph-prod" || ie["FEATUREGRAPH_KAFKA_BROKERS"] == "" || ie["FEATUREGRAPH_REDIS_PASSWORD"] != "secret:featuregraph-redis/password" {
		t.Errorf("ingest env %v", ie)
	}
	if selects(gw.Spec.Selector.MatchLabels, in.Spec.Template.Labels) || selects(in.Spec.Selector.MatchLabels, gw.Spec.Template.Labels) {
		t.Errorf("gateway and ingest selectors overlap")
	}
	ge := env(gw.Spec.Template.Spec.Containers[0])
	if ge["FEATUREGRAPH_ADMIN_ADDR"] != "127.0.0.1:6060" || ge["FEATUREGRAPH_SHUTDOWN_TIMEOUT"] != "20s" || *gw.Spec.Template.Spec.TerminationGracePeriodSeconds != 30 {
		t.Errorf("production gateway env %v, grace %d", ge, *gw.Spec.Template.Spec.TerminationGracePeriodSeconds)
	}
	if _, ok := ge["FEATUREGRAPH_KAFKA_BROKERS"]; ok {
		t.Errorf("the gateway gets no Kafka settings")
	}

	// A registry from a ConfigMap is mounted read-only and passed as --features.
	m = decode(t, render(t, map[string]any{"features": map[string]any{"configMap": "my-features"}}))
	pod = m.deployments["fg-featuregraph-gateway"].Spec.Template.Spec
	if len(pod.Volumes) != 1 || pod.Volumes[0].ConfigMap.Name != "my-features" ||
		pod.Containers[0].VolumeMounts[0].MountPath != env(pod.Containers[0])["FEATUREGRAPH_FEATURES"] {
		t.Errorf("features ConfigMap: volumes %+v, mounts %+v", pod.Volumes, pod.Containers[0].VolumeMounts)
	}

	// Ingest without brokers is a clear error.
	_, err := renderErr(map[string]any{"ingest": map[string]any{"enabled": true}})
	if err == nil || !strings.Contains(err.Error(), "ingest.kafka.brokers is required") {
		t.Errorf("ingest without brokers: %v", err)
	}
}

func renderErr(vals map[string]any) (map[string]string, error) {
	ch, err := loader.Load(chartDir)
	if err != nil {
		return nil, err
	}
	rv, err := chartutil.ToRenderValues(ch, vals, chartutil.ReleaseOptions{Name: "fg", Namespace: "feature-store", IsInstall: true}, chartutil.DefaultCapabilities)
	if err != nil {
		return nil, err
	}
	return engine.Engine{Strict: true}.Render(ch, rv)
}
