package main

// The dev loop (issue 12): a developer edits the manifest and applies it
// again; what they wait for is the page served by the new pod. podbox:
// `up -d` of the edited file, which reconciles (the changed pod is
// stopped and started again); Podman: `kube play --replace`, its way to
// apply a file again. The clock runs from the command's start to the
// first answer with the new text; the pod was up and serving the old text
// before, untimed, and is taken down after, untimed.

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

func init() {
	extraMetrics = append(extraMetrics,
		&metric{key: "devloop", name: "dev loop: edit the manifest → apply it again (podbox up -d; podman kube play --replace) → the new page served", unit: "ms"})
	extraPhases = append(extraPhases, extraPhase{name: "dev loop", run: (*bench).measureDevLoop, keys: []string{"devloop"}})
}

func (b *bench) measureDevLoop() {
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for r := 0; r < b.rounds; r++ {
		for _, t := range b.order(r) {
			res := b.res("devloop", t)
			if res.failed() {
				continue
			}
			pod := fmt.Sprintf("bd-%s-%d", t.name, r)
			port, err := freePort()
			if err != nil {
				res.fail(err)
				continue
			}
			url := fmt.Sprintf("http://127.0.0.1:%d/", port)
			render := func(v string) (string, error) {
				return b.render("devloop", pod, map[string]string{"PORT": strconv.Itoa(port), "VERSION": v})
			}
			file, err := render("before-" + pod)
			if err == nil {
				err = t.up(file, false)
			}
			if err == nil {
				err = waitBody(client, url, "before-"+pod, upAnswer)
			}
			if err != nil {
				res.fail(fmt.Errorf("the first up: %w", err))
				_ = t.down(file, pod)
				continue
			}
			if _, err := render("after-" + pod); err != nil {
				res.fail(err)
				continue
			}
			args := t.upArgs(file, false)
			if t.podman() {
				args = append(args[:len(args)-1], "--replace", file)
			}
			d, err := timed(func() error {
				if err := t.run(args...); err != nil {
					return err
				}
				return waitBody(client, url, "after-"+pod, upDeadline)
			})
			res.add(ms(d), err)
			if err := t.down(file, pod); err != nil {
				logf("%s: %v", t.name, err)
			}
			_ = waitPortFree(port, downDeadline)
		}
	}
}

// waitBody polls url until its answer is want (and a newline).
func waitBody(client *http.Client, url, want string, within time.Duration) error {
	deadline := time.Now().Add(within)
	last := "no answer"
	for time.Now().Before(deadline) {
		resp, err := client.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.TrimSpace(string(body)) == want {
				return nil
			}
			last = fmt.Sprintf("%q", strings.TrimSpace(string(body)))
		} else {
			last = shortErr(err)
		}
		time.Sleep(pollInterval)
	}
	return fmt.Errorf("%s did not answer %q within %s (last: %s)", url, want, within, last)
}
