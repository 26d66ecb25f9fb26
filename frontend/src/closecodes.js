// What the client does after the server closes its socket: the protocol's
// close-code table, read from the same file as the Go client and server
// (wire/closecodes.json; docs/protocol.md explains it). esbuild bundles the
// JSON into the app; node reads it directly in the tests.

import table from '../../wire/closecodes.json' with { type: 'json' };

export const RECONNECT = 'reconnect';
export const RECONNECT_NOW = 'reconnect-now';
export const WAIT = 'wait';
export const RESYNC = 'resync';
export const STOP = 'stop';

const actions = new Map(table.close.map((row) => [row.code, row.action]));

// closeAction returns the table's action for a close code; a code the table
// does not list (1000, 1006 for a lost connection, ...) means reconnect with
// backoff.
export function closeAction(code) {
  return actions.get(code) ?? RECONNECT;
}

// closeCodes is the table's rows: {code, name, action, meaning}.
export const closeCodes = table.close;
