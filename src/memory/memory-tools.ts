import type { JsonSchemaValidator, jsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/types.js';

/**
 * Names shared by the embedded memory server and collab's client. Kept apart from mcp-server.ts so
 * the client can use them without loading the server (and SQLite) when it talks over stdio.
 */

/** MCP tool names: Byterover's two, plus collab's exact lookup and stats. */
export const MEMORY_TOOLS = {
  store: 'byterover-store-knowledge',
  retrieve: 'byterover-retrieve-knowledge',
  lookup: 'collab-lookup-artifact',
  stats: 'collab-memory-stats',
} as const;

/** `_meta` key on each retrieve content block carrying the record's metadata (embedded server only). */
export const RECORD_META_KEY = 'collab/record';

/** `_meta` key on an error result carrying the CollabError code, so the client can keep it. */
export const ERROR_META_KEY = 'collab/error';

/** The text of the single block an empty retrieve answers with. */
export const NO_MATCH_TEXT = 'No memories matched the query.';

/** Default and bounds of retrieve's `limit`. */
export const RETRIEVE_LIMIT = { default: 10, min: 1, max: 100 } as const;

/** Name and version the embedded server reports in `initialize`. */
export const MEMORY_SERVER_NAME = 'collab-memory';

/**
 * A JSON Schema "validator" that accepts everything, handed to the SDK's Client and Server instead of
 * Ajv. The server never elicits (the only use of it there) and the client checks every field it reads
 * itself; building Ajv and compiling the output schemas would cost a noticeable part of the connect
 * budget (spawn -> initialize -> tools/list) that the bench measures.
 */
export const ACCEPT_ALL_VALIDATOR: jsonSchemaValidator = {
  getValidator<T>(): JsonSchemaValidator<T> {
    return (input: unknown) => ({ valid: true, data: input as T, errorMessage: undefined });
  },
};
