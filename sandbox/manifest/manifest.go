// Package manifest reads the YAML files that `podbox up` runs: Pods and
// the workloads that make pods, and the ConfigMaps, Secrets, Services and
// PersistentVolumeClaims next to them, as the Kubernetes types
// (k8s.io/api/...), so that the same file goes unchanged to a cluster with
// `kubectl apply -f`.
//
// Decisions:
//
//   - A file holds any number of YAML documents (`---`); each is a Pod,
//     ConfigMap, Secret, Service or PersistentVolumeClaim (v1), a
//     Deployment, ReplicaSet, StatefulSet or DaemonSet (apps/v1), or a Job
//     or CronJob (batch/v1). Other kinds are an error, empty documents are
//     skipped.
//   - Workloads are expanded here, at load, into the pods their
//     controllers would make (expand.go), so that everything downstream
//     sees only pods (File.Pods): checked, defaulted and warned about as a
//     Pod, with the template's paths in messages
//     (`web.yaml:15: spec.template.spec.containers[0].image: required`).
//     A cluster of one node: a Deployment or ReplicaSet makes its
//     replicas (default 1), a DaemonSet one pod, a StatefulSet its
//     ordinals from spec.ordinals.start.
//   - Pod names have the controllers' shapes but are deterministic, so
//     the same file gives the same pods (up reconciles them by name, down
//     -f finds them): a Deployment makes, as its ReplicaSet
//     `web-<hash>` would, pods `web-<hash>-<id>`, where hash is
//     TemplateHash of the pod template (a changed template, new names, as
//     a rollout) and id 5 characters of the controllers' alphabet derived
//     from (ReplicaSet, replica index); a ReplicaSet `rs-<id>`; a
//     DaemonSet `ds-<id>`; a StatefulSet `db-0`, `db-1` with host name the
//     pod's name and subdomain spec.serviceName; a Job `job-<id>` from
//     (job, index, attempt), Indexed `job-<index>-<id>` (JobPod). Each pod
//     has its controller's ownerReference (a Deployment's pods belong to
//     the ReplicaSet, as on a cluster: `Controlled By:
//     ReplicaSet/web-<hash>`), its UID derived from the owner's namespace,
//     kind and name; and the labels the controller sets
//     (pod-template-hash; controller-revision-hash,
//     statefulset.kubernetes.io/pod-name, apps.kubernetes.io/pod-index;
//     batch.kubernetes.io/job-name, job-name, controller-uid,
//     batch.kubernetes.io/job-completion-index).
//   - The workload's own fields are checked as the API server does: a
//     selector is required (apps/v1) and must match the template's labels
//     (its words: "`selector` does not match template `labels`"); a
//     Deployment's, ReplicaSet's, StatefulSet's or DaemonSet's pods restart
//     Always, a Job's Never or OnFailure (required, no default); a Job's
//     selector is the API server's unless manualSelector. A field podbox
//     does not honour is warned about like a Pod's (kinds.go): strategy
//     and updateStrategy (up replaces all the pods at once, as Recreate),
//     podManagementPolicy (the pods start together, as Parallel),
//     minReadySeconds, paused; revisionHistoryLimit and
//     progressDeadlineSeconds are accepted without a word (no rollout
//     history, no progress to report).
//   - Replicas > 1 with a hostPort are refused at load, naming the
//     workload and the port: all the pods run on this one machine, where
//     only one of them could have the port.
//   - Jobs and CronJobs stay as they are (File.Jobs, File.CronJobs), their
//     template checked as the pod JobPod makes; the Job controller (package
//     sandbox) runs them. `up` refuses a CronJob, naming its file and line
//     and how to make it a Job (RefuseCronJobs says why: no scheduler).
//   - A StatefulSet's volumeClaimTemplates give each pod its claim
//     `<template>-<pod>` (File.Claims), in place of the template's volume
//     of that name, as the controller does. A PersistentVolumeClaim is
//     checked as the API server requires it (accessModes, a storage
//     request) and refused as volumeMode Block; its size is not enforced
//     (a directory has none).
//   - Services are read and checked (File.Services); their defaults
//     filled (type ClusterIP, protocol TCP, targetPort = port). A
//     ClusterIP Service means nothing without a cluster network and is
//     accepted without a word; NodePort and LoadBalancer ones are
//     published on 127.0.0.1 by `up` (package sandbox, services.go).
//   - Several files load together as `kubectl apply -f a -f b` does (Load):
//     a directory stands for its *.yaml, *.yml and *.json files in name
//     order, not recursing; each file is bounded and reported on by its
//     own name, and the pods of any file see the ConfigMaps and Secrets of
//     all (of two with the same name, the last, as apply leaves it).
//   - An unknown field is an error naming its path and line
//     (`pod.yaml:9: spec.containers[1].imagePullPolcy: unknown field`), as
//     `kubectl apply --validate=strict` does; a value of the wrong type is an
//     error too (`must be a string`), where sigs.k8s.io/yaml would lose the
//     line. The line comes from walking the go.yaml.in/yaml/v3 node tree of
//     the document against the Go type, field by field, with the json names.
//   - A field Kubernetes knows but podbox does not implement yet
//     (hostNetwork, tty, …) is a warning naming it (`…: not supported yet,
//     ignored`), never silence, and File.Ignored lists them so that `up
//     --strict` refuses them; see supported.go for the list of what podbox
//     honours, accepts without effect (scheduling, resources: notes say
//     why) or refuses some values of. `podbox explain FIELD` and the table
//     FIELDS.md are generated from that list over the whole corev1.Pod
//     type (explain.go), so a field the API adds shows up as ignored.
//     Fields left at their zero value (`resources: {}`, `hostNetwork:
//     false`) mean the default and are not reported.
//   - Validation covers what podbox relies on (names, images, ports, volume
//     references, enum values) with the API server's messages where it has
//     one, and defaults are filled as the API server does: namespace
//     "default", restartPolicy Always, terminationGracePeriodSeconds 30,
//     imagePullPolicy Always for `:latest` or no tag else IfNotPresent,
//     port protocol TCP.
//   - What env, envFrom and configMap, secret and projected volumes take
//     from ConfigMaps and Secrets is checked at load (refs.go), so a
//     missing object or key that is not optional is an error naming the
//     field, its file and line, worded alike for env and volumes (`Secret
//     "db" not found in pod.yaml`, `key "x" not found in ConfigMap "app"`)
//     where the kubelet would fail the container or the mount. The pods
//     keep their references: the values are read when the pod is prepared
//     (image.ProcessFor, mounts.Setup), so `get pod` shows the spec as
//     written and no secret value is copied into the pod's files. fieldRef
//     paths and resourceFieldRef resources are checked against the lists
//     the API server allows (package downward).
//   - A manifest is bounded as the API server bounds a request (limits.go):
//     at most 3 MiB read (a longer file or stream is refused without being
//     read to its end), annotations at most 256 KiB per object, and YAML
//     aliases may not expand the file past twice the size cap. The
//     expansion is measured on the node tree, each anchored node once,
//     before anything follows an alias, so a "billion laughs" file costs
//     what its bytes cost; an alias that contains itself is an error too.
//   - A key given twice in one mapping is an error naming both lines
//     (`pod.yaml:7: spec.containers[0].image: duplicate key (first at line
//     5)`), as the API server's strict decoding refuses it; keys brought in
//     by a merge key (<<) may be overridden, as YAML defines.
//   - Path "-" is standard input, as with `kubectl apply -f -`; messages
//     name it `<stdin>`.
//   - podbox.io/restart-on-change (restartonchange.go) is checked at load
//     as a field: a comma-separated list of the pod's app containers
//     (spaces around a name allowed, a name twice counted once), each
//     mounting a hostPath volume; an unknown name, an init container or a
//     container without a hostPath mount is an error at the annotation's
//     line, listing the pod's containers. Init containers are refused: they
//     run to completion before the app starts, there is nothing to restart.
package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// File is what one manifest file, or several given together, holds.
type File struct {
	Path string // the file's name; of several, their names joined with ", "
	// Pods are the Pods of the files and those of their Deployments,
	// ReplicaSets, StatefulSets and DaemonSets (expand.go), checked and
	// defaulted alike.
	Pods       []*corev1.Pod
	Jobs       []*batchv1.Job     // their pods: JobPod
	CronJobs   []*batchv1.CronJob // their job template checked as a Job's
	Services   []*corev1.Service
	Claims     []*corev1.PersistentVolumeClaim // those of the files and of StatefulSets' volumeClaimTemplates
	ConfigMaps []*corev1.ConfigMap
	Secrets    []*corev1.Secret
	Warnings   []string // "pod.yaml:12: spec.containers[0].livenessProbe: not supported yet, ignored"
	Ignored    []*Error // the fields podbox ignores, among Warnings: what `up --strict` refuses

	lines     map[*corev1.Pod]map[string]int // field path → line, for validation messages
	files     map[*corev1.Pod]string         // the file each pod came from
	prefix    map[*corev1.Pod]string         // a workload's pod: the path of its template plus "."
	src       map[any]source                 // Jobs and CronJobs
	workloads int                            // Deployments, ReplicaSets, StatefulSets, DaemonSets
}

