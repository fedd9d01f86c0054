/**
 * Links into Rocket.Chat's web client, for search results. Pure, no I/O. Customer channels are
 * private groups: `<url>/group/<room name>`, and `?msg=<message id>` opens the room at a message.
 */
export function rocketChatLink(baseUrl: string, ref: { channelName: string; postId?: string | null }): string {
  const room = `${baseUrl.replace(/\/+$/, '')}/group/${encodeURIComponent(ref.channelName)}`;
  return ref.postId ? `${room}?msg=${encodeURIComponent(ref.postId)}` : room;
}
