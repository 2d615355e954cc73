/** dir, S3 and SFTP backends behind the store's Backend interface; copying backups to them and fetching from them. */
export { listFrom, withFetched } from "./catalog.ts";
export { fetchIdKeyCopies, type IdKeyFetchResult } from "./id-key-fetch.ts";
export { describeFailure, findDestination, openBackend, tryOpenBackend, withBackend } from "./open.ts";
export { type CopyResult, listsWhole, syncDestinations } from "./sync.ts";
