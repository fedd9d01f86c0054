/**
 * The port between the platform-agnostic core and a chat platform (Mattermost, Rocket.Chat).
 *
 * Rules: wire types never leave an adapter's folder; references to channels and posts are opaque
 * branded strings minted by the adapter; `core/` branches on `capabilities`, never on `kind`.
 * Every method may do network I/O and throws `RelaisError` with `retryable` set (network errors,
 * 5xx and 429 are retryable; 4xx other than 429 are not).
 */

declare const channelRefBrand: unique symbol;
declare const postRefBrand: unique symbol;

/** An opaque reference to a customer channel, minted by the adapter (a Mattermost channel id…). */
export type ChatChannelRef = string & { readonly [channelRefBrand]: 'ChatChannelRef' };
/** An opaque reference to one post, minted by the adapter. */
export type ChatPostRef = string & { readonly [postRefBrand]: 'ChatPostRef' };

export interface CustomerChannelSpec {
  /**
   * A stable, non-personal key for this (business number, customer) pair: lowercase `[a-z0-9]`,
   * at most 40 characters. The adapter derives the channel name from it, so the name never
   * reveals the phone number and two workers asking for the same key get the same channel.
   */
  key: string;
  /** Shown to agents: profile name and masked number. Adapters truncate to their own limits. */
  displayName: string;
  /**
   * Team / workspace the channel belongs to (Mattermost team name). Platforms without teams
   * (Rocket.Chat private groups) may ignore it; platforms that need one refuse an empty value.
   */
  team: string;
  /** Usernames (and `@group` / role names where the platform has them) to add as members. */
  agents: string[];
  /** One-line header / topic shown above the conversation. */
  header?: string;
  /** Longer description (purpose). */
  purpose?: string;
}

export interface ChatFile {
  name: string;
  mimeType: string;
  data: Uint8Array;
}

export interface ChatPostInput {
  /**
   * Relais' own id for this post (a UUID, never a wamid). Adapters store it in the post (props,
   * custom fields, or a deterministic message id) so `findPostByRelaisId` can reconcile an
   * ambiguous outcome before any retry.
   */
  relaisId: string;
  /** Markdown text as agents read it. */
  text: string;
  /** Thread the post under this post (reply with context). */
  rootPost?: ChatPostRef;
  files?: ChatFile[];
}

/** What `deleteCustomerChannel` did. */
export interface ChannelRemoval {
  /** `deleted`: the channel, its posts and files are gone; `archived`: it was retired instead (see `detail`). */
  outcome: 'deleted' | 'archived';
  /** Why the channel was archived rather than deleted, and how to allow deletion (no personal data). */
  detail?: string;
}

export interface ChatPlatformCapabilities {
  /** Posts can be threaded under a root post. */
  threads: boolean;
  /** Reactions can be put on posts. */
  reactions: boolean;
}

export interface ChatPlatform extends ChatAgentSide {
  /** For logs and metrics labels only; core never branches on it. */
  readonly kind: string;
  readonly capabilities: ChatPlatformCapabilities;

  /** Resolves the bot identity and checks the team exists. Network I/O; throws RelaisError. */
  connect(): Promise<void>;
  /** Cheap reachability probe for /readyz. Never throws. */
  checkReady(): Promise<{ ok: boolean; detail?: string }>;

  /**
   * Returns the customer's channel, creating it if absent and restoring it if archived.
   * Idempotent and safe under concurrency: two callers with the same key get the same channel.
   * Ensures the bot and `agents` are members (missing users are skipped and logged).
   */
  ensureCustomerChannel(spec: CustomerChannelSpec): Promise<ChatChannelRef>;

  /** Updates the channel's display name / header (best effort, idempotent). */
  updateCustomerChannel?(channel: ChatChannelRef, patch: { displayName?: string; header?: string }): Promise<void>;

  /**
   * Creates one post as the bot, uploading `files` first. Not idempotent by itself: callers
   * record intent durably first and call `findPostByRelaisId` before any retry.
   */
  postMessage(channel: ChatChannelRef, post: ChatPostInput): Promise<ChatPostRef>;

  /** Finds a post this bot made with `relaisId`, created at or after `since`. Read-only. */
  findPostByRelaisId(channel: ChatChannelRef, relaisId: string, since: Date): Promise<ChatPostRef | null>;

  /** The root of the thread `post` belongs to (itself when it is a root). */
  threadRootOf(post: ChatPostRef): Promise<ChatPostRef>;

  /**
   * Adds (or removes) the bot's reaction with a Unicode emoji. Returns false when the platform
   * has no name for that emoji, so the caller can fall back to a readable line.
   */
  setReaction(post: ChatPostRef, emoji: string, on: boolean): Promise<boolean>;

