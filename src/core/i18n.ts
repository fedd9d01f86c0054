/**
 * Words agents and customers read, in every supported language. The language is the
 * RELAIS_LANGUAGE setting. Add a language by adding a column: the type checker lists what is missing.
 */
export type Language = 'en' | 'fr';
export const LANGUAGES: Language[] = ['en', 'fr'];

const STRINGS = {
  customerWrote: { en: 'wrote on WhatsApp', fr: 'a écrit sur WhatsApp' },
  unknownCustomer: { en: 'WhatsApp customer', fr: 'Client WhatsApp' },
  location: { en: 'Location', fr: 'Position' },
  openMap: { en: 'Open map', fr: 'Ouvrir la carte' },
  contactCard: { en: 'Contact card', fr: 'Fiche contact' },
  chose: { en: 'chose', fr: 'a choisi' },
  reacted: { en: 'reacted', fr: 'a réagi' },
  reactionRemoved: { en: 'removed their reaction', fr: 'a retiré sa réaction' },
  toAMessage: { en: 'to a message', fr: 'à un message' },
  inReplyToUnknown: { en: 'In reply to a message Relais does not have', fr: 'En réponse à un message que Relais ne connaît pas' },
  forwarded: { en: 'Forwarded', fr: 'Transféré' },
  frequentlyForwarded: { en: 'Forwarded many times', fr: 'Transféré de nombreuses fois' },
  fromAd: { en: 'Came from an ad', fr: 'Arrivé via une publicité' },
  productInquiry: { en: 'Asked about product', fr: 'Question sur le produit' },
  order: { en: 'Order', fr: 'Commande' },
  quantity: { en: 'qty', fr: 'qté' },
  systemEvent: { en: 'WhatsApp notice', fr: 'Avis WhatsApp' },
  unsupported: {
    en: 'sent a message type Relais cannot show yet ({type}). Ask the customer to resend it another way if needed.',
    fr: 'a envoyé un type de message que Relais ne sait pas encore afficher ({type}). Demandez au client de le renvoyer autrement si besoin.',
  },
  unknownFields: {
    en: 'This message carried fields Relais does not understand yet ({fields}); they are kept in the archive.',
    fr: 'Ce message contenait des champs que Relais ne comprend pas encore ({fields}) ; ils sont conservés dans l\'archive.',
  },
  mediaTooLarge: {
    en: 'sent a {kind} that is larger than Relais accepts ({size}); it was not downloaded.',
    fr: 'a envoyé un fichier {kind} plus grand que ce que Relais accepte ({size}) ; il n\'a pas été téléchargé.',
  },
  mediaUnavailable: {
    en: 'sent a {kind} that could not be downloaded from WhatsApp ({code}).',
    fr: 'a envoyé un fichier {kind} qui n\'a pas pu être téléchargé depuis WhatsApp ({code}).',
  },
  voiceNote: { en: 'Voice message', fr: 'Message vocal' },
  whatsappErrors: { en: 'WhatsApp reported', fr: 'WhatsApp a signalé' },
  channelPurpose: {
    en: 'WhatsApp conversation relayed by Relais. Messages you post here are sent to the customer; start a line with {notePrefix} to keep a note for colleagues.',
    fr: 'Conversation WhatsApp relayée par Relais. Vos messages ici sont envoyés au client ; commencez par {notePrefix} pour une note interne.',
  },
  channelHeader: { en: 'WhatsApp {number} · {line}', fr: 'WhatsApp {number} · {line}' },
} as const satisfies Record<string, Record<Language, string>>;

export type StringKey = keyof typeof STRINGS;

/** The text of `key` in `lang`, with `{name}` placeholders filled from `vars`. Pure. */
export function t(lang: Language, key: StringKey, vars: Record<string, string | number> = {}): string {
  const template: string = STRINGS[key][lang] ?? STRINGS[key].en;
  return template.replace(/\{(\w+)\}/g, (_, name: string) => (name in vars ? String(vars[name]) : `{${name}}`));
}
