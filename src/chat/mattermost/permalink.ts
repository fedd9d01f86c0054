/**
 * Links into Mattermost's web client, for search results. Pure, no I/O.
 * A post's permalink is `<url>/<team>/pl/<post id>`; a channel's is `<url>/<team>/channels/<name>`.
 */
export function mattermostLink(baseUrl: string, team: string, ref: { channelName: string; postId?: string | null }): string {
  const base = `${baseUrl.replace(/\/+$/, '')}/${encodeURIComponent(team)}`;
  return ref.postId ? `${base}/pl/${encodeURIComponent(ref.postId)}` : `${base}/channels/${encodeURIComponent(ref.channelName)}`;
}
