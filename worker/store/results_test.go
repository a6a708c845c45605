package store

import (
	"slices"
	"testing"

	"github.com/ampledata/temporal-kit/worker/extract"
)

// ResultRecord is results.csv's row layout: checked here without a database,
// column by column under ResultColumns' names.
func TestResultRecord(t *testing.T) {
	in := []string{"Acme", "", "smb"}
	ok := &Result{Row: 0, OK: true, SiteURL: "http://acme.example/", Fields: extract.Fields{
		Title:       extract.Found{Value: "=Acme", URL: "http://acme.example/"},
		Description: extract.Found{Value: "Tools", URL: "http://acme.example/about"},
		Emails:      []extract.Found{{Value: "a@acme.example", URL: "http://acme.example/contact"}, {Value: "b@acme.example", URL: "http://acme.example/"}},
		Phones:      []extract.Found{{Value: "+49 30 1234", URL: "http://acme.example/contact"}},
		Socials:     []extract.Social{{Network: "linkedin", Value: "acme", URL: "http://acme.example/"}},
	}}
	failed := &Result{Row: 1, Stage: "fetch", ErrorClass: "fetch_http_4xx", Error: "404", SiteURL: "http://gone.example/"}
	cases := []struct {
		name     string
		r        *Result
		searched string
		want     map[string]string
	}{
		{"ok", ok, "ignored", map[string]string{"status": "ok", "site_url": "http://acme.example/", "title": "=Acme",
			"title_url": "http://acme.example/", "description": "Tools", "description_url": "http://acme.example/about",
			"emails": "a@acme.example <http://acme.example/contact>; b@acme.example <http://acme.example/>",
			"phones": "+49 30 1234 <http://acme.example/contact>", "socials": "linkedin:acme <http://acme.example/>"}},
		{"failed", failed, "", map[string]string{"status": "failed", "failed_stage": "fetch", "error_class": "fetch_http_4xx",
			"error": "404", "site_url": "http://gone.example/"}},
		{"pending", nil, "http://found.example/", map[string]string{"status": "pending", "site_url": "http://found.example/"}},
	}
	for _, c := range cases {
		got := ResultRecord(in, c.r, c.searched)
		if len(got) != len(in)+len(ResultColumns) || !slices.Equal(got[:len(in)], in) {
			t.Fatalf("%s: record %q", c.name, got)
		}
		for i, name := range ResultColumns {
			if v := got[len(in)+i]; v != c.want[name] {
				t.Errorf("%s: %s = %q, want %q", c.name, name, v, c.want[name])
			}
		}
	}
}