// Error is a problem at one place of a manifest file.
type Error struct {
	File  string
	Line  int    // 0: unknown
	Field string // field path, "spec.containers[1].image"; "" for the whole document
	Msg   string
}

func (e *Error) Error() string {
	s := e.File
	if e.Line > 0 {
		s += fmt.Sprintf(":%d", e.Line)
	}
	if e.Field != "" {
		s += ": " + e.Field
	}
	return s + ": " + e.Msg
}

// Load reads one or more manifest files of Pods, workloads, ConfigMaps,
// Secrets, Services and PersistentVolumeClaims, as `kubectl apply -f`
// takes them: a directory stands for its *.yaml,
// *.yml and *.json files in name order (not its subdirectories), Stdin
// ("-") for standard input, named "<stdin>" in messages. It checks the
// pods, their references to the ConfigMaps and Secrets of all the files,
// and fills the defaults. The first problem found is returned as an
// *Error; warnings about fields podbox ignores are in File.Warnings.
func Load(paths ...string) (*File, error) { return load(paths, true) }

// LoadPods is Load without checking the pods' references to ConfigMaps and
// Secrets: for what needs only the pods' names and claims (down -f); a
// file of PersistentVolumeClaims alone is no error here.
func LoadPods(paths ...string) (*File, error) { return load(paths, false) }

