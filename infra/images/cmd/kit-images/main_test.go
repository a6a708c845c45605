package main

import "testing"

func TestWithSbin(t *testing.T) {
	for path, want := range map[string]string{
		"/usr/local/go/bin:/usr/bin:/bin": "/usr/local/go/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin",
		"/usr/sbin:/usr/bin:/sbin:/bin":   "/usr/sbin:/usr/bin:/sbin:/bin:/usr/local/sbin",
		"":                                "/usr/local/sbin:/usr/sbin:/sbin",
	} {
		if got := withSbin(path); got != want {
			t.Errorf("withSbin(%q) = %q, want %q", path, got, want)
		}
	}
}
