/**
 * Unicode emoji ⇄ Rocket.Chat reaction shortcodes.
 *
 * Rocket.Chat accepts a reaction only as a `:shortname:` of its emoji table (JoyPixels, formerly
 * EmojiOne; skin tones as `_tone1` … `_tone5`) or a custom emoji; `chat.react` with `👍` is refused
 * ("Invalid emoji provided."). The Mattermost table (`../mattermost/emoji-names.json`) is NOT reused:
 * its skin-tone names (`+1_medium_skin_tone`) and several aliases (`slightly_smiling_face`,
 * `thinking_face`…) differ from JoyPixels' (`thumbsup_tone3`, `slight_smile`, `thinking`), and the
 * full JoyPixels table is not available at run time. This is a small table of the emoji people
 * actually react with, each under a shortname that JoyPixels and emoji-datasource (the data the test
 * fake checks against) spell the same way; hand and gesture emoji carry their five skin tones.
 * Anything else maps to undefined, so the caller falls back to a readable line.
 *
 * The reverse direction also knows the JoyPixels names whose emoji-datasource spelling differs, so a
 * reaction an agent picks in the web client still arrives as its Unicode emoji. Pure, no I/O.
 */

/** `<emoji> <shortname>` pairs; `*` marks emoji with skin-tone variants. */
const TABLE = [
  '😀 grinning 😃 smiley 😄 smile 😁 grin 😆 laughing 😅 sweat_smile 😂 joy',
  '😊 blush 😇 innocent 😉 wink 😌 relieved 😍 heart_eyes 🥰 smiling_face_with_3_hearts 😘 kissing_heart',
  '😗 kissing 😋 yum 😛 stuck_out_tongue 😝 stuck_out_tongue_closed_eyes 😜 stuck_out_tongue_winking_eye 🤪 zany_face 🤨 face_with_raised_eyebrow',
  '🧐 face_with_monocle 😎 sunglasses 🥳 partying_face 😏 smirk 😒 unamused 😞 disappointed 😔 pensive',
  '😟 worried 😕 confused 😣 persevere 😖 confounded 😫 tired_face 😩 weary 🥺 pleading_face',
  '😢 cry 😭 sob 😤 triumph 😠 angry 😡 rage 🤯 exploding_head 😳 flushed',
  '🥵 hot_face 🥶 cold_face 😱 scream 😨 fearful 😰 cold_sweat 😥 disappointed_relieved 😓 sweat',
  '🤭 face_with_hand_over_mouth 🤫 shushing_face 🤥 lying_face 😶 no_mouth 😐 neutral_face 😑 expressionless 😬 grimacing',
  '😯 hushed 😦 frowning 😧 anguished 😮 open_mouth 😲 astonished 🥱 yawning_face 😴 sleeping',
  '🤤 drooling_face 😪 sleepy 😵 dizzy_face 🥴 woozy_face 🤢 nauseated_face 🤮 face_vomiting 🤧 sneezing_face',
  '😷 mask 😈 smiling_imp 👿 imp 💩 poop 👻 ghost 💀 skull 👽 alien',
  '👍 thumbsup* 👎 thumbsdown* 👌 ok_hand* ✌️ v* 👈 point_left* 👉 point_right* 👆 point_up_2*',
  '👇 point_down* ☝️ point_up* ✋ raised_hand* 🤚 raised_back_of_hand* 👋 wave* 👏 clap* 🙌 raised_hands*',
  '👐 open_hands* 🤲 palms_up_together* 🤝 handshake 🙏 pray* ✍️ writing_hand* 💪 muscle* 👊 punch*',
  '✊ fist* 🖕 middle_finger* ❤️ heart 🧡 orange_heart 💛 yellow_heart 💚 green_heart 💙 blue_heart',
  '💜 purple_heart 🖤 black_heart 🤍 white_heart 🤎 brown_heart 💔 broken_heart 💕 two_hearts 💞 revolving_hearts',
  '💓 heartbeat 💗 heartpulse 💖 sparkling_heart 💘 cupid 💝 gift_heart 🔥 fire ✨ sparkles',
  '⭐ star 🌟 star2 💯 100 ✅ white_check_mark ✔️ heavy_check_mark ❌ x ❎ negative_squared_cross_mark',
  '❓ question ❗ exclamation ⚠️ warning 🚫 no_entry_sign 🎉 tada 🎊 confetti_ball 🎁 gift',
  '🎂 birthday 🙈 see_no_evil 🙉 hear_no_evil 🙊 speak_no_evil 💋 kiss 👀 eyes 💤 zzz',
  '💥 boom 💦 sweat_drops 💨 dash 💰 moneybag 🚀 rocket ☀️ sunny 🌈 rainbow',
  '🌹 rose 💐 bouquet ☕ coffee 🍕 pizza 🍺 beer 🍻 beers 🏆 trophy',
  '👑 crown 💎 gem 🔔 bell 📌 pushpin 🆗 ok 🆘 sos 🙋 raising_hand*',
  '🤷 shrug* 🤦 face_palm* 🙆 ok_woman* 🙅 no_good* 🙇 bow*',
].join(' ');