  /**
   * Deletes one post (every part of it, when the adapter spread one post over several messages),
   * with its files. Idempotent: a post that is already gone counts as deleted. Used by erasure and
   * retention. Depending on the server this is a soft delete (Mattermost keeps the row with
   * `delete_at` set; Rocket.Chat removes the message unless it keeps edit history).
   */
  deletePost(post: ChatPostRef): Promise<void>;

  /**
   * Deletes a customer channel with its posts and files. Idempotent: a channel that is already gone
   * counts as deleted. When the server does not allow deletion through its API (Mattermost without
   * `ServiceSettings.EnableAPIChannelDeletion`), the channel is retired as by
   * `archiveCustomerChannel` and the result says so, with what the operator can change.
   */
  deleteCustomerChannel(channel: ChatChannelRef): Promise<ChannelRemoval>;

  /**
   * Retires a customer channel: archives it (posts and files stay readable to administrators) and
   * renames it first, so that `ensureCustomerChannel` with the same key later creates a new channel
   * instead of restoring this one. Idempotent (an already retired or deleted channel is left as is).
   */
  archiveCustomerChannel(channel: ChatChannelRef): Promise<void>;

  /** Present when the platform supports server-side slash commands (`/wa …`). */
  readonly slashCommands?: SlashCommandCapability;

  /** Releases sockets and timers. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Agent side (agent replies back to WhatsApp). Implemented by every platform adapter.

/** A file attached to an agent's post, not yet downloaded. */
export interface ChatFileRef {
  /** Opaque id the adapter can download by. */
  id: string;
  name: string;
  mimeType: string;
  size: number;
}

/** Something an agent (or anyone) posted in a channel the bot is a member of. */
export interface AgentPostEvent {
  kind: 'post';
  post: ChatPostRef;
  channel: ChatChannelRef;
  authorId: string;
  authorName: string;
  /** Raw Markdown as typed. */
  text: string;
  /** Set when the post is a reply in a thread. */
  rootPost?: ChatPostRef;
  files: ChatFileRef[];
  /** Server time of creation, ms since epoch (used as the catch-up cursor). */
  createdAt: number;
  /** Posted by this bot (never relayed: that would echo customer messages back). */
  fromBot: boolean;
  /** A system post (join/leave, header change…): never relayed. */
  system: boolean;
}

/** A reaction put on or taken off a post. */
export interface AgentReactionEvent {
  kind: 'reaction';
  post: ChatPostRef;
  channel: ChatChannelRef;
  authorId: string;
  /** Unicode emoji when the platform's name maps to one, else undefined. */
  emoji?: string;
  /** The platform's own emoji name (e.g. `+1`). */
  emojiName: string;
  on: boolean;
  /** Server time, ms since epoch (part of the idempotency key of the resulting WhatsApp reaction). */
  at: number;
  fromBot: boolean;
}

export type AgentEvent = AgentPostEvent | AgentReactionEvent;

export interface ChatListenHandlers {
  /** Called for every live event, in the order received. A rejection is logged; the event is caught up later. */
  onEvent(event: AgentEvent): Promise<void>;
  /**
   * Called after every successful (re)connection, before live events of that connection are
   * delivered: the place to catch up from stored cursors with `postsSince`.
   */
  onConnected(info: { reconnect: boolean }): Promise<void>;
}

/** The agent-facing half of a platform. */
export interface ChatAgentSide {
  /**
   * Opens the realtime connection as the bot and keeps it open (reconnect with backoff and
   * jitter) until the returned function is called. Resolves once the first connection is up or
   * failed once (it keeps retrying in the background).
   */
  listen(handlers: ChatListenHandlers): Promise<() => Promise<void>>;
  /** Posts in `channel` created strictly after `sinceMs`, oldest first (catch-up). */
  postsSince(channel: ChatChannelRef, sinceMs: number): Promise<AgentPostEvent[]>;
  /** Downloads an attached file with the bot's credentials. */
  downloadFile(file: ChatFileRef): Promise<ChatFile>;
  /** Posts a notice from the bot, threaded under `rootPost` when given (errors, window closed…). */
  postNotice(channel: ChatChannelRef, text: string, rootPost?: ChatPostRef): Promise<ChatPostRef>;
}

/** Platforms with server-side slash commands (Mattermost) declare this capability. */
export interface SlashCommandCapability {
  /** Registers (or updates) the `/wa` command in `team`, pointing at `url`. Idempotent. Returns the token the platform will send. */
  registerSlashCommand(opts: { team: string; url: string; trigger: string; description: string; hint: string }): Promise<{ token: string }>;
  /** Reads the platform's slash-command request; null when it is not one. Does not verify the token. */
  parseSlashCommand(req: Request): Promise<{ token: string; channel: ChatChannelRef; invocationId: string; text: string; userId: string } | null>;
  /**
   * Of `channels`, those `userId` is a member of (so may read), for answers shown to that user
   * alone (`/wa search`). Network I/O, read-only; a channel it cannot check is left out.
   */
  channelsVisibleTo?(userId: string, channels: ChatChannelRef[]): Promise<Set<string>>;
}
