/**
 * The cluster's wire format (cross-runtime structured clone), public for tools and tests.
 *
 * @module
 */
export { decode, encode, type RefIn, type RefOut, WIRE_VERSION } from "./_codec.ts";
export { redact } from "./_redis.ts";