/** JoyPixels shortnames not spelled like emoji-datasource: only read back, never sent. */
const READ_ONLY = [
  '🙂 slight_smile 🙃 upside_down 🤔 thinking 🤗 hugging 🙄 rolling_eyes 🤓 nerd 🤩 star_struck 🤣 rofl',
  '🙁 slight_frown ☹️ frowning2 🤐 zipper_mouth 🤑 money_mouth 🤒 thermometer_face 🤕 head_bandage 🤠 cowboy 🤡 clown',
  '🤖 robot 🤞 fingers_crossed* 🤘 metal* 🤙 call_me* 🖐️ hand_splayed* 🖖 vulcan* 🤛 left_facing_fist* 🤜 right_facing_fist*',
  '🤟 love_you_gesture* 🥂 champagne_glass ❣️ heart_exclamation 👍 +1* 👎 -1*',
].join(' ');

const TONES = ['\u{1F3FB}', '\u{1F3FC}', '\u{1F3FD}', '\u{1F3FE}', '\u{1F3FF}'];

const byKey = new Map<string, string>();
const byName = new Map<string, string>();

/** Without variation selectors FE0E/FE0F, so "❤" and "❤️" meet. */
function keyOf(emoji: string): string {
  return emoji.trim().replace(/[\uFE0E\uFE0F]/g, '');
}

function load(table: string, send: boolean): void {
  const tokens = table.split(/\s+/).filter(Boolean);
  for (let i = 0; i + 1 < tokens.length; i += 2) {
    const emoji = tokens[i] as string;
    const raw = tokens[i + 1] as string;
    const toned = raw.endsWith('*');
    const name = toned ? raw.slice(0, -1) : raw;
    const variants: [string, string][] = [[emoji, name]];
    if (toned) TONES.forEach((tone, t) => variants.push([keyOf(emoji) + tone, `${name}_tone${t + 1}`]));
    for (const [unicode, shortname] of variants) {
      if (send && !byKey.has(keyOf(unicode))) byKey.set(keyOf(unicode), shortname);
      if (!byName.has(shortname)) byName.set(shortname, unicode);
    }
  }
}

load(TABLE, true);
load(READ_ONLY, false);

/**
 * The Rocket.Chat reaction shortcode for a Unicode emoji (`👍` → `:thumbsup:`, `👍🏽` →
 * `:thumbsup_tone3:`), or undefined when the table has none.
 */
export function emojiToRocketChatName(emoji: string): string | undefined {
  const key = keyOf(emoji);
  if (key === '') return undefined;
  const name = byKey.get(key);
  return name === undefined ? undefined : `:${name}:`;
}

/** The Unicode emoji for a reaction shortcode (`:thumbsup:` or `thumbsup`), or undefined (custom or unknown). */
export function rocketChatNameToEmoji(shortcode: string): string | undefined {
  return byName.get(shortcode.replace(/:/g, ''));
}

/** Every shortcode `emojiToRocketChatName` can produce (for tests). */
export function sendableShortcodes(): string[] {
  return [...new Set(byKey.values())].map((n) => `:${n}:`);
}
