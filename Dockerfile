# The command line in a container, for cron, Kubernetes and anything else that runs images:
#   docker run --rm ghcr.io/<owner>/backup-action:v1 backup --storage s3://bucket/prefix ...
# Build after `npm run sea`: the image holds the single executable of its platform (Node.js is
# inside it: no runtime layer), checked against its .sha256. Both platforms at once:
#   docker buildx build --platform linux/amd64,linux/arm64 .

# The executable of the platform being built, checked; only it reaches the image.
FROM debian:bookworm-slim AS executable
ARG TARGETARCH
COPY executables/ /executables/
RUN set -eu; \
    case "$TARGETARCH" in \
      amd64) arch=x64 ;; \
      arm64) arch=arm64 ;; \
      *) echo "no backup-action executable for the platform '$TARGETARCH'" >&2; exit 1 ;; \
    esac; \
    cd /executables; \
    sha256sum -c "backup-action-linux-$arch.sha256"; \
    install -m 0755 "backup-action-linux-$arch" /backup-action

FROM debian:bookworm-slim

# Every PostgreSQL major the tool supports, from the PostgreSQL project's apt repository: the
# tool picks the client that matches the server, in /usr/lib/postgresql/<major>/bin.
ARG PG_MAJORS="13 14 15 16 17 18"

# libstdc++6: the one library Node's binary needs beyond glibc (slim images have it; said here).
# gnupg: gpg and its agent, for backups encrypted with gpg-recipients (docs/encryption.md).
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends ca-certificates curl libstdc++6 zstd age gnupg; \
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

COPY --from=executable /backup-action /usr/local/bin/backup-action
COPY executables/LICENSES.txt /usr/share/doc/backup-action/LICENSES.txt

# A fixed numeric id, so Kubernetes' runAsNonRoot can check it without a passwd lookup.
RUN useradd --uid 10001 --user-group --no-create-home --home-dir /tmp backup
USER 10001:10001
WORKDIR /tmp

ENTRYPOINT ["/usr/local/bin/backup-action"]
CMD ["--help"]
