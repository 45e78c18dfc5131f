package pod

import (
	"syscall"
	"testing"
)

func TestFateOf(t *testing.T) {
	term := uint64(1) << (15 - 1)
	for _, tc := range []struct {
		name          string
		blk, ign, cgt uint64
		init          bool
		want          signalFate
	}{
		{"init with a handler", 0, 0, term, true, fateDelivered},
		{"init without a handler (sh, sleep)", 0, 0, 0, true, fateDropped},
		{"init that ignores it", 0, term, 0, true, fateIgnored},
		{"init that blocks it for now", term, 0, 0, true, fateDelivered},
		{"not an init: the default action kills", 0, 0, 0, false, fateDelivered},
		{"not an init, ignoring", 0, term, 0, false, fateIgnored},
		{"init catching other signals only", 0, 0, 1 << (2 - 1), true, fateDropped},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fateOf(tc.blk, tc.ign, tc.cgt, tc.init, syscall.SIGTERM); got != tc.want {
				t.Errorf("fateOf = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestStopSignalFateOfSelf(t *testing.T) {
	// The test binary is no namespace's init (unless run as one), and Go
	// catches SIGTERM only when asked: default action.
	if got := stopSignalFate(syscall.Getpid(), syscall.SIGTERM); got != fateDelivered {
		t.Errorf("stopSignalFate(self) = %d, want delivered", got)
	}
	if got := stopSignalFate(-1, syscall.SIGTERM); got != fateDelivered {
		t.Errorf("an unreadable status must honour the grace period, got %d", got)
	}
}
