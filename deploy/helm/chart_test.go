package helm_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/cdnpurge/cdnpurge/internal/config"
	"github.com/cdnpurge/cdnpurge/internal/testutil"
)

// chartDir is the chart, relative to this package.
const chartDir = "cdnpurge"

// The values files the tests render: the least an install needs on top of
// the chart's defaults, every option on, and Socket Mode.
const (
	valuesMinimal    = "testdata/values-minimal.yaml"
	valuesAll        = "testdata/values-all.yaml"
	valuesSocketMode = "testdata/values-socket-mode.yaml"
)

// The secret settings and where the chart puts the targets file.
var secretVars = []string{
	config.EnvSigningSecret, config.EnvWebhookURL, config.EnvBotToken,
	config.EnvSlackAppToken, config.EnvSealSecret,
}

const targetsPath = "/etc/cdnpurge/targets.yaml"

// runHelm runs helm with args, its cache, config and data in a temporary
// directory so that the test reads nothing of the machine's helm set-up.
func runHelm(tb testing.TB, args ...string) (stdout, stderr string, err error) {
	tb.Helper()
	bin := testutil.MustTool(tb, "helm", "go install helm.sh/helm/v3/cmd/helm@v3.22.0")
	home := tb.TempDir()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
	)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// templateArgs are `helm template` for the release "cdnpurge" in namespace
// "tools" with the given values files.
func templateArgs(files ...string) []string {
	args := []string{"template", "cdnpurge", chartDir, "--namespace", "tools"}
	for _, f := range files {
		args = append(args, "--values", f)
	}
	return args
}

// mustValuesFile writes values to a file of the test's and returns its path.
func mustValuesFile(tb testing.TB, values string) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), "values.yaml")
	if err := os.WriteFile(p, []byte(values), 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}

// manifests are the objects one `helm template` rendered, each decoded
// strictly into its type; nil where the chart rendered none.
type manifests struct {
	Deployment     *appsv1.Deployment
	Service        *corev1.Service
	ConfigMap      *corev1.ConfigMap
	ServiceAccount *corev1.ServiceAccount
	PDB            *policyv1.PodDisruptionBudget
	Ingress        *networkingv1.Ingress
	ServiceMonitor *monitoringv1.ServiceMonitor
}

// mustRender renders the chart with the values files and decodes every
// document strictly.
func mustRender(tb testing.TB, files ...string) manifests {
	tb.Helper()
	out, stderr, err := runHelm(tb, templateArgs(files...)...)
	if err != nil {
		tb.Fatalf("helm template %v: %v\n%s", files, err, stderr)
	}
	m, err := decodeAll(out)
	if err != nil {
		tb.Fatalf("helm template %v: %v", files, err)
	}
	if m.Deployment == nil {
		tb.Fatalf("helm template %v rendered no Deployment", files)
	}
	return m
}

// docSep splits helm's multi-document output.
var docSep = regexp.MustCompile(`(?m)^---[ \t]*$`)

// decodeAll decodes each document of a multi-document YAML stream into the
// type its apiVersion and kind name; a kind the chart should not render, a
// second object of a kind, or an unknown field is an error.
func decodeAll(stream string) (manifests, error) {
	var m manifests
	for _, doc := range docSep.Split(stream, -1) {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			return m, fmt.Errorf("%s: %w", source(doc), err)
		}
		var target any
		switch tm.APIVersion + " " + tm.Kind {
		case "apps/v1 Deployment":
			target = setOnce(&m.Deployment)
		case "v1 Service":
			target = setOnce(&m.Service)
		case "v1 ConfigMap":
			target = setOnce(&m.ConfigMap)
		case "v1 ServiceAccount":
			target = setOnce(&m.ServiceAccount)
		case "policy/v1 PodDisruptionBudget":
			target = setOnce(&m.PDB)
		case "networking.k8s.io/v1 Ingress":
			target = setOnce(&m.Ingress)
		case "monitoring.coreos.com/v1 ServiceMonitor":
			target = setOnce(&m.ServiceMonitor)
		default:
			return m, fmt.Errorf("%s: unexpected %s %s", source(doc), tm.APIVersion, tm.Kind)
		}
		if target == nil {
			return m, fmt.Errorf("%s: a second %s", source(doc), tm.Kind)
		}
		if err := decodeStrict([]byte(doc), target); err != nil {
			return m, fmt.Errorf("%s: %s: %w", source(doc), tm.Kind, err)
		}
	}
	return m, nil
}

// setOnce allocates *p and returns it, or nil when *p is already set.
func setOnce[T any](p **T) *T {
	if *p != nil {
		return nil
	}
	*p = new(T)
	return *p
}

