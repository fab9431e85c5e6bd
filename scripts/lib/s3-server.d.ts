// Types for s3-server.js, which stays plain JavaScript so `node scripts/*.js` runs it unbuilt.
export interface S3Keys {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface StartS3ServerOptions {
  /** Buckets to create before the server starts listening. */
  buckets?: string[];
  /** Keys of its own: the only ones it accepts (s3rver's S3RVER/S3RVER no longer). */
  keys?: S3Keys;
}

export interface S3Server {
  /** e.g. http://127.0.0.1:40891 */
  endpoint: string;
  port: number;
  /** s3rver's data folder: bucket/key files live under it. */
  dir: string;
  /** Closes the server and its connections, then removes `dir`. Safe to call twice. */
  stop(): Promise<void>;
}

export const S3RVER_REGION: 'us-east-1';
export const S3RVER_CREDENTIALS: Readonly<{ accessKeyId: string; secretAccessKey: string }>;
/** S3RVER_CREDENTIALS as AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, for a program's environment. */
export const S3RVER_ENV: Readonly<{ AWS_ACCESS_KEY_ID: string; AWS_SECRET_ACCESS_KEY: string }>;

export function startS3Server(options?: StartS3ServerOptions): Promise<S3Server>;

/** Settings for the AWS SDK v3 S3Client that work against s3rver. */
export function s3ClientConfig(
  endpoint: string,
  keys?: S3Keys,
): {
  endpoint: string;
  region: string;
  forcePathStyle: true;
  credentials: { accessKeyId: string; secretAccessKey: string };
  requestChecksumCalculation: 'WHEN_REQUIRED';
  responseChecksumValidation: 'WHEN_REQUIRED';
};
