/**
 * Whether an If-None-Match header names `etag` (RFC 9110 §13.1.2): `*`, or a comma-separated list
 * of tags compared weakly (a `W/` prefix on either side is ignored), so a cache that stored the tag
 * as weak still revalidates.
 */
export function ifNoneMatchHits(header: string | string[] | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const wanted = opaque(etag);
  for (const tag of (Array.isArray(header) ? header.join(',') : header).split(',')) {
    const candidate = tag.trim();
    if (candidate === '*' || opaque(candidate) === wanted) return true;
  }
  return false;
}

const opaque = (tag: string): string => (tag.startsWith('W/') ? tag.slice(2) : tag);