// decodeStrict decodes one YAML document into v through JSON, refusing any
// field v's type does not have. (The k8s.io types carry JSON tags only, so
// YAML goes to JSON first.) encoding/json matches names regardless of case,
// where the API server does not, so the document is decoded a second time
// with sigs.k8s.io/json, the API server's decoder, which refuses a name in
// the wrong case or given twice.
func decodeStrict(doc []byte, v any) error {
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("more than one JSON value")
	}
	again := reflect.New(reflect.TypeOf(v).Elem()).Interface()
	strict, err := kjson.UnmarshalStrict(js, again)
	return errors.Join(err, errors.Join(strict...))
}

// stripComments drops whole-line comments (helm's "# Source:" lines).
func stripComments(doc string) string {
	var b strings.Builder
	for line := range strings.Lines(doc) {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line)
		}
	}
	return b.String()
}

// source is the template a document came from, for messages.
func source(doc string) string {
	for line := range strings.Lines(doc) {
		if s, ok := strings.CutPrefix(strings.TrimSpace(line), "# Source: "); ok {
			return s
		}
	}
	return "document"
}

// container returns the Deployment's cdnpurge container.
func container(tb testing.TB, d *appsv1.Deployment) corev1.Container {
	tb.Helper()
	cs := d.Spec.Template.Spec.Containers
	if len(cs) != 1 || cs[0].Name != "cdnpurge" {
		tb.Fatalf("containers = %v, want one named cdnpurge", cs)
	}
	return cs[0]
}

// envVar returns the container's variable name, or nil.
func envVar(c corev1.Container, name string) *corev1.EnvVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}

// TestLint lints the chart. Helm lints templates in lint mode, where `fail`
// does not fail, so the chart's own defaults lint clean although they do not
// install (no existingSecret); TestRefusedValues covers that.
func TestLint(t *testing.T) {
	for _, tt := range []struct{ name, values string }{
		{"chart defaults alone", ""},
		{"defaults", valuesMinimal},
		{"every option", valuesAll},
		{"socket mode", valuesSocketMode},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"lint", "--strict", chartDir}
			if tt.values != "" {
				args = append(args, "--values", tt.values)
			}
			out, stderr, err := runHelm(t, args...)
			if err != nil {
				t.Fatalf("helm lint --strict: %v\n%s%s", err, out, stderr)
			}
		})
	}
}

func TestTemplateRendersEachKind(t *testing.T) {
	for _, tt := range []struct {
		name, values string
		want         []string // kinds rendered besides the Deployment
	}{
		{"defaults", valuesMinimal, []string{"Service", "ServiceAccount", "PodDisruptionBudget"}},
		{"every option", valuesAll, []string{"Service", "ServiceAccount", "PodDisruptionBudget", "ConfigMap", "Ingress", "ServiceMonitor"}},
		{"socket mode", valuesSocketMode, []string{"Service", "ServiceAccount", "PodDisruptionBudget", "ConfigMap", "ServiceMonitor"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := mustRender(t, tt.values)
			got := map[string]bool{
				"Service":             m.Service != nil,
				"ServiceAccount":      m.ServiceAccount != nil,
				"PodDisruptionBudget": m.PDB != nil,
				"ConfigMap":           m.ConfigMap != nil,
				"Ingress":             m.Ingress != nil,
				"ServiceMonitor":      m.ServiceMonitor != nil,
			}
			for kind, rendered := range got {
				if want := slices.Contains(tt.want, kind); rendered != want {
					t.Errorf("%s rendered = %v, want %v", kind, rendered, want)
				}
			}
		})
	}
}

// TestStrictDecodeCatchesMisplacedFields proves the decoding the other tests
// rely on: a field moved to where its type has no such field fails.
func TestStrictDecodeCatchesMisplacedFields(t *testing.T) {
	out, stderr, err := runHelm(t, templateArgs(valuesMinimal)...)
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, stderr)
	}
	var deployment string
	for _, doc := range docSep.Split(out, -1) {
		if strings.Contains(doc, "\nkind: Deployment\n") {
			deployment = doc
		}
	}
	if err := decodeStrict([]byte(deployment), new(appsv1.Deployment)); err != nil {
		t.Fatalf("the rendered Deployment does not decode: %v", err)
	}
	for _, tt := range []struct {
		name      string
		move      func(obj map[string]any)
		wantField string
	}{
		{
			name: "livenessProbe on the pod instead of the container",
			move: func(obj map[string]any) {
				pod := dig(obj, "spec", "template", "spec")
				c := pod["containers"].([]any)[0].(map[string]any)
				pod["livenessProbe"] = c["livenessProbe"]
				delete(c, "livenessProbe")
			},
			wantField: "livenessProbe",
		},
		{
			name: "readOnlyRootFilesystem in the pod's securityContext",
			move: func(obj map[string]any) {
				pod := dig(obj, "spec", "template", "spec")
				pod["securityContext"].(map[string]any)["readOnlyRootFilesystem"] = true
			},
			wantField: "readOnlyRootFilesystem",
		},
		{
			name: "replicas under metadata",
			move: func(obj map[string]any) {
				dig(obj, "metadata")["replicas"] = 2
			},
			wantField: "replicas",
		},
		{
			name: "a field in the wrong case",
			move: func(obj map[string]any) {
				c := dig(obj, "spec", "template", "spec")["containers"].([]any)[0].(map[string]any)
				c["ReadinessProbe"] = c["readinessProbe"]
				delete(c, "readinessProbe")
			},
			wantField: "ReadinessProbe",
		},
		{
			name: "a misspelt field",
			move: func(obj map[string]any) {
				spec := dig(obj, "spec")
				spec["replica"] = spec["replicas"]
				delete(spec, "replicas")
			},
			wantField: "replica",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var obj map[string]any
			if err := yaml.Unmarshal([]byte(deployment), &obj); err != nil {
				t.Fatal(err)
			}
			tt.move(obj)
			doc, err := yaml.Marshal(obj)
			if err != nil {
				t.Fatal(err)
			}
			err = decodeStrict(doc, new(appsv1.Deployment))
			if err == nil || !regexp.MustCompile(`unknown field "([^"]*\.)?`+tt.wantField+`"`).MatchString(err.Error()) {
				t.Fatalf("decode = %v, want unknown field %q", err, tt.wantField)
			}
		})
	}
}

