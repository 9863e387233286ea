#!/bin/sh
# Run once by the postgres image's entrypoint, on the first start with an empty data volume
# (files in /docker-entrypoint-initdb.d). POSTGRES_DB (reelstream's event store) already exists;
# this adds the MLflow tracking/registry database and the Airflow metadata database, all owned
# by POSTGRES_USER. Schemas are created by their owners: `reelstream db upgrade`, the MLflow
# server on start, `airflow db migrate`.
set -eu
for db in mlflow airflow; do
    echo "creating database $db"
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
        -c "CREATE DATABASE \"$db\" OWNER \"$POSTGRES_USER\";"
done
