// Types for pg-cluster.js, which stays plain JavaScript so `node scripts/*.js` runs it unbuilt.
export interface StartClusterOptions {
  /** Parent of the cluster's temporary folder (default os.tmpdir()); the postgres user must reach it when run as root. */
  baseDir?: string;
  /** Fixed port; by default a free one is picked. */
  port?: number;
  /** Another PostgreSQL's bin folder (initdb, pg_ctl, postgres); by default the machine's. */
  bindir?: string;
}

export interface PgCluster {
  /** Superuser URL to the `postgres` database, password included. */
  url: string;
  host: string;
  port: number;
  user: string;
  password: string;
  dataDir: string;
  bindir: string;
  /** Immediate shutdown, then removes the temporary folder. Safe to call twice. */
  stop(): Promise<void>;
}

export function startCluster(options?: StartClusterOptions): Promise<PgCluster>;
export function createDatabase(url: string, name: string): Promise<void>;
/** DROP DATABASE IF EXISTS ... WITH (FORCE). */
export function dropDatabase(url: string, name: string): Promise<void>;
/** The URL with its database path replaced by `name`. */
export function withDatabase(url: string, name: string): string;
/** Runs `fn` with a connected client, then closes it. */
export function withClient<T>(
  url: string,
  fn: (client: import('pg').Client) => Promise<T>,
): Promise<T>;
