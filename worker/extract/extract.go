// Package extract pulls contact facts out of an HTML page with a real HTML
// parser: title, description, emails, phones and social profiles, each
// remembered with the URL of the page it came from.
package extract

import (
	"bytes"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
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
	emails, phones, socials := set{max: MaxItems}, set{max: MaxItems}, set{max: MaxItems}
	contacts, abouts := set{max: MaxLinks}, set{max: MaxLinks}
	var ogDesc string
	var text strings.Builder
	// A link is classified once its text is known: at its end tag, at the
	// next link (HTML does not nest them) or at the end of the page.
	var link *url.URL
	var linkText strings.Builder
	endLink := func() {
		if link == nil {
			return
		}
		switch hint := link.Path + " " + linkText.String(); {
		case contactHint.MatchString(hint):
			contacts.add(link.String())
		case aboutHint.MatchString(hint):
			abouts.add(link.String())
		}
		link = nil
		linkText.Reset()
	}
	skip := 0 // inside template elements; script and style come as one raw text
	raw := "" // the raw-text element (script, style, title, ...) whose text comes next
	z := html.NewTokenizer(bytes.NewReader(body))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break // io.EOF: html.Tokenizer reads from memory here
		}
		switch tt {
		case html.TextToken:
			t := z.Text()
			switch {
			case raw == "title":
				if p.Title == "" {
					p.Title = clean(string(t))
				}
			case raw == "script" || raw == "style" || raw == "noscript" || skip > 0:
			default:
				text.Write(t)
				text.WriteByte(' ')
				if link != nil && linkText.Len() < 1024 {
					linkText.Write(t)
				}
			}
			raw = ""
		case html.StartTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			raw = ""
			switch a {
			case atom.Script, atom.Style, atom.Noscript, atom.Title, atom.Textarea, atom.Xmp, atom.Iframe, atom.Noembed, atom.Noframes:
				if tt == html.StartTagToken {
					raw = a.String()
				}
			case atom.Template:
				if tt == html.StartTagToken {
					skip++
				}
			case atom.Meta:
				attrs := tagAttrs(z)
				switch strings.ToLower(attrs["name"] + attrs["property"]) {
				case "description":
					if p.Description == "" {
						p.Description = clean(attrs["content"])
					}
				case "og:description":
					ogDesc = clean(attrs["content"])
				}
			case atom.A:
				endLink()
				href := strings.TrimSpace(tagAttrs(z)["href"])
				if u := anchor(base, href, &emails, &phones, &socials); u != nil && tt == html.StartTagToken {
					link = u
				}
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			switch atom.Lookup(name) {
			case atom.A:
				endLink()
			case atom.Template:
				skip = max(0, skip-1)
			}
			raw = ""
		}
	}
	endLink()
	if p.Description == "" {
		p.Description = ogDesc
	}
	body2 := text.String()
	// The lists are bounded, so a page of a million matches is not read to its end.
	for _, e := range emailRE.FindAllString(body2, maxMatches) {
		if !looksLikeFile(e) {
			emails.add(strings.ToLower(e))
		}
	}
	for _, m := range phoneRE.FindAllString(body2, maxMatches) {
		if ph := normalizePhone(m); ph != "" && (strings.HasPrefix(strings.TrimSpace(m), "+") || strings.ContainsAny(m, "()") || countDigits(m) >= 10) {
			phones.add(ph)
		}
	}
	for _, e := range emails.list() {
		p.Emails = append(p.Emails, Found{Value: e, URL: pageURL})
	}
	for _, ph := range phones.list() {
		p.Phones = append(p.Phones, Found{Value: ph, URL: pageURL})
	}
	for _, s := range socials.list() {
		net, profile, _ := strings.Cut(s, "\x00")
		p.Socials = append(p.Socials, Social{Network: net, Value: profile, URL: pageURL})
	}
	p.Links = contacts.list()
	for _, l := range abouts.list() {
		if !contacts.has(l) {
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

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var f func(*html.Node)
	f = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			f(c)
		}
	}
	f(n)
	return b.String()
}

func clean(s string) string { return strings.Join(strings.Fields(s), " ") }

// anchor takes what a link's href gives: mailto addresses and tel numbers
// go to their sets, a social profile to socials; a same-site page on
// another path is returned, to be classified by its text.
func anchor(base *url.URL, href string, emails, phones, socials *set) *url.URL {
	lower := strings.ToLower(href)
	switch {
	case strings.HasPrefix(lower, "mailto:"):
		addr := href[len("mailto:"):]
		if i := strings.IndexByte(addr, '?'); i >= 0 {
			addr = addr[:i]
		}
		if a, err := url.PathUnescape(addr); err == nil {
			addr = a
		}
		for _, a := range strings.Split(addr, ",") {
			if e := emailRE.FindString(a); e != "" {
				emails.add(strings.ToLower(e))
			}
		}
	case strings.HasPrefix(lower, "tel:"):
		if ph := normalizePhone(href[len("tel:"):]); ph != "" {
			phones.add(ph)
		}
	default:
		u, err := resolve(base, href)
		if err != nil {
			return nil
		}
		if net, profile := socialProfile(u); net != "" {
			socials.add(net + "\x00" + profile)
		} else if base != nil && sameSite(u.Host, base.Host) && u.Path != base.Path {
			u.Fragment = ""
			return u
		}
	}
	return nil
}

// tagAttrs returns the current tag's attributes, the first of each name.
func tagAttrs(z *html.Tokenizer) map[string]string {
	attrs := map[string]string{}
	for {
		k, v, more := z.TagAttr()
		if _, seen := attrs[string(k)]; !seen {
			attrs[string(k)] = string(v)
		}
		if !more {
			return attrs
		}
	}
}

// set keeps insertion order and at most max values (0: no bound).
type set struct {
	max int
	m   map[string]int
}

func (s *set) add(v string) {
	if s.m == nil {
		s.m = map[string]int{}
	}
	if _, ok := s.m[v]; !ok && (s.max == 0 || len(s.m) < s.max) {
		s.m[v] = len(s.m)
	}
}

func (s *set) has(v string) bool { _, ok := s.m[v]; return ok }

func (s *set) list() []string {
	out := make([]string, 0, len(s.m))
	for v := range s.m {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return s.m[out[i]] < s.m[out[j]] })
	return out
}
