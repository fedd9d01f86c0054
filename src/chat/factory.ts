import type { RelaisConfig } from '../config/load.js';
import type { Logger } from '../log.js';
import { createMattermostPlatform } from './mattermost/index.js';
import type { ChatPlatform } from './platform.js';
import { createRocketChatPlatform } from './rocketchat/index.js';

/** The configured chat platform, or null when its settings are missing (messages then wait). */
export function createChatPlatform(config: RelaisConfig, logger: Logger): ChatPlatform | null {
  const mm = config.chat.mattermost;
  if (config.chat.platform === 'mattermost' && mm) {
    return createMattermostPlatform({ url: mm.url, token: mm.token, logger: logger.child({ platform: 'mattermost' }) });
  }
  const rc = config.chat.rocketchat;
  if (config.chat.platform === 'rocketchat' && rc) {
    return createRocketChatPlatform({ url: rc.url, userId: rc.userId, token: rc.token, logger: logger.child({ platform: 'rocketchat' }) });
  }
  return null;
}
