/**
 * A dotenv-style file as the local stack writes it (`KEY=VALUE` lines): `#` comments, an optional
 * `export ` prefix and surrounding quotes are allowed.
 */
export function parseEnvFile(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!match) continue;
    const value = match[2].trim();
    const quoted = /^(["'])(.*)\1$/.exec(value);
    values[match[1]] = quoted ? quoted[2] : value;
  }
  return values;
}
