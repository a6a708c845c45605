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

psql_local() { psql -h /var/run/postgresql -U "$POSTGRES_USER" -d postgres -X -q -v ON_ERROR_STOP=1 "$@"; }

# set_password sets the role's password from the file (or the env var). The
# value reaches psql through its environment and \getenv, never a command
# line (ps would show it), and this session logs no statement of its own.
set_password() {
	if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
		KIT_PW=$(cat "$POSTGRES_PASSWORD_FILE") || return 1
	else
		KIT_PW=${POSTGRES_PASSWORD:-}
	fi
	[ -n "$KIT_PW" ] || { echo "temporal-kit: no password for role $POSTGRES_USER" >&2; return 1; }
	printf '%s\n' "SET log_min_error_statement = panic;" "SET log_statement = none;" \
		"SET log_min_duration_statement = -1;" '\getenv pw KIT_PW' \
		"ALTER ROLE :\"role\" PASSWORD :'pw';" | KIT_PW="$KIT_PW" psql_local -v role="$POSTGRES_USER"
}

# set_monitoring creates the read-only role postgres-exporter logs in as
# (member of pg_monitor: statistics only, no table data), if missing, and
# sets its password from its secret file, the same careful way.
set_monitoring() {
	[ -n "${KIT_MONITORING_ROLE:-}" ] || return 0
	KIT_MPW=$(cat "$KIT_MONITORING_PASSWORD_FILE") || return 1
	[ -n "$KIT_MPW" ] || { echo "temporal-kit: empty password for role $KIT_MONITORING_ROLE" >&2; return 1; }
	printf '%s\n' "SET log_min_error_statement = panic;" "SET log_statement = none;" \
		"SET log_min_duration_statement = -1;" '\getenv pw KIT_MPW' \
		"SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') AS missing \\gset" \
		'\if :missing' "CREATE ROLE :\"role\" LOGIN;" '\endif' \
		"ALTER ROLE :\"role\" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'pw';" \
		"GRANT pg_monitor TO :\"role\";" | KIT_MPW="$KIT_MPW" psql_local -v role="$KIT_MONITORING_ROLE"
}

# set_statements creates the view of pg_stat_statements (the library is
# preloaded by the command line) in the postgres database, where an
# operator looks for the busiest statements of every database.
set_statements() {
	psql_local -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements;"
}

# Wait for the server (the first-start init server counts too: the change
# is durable either way), unless it died; retry, since that init server
# stops soon after it answers.
waited=0
while kill -0 "$pg" 2>/dev/null; do
	if [ "$(psql_local -tAc 'select 1' 2>/dev/null)" = 1 ] && set_password && set_monitoring && set_statements; then
		echo "temporal-kit: password of role $POSTGRES_USER set from the stack${KIT_MONITORING_ROLE:+; monitoring role $KIT_MONITORING_ROLE ready}"
		break
	fi
	waited=$((waited + 1))
	if [ "$waited" -eq 60 ]; then
		echo "temporal-kit: after 60s role $POSTGRES_USER still cannot log in over the socket to set its password; still trying" >&2
	fi
	sleep 1
done

# wait returns early when a trapped signal arrives: wait again until the
# server has exited, and exit with its code.
while :; do
	wait "$pg"
	code=$?
	kill -0 "$pg" 2>/dev/null || exit "$code"
done
