package extract

import (
	"bytes"
	"net/url"
	"sort"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// scanner reads a page's tokens into what ParsePage reports: the title,
// descriptions, the text outside scripts and styles, and the bounded sets.
type scanner struct {
	base                              *url.URL
	title, description, ogDescription string
	text                              strings.Builder
	emails, phones, socials           set
	contacts, abouts                  set
	link                              *url.URL // the open link, classified at its end
	linkText                          strings.Builder
	skip                              int    // depth inside template elements
	raw                               string // the raw-text element (script, title, ...) whose text comes next
}

func newScanner(base *url.URL) *scanner {
	return &scanner{base: base,
		emails: set{max: MaxItems}, phones: set{max: MaxItems}, socials: set{max: MaxItems},
		contacts: set{max: MaxLinks}, abouts: set{max: MaxLinks}}
}

func (s *scanner) run(body []byte) {
	z := html.NewTokenizer(bytes.NewReader(body))
	for {
		switch tt := z.Next(); tt {
		case html.ErrorToken: // io.EOF: the tokenizer reads from memory here
			s.endLink()
			return
		case html.TextToken:
			s.textToken(z.Text())
			s.raw = ""
		case html.StartTagToken, html.SelfClosingTagToken:
			s.raw = ""
			s.startTag(z, tt == html.SelfClosingTagToken)
		case html.EndTagToken:
			s.raw = ""
			name, _ := z.TagName()
			switch atom.Lookup(name) {
			case atom.A:
				s.endLink()
			case atom.Template:
				s.skip = max(0, s.skip-1)
			}
		}
	}
}

func (s *scanner) textToken(t []byte) {
	switch {
	case s.raw == "title":
		if s.title == "" {
			s.title = clean(string(t))
		}
	case s.raw == "script" || s.raw == "style" || s.raw == "noscript" || s.skip > 0:
	default:
		s.text.Write(t)
		s.text.WriteByte(' ')
		if s.link != nil && s.linkText.Len() < 1024 {
			s.linkText.Write(t)
		}
	}
}

func (s *scanner) startTag(z *html.Tokenizer, selfClosing bool) {
	name, _ := z.TagName()
	switch a := atom.Lookup(name); a {
	case atom.Script, atom.Style, atom.Noscript, atom.Title, atom.Textarea, atom.Xmp, atom.Iframe, atom.Noembed, atom.Noframes:
		if !selfClosing {
			s.raw = a.String() // the tokenizer returns their content as one text token
		}
	case atom.Template:
		if !selfClosing {
			s.skip++
		}
	case atom.Meta:
		attrs := tagAttrs(z)
		switch strings.ToLower(attrs["name"] + attrs["property"]) {
		case "description":
			if s.description == "" {
				s.description = clean(attrs["content"])
			}
		case "og:description":
			s.ogDescription = clean(attrs["content"])
		}
	case atom.A:
		s.endLink() // HTML does not nest links: a new one ends the open one
		href := strings.TrimSpace(tagAttrs(z)["href"])
		if u := anchor(s.base, href, &s.emails, &s.phones, &s.socials); u != nil && !selfClosing {
			s.link = u
		}
	}
}

// endLink classifies the open link now that its text is known.
func (s *scanner) endLink() {
	if s.link == nil {
		return
	}
	switch hint := s.link.Path + " " + s.linkText.String(); {
	case contactHint.MatchString(hint):
		s.contacts.add(s.link.String())
	case aboutHint.MatchString(hint):
		s.abouts.add(s.link.String())
	}
	s.link = nil
	s.linkText.Reset()
}

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
