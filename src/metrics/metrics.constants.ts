/** The route label of requests that matched no route. */
export const UNMATCHED = 'unmatched';
/** The route label of requests refused before routing (Node's parser, a malformed URL). */
export const UNPARSED = 'unparsed';