// dig returns the map at path in obj.
func dig(obj map[string]any, path ...string) map[string]any {
	for _, k := range path {
		obj = obj[k].(map[string]any)
	}
	return obj
}

func TestDeployment(t *testing.T) {
	for _, tt := range []struct {
		name, values string
		replicas     int32
		image        string
		args         []string
		grace        int64
	}{
		{"defaults", valuesMinimal, 2, "cdnpurge/cdnpurge:0.1.0", nil, 15},
		{"every option", valuesAll, 3, "registry.example.com/platform/cdnpurge:1.2.3", []string{"serve", "--addr", ":8080", "--shutdown-grace", "8s"}, 20},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := mustRender(t, tt.values).Deployment
			if d.Spec.Replicas == nil || *d.Spec.Replicas != tt.replicas {
				t.Errorf("replicas = %v, want %d", d.Spec.Replicas, tt.replicas)
			}
			pod := d.Spec.Template.Spec
			c := container(t, d)
			if c.Image != tt.image {
				t.Errorf("image = %q, want %q", c.Image, tt.image)
			}
			if !slices.Equal(c.Args, tt.args) || c.Command != nil {
				t.Errorf("command %q args %q, want the image's entrypoint with args %q", c.Command, c.Args, tt.args)
			}
			if len(c.Ports) != 1 || c.Ports[0].Name != "http" || c.Ports[0].ContainerPort != 8080 {
				t.Errorf("ports = %+v, want http 8080", c.Ports)
			}
			for name, p := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
				if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" || p.HTTPGet.Port.String() != "http" {
					t.Errorf("%s probe = %+v, want GET /healthz on port http", name, p)
				}
			}
			if got := c.Resources.Requests.Cpu().String(); tt.name == "defaults" && got != "50m" {
				t.Errorf("cpu request = %s, want 50m", got)
			}
			if got := c.Resources.Requests.Memory().String(); tt.name == "defaults" && got != "64Mi" {
				t.Errorf("memory request = %s, want 64Mi", got)
			}
			if got := c.Resources.Limits.Memory().String(); got != "256Mi" {
				t.Errorf("memory limit = %s, want 256Mi", got)
			}
			if pod.TerminationGracePeriodSeconds == nil || *pod.TerminationGracePeriodSeconds != tt.grace || tt.grace <= 8 {
				t.Errorf("terminationGracePeriodSeconds = %v, want %d (above serve's 8 s)", pod.TerminationGracePeriodSeconds, tt.grace)
			}
			if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
				t.Errorf("automountServiceAccountToken = %v, want false", pod.AutomountServiceAccountToken)
			}
			checkSecurityContext(t, pod.SecurityContext, c.SecurityContext)
		})
	}
}

func checkSecurityContext(t *testing.T, pod *corev1.PodSecurityContext, c *corev1.SecurityContext) {
	t.Helper()
	if pod == nil || c == nil {
		t.Fatalf("securityContext pod %v container %v, want both", pod, c)
	}
	isTrue := func(b *bool) bool { return b != nil && *b }
	is := func(n *int64, want int64) bool { return n != nil && *n == want }
	for _, check := range []struct {
		what string
		ok   bool
	}{
		{"pod runAsNonRoot", isTrue(pod.RunAsNonRoot)},
		{"pod runAsUser 65532", is(pod.RunAsUser, 65532)},
		{"pod seccompProfile RuntimeDefault", pod.SeccompProfile != nil && pod.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault},
		{"container runAsNonRoot", isTrue(c.RunAsNonRoot)},
		{"container runAsUser 65532", is(c.RunAsUser, 65532)},
		{"container readOnlyRootFilesystem", isTrue(c.ReadOnlyRootFilesystem)},
		{"container allowPrivilegeEscalation false", c.AllowPrivilegeEscalation != nil && !*c.AllowPrivilegeEscalation},
		{"container capabilities drop ALL", c.Capabilities != nil && slices.Equal(c.Capabilities.Drop, []corev1.Capability{"ALL"}) && len(c.Capabilities.Add) == 0},
		{"container seccompProfile RuntimeDefault", c.SeccompProfile != nil && c.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault},
		{"container not privileged", c.Privileged == nil || !*c.Privileged},
	} {
		if !check.ok {
			t.Errorf("securityContext: want %s", check.what)
		}
	}
}

