package stacks

import (
	"slices"
	"strings"
)

// KeyLister is a Source that can also list the keys set in the stack config
// (without the namespace). LoadConfig then reports the keys it never reads:
// a misspelt key would otherwise be ignored and its default used silently.
type KeyLister interface {
	Keys() []string
}

// Keys implements KeyLister.
func (m MapSource) Keys() []string { return sortedKeys(m) }

// rejectUnknown fails every key in keys that the loader did not read.
func (l *loader) rejectUnknown(keys []string) {
	known := sortedKeys(l.read)
	for _, k := range slices.Sorted(slices.Values(keys)) {
		if l.read[k] {
			continue
		}
		l.fail(k, "%s", unknownKeyHint(k, known))
	}
}

// unknownKeyHint says what k was probably meant to be.
func unknownKeyHint(k string, known []string) string {
	// `pulumi config set temporal-kit:hostPorts.ui 8088` without --path
	// makes a key with a dot instead of setting a field of hostPorts.
	if top, field, ok := strings.Cut(k, "."); ok && slices.Contains(known, top) {
		return "unknown key; " + top + " is an object: remove this key with `pulumi config rm " + Namespace + ":" + k +
			"` and set the field with `pulumi config set --path " + Namespace + ":" + top + "." + field + " <value>`"
	}
	if near, ok := nearestKey(k, known); ok {
		return "unknown key; did you mean " + near + "?"
	}
	return "unknown key; remove it with `pulumi config rm " + Namespace + ":" + k + "` (known keys: " + strings.Join(known, ", ") + ")"
}

// nearestKey is the known key closest to k by edit distance (case aside),
// if it is close enough to be a typo: at most 2 edits, or a third of k.
func nearestKey(k string, known []string) (string, bool) {
	best, bestDist := "", -1
	for _, c := range known {
		d := editDistance(strings.ToLower(k), strings.ToLower(c))
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	if bestDist < 0 || (bestDist > 2 && bestDist > len(k)/3) {
		return "", false
	}
	return best, true
}

// editDistance is the Levenshtein distance between a and b, in runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// secret reads a key whose value is a secret. Only whether it is set may
// matter here: infra hands LoadConfig a stand-in for the value (SecretKeys).
func (l *loader) secret(key string) (string, bool) {
	l.secrets[key] = true
	return l.get(key)
}

// SecretKeys are the keys LoadConfig reads as secrets, sorted: the keys that
// must be stored with `pulumi config set --secret` and are only ever read
// as secret Outputs. Derived from the loader, so a new secret key cannot be
// missed by the code that guards them.
func SecretKeys() []string {
	l := newLoader(MapSource{})
	l.load("")
	return sortedKeys(l.secrets)
}
