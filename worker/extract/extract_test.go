package extract

import (
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

func read(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile("../testdata/pages/" + path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func values(fs []Found) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, f.Value)
	}
	return out
}

func TestRecordedHomePage(t *testing.T) {
	const u = "http://globex.example/"
	p := ParsePage(u, read(t, "globex.example/index.html"))
	if p.Title != "Globex Corporation — Everything, Everywhere" {
		t.Errorf("title %q", p.Title)
	}
	if p.Description != "Globex Corporation makes everything, everywhere, since 1989." {
		t.Errorf("description %q (meta description beats og:description)", p.Description)
	}
	if got := values(p.Emails); !reflect.DeepEqual(got, []string{"info@globex.example"}) {
		t.Errorf("emails %v (script text and logo@2x.png are not emails)", got)
	}
	if got := values(p.Phones); !reflect.DeepEqual(got, []string{"+15550102345"}) {
		t.Errorf("phones %v (an order number is not a phone)", got)
	}
	var socials []string
	for _, s := range p.Socials {
		socials = append(socials, s.Network+" "+s.Value)
		if s.URL != u {
			t.Errorf("social %v: source %q", s, s.URL)
		}
	}
	want := []string{"linkedin https://linkedin.com/company/globex", "twitter https://twitter.com/globexcorp", "github https://github.com/globex"}
	if !reflect.DeepEqual(socials, want) {
		t.Errorf("socials %v, want %v (share links are not profiles)", socials, want)
	}
	if !reflect.DeepEqual(p.Links, []string{"http://globex.example/contact", "http://globex.example/about-us"}) {
		t.Errorf("links %v (contact pages first; other sites' pages are not followed)", p.Links)
	}
	for _, e := range p.Emails {
		if e.URL != u {
			t.Errorf("email %v has source %q", e, e.URL)
		}
	}
}

func TestMergeKeepsFirstSource(t *testing.T) {
	home := ParsePage("http://globex.example/", read(t, "globex.example/index.html"))
	contact := ParsePage("http://globex.example/contact", read(t, "globex.example/contact.html"))
	f := Merge(home, contact)
	if f.Title.URL != "http://globex.example/" {
		t.Errorf("title from %q", f.Title.URL)
	}
	got := map[string]string{}
	for _, e := range f.Emails {
		got[e.Value] = e.URL
	}
	want := map[string]string{
		"info@globex.example":    "http://globex.example/",
		"sales@globex.example":   "http://globex.example/contact",
		"press@globex.example":   "http://globex.example/contact",
		"support@globex.example": "http://globex.example/contact",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("emails %v, want %v", got, want)
	}
	if ph := values(f.Phones); !reflect.DeepEqual(ph, []string{"+15550102345", "+15550109999"}) {
		t.Errorf("phones %v", ph)
	}
	if len(f.Socials) != 4 || f.Socials[3].Network != "facebook" || f.Socials[3].URL != "http://globex.example/contact" {
		t.Errorf("socials %+v", f.Socials)
	}
}

func TestExtractTable(t *testing.T) {
	cases := []struct {
		name, html string
		emails     []string
		phones     []string
		title      string
		desc       string
	}{
		{"og description fallback", `<title> A  B </title><meta property="og:description" content="og">`, nil, nil, "A B", "og"},
		{"mailto with several and encoded", `<a href="mailto:a@x.example,B%40x.example?cc=c@x.example">m</a>`, []string{"a@x.example", "b@x.example"}, nil, "", ""},
		{"tel link", `<a href="tel:+44%2020%207946%200000">call</a>`, nil, []string{"+442079460000"}, "", ""},
		{"short numbers are not phones", `<p>Call 555-0100 or see 2024.</p>`, nil, nil, "", ""},
		{"phone with parentheses", `<p>Tel (030) 1234-5678</p>`, nil, []string{"03012345678"}, "", ""},
		{"script ignored", `<script>x="a@b.example"</script><style>.a{}</style>`, nil, nil, "", ""},
		{"broken html still parses", `<html><title>T<p>mail me: me@site.example`, nil, nil, "T<p>mail me: me@site.example", ""},
		{"image name is not an email", `<p>see logo@2x.png</p>`, nil, nil, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := ParsePage("http://site.example/", []byte(c.html))
			if got := values(p.Emails); len(got) != len(c.emails) || (len(got) > 0 && !reflect.DeepEqual(got, c.emails)) {
				t.Errorf("emails %v, want %v", got, c.emails)
			}
			if got := values(p.Phones); len(got) != len(c.phones) || (len(got) > 0 && !reflect.DeepEqual(got, c.phones)) {
				t.Errorf("phones %v, want %v", got, c.phones)
			}
			if p.Title != c.title || p.Description != c.desc {
				t.Errorf("title %q desc %q", p.Title, p.Description)
			}
		})
	}
}

