# The command line in a container, for cron, Kubernetes and anything else that runs images:
#   docker run --rm ghcr.io/<owner>/backup-action:v1 backup --storage s3://bucket/prefix ...
# Build after `npm run build` (the image holds the bundle in dist/, not the sources).
FROM node:24-slim

# Every PostgreSQL major the tool supports, from the PostgreSQL project's apt repository: the
# tool picks the client that matches the server, in /usr/lib/postgresql/<major>/bin.
ARG PG_MAJORS="13 14 15 16 17 18"

RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends ca-certificates curl zstd age; \
    install -d /usr/share/postgresql-common/pgdg; \
    curl -fsSL -o /usr/share/postgresql-common/pgdg/apt.postgresql.org.asc \
      https://www.postgresql.org/media/keys/ACCC4CF8.asc; \
    . /etc/os-release; \
    echo "deb [signed-by=/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc] https://apt.postgresql.org/pub/repos/apt ${VERSION_CODENAME}-pgdg main" \
      > /etc/apt/sources.list.d/pgdg.list; \
    apt-get update; \
    apt-get install -y --no-install-recommends $(for major in $PG_MAJORS; do echo "postgresql-client-$major"; done); \
    apt-get purge -y --auto-remove curl; \
    rm -rf /var/lib/apt/lists/*

COPY dist/ /opt/backup-action/dist/

# A fixed numeric id, so Kubernetes' runAsNonRoot can check it without a passwd lookup.
RUN useradd --uid 10001 --user-group --no-create-home --home-dir /tmp backup
USER 10001:10001
WORKDIR /tmp
ENV NODE_ENV=production

ENTRYPOINT ["node", "/opt/backup-action/dist/cli/index.js"]
CMD ["--help"]
