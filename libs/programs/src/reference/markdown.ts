/** Text made safe for one cell of a Markdown table. */
export function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function code(text: string): string {
  return `\`${text}\``;
}
