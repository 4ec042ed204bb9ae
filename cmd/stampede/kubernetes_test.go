package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"stampede/workloads"
)

// No cluster runs where the tests do: these tests decode deploy/kubernetes strictly into the
// Kubernetes API types, follow its kustomizations, and check the manifests against what
// stampede reads: every stampede command line's subcommand and flags, the shard argument built
// from the Job's completion index, and the scenario files the image carries.

var kubeDir = filepath.Join("..", "..", "deploy", "kubernetes")

// imageScenarios is where the Dockerfile puts the repository's scenarios/ in the image.
const imageScenarios = "/usr/share/stampede/scenarios"

// completionIndexAnnotation is the pod annotation that holds an Indexed Job's completion index.
const completionIndexAnnotation = "metadata.annotations['batch.kubernetes.io/job-completion-index']"

// kustomization is the part of kustomize's Kustomization the manifests use; anything else in
// a kustomization.yaml fails the strict decoding, so that the test keeps up with the files.
type kustomization struct {
	APIVersion         string      `json:"apiVersion"`
	Kind               string      `json:"kind"`
	Resources          []string    `json:"resources"`
	ConfigMapGenerator []generator `json:"configMapGenerator"`
	// SecretGenerator makes secrets the same way (the admin token); the test keeps their data
	// with the config maps', as the kubelet's env resolution sees them alike.
	SecretGenerator []generator `json:"secretGenerator"`
	Images          []struct {
		Name    string `json:"name"`
		NewName string `json:"newName"`
		NewTag  string `json:"newTag"`
	} `json:"images"`
}

// generator is a kustomize configMapGenerator or secretGenerator entry.
type generator struct {
	Name     string   `json:"name"`
	Envs     []string `json:"envs"`
	Literals []string `json:"literals"`
}

// manifests are the objects a kustomization builds, by name, and the config maps it generates.
type manifests struct {
	files       []string // every file read, kustomizations included
	deployments map[string]*appsv1.Deployment
	services    map[string]*corev1.Service
	jobs        map[string]*batchv1.Job
	claims      map[string]*corev1.PersistentVolumeClaim
	configMaps  map[string]map[string]string
	images      map[string]string // image name -> what kustomize makes of it
}

func loadManifests(t *testing.T, dir string) *manifests {
	t.Helper()
	m := &manifests{deployments: map[string]*appsv1.Deployment{}, services: map[string]*corev1.Service{},
		jobs: map[string]*batchv1.Job{}, claims: map[string]*corev1.PersistentVolumeClaim{},
		configMaps: map[string]map[string]string{}, images: map[string]string{}}
	m.kustomize(t, dir)
	return m
}

// kustomize reads dir's kustomization.yaml and every resource it names, directories first
// through their own kustomization.
func (m *manifests) kustomize(t *testing.T, dir string) {
	t.Helper()
	path := filepath.Join(dir, "kustomization.yaml")
	var k kustomization
	m.decode(t, path, &k)
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		t.Errorf("%s: %s %s, want kustomize.config.k8s.io/v1beta1 Kustomization", path, k.APIVersion, k.Kind)
	}
	for _, r := range k.Resources {
		p := filepath.Join(dir, r)
		st, err := os.Stat(p)
		if err != nil {
			t.Errorf("%s: resource %s: %v", path, r, err)
			continue
		}
		if st.IsDir() {
			m.kustomize(t, p)
		} else {
			m.objects(t, p)
		}
	}
	for _, g := range append(k.ConfigMapGenerator, k.SecretGenerator...) {
		data := map[string]string{}
		var pairs []string
		for _, env := range g.Envs {
			envPath := filepath.Join(dir, env)
			m.files = append(m.files, envPath)
			pairs = append(pairs, envLines(t, envPath)...)
		}
		for _, kv := range append(pairs, g.Literals...) {
			key, value, ok := strings.Cut(kv, "=")
			if !ok {
				t.Errorf("%s: config map %s: %q is not KEY=VALUE", path, g.Name, kv)
				continue
			}
			if _, dup := data[key]; dup {
				t.Errorf("%s: config map %s: %s given twice", path, g.Name, key)
			}
			data[key] = value
		}
		m.configMaps[g.Name] = data
	}
	for _, img := range k.Images {
		m.images[img.Name] = img.NewName + ":" + img.NewTag
	}
}

// envLines reads a kustomize env file: KEY=VALUE lines, # comments and blank lines skipped.
func envLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func (m *manifests) decode(t *testing.T, path string, into any) {
	t.Helper()
	m.files = append(m.files, path)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(b, into); err != nil {
		t.Errorf("%s: %v", path, err)
	}
}

// objects decodes every document of a manifest file strictly into its API type.
func (m *manifests) objects(t *testing.T, path string) {
	t.Helper()
	m.files = append(m.files, path)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(b), -1) {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			t.Errorf("%s document %d: %v", path, i, err)
			continue
		}
		where := fmt.Sprintf("%s document %d (%s %s)", path, i, tm.APIVersion, tm.Kind)
		switch tm.APIVersion + " " + tm.Kind {
		case "apps/v1 Deployment":
			decodeObject(t, where, doc, m.deployments, func(d *appsv1.Deployment) string { return d.Name })
		case "v1 Service":
			decodeObject(t, where, doc, m.services, func(s *corev1.Service) string { return s.Name })
		case "batch/v1 Job":
			decodeObject(t, where, doc, m.jobs, func(j *batchv1.Job) string { return j.Name })
		case "v1 PersistentVolumeClaim":
			decodeObject(t, where, doc, m.claims, func(c *corev1.PersistentVolumeClaim) string { return c.Name })
		default:
			t.Errorf("%s: a kind this test does not check", where)
		}
	}
}

// decodeObject decodes doc strictly into a T and keeps it under its name.
func decodeObject[T any](t *testing.T, where, doc string, into map[string]*T, name func(*T) string) {
	t.Helper()
	obj := new(T)
	if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
		t.Errorf("%s: %v", where, err)
		return
	}
	into[name(obj)] = obj
}

// podSpecs are the pod templates of the Deployments and Jobs, by "Kind/name".
func (m *manifests) podSpecs() map[string]*corev1.PodTemplateSpec {
	out := map[string]*corev1.PodTemplateSpec{}
	for n, d := range m.deployments {
		out["Deployment/"+n] = &d.Spec.Template
	}
	for n, j := range m.jobs {
		out["Job/"+n] = &j.Spec.Template
	}
	return out
}

// env resolves a container's environment as the kubelet would: literal values, config map
// keys and, for the completion index, a placeholder the caller replaces.
func (m *manifests) env(t *testing.T, where string, c *corev1.Container) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		if from.ConfigMapRef == nil {
			t.Errorf("%s: envFrom %+v: only config maps are checked", where, from)
			continue
		}
		data, ok := m.configMaps[from.ConfigMapRef.Name]
		if !ok {
			t.Errorf("%s: envFrom config map %s is not generated", where, from.ConfigMapRef.Name)
		}
		for k, v := range data {
			env[k] = v
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.ConfigMapKeyRef != nil || e.ValueFrom.SecretKeyRef != nil:
			name, key := "", ""
			if ref := e.ValueFrom.ConfigMapKeyRef; ref != nil {
				name, key = ref.Name, ref.Key
			} else {
				name, key = e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key
			}
			v, ok := m.configMaps[name][key]
			if !ok {
				t.Errorf("%s: env %s: config map or secret %s has no key %s", where, e.Name, name, key)
			}
			env[e.Name] = v
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == completionIndexAnnotation:
			env[e.Name] = "$(" + e.Name + ")" // left for the caller, one value per index
		default:
			t.Errorf("%s: env %s: a source this test does not resolve (%+v)", where, e.Name, e.ValueFrom)
		}
	}
	return env
}

var envRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// expand replaces $(VAR) by its value, as the kubelet does in command and args; an unknown
// reference stays as written.
func expand(s string, env map[string]string) string {
	return envRef.ReplaceAllStringFunc(s, func(ref string) string {
		if v, ok := env[ref[2:len(ref)-1]]; ok {
			return v
		}
		return ref
	})
}

