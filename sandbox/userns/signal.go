package userns

import (
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

// notifyForward routes the signals a user sends to a foreground command to
// sigs, so that they reach the re-executed child instead of killing us first.
func notifyForward(sigs chan os.Signal) {
	signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT)
}

func stopForward(sigs chan os.Signal) { signal.Stop(sigs) }