// TestSecretsOnlyByReference checks that no secret setting has a literal
// value: each is a secretKeyRef into existingSecret, or an ARN (not secret)
// in the setting's *_ARN variable or, for a provider token, the variable
// itself.
func TestSecretsOnlyByReference(t *testing.T) {
	for _, tt := range []struct {
		name, values, secret string
		tokenVars            []string
		// want maps each secret variable rendered to "ref optional",
		// "ref required" or "arn"; those absent must not be rendered.
		want map[string]string
	}{
		{
			name: "defaults", values: valuesMinimal, secret: "cdnpurge",
			want: map[string]string{
				config.EnvSigningSecret: "ref required", config.EnvWebhookURL: "ref optional",
				config.EnvBotToken: "ref optional", config.EnvSealSecret: "ref optional",
			},
		},
		{
			name: "every option", values: valuesAll, secret: "cdnpurge-secrets",
			tokenVars: []string{"CLOUDFLARE_API_TOKEN", "FASTLY_API_TOKEN"},
			want: map[string]string{
				config.EnvSigningSecret + "_ARN": "arn", config.EnvWebhookURL: "ref optional",
				config.EnvBotToken: "ref optional", config.EnvSealSecret: "ref optional",
				"CLOUDFLARE_API_TOKEN": "ref required", "FASTLY_API_TOKEN": "arn",
			},
		},
		{
			name: "socket mode", values: valuesSocketMode, secret: "cdnpurge",
			want: map[string]string{
				config.EnvSigningSecret: "ref optional", config.EnvSlackAppToken: "ref required",
				config.EnvWebhookURL: "ref optional", config.EnvBotToken: "ref optional",
				config.EnvSealSecret: "ref optional",
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := container(t, mustRender(t, tt.values).Deployment)
			vars := slices.Concat(secretVars, tt.tokenVars)
			for _, v := range secretVars {
				vars = append(vars, v+"_ARN")
			}
			for _, name := range vars {
				e := envVar(c, name)
				want, wanted := tt.want[name]
				if e == nil {
					if wanted {
						t.Errorf("%s not rendered, want %s", name, want)
					}
					continue
				}
				got := "literal value"
				switch ref := e.ValueFrom; {
				case ref != nil && ref.SecretKeyRef != nil && e.Value == "":
					if ref.SecretKeyRef.Name != tt.secret {
						t.Errorf("%s from Secret %q, want %q", name, ref.SecretKeyRef.Name, tt.secret)
					}
					got = "ref required"
					if ref.SecretKeyRef.Optional != nil && *ref.SecretKeyRef.Optional {
						got = "ref optional"
					}
				case ref == nil && strings.HasPrefix(e.Value, "arn:aws:"):
					got = "arn"
				}
				if got != want {
					t.Errorf("%s is %s, want %q", name, got, want)
				}
			}
		})
	}
}

func TestTargetsConfigMap(t *testing.T) {
	for _, tt := range []struct {
		name, values string
		targets      []string
	}{
		{"map in values", valuesAll, []string{"www", "shop", "news"}},
		{"string in values", valuesSocketMode, []string{"www"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := mustRender(t, tt.values)
			data, ok := m.ConfigMap.Data["targets.yaml"]
			if !ok {
				t.Fatalf("ConfigMap data has %v, want targets.yaml", m.ConfigMap.Data)
			}
			f, err := config.ParseFile("targets.yaml", []byte(data))
			if err != nil {
				t.Fatalf("config.ParseFile of the ConfigMap's targets.yaml: %v\n%s", err, data)
			}
			var names []string
			for _, target := range f.Targets {
				names = append(names, target.Name)
			}
			if !slices.Equal(names, tt.targets) {
				t.Errorf("targets = %q, want %q", names, tt.targets)
			}
			// Each token_env variable reaches the container.
			c := container(t, m.Deployment)
			for _, target := range f.Targets {
				if target.TokenEnv != "" && envVar(c, target.TokenEnv) == nil {
					t.Errorf("target %s: token_env %s is not in the container's environment", target.Name, target.TokenEnv)
				}
			}
			checkMountedAt(t, m.Deployment, m.ConfigMap.Name, "targets.yaml")
		})
	}
	t.Run("existing ConfigMap", func(t *testing.T) {
		values := mustValuesFile(t, "existingSecret: s\nexistingConfigMap: our-targets\nexistingConfigMapKey: cdnpurge.yaml\ntokenEnv: [FASTLY_API_TOKEN]\n")
		m := mustRender(t, values)
		if m.ConfigMap != nil {
			t.Errorf("the chart rendered a ConfigMap of its own besides existingConfigMap")
		}
		checkMountedAt(t, m.Deployment, "our-targets", "cdnpurge.yaml")
		if e := envVar(container(t, m.Deployment), "FASTLY_API_TOKEN"); e == nil || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef.Key != "fastly-api-token" {
			t.Errorf("FASTLY_API_TOKEN = %+v, want from key fastly-api-token", e)
		}
		if _, ok := m.Deployment.Spec.Template.Annotations["checksum/targets"]; ok {
			t.Errorf("a checksum of a ConfigMap the chart cannot read")
		}
	})
}

