package image

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestUnreachable(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, true},
		{"no route", fmt.Errorf("pinging: %w", syscall.EHOSTUNREACH), true},
		{"no such host", &net.DNSError{Err: "no such host", Name: "registry.example", IsNotFound: true}, true},
		{"dial timeout", &net.OpError{Op: "dial", Net: "tcp", Err: timeoutErr{}}, true},
		{"stalled", &StallError{Registry: "r", What: "the digest of r/x", Timeout: time.Second}, true},
		{"deadline", fmt.Errorf("head: %w", context.DeadlineExceeded), true},
		{"unauthorized", errors.New("unauthorized: authentication required"), false},
		{"manifest unknown", errors.New("manifest unknown"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := unreachable(tc.err); got != tc.want {
				t.Errorf("unreachable(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }
