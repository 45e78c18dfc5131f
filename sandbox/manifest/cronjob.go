package manifest

import "fmt"

// RefuseCronJobs returns an error naming the first CronJob of the files,
// its file and line, and what to do; nil if there is none.
//
// A CronJob is refused rather than run: podbox has no scheduler that would
// outlive `up` (a schedule that fires while nothing runs would silently
// not fire, which is worse than no schedule), and running its jobTemplate
// once on demand is what a Job already is: the error says how to turn it
// into one. Its template is still checked at Load, so the Job it would
// make is known to be valid.
func (f *File) RefuseCronJobs() error {
	for _, c := range f.CronJobs {
		s := f.src[c]
		return &Error{File: s.file, Line: s.lines["kind"], Field: "kind",
			Msg: fmt.Sprintf("CronJob %q is not run: podbox has no scheduler; to run its job now, make it a Job (kind: Job, with spec.jobTemplate.spec as its spec) and podbox up -f it, from cron if it must repeat", c.Name)}
	}
	return nil
}