// checkMountedAt checks that CDNPURGE_CONFIG names targetsPath and that the
// file there is key of ConfigMap name, mounted read-only.
func checkMountedAt(t *testing.T, d *appsv1.Deployment, name, key string) {
	t.Helper()
	c := container(t, d)
	e := envVar(c, config.EnvConfigFile)
	if e == nil || e.Value != targetsPath {
		t.Fatalf("%s = %+v, want %s", config.EnvConfigFile, e, targetsPath)
	}
	if envVar(c, config.EnvDistributionID) != nil {
		t.Errorf("%s is set along with the targets file", config.EnvDistributionID)
	}
	var found bool
	for _, vm := range c.VolumeMounts {
		dir, file := filepath.Split(targetsPath)
		if filepath.Clean(vm.MountPath) != filepath.Clean(dir) || vm.SubPath != "" {
			continue
		}
		if !vm.ReadOnly {
			t.Errorf("mount %s is writable", vm.MountPath)
		}
		for _, v := range d.Spec.Template.Spec.Volumes {
			if v.Name != vm.Name || v.ConfigMap == nil {
				continue
			}
			if v.ConfigMap.Name != name {
				t.Errorf("volume %s is ConfigMap %q, want %q", v.Name, v.ConfigMap.Name, name)
			}
			for _, item := range v.ConfigMap.Items {
				if item.Key == key && item.Path == file {
					found = true
				}
			}
		}
	}
	if !found {
		t.Errorf("no read-only mount puts key %s of ConfigMap %s at %s", key, name, targetsPath)
	}
}

func TestChecksumFollowsTargets(t *testing.T) {
	targets := func(distribution string) string {
		return fmt.Sprintf("existingSecret: s\ntargets:\n  targets:\n    - name: www\n      distribution: %s\n      channels: [deploys]\n", distribution)
	}
	checksum := func(values string) string {
		t.Helper()
		sum := mustRender(t, mustValuesFile(t, values)).Deployment.Spec.Template.Annotations["checksum/targets"]
		if len(sum) != 64 {
			t.Fatalf("checksum/targets = %q, want a SHA-256", sum)
		}
		return sum
	}
	a, again, b := checksum(targets("E2QWRUHEXAMPLE")), checksum(targets("E2QWRUHEXAMPLE")), checksum(targets("E3OTHEREXAMPLE"))
	if a != again {
		t.Errorf("the same targets give checksums %s and %s", a, again)
	}
	if a == b {
		t.Errorf("changed targets keep checksum %s: the pods would not roll", a)
	}
}

