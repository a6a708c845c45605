// Package extract pulls contact facts out of an HTML page with a real HTML
// tokenizer: title, description, emails, phones and social profiles, each
// remembered with the URL of the page it came from.
package extract

import (
	"net/url"
	"regexp"
	"strings"
)

// Found is one extracted value and the page it was found on.
type Found struct {
	Value string `json:"value"`
	URL   string `json:"url"`
}

// Social is a profile link on a known network.
type Social struct {
	Network string `json:"network"`
	Value   string `json:"value"` // the profile URL
	URL     string `json:"url"`   // the page linking to it
}

// Page is what one page yields.
type Page struct {
	URL         string
	Title       string
	Description string
	Emails      []Found
	Phones      []Found
	Socials     []Social
	// Links are same-site links that look like contact pages, then those
	// that look like about pages: where the fetcher looks next, in order.
	Links []string
}

// Fields merge several pages of one site.
type Fields struct {
	Title       Found    `json:"title"`
	Description Found    `json:"description"`
	Emails      []Found  `json:"emails"`
	Phones      []Found  `json:"phones"`
	Socials     []Social `json:"socials"`
}

var (
	emailRE = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,24}`)
	// Phone numbers in text: an optional +country, then groups of digits with
	// spaces, dots, dashes or parentheses; 7 to 15 digits in all (E.164).
	phoneRE = regexp.MustCompile(`(?:\+\d{1,3}[\s.\-]?)?(?:\(\d{1,4}\)[\s.\-]?)?\d{2,4}(?:[\s.\-]\d{2,4}){1,4}`)
	// Contact pages carry the most facts, so they are followed before about pages.
	contactHint = regexp.MustCompile(`(?i)contact|impressum|kontakt|imprint`)
	aboutHint   = regexp.MustCompile(`(?i)about|team|company`)
)

// socialHosts maps a host (without www.) to its network name.
var socialHosts = map[string]string{
	"linkedin.com":  "linkedin",
	"twitter.com":   "twitter",
	"x.com":         "twitter",
	"facebook.com":  "facebook",
	"instagram.com": "instagram",
	"youtube.com":   "youtube",
	"github.com":    "github",
	"tiktok.com":    "tiktok",
}

// Bounds on what one page yields: a page is written by anyone, and its
// lists go into a result row and results.csv.
const (
	MaxItems = 50 // emails, phones and social profiles, each
	MaxLinks = 20 // contact and about pages, each

	maxMatches = 100 * MaxItems // matches of a pattern looked at in a page's text
)

// ParsePage parses body, fetched from pageURL. It reads the page as a
// stream of tokens, never as a tree: memory is the page's text and the
// bounded lists, whatever markup a hostile page nests or repeats.
func ParsePage(pageURL string, body []byte) Page {
	p := Page{URL: pageURL}
	base, _ := url.Parse(pageURL)
	sc := newScanner(base)
	sc.run(body)
	p.Title, p.Description = sc.title, sc.description
	if p.Description == "" {
		p.Description = sc.ogDescription
	}
	text := sc.text.String()
	// The lists are bounded, so a page of a million matches is not read to its end.
	for _, e := range emailRE.FindAllString(text, maxMatches) {
		if !looksLikeFile(e) {
			sc.emails.add(strings.ToLower(e))
		}
	}
	for _, m := range phoneRE.FindAllString(text, maxMatches) {
		if ph := normalizePhone(m); ph != "" && (strings.HasPrefix(strings.TrimSpace(m), "+") || strings.ContainsAny(m, "()") || countDigits(m) >= 10) {
			sc.phones.add(ph)
		}
	}
	for _, e := range sc.emails.list() {
		p.Emails = append(p.Emails, Found{Value: e, URL: pageURL})
	}
	for _, ph := range sc.phones.list() {
		p.Phones = append(p.Phones, Found{Value: ph, URL: pageURL})
	}
	for _, s := range sc.socials.list() {
		net, profile, _ := strings.Cut(s, "\x00")
		p.Socials = append(p.Socials, Social{Network: net, Value: profile, URL: pageURL})
	}
	p.Links = sc.contacts.list()
	for _, l := range sc.abouts.list() {
		if !sc.contacts.has(l) {
			p.Links = append(p.Links, l)
		}
	}
	return p
}

// Merge combines pages of one site: the first page with a title or a
// description gives it; lists are joined without duplicates, first source wins.
func Merge(pages ...Page) Fields {
	var f Fields
	seenE, seenP, seenS := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, p := range pages {
		if f.Title.Value == "" && p.Title != "" {
			f.Title = Found{Value: p.Title, URL: p.URL}
		}
		if f.Description.Value == "" && p.Description != "" {
			f.Description = Found{Value: p.Description, URL: p.URL}
		}
		for _, e := range p.Emails {
			if !seenE[e.Value] {
				seenE[e.Value] = true
				f.Emails = append(f.Emails, e)
			}
		}
		for _, ph := range p.Phones {
			if !seenP[ph.Value] {
				seenP[ph.Value] = true
				f.Phones = append(f.Phones, ph)
			}
		}
		for _, s := range p.Socials {
			if !seenS[s.Value] {
				seenS[s.Value] = true
				f.Socials = append(f.Socials, s)
			}
		}
	}
	return f
}

// normalizePhone keeps a leading + and the digits; it rejects strings with
// fewer than 7 or more than 15 digits (E.164's bounds).
func normalizePhone(s string) string {
	s = strings.TrimSpace(s)
	if u, err := url.PathUnescape(s); err == nil {
		s = u
	}
	var b strings.Builder
	if strings.HasPrefix(s, "+") {
		b.WriteByte('+')
	}
	n := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
			n++
		}
	}
	if n < 7 || n > 15 {
		return ""
	}
	return b.String()
}

func countDigits(s string) int {
	n := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			n++
		}
	}
	return n
}

// looksLikeFile drops "logo@2x.png"-style matches from srcset text.
func looksLikeFile(e string) bool {
	for _, ext := range []string{".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".css", ".js"} {
		if strings.HasSuffix(strings.ToLower(e), ext) {
			return true
		}
	}
	return false
}

func socialProfile(u *url.URL) (network, profile string) {
	host := strings.TrimPrefix(strings.ToLower(u.Hostname()), "www.")
	host = strings.TrimPrefix(host, "m.")
	net, ok := socialHosts[host]
	if !ok {
		return "", ""
	}
	path := strings.Trim(u.Path, "/")
	if path == "" || strings.HasPrefix(path, "share") || strings.HasPrefix(path, "intent") || strings.HasPrefix(path, "sharer") {
		return "", "" // the network's home or a share button, not a profile
	}
	return net, "https://" + host + "/" + path
}

func sameSite(a, b string) bool {
	a, b = strings.TrimPrefix(strings.ToLower(a), "www."), strings.TrimPrefix(strings.ToLower(b), "www.")
	return a == b
}

func resolve(base *url.URL, href string) (*url.URL, error) {
	u, err := url.Parse(href)
	if err != nil {
		return nil, err
	}
	if base != nil {
		u = base.ResolveReference(u)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, errNotHTTP
	}
	return u, nil
}

type constErr string

func (e constErr) Error() string { return string(e) }

const errNotHTTP = constErr("not an http(s) link")

func clean(s string) string { return strings.Join(strings.Fields(s), " ") }
