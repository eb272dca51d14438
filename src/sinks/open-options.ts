/**
 * open-options: what a sink factory gets besides its URL. Credentials are resolved once,
 * by the registry, from (lowest to highest precedence) the JSON output of a credentials
 * command, environment variables, then explicit options; a factory never reads files
 * inside a backup for them, and no sink ever puts a credential in a log line, an error
 * message or its `name` (tests check this).
 *
 * Credential names per scheme (environment variable in brackets):
 * - s3, gs: accessKeyId [AWS_ACCESS_KEY_ID], secretAccessKey [AWS_SECRET_ACCESS_KEY],
 *   sessionToken [AWS_SESSION_TOKEN]
 * - azure: accountKey [AZURE_STORAGE_KEY], sasToken [AZURE_STORAGE_SAS]
 * - ftp, ftps: password [FTP_PASSWORD]
 * - sftp: password [SFTP_PASSWORD], privateKey [SFTP_PRIVATE_KEY] (PEM text),
 *   privateKeyPath [SFTP_PRIVATE_KEY_PATH], passphrase [SFTP_PASSPHRASE]
 */

/** SinkCredentials: resolved secrets by name (see above). Never logged. */
export type SinkCredentials = Readonly<Record<string, string | undefined>>;

/** SinkOpenOptions: options common to every sink factory. */
export interface SinkOpenOptions {
  credentials: SinkCredentials;
  /** Trust this CA (PEM) for TLS (ftps with a test server, S3/Azure with a private endpoint). */
  caCert?: string;
  /** Accept a self-signed certificate (tests only; never the default). */
  insecureTls?: boolean;
}
