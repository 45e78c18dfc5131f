package sandbox

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/podbox/podbox/image"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A finished pod marked in the foreground keeps its logs and status
// through its cleanup; ps, logs and describe find it; down's
// forgetFinished lets the next cleanup remove it whole.
func TestFinishedKept(t *testing.T) {
	scratchDirs(t)
	dirs := newPodDirs("job")
	for _, f := range []string{filepath.Join(dirs.Data, "volumes", "cache", "f"), dirs.LogPath("app"), dirs.ctlSock(), dirs.runRecord()} {
		if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "job"}, Status: corev1.PodStatus{Phase: corev1.PodSucceeded,
		ContainerStatuses: []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed"}}}}}}
	evs := []corev1.Event{{Reason: "Completed"}}
	if err := keepFinished(dirs, p, evs); err != nil {
		t.Fatal(err)
	}
	j := cleanupJob{Pod: "job", Run: dirs.Run, Data: dirs.Data}
	if code := j.run(func(func(*image.Store) error) error { return nil }); code != 0 {
		t.Fatalf("cleanup: exit code %d", code)
	}
	for path, want := range map[string]bool{
		dirs.Run: false, filepath.Join(dirs.Data, "volumes"): false, dirs.runRecord(): false,
		dirs.LogPath("app"): true, dirs.finishedFile(): true,
	} {
		if _, err := os.Stat(path); (err == nil) != want {
			t.Errorf("%s: %v, want kept %v", path, err, want)
		}
	}
	if !keptFinished("job") {
		t.Errorf("keptFinished = false")
	}
	st := probePod("job")
	if !st.exists || st.alive || st.finished == nil || st.spec == nil {
		t.Fatalf("probePod = %+v", st)
	}
	got, gotEvs, err := loadPod(t.Context(), "job", true)
	if err != nil || got.Status.Phase != corev1.PodSucceeded || len(gotEvs) != 1 {
		t.Errorf("loadPod = %v, %v, %v", got, gotEvs, err)
	}
	if w := podStatusWord(got); w != "Completed" {
		t.Errorf("STATUS %q, want Completed", w)
	}

	// down: forget the mark, then the cleanup removes it all.
	if err := forgetFinished(dirs); err != nil {
		t.Fatal(err)
	}
	if keptFinished("job") {
		t.Errorf("keptFinished after forgetFinished")
	}
	if err := removeData(dirs.Data); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dirs.Data); !os.IsNotExist(err) {
		t.Errorf("data dir: %v, want gone", err)
	}
}

// down (its mark in the runtime dir) stopping a pod: not kept.
func TestFinishedNotKeptWhenDown(t *testing.T) {
	scratchDirs(t)
	dirs := newPodDirs("web")
	for _, d := range []string{dirs.Run, dirs.Data} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(dirs.downMark(), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := keepFinished(dirs, &corev1.Pod{}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dirs.finishedFile()); !os.IsNotExist(err) {
		t.Errorf("marked while down stops it: %v", err)
	}
}
