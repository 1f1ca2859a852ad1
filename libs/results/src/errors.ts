/**
 * A question the results cannot answer as asked (an unknown key field, outputs in different units):
 * the caller's mistake, so the API answers it with a 400 and its message as it is.
 */
export class ResultsQueryError extends Error {
  override readonly name = 'ResultsQueryError';
}
