package main

import "testing"

func TestJobArg(t *testing.T) {
	for _, c := range []struct {
		args     []string
		name     string
		ok, fail bool
	}{
		{[]string{"jobs"}, "", true, false},
		{[]string{"job", "pi"}, "pi", true, false},
		{[]string{"job/pi"}, "pi", true, false},
		{[]string{"jobs.batch", "pi"}, "pi", true, false},
		{[]string{"job", "pi", "x"}, "", true, true},
		{[]string{"web"}, "", false, false},
		{[]string{"pod", "web"}, "", false, false},
	} {
		name, ok, err := jobArg(c.args)
		if name != c.name || ok != c.ok || (err != nil) != c.fail {
			t.Errorf("jobArg(%q) = %q, %v, %v", c.args, name, ok, err)
		}
	}
}
