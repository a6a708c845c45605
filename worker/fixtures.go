// Package worker is the root of the enrichment worker (see README.md); the
// package itself only embeds the recorded fixtures of testdata/ so that the
// fixture server, the tests and the load tool serve the same bytes.
package worker

import "embed"

// Fixtures holds recorded SERP answers (testdata/serp/<query slug>.json),
// web pages (testdata/pages/<host>/<path>) and the results the pipeline
// must store for the recorded companies (testdata/expected/<slug>.json).
//
//go:embed testdata/serp testdata/pages testdata/expected
var Fixtures embed.FS