// BenchmarkParseRecordedPages parses every recorded HTML page of
// testdata/pages once per iteration (bytes/s is the parser's throughput).
func BenchmarkParseRecordedPages(b *testing.B) {
	type page struct {
		url  string
		body []byte
	}
	var pages []page
	var total int64
	err := fs.WalkDir(os.DirFS("../testdata/pages"), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".html") {
			return err
		}
		body := read(b, p)
		host, file, _ := strings.Cut(p, "/")
		pages = append(pages, page{"http://" + host + "/" + strings.TrimSuffix(strings.TrimSuffix(file, ".html"), "index"), body})
		total += int64(len(body))
		return nil
	})
	if err != nil || len(pages) < 5 {
		b.Fatalf("recorded pages: %d, %v", len(pages), err)
	}
	b.SetBytes(total)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, p := range pages {
			ParsePage(p.url, p.body)
		}
	}
	b.ReportMetric(float64(len(pages))*float64(b.N)/b.Elapsed().Seconds(), "pages/s")
}

// BenchmarkParseLargePage parses the recorded home page grown to ~15 KB of
// text with phone-like numbers in it: the regexps' worst case.
func BenchmarkParseLargePage(b *testing.B) {
	page := read(b, "globex.example/index.html")
	page = []byte(strings.Replace(string(page), "</main>", strings.Repeat("<p>Lorem ipsum dolor sit amet, call +1 555 010 2345.</p>", 200)+"</main>", 1))
	b.SetBytes(int64(len(page)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ParsePage("http://globex.example/", page)
	}
}

// A page may repeat an address or a link a million times, or list a
// million different ones: a page yields at most MaxItems of each kind and
// MaxLinks of each kind of link.
func TestHostilePageYieldsBoundedLists(t *testing.T) {
	var b strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&b, `<p>m%d@x.example <a href="tel:+4930%07d">t</a><a href="/contact-%d">c</a><a href="/about-%d">a</a><a href="https://github.com/u%d">g</a></p>`, i, i, i, i, i)
	}
	p := ParsePage("http://x.example/", []byte(b.String()))
	if len(p.Emails) != MaxItems || len(p.Phones) != MaxItems || len(p.Socials) != MaxItems || len(p.Links) != 2*MaxLinks {
		t.Errorf("emails %d, phones %d, socials %d, links %d; want %d, %d, %d, %d",
			len(p.Emails), len(p.Phones), len(p.Socials), len(p.Links), MaxItems, MaxItems, MaxItems, 2*MaxLinks)
	}
	if p.Emails[0].Value != "m0@x.example" || p.Links[0] != "http://x.example/contact-0" || p.Links[MaxLinks] != "http://x.example/about-0" {
		t.Errorf("the first items found are not the ones kept: %v %v", p.Emails[0], p.Links)
	}
}

// BenchmarkParseHostilePage parses 1 MiB pages built to make a tree parser
// allocate the most (repeated open elements, links) and reports the peak
// heap while parsing:
//
//	go test -run '^$' -bench HostilePage -benchtime 1x ./worker/extract/
func BenchmarkParseHostilePage(b *testing.B) {
	for name, unit := range map[string]string{"p": "<p>", "links": `<a href="/contact">x</a>`, "emails": "a1@b.example "} {
		page := []byte(strings.Repeat(unit, (1<<20)/len(unit)))
		b.Run(name, func(b *testing.B) {
			var peak uint64
			for b.Loop() {
				runtime.GC()
				var before runtime.MemStats
				runtime.ReadMemStats(&before)
				done := make(chan uint64)
				go func() {
					var m runtime.MemStats
					top := uint64(0)
					for {
						runtime.ReadMemStats(&m)
						top = max(top, m.HeapInuse)
						select {
						case <-done:
							done <- top
							return
						case <-time.After(time.Millisecond):
						}
					}
				}()
				ParsePage("http://x.example/", page)
				done <- 0
				if top := <-done; top > before.HeapInuse {
					peak = max(peak, top-before.HeapInuse)
				}
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}