func TestSelectors(t *testing.T) {
	for _, values := range []string{valuesMinimal, valuesAll, valuesSocketMode} {
		t.Run(values, func(t *testing.T) {
			m := mustRender(t, values)
			pods := labels.Set(m.Deployment.Spec.Template.Labels)
			selects := func(what string, sel *metav1.LabelSelector, set labels.Set) {
				t.Helper()
				s, err := metav1.LabelSelectorAsSelector(sel)
				if err != nil || s.Empty() || !s.Matches(set) {
					t.Errorf("%s selector %v (%v) does not select %v", what, sel, err, set)
				}
			}
			selects("Deployment", m.Deployment.Spec.Selector, pods)
			selects("PodDisruptionBudget", m.PDB.Spec.Selector, pods)
			if s := labels.SelectorFromSet(m.Service.Spec.Selector); len(m.Service.Spec.Selector) == 0 || !s.Matches(pods) {
				t.Errorf("Service selector %v does not select the pods %v", m.Service.Spec.Selector, pods)
			}
			if p := m.Service.Spec.Ports; len(p) != 1 || p[0].Name != "http" || p[0].TargetPort.String() != "http" || p[0].Port != 80 {
				t.Errorf("Service ports = %+v, want http 80 -> http", p)
			}
			if m.Service.Spec.Type != corev1.ServiceTypeClusterIP {
				t.Errorf("Service type = %s, want ClusterIP", m.Service.Spec.Type)
			}
			if sm := m.ServiceMonitor; sm != nil {
				selects("ServiceMonitor", &sm.Spec.Selector, labels.Set(m.Service.Labels))
				if !slices.Contains(sm.Spec.NamespaceSelector.MatchNames, "tools") {
					t.Errorf("ServiceMonitor namespaces = %v, want the release's", sm.Spec.NamespaceSelector.MatchNames)
				}
				if e := sm.Spec.Endpoints; len(e) != 1 || e[0].Port != "http" || e[0].Path != "/metrics" {
					t.Errorf("ServiceMonitor endpoints = %+v, want port http path /metrics", e)
				}
			}
			if ing := m.Ingress; ing != nil {
				for _, rule := range ing.Spec.Rules {
					for _, p := range rule.HTTP.Paths {
						if b := p.Backend.Service; b == nil || b.Name != m.Service.Name || b.Port.Name != "http" {
							t.Errorf("Ingress %s%s goes to %+v, want Service %s port http", rule.Host, p.Path, p.Backend, m.Service.Name)
						}
						if !strings.HasPrefix(p.Path, "/slack") {
							t.Errorf("Ingress exposes %s%s: only Slack's routes should be public", rule.Host, p.Path)
						}
					}
				}
			}
			if sa := m.ServiceAccount; sa.Name != m.Deployment.Spec.Template.Spec.ServiceAccountName {
				t.Errorf("pods run as ServiceAccount %q, the chart made %q", m.Deployment.Spec.Template.Spec.ServiceAccountName, sa.Name)
			}
			if sa := m.ServiceAccount; sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
				t.Errorf("ServiceAccount automountServiceAccountToken = %v, want false", sa.AutomountServiceAccountToken)
			}
		})
	}
}

