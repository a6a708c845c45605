#!/bin/sh
# Starts Caddy on the stack's Caddyfile. The basic-auth entry there is the
# env placeholder {$KIT_PROXY_PASSWORD_HASH}, filled here, at every start,
# with a fresh bcrypt hash of the password file: a hash written into the
# Caddyfile itself would change with every deploy (a new salt each time)
# and so replace the container on every `pulumi up`, and the password would
# have to pass through the Definition. The hash lives in Caddy's process
# env only; the password reaches `caddy hash-password` on stdin, never on a
# command line (ps would show it).
set -eu
pw=${KIT_PROXY_PASSWORD_FILE:?KIT_PROXY_PASSWORD_FILE names the password file}
# caddy hash-password reads one line, and bcrypt uses 72 bytes at most: a
# longer or multi-line password would be cut, silently, without this check.
if [ "$(grep -c '' "$pw")" -ne 1 ] || [ "$(head -n 1 "$pw" | tr -d '\n' | wc -c)" -gt 72 ]; then
	echo "temporal-kit: the proxy password must be one line of at most 72 bytes; set another with \`pulumi config set --secret temporal-kit:proxyPassword\`" >&2
	exit 1
fi
# The cost is the kit's (stacks.ProxyBcryptCost), not Caddy's default 14:
# every wrong guess costs the server one such hash.
KIT_PROXY_PASSWORD_HASH=$(caddy hash-password --bcrypt-cost "${KIT_PROXY_BCRYPT_COST:?KIT_PROXY_BCRYPT_COST is the bcrypt cost}" <"$pw")
export KIT_PROXY_PASSWORD_HASH
exec caddy run --config "${KIT_CADDYFILE:-/etc/caddy/Caddyfile}" --adapter caddyfile