func load(paths []string, refs bool) (*File, error) {
	all := newFile("")
	var names []string
	stdin := false
	for _, path := range paths {
		files, err := expandPath(path)
		if err != nil {
			return nil, err
		}
		for _, name := range files {
			if name == Stdin {
				if stdin {
					return nil, fmt.Errorf("reading manifest: standard input (-) given twice")
				}
				stdin = true
			}
			f, err := loadOne(name)
			if err != nil {
				return nil, err
			}
			names = append(names, f.Path)
			all.merge(f)
		}
	}
	all.Path = strings.Join(names, ", ")
	// down -f of a file of claims alone removes them (--volumes).
	if all.empty() && (refs || len(all.Claims) == 0) {
		if len(names) == 1 {
			return nil, &Error{File: all.Path, Msg: "no Pod in the file"}
		}
		return nil, &Error{File: all.Path, Msg: "no Pod in the files"}
	}
	if err := all.validate(refs); err != nil {
		return nil, err
	}
	return all, nil
}

// expandPath is path, or the manifest files of directory path in name order.
func expandPath(path string) ([]string, error) {
	if path == Stdin {
		return []string{path}, nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("reading manifest: %w", err)
	}
	if !fi.IsDir() {
		return []string{path}, nil
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("reading manifest directory: %w", err)
	}
	var out []string
	for _, e := range ents { // ReadDir sorts by name
		switch filepath.Ext(e.Name()) {
		case ".yaml", ".yml", ".json":
			if !e.IsDir() {
				out = append(out, filepath.Join(path, e.Name()))
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("reading manifest directory %s: no .yaml, .yml or .json file in it", path)
	}
	return out, nil
}

// loadOne reads and decodes one file, without checking it.
func loadOne(path string) (*File, error) {
	name, r := path, io.Reader(os.Stdin)
	if path == Stdin {
		name = stdinName
	} else {
		fh, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("reading manifest: %w", err)
		}
		defer fh.Close()
		r = fh
	}
	// One byte more than the cap tells a file at the cap from a larger one,
	// without reading an endless one (/dev/zero, a pipe) to its end.
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading manifest %s: %w", name, err)
	}
	return decode(name, data)
}