func TestPodDisruptionBudget(t *testing.T) {
	for _, tt := range []struct {
		name, values string
		want         string // "" for no PDB, else "min N" or "max N"
	}{
		{"two replicas", "", "min 1"},
		{"one replica: minAvailable would block drains", "replicaCount: 1\n", ""},
		{"one replica with maxUnavailable", "replicaCount: 1\npodDisruptionBudget:\n  maxUnavailable: 1\n", "max 1"},
		{"off", "podDisruptionBudget:\n  enabled: false\n", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pdb := mustRender(t, valuesMinimal, mustValuesFile(t, tt.values)).PDB
			got := ""
			switch {
			case pdb != nil && pdb.Spec.MinAvailable != nil && pdb.Spec.MaxUnavailable == nil:
				got = "min " + pdb.Spec.MinAvailable.String()
			case pdb != nil && pdb.Spec.MaxUnavailable != nil && pdb.Spec.MinAvailable == nil:
				got = "max " + pdb.Spec.MaxUnavailable.String()
			case pdb != nil:
				got = fmt.Sprintf("%+v", pdb.Spec)
			}
			if got != tt.want {
				t.Errorf("PDB = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestOptions(t *testing.T) {
	t.Run("topology spread", func(t *testing.T) {
		d := mustRender(t, valuesAll).Deployment
		tsc := d.Spec.Template.Spec.TopologySpreadConstraints
		if len(tsc) != 1 || tsc[0].TopologyKey != "kubernetes.io/hostname" || tsc[0].WhenUnsatisfiable != corev1.DoNotSchedule {
			t.Fatalf("topologySpreadConstraints = %+v", tsc)
		}
		s, err := metav1.LabelSelectorAsSelector(tsc[0].LabelSelector)
		if err != nil || !s.Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Errorf("spread selector %v does not select the pods", tsc[0].LabelSelector)
		}
	})
	t.Run("IRSA annotation", func(t *testing.T) {
		sa := mustRender(t, valuesAll).ServiceAccount
		if got := sa.Annotations["eks.amazonaws.com/role-arn"]; got != "arn:aws:iam::123456789012:role/cdnpurge" {
			t.Errorf("role-arn annotation = %q", got)
		}
	})
	t.Run("extra env", func(t *testing.T) {
		c := container(t, mustRender(t, valuesAll).Deployment)
		for name, want := range map[string]string{"AWS_REGION": "eu-west-1", "CDNPURGE_CONFIRM": "full-purge", "CDNPURGE_APPROVER_MUST_DIFFER": "1"} {
			if e := envVar(c, name); e == nil || e.Value != want {
				t.Errorf("%s = %+v, want %q", name, e, want)
			}
		}
	})
	t.Run("single target", func(t *testing.T) {
		c := container(t, mustRender(t, valuesMinimal).Deployment)
		for name, want := range map[string]string{config.EnvDistributionID: "E2QWRUHEXAMPLE", config.EnvChannels: "deploys"} {
			if e := envVar(c, name); e == nil || e.Value != want {
				t.Errorf("%s = %+v, want %q", name, e, want)
			}
		}
		if envVar(c, config.EnvConfigFile) != nil {
			t.Errorf("%s set without targets", config.EnvConfigFile)
		}
	})
}

// TestRefusedValues checks that values that cannot work fail `helm template`
// with a message that says what to do, and that a secret put where it does
// not belong is named but never repeated. `helm lint` checks the schema too,
// but runs templates in lint mode, where `fail` and `required` do not fail,
// so only the schema's cases are linted.
func TestRefusedValues(t *testing.T) {
	const secret = "s3cr3t-signing-value-never-printed"
	for _, tt := range []struct {
		name, values string
		want         []string
	}{
		{"no values at all", "", []string{"existingSecret is required", "kubectl create secret generic"}},
		{"no existingSecret", "distributionId: E2QWRUHEXAMPLE\n", []string{"existingSecret is required", config.EnvSigningSecret}},
		{"socket mode without existingSecret", "distributionId: E2QWRUHEXAMPLE\nsocketMode: {enabled: true}\n", []string{"existingSecret is required", config.EnvSlackAppToken}},
		{"a token without existingSecret", "secretArns: {signingSecret: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:s'}\ntargets: {targets: [{name: a, provider: fastly, service: SU1Z0isxPaozGVKXdv0eY, token_env: FASTLY_API_TOKEN, channels: [c]}]}\n", []string{"existingSecret is required", "FASTLY_API_TOKEN"}},
		{"nothing to purge", "existingSecret: s\n", []string{"nothing to purge"}},
		{"ingress in socket mode", "existingSecret: s\ndistributionId: E2QWRUHEXAMPLE\nsocketMode: {enabled: true}\ningress: {enabled: true, hosts: [{host: a.example.com}]}\n", []string{"Socket Mode", "Ingress"}},
		{"a secret in env", "existingSecret: s\ndistributionId: E2QWRUHEXAMPLE\nenv:\n  " + config.EnvSigningSecret + ": " + secret + "\n", []string{"env." + config.EnvSigningSecret, "existingSecret"}},
		{"a token in env", "existingSecret: s\ntargets: {targets: [{name: a, provider: fastly, service: SU1Z0isxPaozGVKXdv0eY, token_env: FASTLY_API_TOKEN, channels: [c]}]}\nenv: {FASTLY_API_TOKEN: " + secret + "}\n", []string{"env.FASTLY_API_TOKEN"}},
		{"PORT in env", "existingSecret: s\ndistributionId: E2QWRUHEXAMPLE\nenv: {PORT: \"9090\"}\n", []string{"env.PORT", "8080"}},
		{"targets not YAML", "existingSecret: s\ntargets: \"targets: [\"\n", []string{"targets is not valid YAML"}},
		{"schema: replicas a word", "existingSecret: s\ndistributionId: E2QWRUHEXAMPLE\nreplicaCount: two\n", []string{"replicaCount"}},
		{"schema: unknown value", "existingSecret: s\ndistributionId: E2QWRUHEXAMPLE\nreplicas: 3\n", []string{"replicas"}},
		{"schema: pull policy", "existingSecret: s\ndistributionId: E2QWRUHEXAMPLE\nimage: {repository: x, pullPolicy: Sometimes}\n", []string{"pullPolicy"}},
		{"schema: not an ARN", "existingSecret: s\ndistributionId: E2QWRUHEXAMPLE\nsecretArns: {webhookURL: 'https://hooks.slack.com/services/T/B/x'}\n", []string{"webhookURL"}},
		{"schema: grace under serve's", "existingSecret: s\ndistributionId: E2QWRUHEXAMPLE\nterminationGracePeriodSeconds: 5\n", []string{"terminationGracePeriodSeconds"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			values := mustValuesFile(t, tt.values)
			runs := [][]string{templateArgs(values)}
			if strings.HasPrefix(tt.name, "schema: ") {
				runs = append(runs, []string{"lint", chartDir, "--values", values})
			}
			for _, args := range runs {
				out, stderr, err := runHelm(t, args...)
				if err == nil {
					t.Fatalf("helm %s succeeded, want a failure\n%s", args[0], out)
				}
				msg := out + stderr
				for _, w := range tt.want {
					if !strings.Contains(msg, w) {
						t.Errorf("helm %s: %q not in\n%s", args[0], w, msg)
					}
				}
				if strings.Contains(msg, secret) {
					t.Errorf("helm %s repeats the secret:\n%s", args[0], msg)
				}
			}
		})
	}
}

// TestRenderedEnvironmentIsAccepted plays the kubelet: it resolves the
// container's environment against a Secret holding every key (or only the
// required ones) and the ConfigMap written where CDNPURGE_CONFIG points, then
// checks that cdnpurge's own config.FromEnv and Validate accept it, as `serve`
// does at start.
func TestRenderedEnvironmentIsAccepted(t *testing.T) {
	full := map[string]string{
		"slack-signing-secret": strings.Repeat("s", config.SlackSigningSecretLen),
		"slack-webhook-url":    "https://hooks.slack.com/services/T000/B000/XXXX",
		"slack-bot-token":      "xoxb-1-2-3",
		"slack-app-token":      "xapp-1-A-1-x",
		"seal-secret":          strings.Repeat("k", config.SlackSigningSecretLen),
		"cloudflare-api-token": "cf-token",
		"fastly-api-token":     "fastly-token",
	}
	for _, tt := range []struct {
		name   string
		values []string
		secret map[string]string
	}{
		{"defaults", []string{valuesMinimal}, full},
		{"defaults, only the required keys", []string{valuesMinimal}, map[string]string{"slack-signing-secret": full["slack-signing-secret"]}},
		{"socket mode", []string{valuesSocketMode}, full},
		{"socket mode, app token and seal secret only", []string{valuesSocketMode}, map[string]string{"slack-app-token": full["slack-app-token"], "seal-secret": full["seal-secret"]}},
		// Every option, with the secrets from the Secret instead of AWS
		// (config reads no ARN itself), under the default key names.
		{"every option, from the Secret", []string{mustValuesWithout(t, valuesAll, "secretKeys", "secretArns")}, full},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := mustRender(t, tt.values...)
			c := container(t, m.Deployment)
			env := map[string]string{}
			for _, e := range c.Env {
				switch {
				case e.ValueFrom == nil:
					env[e.Name] = e.Value
				case e.ValueFrom.SecretKeyRef != nil:
					ref := e.ValueFrom.SecretKeyRef
					v, ok := tt.secret[ref.Key]
					if !ok && (ref.Optional == nil || !*ref.Optional) {
						t.Fatalf("%s needs key %s, which the Secret does not have: the pod would not start", e.Name, ref.Key)
					}
					if ok {
						env[e.Name] = v
					}
				default:
					t.Fatalf("%s: unexpected valueFrom %+v", e.Name, e.ValueFrom)
				}
			}
			if p, ok := env[config.EnvConfigFile]; ok {
				if p != targetsPath || m.ConfigMap == nil {
					t.Fatalf("%s = %s with ConfigMap %v", config.EnvConfigFile, p, m.ConfigMap)
				}
				local := filepath.Join(t.TempDir(), "targets.yaml")
				if err := os.WriteFile(local, []byte(m.ConfigMap.Data["targets.yaml"]), 0o600); err != nil {
					t.Fatal(err)
				}
				env[config.EnvConfigFile] = local
			}
			if err := config.FromEnv(func(k string) string { return env[k] }).Validate(); err != nil {
				t.Errorf("config.Validate of the rendered environment: %v", err)
			}
		})
	}
}

// mustValuesWithout writes the values file with the top-level keys removed
// (helm's own merging cannot remove a key a file adds) and returns its path.
func mustValuesWithout(tb testing.TB, file string, keys ...string) string {
	tb.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		tb.Fatal(err)
	}
	var values map[string]any
	if err := yaml.Unmarshal(data, &values); err != nil {
		tb.Fatalf("%s: %v", file, err)
	}
	for _, k := range keys {
		delete(values, k)
	}
	out, err := yaml.Marshal(values)
	if err != nil {
		tb.Fatal(err)
	}
	return mustValuesFile(tb, string(out))
}

