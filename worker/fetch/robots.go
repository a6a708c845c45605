package fetch

import (
	"bufio"
	"bytes"
	"regexp"
	"strings"
)

// Robots is a parsed robots.txt, reduced to the rules for one user agent.
type Robots struct {
	rules []rule
	size  int // approximate bytes held, for the cache's budget
}

// Bounds on one robots.txt's rules: the file (at most robotsMaxBytes, like
// Google's 500 KiB) is written by anyone, its rules are kept per host and
// each is tried on every page of the host. Rules beyond them are ignored,
// as content beyond the size limit is.
const (
	maxRobotsRules   = 1000
	maxRobotsPattern = 2048 // bytes of one path pattern
	robotsMaxBytes   = 512 << 10
	// ruleOverhead approximates a rule's bytes beside its pattern (a
	// compiled regexp is a few hundred more).
	ruleOverhead = 64
	regexpBytes  = 1024
)

type rule struct {
	allow  bool
	prefix string
	re     *regexp.Regexp // for patterns with * or $
}

// ParseRobots keeps the group naming agent (by product token, case
// insensitive) or, failing that, the "*" group. Longest match wins, Allow
// wins ties, as in RFC 9309; "*" and "$" in paths are honoured.
func ParseRobots(body []byte, agent string) *Robots {
	token := strings.ToLower(agent)
	if i := strings.IndexAny(token, "/ "); i >= 0 {
		token = token[:i]
	}
	g := robotsGroups{token: token}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 64*1024), 512*1024)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		g.add(strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v))
	}
	g.flush()
	rules := g.star
	if len(g.mine) > 0 {
		rules = g.mine
	}
	r := &Robots{rules: rules}
	for _, ru := range rules {
		r.size += ruleOverhead + len(ru.prefix)
		if ru.re != nil {
			r.size += regexpBytes
		}
	}
	return r
}

// robotsGroups reads a robots.txt line by line and keeps the rules of the
// groups for the agent's product token (mine) and for "*" (star).
type robotsGroups struct {
	token      string
	mine, star []rule
	// The group being read: its user-agents, its rules, and whether a rule
	// was seen (a user-agent after one starts a new group).
	agents  []string
	cur     []rule
	inRules bool
}

// add reads one line's key (lower case) and value.
func (g *robotsGroups) add(k, v string) {
	switch k {
	case "user-agent":
		if g.inRules {
			g.flush()
			g.agents, g.cur, g.inRules = nil, nil, false
		}
		g.agents = append(g.agents, strings.ToLower(v))
	case "allow", "disallow":
		g.inRules = true
		if v == "" {
			return // "Disallow:" with no path allows everything
		}
		if len(v) > maxRobotsPattern || len(g.cur) >= maxRobotsRules {
			return
		}
		g.cur = append(g.cur, rule{allow: k == "allow", prefix: v})
	}
}

// flush keeps the group just read if it names the agent or "*".
func (g *robotsGroups) flush() {
	for _, a := range g.agents {
		switch {
		case a == "*":
			g.star = keepRules(g.star, g.cur)
		case g.token != "" && strings.Contains(g.token, a):
			g.mine = keepRules(g.mine, g.cur)
		}
	}
}

// keepRules appends rules to to, up to maxRobotsRules in all. Patterns are
// compiled only for the rules kept.
func keepRules(to, rules []rule) []rule {
	for _, ru := range rules[:min(len(rules), maxRobotsRules-len(to))] {
		ru.re = compile(ru.prefix)
		to = append(to, ru)
	}
	return to
}

// Allowed tells whether path (with its query) may be fetched.
func (r *Robots) Allowed(path string) bool {
	if r == nil {
		return true
	}
	if path == "" {
		path = "/"
	}
	best, allowed := -1, true
	for _, ru := range r.rules {
		if n := match(ru, path); n > best || (n == best && n >= 0 && ru.allow) {
			if n >= 0 {
				best, allowed = n, ru.allow
			}
		}
	}
	return allowed
}

// match returns the pattern's length when it matches path, else -1.
func match(ru rule, path string) int {
	if ru.re == nil {
		if strings.HasPrefix(path, ru.prefix) {
			return len(ru.prefix)
		}
		return -1
	}
	if ru.re.MatchString(path) {
		return len(ru.prefix)
	}
	return -1
}

// compile turns a pattern with * or a trailing $ into an anchored regexp.
func compile(pattern string) *regexp.Regexp {
	if !strings.ContainsAny(pattern, "*$") {
		return nil
	}
	anchored := strings.HasSuffix(pattern, "$")
	p := strings.TrimSuffix(pattern, "$")
	parts := strings.Split(p, "*")
	for i := range parts {
		parts[i] = regexp.QuoteMeta(parts[i])
	}
	expr := "^" + strings.Join(parts, ".*")
	if anchored {
		expr += "$"
	}
	return regexp.MustCompile(expr)
}
