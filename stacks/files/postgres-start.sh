#!/bin/sh
# Starts PostgreSQL through the image's own entrypoint, then sets the role's
# password to the one the stack holds now. The image applies
# POSTGRES_PASSWORD only when it initialises an empty data directory, so a
# kept volume (pulumi destroy, then up: a new generated password) or a
# changed postgresPassword would lock the stack out of its own database.
# Inside the container the socket trusts local users, as in the official
# image, so the old password is not needed.
set -u
docker-entrypoint.sh "$@" &
pg=$!
trap 'kill -INT "$pg" 2>/dev/null' INT
trap 'kill -TERM "$pg" 2>/dev/null' TERM

pw=${POSTGRES_PASSWORD:-}
if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
	pw=$(cat "$POSTGRES_PASSWORD_FILE")
fi
psql_local() { psql -h /var/run/postgresql -U "$POSTGRES_USER" -d postgres -X -q -v ON_ERROR_STOP=1 "$@"; }

# Wait for the server (the first-start init server counts too: the change
# is durable either way), unless it died.
until [ "$(psql_local -tAc 'select 1' 2>/dev/null)" = 1 ]; do
	kill -0 "$pg" 2>/dev/null || break
	sleep 1
done
if kill -0 "$pg" 2>/dev/null; then
	# Through stdin with psql variables: the password is never on a command
	# line, and the server logs no statement of this session, even a failed one.
	if printf '%s\n' "SET log_min_error_statement = panic;" "SET log_statement = none;" \
		"ALTER ROLE :\"role\" PASSWORD :'pw';" | psql_local -v role="$POSTGRES_USER" -v pw="$pw"; then
		echo "temporal-kit: password of role $POSTGRES_USER set from the stack"
	else
		echo "temporal-kit: could not set the password of role $POSTGRES_USER; remote logins will fail" >&2
	fi
fi

# wait returns early when a trapped signal arrives: wait again until the
# server has exited, and exit with its code.
while :; do
	wait "$pg"
	code=$?
	kill -0 "$pg" 2>/dev/null || exit "$code"
done
