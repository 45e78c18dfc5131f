package sandbox

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// lockedBuffer is a bytes.Buffer the test reads while watchTable writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestWatchTable(t *testing.T) {
	pod := func(name string, phase corev1.PodPhase) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}}
		p.Spec.Containers = []corev1.Container{{Name: "c"}}
		p.Status.Phase = phase
		return p
	}
	// Each snapshot is one step; the last repeats.
	steps := [][]*corev1.Pod{
		{pod("web", corev1.PodPending)},
		{pod("web", corev1.PodPending)},                               // unchanged: no line
		{pod("web", corev1.PodRunning), pod("db", corev1.PodPending)}, // changed, new
		{pod("db", corev1.PodPending)},                                // web went away
	}
	for _, output := range []string{"", "name"} {
		t.Run("output="+output, func(t *testing.T) {
			var mu sync.Mutex
			n := 0
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			out := &lockedBuffer{}
			done := make(chan error)
			go func() {
				done <- watchTable(ctx, watchOptions{output: output, out: out, interval: time.Millisecond,
					snapshot: func(context.Context) (podTable, error) {
						mu.Lock()
						defer mu.Unlock()
						i := min(n, len(steps)-1)
						n++
						if n > len(steps)+2 {
							cancel()
						}
						return getTable(steps[i], false), nil
					}})
			}()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			var want []string
			if output == "" {
				want = []string{
					"NAME   READY   STATUS    RESTARTS   AGE",
					"web    0/1     Pending   0          <none>",
					"web    0/1     Running   0          <none>",
					"db     0/1     Pending   0          <none>",
					"web    0/1     Running   0          <none>",
				}
			} else {
				want = []string{"pod/web", "pod/web", "pod/db", "pod/web"}
			}
			if got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func TestPsTableWide(t *testing.T) {
	p := crashLoopPod(t)
	p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/ready"}}
	var out bytes.Buffer
	writeTable(&out, psTable([]*corev1.Pod{p}, false, true))
	for _, w := range []string{"NAME  STATUS            READY  RESTARTS  AGE  IP          NODE  NOMINATED NODE  READINESS GATES",
		"p     CrashLoopBackOff  0/1    3         0s   10.0.2.100  host  <none>          0/1"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("missing %q in\n%s", w, out.String())
		}
	}
}