// TestDocsNameEveryValue checks that docs/operate/kubernetes.md's values
// table names every value the schema allows (in backticks), so that a new
// value cannot land undocumented. The schema in turn holds values.yaml to
// its keys: helm lint fails on a key it does not list.
func TestDocsNameEveryValue(t *testing.T) {
	doc, err := os.ReadFile("../../docs/operate/kubernetes.md")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(chartDir, "values.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var schema schemaNode
	if err := json.Unmarshal(data, &schema); err != nil {
		t.Fatalf("values.schema.json: %v", err)
	}
	paths := schema.paths("")
	if len(paths) < 40 {
		t.Fatalf("the schema lists %d values: %q", len(paths), paths)
	}
	for _, p := range paths {
		if p == "global" { // Helm's, not the chart's
			continue
		}
		if !bytes.Contains(doc, []byte("`"+p+"`")) {
			t.Errorf("docs/operate/kubernetes.md does not name the value `%s`", p)
		}
	}
}

// schemaNode is the part of a JSON schema that names values.
type schemaNode struct {
	Properties           map[string]schemaNode `json:"properties"`
	AdditionalProperties any                   `json:"additionalProperties"`
}

// paths lists the dotted paths of the values under n: a fixed set of
// properties (additionalProperties false) is walked into, anything else is
// one value.
func (n schemaNode) paths(prefix string) []string {
	if n.Properties == nil || n.AdditionalProperties != false {
		return []string{prefix}
	}
	var out []string
	for name, child := range n.Properties {
		p := name
		if prefix != "" {
			p = prefix + "." + name
		}
		out = append(out, child.paths(p)...)
	}
	slices.Sort(out)
	return out
}
