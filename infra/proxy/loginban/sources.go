package loginban

import "embed"

// Directive is the Caddyfile directive (and module name) of the handler.
const Directive = "kit_login_ban"

// Sources are this package's files, for the kit's Caddy build to compile
// into Caddy (infra/images).
//
//go:embed tracker.go caddy.go sources.go
var Sources embed.FS
