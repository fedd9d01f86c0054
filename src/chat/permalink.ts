import type { RelaisConfig } from '../config/load.js';
import { routeForNumber } from '../config/load.js';
import { customerChannelName } from './channel-name.js';
import { mattermostLink } from './mattermost/permalink.js';
import { rocketChatLink } from './rocketchat/permalink.js';

/** Where a stored message shows in the chat platform (what search results link to). */
export interface ChatLocation {
  /** Business number of the conversation (picks the team). */
  phoneNumberId: string;
  /** `customers.channel_key`: the channel's name derives from it. */
  channelKey: string;
  /** The channel exists (the customer's messages were relayed at least once). */
  channelId: string | null;
  /** The post showing this message, once relayed. */
  postId: string | null;
}

/**
 * A function giving the web-client link of a message (the post's permalink, else the channel),
 * for the configured platform; null when no platform is configured, the channel does not exist
 * yet, or (Mattermost) no team is known for the number. Pure, no I/O.
 */
export function chatLinker(config: RelaisConfig): (where: ChatLocation) => string | null {
  const mm = config.chat.platform === 'mattermost' ? config.chat.mattermost : undefined;
  const rc = config.chat.platform === 'rocketchat' ? config.chat.rocketchat : undefined;
  return (where) => {
    if (!where.channelId) return null;
    let channelName: string;
    try {
      channelName = customerChannelName(where.channelKey);
    } catch {
      return null;
    }
    if (mm) {
      const team = routeForNumber(config, where.phoneNumberId)?.team ?? mm.team;
      return team ? mattermostLink(mm.url, team, { channelName, postId: where.postId }) : null;
    }
    if (rc) return rocketChatLink(rc.url, { channelName, postId: where.postId });
    return null;
  };
}
