package sandbox

import (
	"fmt"

	"github.com/podbox/podbox/sandbox/manifest"
)

// strictError is what `up --strict` says of the fields podbox would
// ignore: the first one's warning as an error, with its file and line,
// and how many more there are (without --strict, up warns of each).
func strictError(ignored []*manifest.Error) error {
	e := *ignored[0]
	e.Msg += "; up --strict refuses what podbox would ignore"
	if n := len(ignored) - 1; n > 0 {
		e.Msg += fmt.Sprintf(" (%d more such fields: up without --strict warns of each)", n)
	}
	return &e
}
