/**
 * A channel-neutral description of a notification: each channel renders the same document in its
 * own syntax (plain text, HTML, Slack mrkdwn), so what a ban mail says cannot drift from what the
 * Slack message says. All strings here are plain text: renderers escape them.
 */
export type Block =
  | { readonly kind: 'fields'; readonly heading?: string; readonly rows: readonly (readonly [string, string])[] }
  | { readonly kind: 'table'; readonly heading: string; readonly columns: readonly string[]; readonly rows: readonly (readonly string[])[] }
  | { readonly kind: 'lines'; readonly heading: string; readonly lines: readonly string[]; readonly note?: string }
  | { readonly kind: 'text'; readonly text: string };

export interface Doc {
  /** One line, safe for a Subject (no CR/LF, no controls). */
  readonly subject: string;
  /** The first sentence of the body. */
  readonly title: string;
  readonly blocks: readonly Block[];
  readonly footer: string;
}
