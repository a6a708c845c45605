#!/usr/bin/env bash
# The official postgres image's entrypoint contract, written for Debian's
# postgresql package: on an empty PGDATA, initdb with POSTGRES_USER and
# POSTGRES_PASSWORD, password auth for remote hosts, POSTGRES_DB created,
# /docker-entrypoint-initdb.d run; on existing data, start as is.
set -Eeo pipefail

# file_env VAR [DEFAULT]: VAR, or the content of the file named by VAR_FILE.
file_env() {
	local var="$1" file_var="${1}_FILE" def="${2:-}"
	if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
		echo >&2 "error: both $var and $file_var are set; set only one"
		exit 1
	fi
	local val="$def"
	if [ -n "${!var:-}" ]; then
		val="${!var}"
	elif [ -n "${!file_var:-}" ]; then
		val="$(<"${!file_var}")"
	fi
	export "$var"="$val"
	unset "$file_var"
}

setup_env() {
	file_env POSTGRES_PASSWORD
	file_env POSTGRES_USER postgres
	file_env POSTGRES_DB "$POSTGRES_USER"
	file_env POSTGRES_INITDB_ARGS
	: "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"
	DATABASE_ALREADY_EXISTS=
	if [ -s "$PGDATA/PG_VERSION" ]; then
		DATABASE_ALREADY_EXISTS=true
	fi
}

# As root: make PGDATA and the socket directory the postgres user's.
create_dirs() {
	mkdir -p "$PGDATA"
	chmod 00700 "$PGDATA" || :
	mkdir -p /var/run/postgresql
	chmod 03777 /var/run/postgresql || :
	if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
		mkdir -p "$POSTGRES_INITDB_WALDIR"
		chown postgres:postgres "$POSTGRES_INITDB_WALDIR"
		chmod 700 "$POSTGRES_INITDB_WALDIR"
	fi
	find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' +
	find /var/run/postgresql \! -user postgres -exec chown postgres:postgres '{}' +
}

verify_env() {
	if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
		cat >&2 <<-'MSG'
			Error: the database is uninitialized and no superuser password was given.
			       Set POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE) to a non-empty value,
			       or POSTGRES_HOST_AUTH_METHOD=trust to allow every connection without
			       a password (never do that outside a throwaway test).
		MSG
		exit 1
	fi
	if [ "$POSTGRES_HOST_AUTH_METHOD" = trust ]; then
		echo >&2 "warning: POSTGRES_HOST_AUTH_METHOD=trust: every host may connect without a password"
	fi
}

init_database_dir() {
	local args=(--username="$POSTGRES_USER")
	if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
		args+=(--waldir="$POSTGRES_INITDB_WALDIR")
	fi
	if [ -z "$POSTGRES_PASSWORD" ]; then
		# shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of words by contract
		initdb "${args[@]}" $POSTGRES_INITDB_ARGS
		return
	fi
	# Through a pipe that lives as long as initdb: the password is never on a command line.
	# shellcheck disable=SC2086
	initdb "${args[@]}" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") $POSTGRES_INITDB_ARGS
}

# Remote hosts authenticate; the socket and loopback inside the container
# keep initdb's trust, as in the official image.
setup_hba() {
	printf '\nhost all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >>"$PGDATA/pg_hba.conf"
}

temp_server_start() {
	if [ "$1" = postgres ]; then shift; fi
	# Socket only: nothing outside connects before initialisation is over.
	PGUSER="$POSTGRES_USER" pg_ctl -D "$PGDATA" -w start \
		-o "$(printf '%q ' -c listen_addresses='' -p "${PGPORT:-5432}" "$@")"
}

temp_server_stop() {
	PGUSER="$POSTGRES_USER" pg_ctl -D "$PGDATA" -m fast -w stop
}

# psql_init DB [ARGS...]: psql as the superuser over the socket, stopping at the first error.
psql_init() {
	local db="$1"
	shift
	psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc --dbname "$db" "$@"
}

setup_db() {
	local exists
	exists="$(echo "SELECT 1 FROM pg_database WHERE datname = :'db';" |
		psql_init postgres --tuples-only --no-align --set db="$POSTGRES_DB")"
	if [ -z "$exists" ]; then
		echo 'CREATE DATABASE :"db";' | psql_init postgres --set db="$POSTGRES_DB"
		echo "created database $POSTGRES_DB"
	fi
}

process_init_files() {
	local f
	for f in /docker-entrypoint-initdb.d/*; do
		case "$f" in
		*.sh)
			if [ -x "$f" ]; then
				echo "running $f"
				"$f"
			else
				echo "sourcing $f"
				# shellcheck disable=SC1090
				. "$f"
			fi
			;;
		*.sql) echo "running $f"; psql_init "$POSTGRES_DB" <"$f" ;;
		*.sql.gz) echo "running $f"; gunzip -c "$f" | psql_init "$POSTGRES_DB" ;;
		*.sql.xz) echo "running $f"; xzcat "$f" | psql_init "$POSTGRES_DB" ;;
		*/\*) ;;
		*) echo "ignoring $f" ;;
		esac
	done
}

main() {
	# Options only ("-c x=y"): they are for postgres.
	if [ "${1:0:1}" = '-' ]; then
		set -- postgres "$@"
	fi
	if [ "$1" != postgres ]; then
		exec "$@"
	fi
	setup_env
	if [ "$(id -u)" = 0 ]; then
		create_dirs
		exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
	fi
	if [ -z "$DATABASE_ALREADY_EXISTS" ]; then
		verify_env
		init_database_dir
		setup_hba
		export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
		temp_server_start "$@"
		if [ "$POSTGRES_DB" != postgres ]; then
			setup_db
		fi
		process_init_files
		temp_server_stop
		unset PGPASSWORD
		echo 'PostgreSQL init process complete; ready for start up.'
	else
		echo 'PostgreSQL database directory appears to contain a database; skipping initialization'
	fi
	exec "$@"
}

main "$@"
