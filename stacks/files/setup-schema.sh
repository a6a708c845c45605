#!/bin/sh
# Creates or upgrades Temporal's two PostgreSQL schemas. Safe on every deploy:
# create-database tolerates an existing database, setup-schema -v 0.0 only
# creates the version tables if missing, update-schema applies newer versions only.
set -eu
schema_root=/etc/temporal/schema/postgresql/v12

for db in temporal temporal_visibility; do
  case "$db" in
    temporal) dir="$schema_root/temporal/versioned" ;;
    *) dir="$schema_root/visibility/versioned" ;;
  esac
  if out=$(temporal-sql-tool --db "$db" create-database 2>&1); then
    echo "created database $db"
  elif printf '%s' "$out" | grep -q 'already exists'; then
    echo "database $db exists"
  else
    printf '%s\n' "$out" >&2
    echo "temporal-schema: cannot create database $db on $SQL_HOST:$SQL_PORT as $SQL_USER" >&2
    exit 1
  fi
  temporal-sql-tool --db "$db" setup-schema -v 0.0
  temporal-sql-tool --db "$db" update-schema -d "$dir"
  echo "schema of $db is up to date"
done
