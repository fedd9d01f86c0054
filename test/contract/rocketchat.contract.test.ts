/**
 * The ChatPlatform contract against the Rocket.Chat fake (the real `@rocket.chat/sdk` DDP driver and
 * plain `fetch` over real HTTP and WebSocket). The harness is in rocketchat-harness.ts; the Rocket.Chat
 * specifics are in rocketchat-specific.test.ts.
 */
import { startRocketChatFake } from '../fakes/rocketchat/index.js';
import { runChatPlatformContract } from './chat-platform.contract.js';
import { makeRocketChatHarness } from './rocketchat-harness.js';

const probe = await startRocketChatFake();
const specNote = probe.specStatus.validated ? 'requests validated against the OpenAPI spec' : 'SPEC VALIDATION SKIPPED (../shared/specs/rocketchat absent)';
if (!probe.specStatus.validated) console.warn(`[rocketchat contract] ${probe.specStatus.detail}`);
await probe.close();

runChatPlatformContract(`rocketchat (${specNote})`, () => makeRocketChatHarness());