// flagValue returns the value of --name in args, and whether it is there.
func flagValue(args []string, name string) (string, bool) {
	for i, a := range args {
		if a == "--"+name && i+1 < len(args) {
			return args[i+1], true
		}
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// stampedeCommandLines returns the stampede command lines a container runs: its args when it
// runs the image's entrypoint (stampede), or the stampede calls of its shell script.
func stampedeCommandLines(c *corev1.Container) [][]string {
	switch {
	case len(c.Command) == 0:
		return [][]string{c.Args}
	case len(c.Command) == 3 && c.Command[0] == "/bin/sh" && c.Command[1] == "-c":
		return stampedeCalls(c.Command[2])
	case filepath.Base(c.Command[0]) == "stampede":
		return [][]string{append(slices.Clone(c.Command[1:]), c.Args...)}
	}
	return nil
}

func isStampede(image string) bool {
	return image == "stampede" || strings.HasPrefix(image, "stampede:")
}

func TestKubernetesManifests(t *testing.T) {
	m := loadManifests(t, kubeDir)

	// Every file under deploy/kubernetes is part of the build.
	err := filepath.WalkDir(kubeDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !slices.Contains(m.files, p) {
			t.Errorf("%s is not named by any kustomization", p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if img := m.images["stampede"]; img == "" {
		t.Error("kustomization.yaml: no images entry for stampede, the image every stampede container names")
	}

	fl := newFlagSets(t)
	for where, pod := range m.podSpecs() {
		t.Run(where, func(t *testing.T) {
			containers := append(slices.Clone(pod.Spec.InitContainers), pod.Spec.Containers...)
			if len(containers) == 0 {
				t.Fatal("no containers")
			}
			for i := range containers {
				c := &containers[i]
				for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
					req, lim := c.Resources.Requests[res], c.Resources.Limits[res]
					if req.IsZero() || lim.IsZero() || req.Cmp(lim) > 0 {
						t.Errorf("container %s: %s request %s limit %s, want both set, the request within the limit", c.Name, res, req.String(), lim.String())
					}
				}
				if !isStampede(c.Image) {
					continue
				}
				env := m.env(t, where+" container "+c.Name, c)
				lines := stampedeCommandLines(c)
				if len(lines) == 0 {
					t.Errorf("container %s runs the stampede image but no stampede command line (command %q)", c.Name, c.Command)
				}
				for _, args := range lines {
					for _, p := range fl.check(args) {
						t.Errorf("container %s: %s", c.Name, p)
					}
					if len(args) > 1 && args[0] == "drive" && !strings.HasPrefix(args[1], "-") && args[1] != "merge" && args[1] != "plan" {
						checkImageScenario(t, expand(args[1], env))
					}
				}
				// The environment of serve and psp are their flags (STAMPEDE_<FLAG>).
				if len(lines) == 1 && len(lines[0]) > 0 {
					prefix := map[string]string{"serve": "STAMPEDE_", "psp": "STAMPEDE_PSP_"}[lines[0][0]]
					for _, e := range c.Env {
						if prefix != "" && !fl.has(lines[0][0], envFlag(e.Name, prefix)) {
							t.Errorf("container %s: env %s names no flag of stampede %s", c.Name, e.Name, lines[0][0])
						}
					}
				}
			}
		})
	}

	for name, s := range m.services {
		var target *appsv1.Deployment
		for _, d := range m.deployments {
			if matches(s.Spec.Selector, d.Spec.Template.Labels) {
				target = d
			}
		}
		if target == nil {
			t.Errorf("Service %s selects %v: no Deployment's pods", name, s.Spec.Selector)
			continue
		}
		for _, p := range s.Spec.Ports {
			if !containerPort(target, p.TargetPort.String(), p.TargetPort.IntValue()) {
				t.Errorf("Service %s port %d targets %s, which Deployment %s does not expose", name, p.Port, p.TargetPort.String(), target.Name)
			}
		}
	}
}

// checkImageScenario checks that a scenario path in the image is one of the repository's
// scenarios, which the Dockerfile copies there, and that it loads.
func checkImageScenario(t *testing.T, path string) *workloads.Scenario {
	t.Helper()
	rel, ok := strings.CutPrefix(path, imageScenarios+"/")
	if !ok {
		t.Errorf("scenario %s is not under %s, where the image has the scenarios", path, imageScenarios)
		return nil
	}
	sc, err := workloads.Load(filepath.Join("..", "..", "scenarios", rel))
	if err != nil {
		t.Errorf("scenario %s: %v", path, err)
	}
	return sc
}

func matches(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func containerPort(d *appsv1.Deployment, name string, number int) bool {
	for _, c := range d.Spec.Template.Spec.Containers {
		for _, p := range c.Ports {
			if p.Name == name || int(p.ContainerPort) == number {
				return true
			}
		}
	}
	return false
}

// TestKubernetesShards checks the sharded herd: an Indexed Job whose pods each run one shard,
// the completion index as the shard, every shard starting at the same instant and writing its
// history to its own directory of the shared volume, which the report Job reads.
func TestKubernetesShards(t *testing.T) {
	m := loadManifests(t, kubeDir)
	var herd *batchv1.Job
	for _, j := range m.jobs {
		if j.Spec.CompletionMode != nil && *j.Spec.CompletionMode == batchv1.IndexedCompletion {
			if herd != nil {
				t.Fatalf("two Indexed Jobs, %s and %s", herd.Name, j.Name)
			}
			herd = j
		}
	}
	if herd == nil {
		t.Fatal("no Job with completionMode Indexed")
	}
	if herd.Spec.Completions == nil || herd.Spec.Parallelism == nil || *herd.Spec.Completions != *herd.Spec.Parallelism || *herd.Spec.Completions < 1 {
		t.Fatalf("Job %s: completions %v, parallelism %v; want equal, every shard at once", herd.Name, herd.Spec.Completions, herd.Spec.Parallelism)
	}
	n := int(*herd.Spec.Completions)
	if herd.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever || herd.Spec.BackoffLimit == nil || *herd.Spec.BackoffLimit != 0 {
		t.Errorf("Job %s: restartPolicy %s, backoffLimit %v; want Never and 0: a shard started again would be late and overwrite its history",
			herd.Name, herd.Spec.Template.Spec.RestartPolicy, herd.Spec.BackoffLimit)
	}
	if len(herd.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("Job %s: %d containers, want the driver alone", herd.Name, len(herd.Spec.Template.Spec.Containers))
	}
	c := &herd.Spec.Template.Spec.Containers[0]
	env := m.env(t, "Job/"+herd.Name, c)
	if env["JOB_COMPLETION_INDEX"] != "$(JOB_COMPLETION_INDEX)" {
		t.Errorf("env JOB_COMPLETION_INDEX is not the pod's completion index (%s)", completionIndexAnnotation)
	}
	lines := stampedeCommandLines(c)
	if len(lines) != 1 || len(lines[0]) < 2 || lines[0][0] != "drive" {
		t.Fatalf("the herd runs %q, want one stampede drive", lines)
	}
	args := lines[0]
	dataMount := mountOf(t, m, &herd.Spec.Template.Spec, c)

	outs := map[string]bool{}
	for i := 0; i < n; i++ {
		env["JOB_COMPLETION_INDEX"] = strconv.Itoa(i)
		shard, ok := flagValue(args, "shard")
		if !ok {
			t.Fatalf("the herd's drive has no --shard: %q", args)
		}
		sh, err := workloads.ParseShard(expand(shard, env))
		if err != nil || sh.Index != i || sh.Count != n {
			t.Errorf("pod of completion index %d: --shard %s is %q = %+v (%v), want shard %d/%d", i, shard, expand(shard, env), sh, err, i, n)
		}
		out, _ := flagValue(args, "out")
		out = expand(out, env)
		if !strings.HasPrefix(out, dataMount+"/") || strings.Contains(out, "$(") {
			t.Errorf("pod %d: --out %s, want a directory of the shared volume at %s with every reference resolved", i, out, dataMount)
		}
		outs[out] = true
	}
	if len(outs) != n {
		t.Errorf("the %d shards write to %d directories %v, want one each", n, len(outs), outs)
	}
	startAt, ok := flagValue(args, "start-at")
	if !ok {
		t.Fatal("the herd's drive has no --start-at: the shards would not line up")
	}
	if _, err := time.Parse(time.RFC3339, expand(startAt, env)); err != nil {
		t.Errorf("--start-at %s = %q: %v", startAt, expand(startAt, env), err)
	}
	if _, ok := flagValue(args, "metrics-addr"); !ok {
		t.Error("the herd's drive serves no metrics (--metrics-addr)")
	}

	// What the herd drives: the scenario of the image, its events and its target.
	sc := checkImageScenario(t, expand(args[1], env))
	cfg := herdConfig(t, m, c)
	if sc != nil && cfg["EVENTS"] != strings.Join(sc.EventIDs(), " ") {
		t.Errorf("EVENTS %q, want the events of %s: %q", cfg["EVENTS"], cfg["SCENARIO"], strings.Join(sc.EventIDs(), " "))
	}
	if got, _ := strconv.Atoi(cfg["SHARDS"]); got != n {
		t.Errorf("SHARDS %q, want the herd Job's completions %d", cfg["SHARDS"], n)
	}
	for _, key := range []string{"TARGET", "PSP"} {
		if u := cfg[key]; u != "" && !servedBy(m, u) {
			t.Errorf("%s %s is no Service of the reference stack", key, u)
		}
	}

	// The report: another Job, on the same volume, that merges and checks.
	var report *batchv1.Job
	for _, j := range m.jobs {
		if j != herd {
			report = j
		}
	}
	if report == nil {
		t.Fatal("no report Job beside the herd")
	}
	rc := &report.Spec.Template.Spec.Containers[0]
	var subs []string
	for _, l := range stampedeCommandLines(rc) {
		subs = append(subs, strings.Join(l[:min(2, len(l))], " "))
	}
	if !slices.Contains(subs, "drive merge") || !slices.ContainsFunc(subs, func(s string) bool { return strings.HasPrefix(s, "check ") }) {
		t.Errorf("the report runs %q, want stampede drive merge and stampede check", subs)
	}
	// One verdict over the whole herd: the merge combines the shards' summaries and judges the
	// SLOs of the herd's own scenario over every shard's samples.
	for _, l := range stampedeCommandLines(rc) {
		if len(l) < 2 || l[0] != "drive" || l[1] != "merge" {
			continue
		}
		if v, ok := flagValue(l, "scenario"); !ok || !strings.Contains(v, imageScenarios+"/$SCENARIO") {
			t.Errorf("the report's drive merge has --scenario %q (%v), want the herd's scenario %s/$SCENARIO: the SLOs would not be judged over the whole herd", v, ok, imageScenarios)
		}
	}
	if claim(&report.Spec.Template.Spec) != claim(&herd.Spec.Template.Spec) || mountOf(t, m, &report.Spec.Template.Spec, rc) != dataMount {
		t.Errorf("the report reads claim %s at %s, the herd writes claim %s at %s", claim(&report.Spec.Template.Spec),
			mountOf(t, m, &report.Spec.Template.Spec, rc), claim(&herd.Spec.Template.Spec), dataMount)
	}
	script := strings.Join(rc.Command, " ")
	for _, want := range []string{"drive-summary.json", "$SHARDS", "$START_AT", `status="$slo"`} {
		if !strings.Contains(script, want) {
			t.Errorf("the report's script does not use %s: it must wait for the shards of this run", want)
		}
	}
}

// herdConfig is the config map the herd's environment comes from.
func herdConfig(t *testing.T, m *manifests, c *corev1.Container) map[string]string {
	t.Helper()
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil {
			return m.configMaps[e.ValueFrom.ConfigMapKeyRef.Name]
		}
	}
	t.Fatal("the herd's environment names no config map")
	return nil
}

// claim is the persistent volume claim a pod mounts, "" when none.
func claim(pod *corev1.PodSpec) string {
	for _, v := range pod.Volumes {
		if v.PersistentVolumeClaim != nil {
			return v.PersistentVolumeClaim.ClaimName
		}
	}
	return ""
}

// mountOf is where container c mounts the pod's persistent volume claim, which must exist and
// be writable from several nodes at once.
func mountOf(t *testing.T, m *manifests, pod *corev1.PodSpec, c *corev1.Container) string {
	t.Helper()
	name := claim(pod)
	pvc, ok := m.claims[name]
	if !ok {
		t.Fatalf("container %s: claim %q is not among the manifests", c.Name, name)
	}
	if !slices.Contains(pvc.Spec.AccessModes, corev1.ReadWriteMany) {
		t.Errorf("claim %s access modes %v, want ReadWriteMany: the shards run on several nodes", name, pvc.Spec.AccessModes)
	}
	for _, v := range pod.Volumes {
		if v.PersistentVolumeClaim == nil {
			continue
		}
		for _, vm := range c.VolumeMounts {
			if vm.Name == v.Name {
				return vm.MountPath
			}
		}
	}
	t.Fatalf("container %s does not mount claim %s", c.Name, name)
	return ""
}

// servedBy reports whether u is http://SERVICE:PORT of one of the Services.
func servedBy(m *manifests, u string) bool {
	for name, s := range m.services {
		for _, p := range s.Spec.Ports {
			if u == fmt.Sprintf("http://%s:%d", name, p.Port) {
				return true
			}
		}
	}
	return false
}

// TestNestedCommandFlags: the flag check knows `stampede drive merge` and `drive plan` as
// subcommands with flags of their own.
func TestNestedCommandFlags(t *testing.T) {
	fl := newFlagSets(t)
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"drive", "merge", "--clock-skew", "5ms", "--out", "m.jsonl", "a.jsonl"}, nil},
		{[]string{"drive", "plan", "s.yaml", "--users", "3"}, nil},
		{[]string{"drive", "merge", "--shard", "0/2"}, []string{"stampede drive merge: no flag --shard"}},
		{[]string{"drive", "s.yaml", "--shard", "0/2", "--clock-skew", "5ms"}, []string{"stampede drive: no flag --clock-skew"}},
	}
	for _, tt := range tests {
		if got := fl.check(tt.args); !slices.Equal(got, tt.want) {
			t.Errorf("check(%q) = %q, want %q", tt.args, got, tt.want)
		}
	}
}

// has reports whether stampede sub registers flag name.
func (f *flagSets) has(sub, name string) bool {
	_, ok := f.of(sub)[name]
	return ok
}

// envFlag turns STAMPEDE_HOLD_TTL (with prefix STAMPEDE_) into hold-ttl.
func envFlag(key, prefix string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(key, prefix)), "_", "-")
}
