#!/bin/sh
# Creates or upgrades Temporal's two PostgreSQL schemas. Safe on every deploy:
# create-database is a no-op on an existing database, setup-schema -v 0.0 only
# creates the version tables if missing, update-schema applies newer versions only.
set -eu
# The password comes as a file (stacks: secrets); temporal-sql-tool reads SQL_PASSWORD.
if [ -n "${KIT_SQL_PASSWORD_FILE:-}" ]; then
  SQL_PASSWORD=$(cat "$KIT_SQL_PASSWORD_FILE")
  export SQL_PASSWORD
fi
schema_root=/etc/temporal/schema/postgresql/v12

for db in temporal temporal_visibility; do
  case "$db" in
    temporal) dir="$schema_root/temporal/versioned" ;;
    *) dir="$schema_root/visibility/versioned" ;;
  esac
  # create-database is a no-op when the database exists already.
  if ! temporal-sql-tool --db "$db" create-database; then
    echo "temporal-schema: cannot create database $db on $SQL_HOST:$SQL_PORT as $SQL_USER" >&2
    exit 1
  fi
  echo "database $db is there"
  temporal-sql-tool --db "$db" setup-schema -v 0.0
  temporal-sql-tool --db "$db" update-schema -d "$dir"
  echo "schema of $db is up to date"
done