func newFile(path string) *File {
	return &File{Path: path, lines: map[*corev1.Pod]map[string]int{}, files: map[*corev1.Pod]string{},
		prefix: map[*corev1.Pod]string{}, src: map[any]source{}}
}

// empty reports whether f has nothing to run: no Pod, workload or Job
// (a Deployment of 0 replicas is something).
func (f *File) empty() bool {
	return len(f.Pods) == 0 && f.workloads == 0 && len(f.Jobs) == 0 && len(f.CronJobs) == 0
}

// merge adds what g holds to f.
func (f *File) merge(g *File) {
	f.Pods = append(f.Pods, g.Pods...)
	f.Jobs = append(f.Jobs, g.Jobs...)
	f.CronJobs = append(f.CronJobs, g.CronJobs...)
	f.Services = append(f.Services, g.Services...)
	f.Claims = append(f.Claims, g.Claims...)
	f.workloads += g.workloads
	f.ConfigMaps = append(f.ConfigMaps, g.ConfigMaps...)
	f.Secrets = append(f.Secrets, g.Secrets...)
	f.Warnings = append(f.Warnings, g.Warnings...)
	f.Ignored = append(f.Ignored, g.Ignored...)
	for p, l := range g.lines {
		f.lines[p] = l
	}
	for p, n := range g.files {
		f.files[p] = n
	}
	for p, n := range g.prefix {
		f.prefix[p] = n
	}
	for o, s := range g.src {
		f.src[o] = s
	}
}

// Parse is Load of one file already read; path names the file in messages.
func Parse(path string, data []byte) (*File, error) {
	f, err := decode(path, data)
	if err != nil {
		return nil, err
	}
	if f.empty() {
		return nil, &Error{File: path, Msg: "no Pod in the file"}
	}
	if err := f.validate(true); err != nil {
		return nil, err
	}
	return f, nil
}

// decode reads the documents of one file, without checking them.
func decode(path string, data []byte) (*File, error) {
	if len(data) > MaxFileSize {
		return nil, &Error{File: path, Msg: fmt.Sprintf("larger than %d MiB, the largest request the API server accepts: split it into several files", MaxFileSize>>20)}
	}
	f := newFile(path)
	x := &expansion{file: path}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for n := 0; ; n++ {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, &Error{File: path, Line: yamlErrLine(err), Msg: "invalid YAML: " + trimYAMLErr(err)}
		}
		if err := x.add(&doc); err != nil {
			return nil, err
		}
		if err := f.addDocument(&doc); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// addDocument decodes one YAML document into its Kubernetes type.
func (f *File) addDocument(doc *yaml.Node) error {
	root := doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil
		}
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return nil // an empty document, e.g. after a trailing ---
	}
	if root.Kind != yaml.MappingNode {
		return &Error{File: f.Path, Line: root.Line, Msg: "a document must be a mapping with apiVersion and kind"}
	}
	apiVersion, kind := scalarField(root, "apiVersion"), scalarField(root, "kind")
	var obj any
	var info *kindInfo
	want := "v1"
	switch kind {
	case "Pod":
		obj = &corev1.Pod{}
	case "ConfigMap":
		obj = &corev1.ConfigMap{}
	case "Secret":
		obj = &corev1.Secret{}
	case "":
		return &Error{File: f.Path, Line: root.Line, Field: "kind", Msg: "required (" + kindNames + ")"}
	default:
		if info = kinds[kind]; info == nil {
			return &Error{File: f.Path, Line: keyLine(root, "kind"), Field: "kind", Msg: fmt.Sprintf("%q is not supported: podbox runs %s", kind, kindNames)}
		}
		obj, want = info.new(), info.apiVersion
	}
	if apiVersion != want {
		return &Error{File: f.Path, Line: keyLine(root, "apiVersion"), Field: "apiVersion", Msg: fmt.Sprintf("must be %s for kind %s, got %q", want, kind, apiVersion)}
	}
	w := &walker{file: f.Path, lines: map[string]int{"": root.Line}, kind: info,
		checkSupport: kind == "Pod" || info != nil && info.podPrefix != ""}
	if err := w.walk(root, reflect.TypeOf(obj).Elem(), "", ""); err != nil {
		return err
	}
	f.Warnings = append(f.Warnings, w.warnings...)
	f.Ignored = append(f.Ignored, w.ignored...)
	js, err := json.Marshal(toPlain(root))
	if err != nil {
		return &Error{File: f.Path, Line: root.Line, Msg: err.Error()}
	}
	if err := json.Unmarshal(js, obj); err != nil {
		// The walk has checked every type; this is a backstop.
		return &Error{File: f.Path, Line: root.Line, Msg: "decoding " + kind + ": " + err.Error()}
	}
	if err := checkAnnotations(f.Path, w.lines, obj); err != nil {
		return err
	}
	switch o := obj.(type) {
	case *corev1.Pod:
		setPodDefaults(o)
		f.Pods = append(f.Pods, o)
		f.lines[o] = w.lines
		f.files[o] = f.Path
	case *corev1.ConfigMap:
		bin := make(map[string][]byte, len(o.BinaryData))
		for k, v := range o.BinaryData {
			bin[k] = v
		}
		if err := f.checkObject(w.lines, o.Name, stringKeys(o.Data), bin, "binaryData"); err != nil {
			return err
		}
		f.ConfigMaps = append(f.ConfigMaps, o)
	case *corev1.Secret:
		if err := f.checkObject(w.lines, o.Name, stringKeys(o.StringData), o.Data, "data"); err != nil {
			return err
		}
		f.Secrets = append(f.Secrets, o)
	default:
		return f.addWorkload(o, w.lines)
	}
	return nil
}

// checkObject checks a ConfigMap's or Secret's name and keys as the API
// server does: keys become file names in volumes, so none may be a path
// or start with "..". strs are the keys of data (ConfigMap) or stringData
// (Secret), other those of the field named otherField.
func (f *File) checkObject(lines map[string]int, name string, strs []string, other map[string][]byte, otherField string) error {
	v := &validator{file: f.Path, lines: lines}
	v.dns("metadata.name", name, true)
	strField := "data"
	if otherField == "data" {
		strField = "stringData"
	}
	for _, fk := range []struct {
		field string
		keys  []string
	}{{strField, strs}, {otherField, sortedKeys(other)}} {
		for _, k := range fk.keys {
			if errs := validation.IsConfigMapKey(k); len(errs) > 0 {
				v.fail(fk.field+"["+k+"]", "invalid key %q: %s", k, strings.Join(errs, "; "))
			}
		}
	}
	if otherField == "binaryData" {
		for _, k := range strs {
			if _, dup := other[k]; dup {
				v.fail("binaryData["+k+"]", "key %q is in data too", k)
			}
		}
	}
	if v.err != nil {
		return v.err
	}
	return nil
}

func stringKeys(m map[string]string) []string { return sortedKeys(m) }

func scalarField(m *yaml.Node, key string) string {
	if v := mapValue(m, key); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}

func keyLine(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i].Line
		}
	}
	return m.Line
}

func mapValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// toPlain turns a node into values encoding/json can marshal.
func toPlain(n *yaml.Node) any {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil
		}
		return toPlain(n.Content[0])
	case yaml.AliasNode:
		return toPlain(n.Alias)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.ShortTag() == "!!merge" {
				if mm, ok := toPlain(v).(map[string]any); ok {
					for kk, vv := range mm {
						if _, set := m[kk]; !set {
							m[kk] = vv
						}
					}
				}
				continue
			}
			m[k.Value] = toPlain(v)
		}
		return m
	case yaml.SequenceNode:
		s := make([]any, len(n.Content))
		for i, c := range n.Content {
			s[i] = toPlain(c)
		}
		return s
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return n.Value
	}
	return v
}

// yamlErrLine digs the line out of a yaml.v3 syntax error ("yaml: line 3: …").
func yamlErrLine(err error) int {
	var line int
	if _, e := fmt.Sscanf(err.Error(), "yaml: line %d:", &line); e == nil {
		return line
	}
	return 0
}

// trimYAMLErr drops the "yaml: line N:" prefix that Error already shows.
func trimYAMLErr(err error) string {
	s := strings.TrimPrefix(err.Error(), "yaml: ")
	if strings.HasPrefix(s, "line ") {
		if _, rest, ok := strings.Cut(s, ": "); ok {
			return rest
		}
	}
	return s
}
