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
  contentPurged: {
    en: 'the content of this message (of {date}) was removed by retention before it could be shown',
    fr: 'le contenu de ce message (du {date}) a été supprimé par la durée de conservation avant d\'avoir pu être affiché',
  },
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
  windowOpenUntil: { en: 'reply window open until {time}', fr: 'fenêtre de réponse ouverte jusqu\'à {time}' },
  windowClosed: { en: 'reply window closed: templates only', fr: 'fenêtre de réponse fermée : modèles uniquement' },
  windowClosedNotice: {
    en: 'Not sent: the customer last wrote more than 24 hours ago, so WhatsApp only accepts an approved template. Send one with `/wa template <name> [language] [parameters…]`. Templates available: {templates}.',
    fr: 'Non envoyé : le client a écrit pour la dernière fois il y a plus de 24 heures, WhatsApp n\'accepte donc qu\'un modèle approuvé. Envoyez-en un avec `/wa template <nom> [langue] [paramètres…]`. Modèles disponibles : {templates}.',
  },
  noTemplates: { en: 'none synced yet (see `/wa templates`)', fr: 'aucun synchronisé pour l\'instant (voir `/wa templates`)' },
  sendFailed: { en: 'Not delivered to WhatsApp.', fr: 'Non remis à WhatsApp.' },
  sendFailedGeneric: { en: 'WhatsApp refused this message.', fr: 'WhatsApp a refusé ce message.' },
  sendRetriesExhausted: {
    en: 'WhatsApp could not be reached for over an hour, so this message was not sent. Send it again if it still makes sense.',
    fr: 'WhatsApp est resté injoignable plus d\'une heure : ce message n\'a pas été envoyé. Renvoyez-le s\'il a encore un sens.',
  },
  sendOutcomeUnknown: {
    en: 'Relais stopped while sending this message and cannot tell whether WhatsApp received it. If the customer did not get it, post it again.',
    fr: 'Relais s\'est arrêté pendant l\'envoi de ce message et ne peut pas savoir si WhatsApp l\'a reçu. Si le client ne l\'a pas reçu, publiez-le à nouveau.',
  },
  noRecipient: { en: 'Not sent: Relais has no WhatsApp identity for this customer.', fr: 'Non envoyé : Relais ne connaît pas l\'identité WhatsApp de ce client.' },
  cmdHelp: {
    en: '**WhatsApp commands** (type them as `/wa …`, or as a post starting with `!wa …`; never sent to the customer)\n- `/wa status`: reply window and last delivery state\n- `/wa templates`: approved templates\n- `/wa template <name> [language] [parameters…]`: send a template (quote parameters with spaces; `header=https://…`, `button1=…` for header media and button parameters)\n- `/wa search <words>`: find messages holding every word (with `!wa`, in this conversation only)\n- `/wa help`: this list\nA post starting with `{notePrefix}` stays a note for colleagues.',
    fr: '**Commandes WhatsApp** (tapez `/wa …`, ou un message commençant par `!wa …` ; jamais envoyées au client)\n- `/wa status` : fenêtre de réponse et dernier état de remise\n- `/wa templates` : modèles approuvés\n- `/wa template <nom> [langue] [paramètres…]` : envoyer un modèle (paramètres avec espaces entre guillemets ; `header=https://…`, `button1=…` pour le média d\'en-tête et les boutons)\n- `/wa search <mots>` : trouver les messages contenant tous les mots (avec `!wa`, dans cette conversation seulement)\n- `/wa help` : cette liste\nUn message commençant par `{notePrefix}` reste une note interne.',
  },
  cmdSearchUsage: {
    en: 'Usage: `/wa search <words>`: finds the messages holding every word (accents and case ignored), newest first. Typed as `!wa search …`, it searches this conversation only.',
    fr: 'Usage : `/wa search <mots>` : trouve les messages contenant tous les mots (sans tenir compte des accents ni des majuscules), du plus récent au plus ancien. Tapé `!wa search …`, il cherche dans cette conversation seulement.',
  },
  cmdSearchBadQuery: { en: 'Nothing to search for: give words of at least 2 letters or digits (16 words at most).', fr: 'Rien à chercher : donnez des mots d\'au moins 2 lettres ou chiffres (16 mots au plus).' },
  cmdSearchNone: { en: 'No message found in the conversations you can read.', fr: 'Aucun message trouvé dans les conversations auxquelles vous avez accès.' },
  cmdSearchNoneHere: { en: 'No message found in this conversation.', fr: 'Aucun message trouvé dans cette conversation.' },
  cmdSearchTitle: { en: '**Search results** ({count}, newest first)', fr: '**Résultats de recherche** ({count}, du plus récent au plus ancien)' },
  cmdSearchTitleMore: { en: '**Search results** (the {count} newest; add words to narrow down)', fr: '**Résultats de recherche** (les {count} plus récents ; ajoutez des mots pour affiner)' },
  cmdSearchFromCustomer: { en: 'customer', fr: 'client' },
  cmdSearchFromAgent: { en: 'agent', fr: 'agent' },
  cmdUnknown: { en: 'Unknown command `{cmd}`. Type `/wa help`.', fr: 'Commande inconnue `{cmd}`. Tapez `/wa help`.' },
  cmdNotCustomerChannel: { en: 'This command works in a WhatsApp customer channel.', fr: 'Cette commande fonctionne dans un canal client WhatsApp.' },
  cmdStatusWindow: { en: 'Reply window: {state}.', fr: 'Fenêtre de réponse : {state}.' },
  cmdStatusLast: { en: 'Last message sent: {state}.', fr: 'Dernier message envoyé : {state}.' },
  cmdStatusNone: { en: 'No message sent yet.', fr: 'Aucun message envoyé pour l\'instant.' },
  cmdTemplatesNone: { en: 'No approved template is known. Set WHATSAPP_BUSINESS_ACCOUNT_ID so Relais can sync them from WhatsApp.', fr: 'Aucun modèle approuvé connu. Renseignez WHATSAPP_BUSINESS_ACCOUNT_ID pour que Relais les synchronise depuis WhatsApp.' },
  cmdTemplatesTitle: { en: '**Approved templates**', fr: '**Modèles approuvés**' },
  cmdTemplateUsage: { en: 'Usage: `/wa template <name> [language] [parameters…]`.', fr: 'Usage : `/wa template <nom> [langue] [paramètres…]`.' },
  cmdTemplateUnknown: { en: 'No approved template `{name}`{lang}. Type `/wa templates`.', fr: 'Aucun modèle approuvé `{name}`{lang}. Tapez `/wa templates`.' },
  cmdTemplateInvalid: { en: 'Template `{name}` not sent:', fr: 'Modèle `{name}` non envoyé :' },
  cmdTemplateQueued: { en: 'Template `{name}` ({lang}) queued for the customer: {summary}', fr: 'Modèle `{name}` ({lang}) en cours d\'envoi au client : {summary}' },
  outboundTooLarge: { en: 'Not sent: {name} is larger than WhatsApp accepts ({limit}).', fr: 'Non envoyé : {name} dépasse la taille acceptée par WhatsApp ({limit}).' },
  // Data-subject export: transcript.html (src/compliance/export-html.ts).
  exportTitle: { en: 'WhatsApp conversations', fr: 'Conversations WhatsApp' },
  exportIntro: { en: 'Everything Relais holds for {phone}, as of {date}. The same data, machine-readable, is in export.json; the files are in the media folder.', fr: 'Tout ce que Relais conserve pour le {phone}, au {date}. Les mêmes données, lisibles par machine, sont dans export.json ; les fichiers sont dans le dossier media.' },
  exportConversation: { en: 'Conversation with {number}', fr: 'Conversation avec {number}' },
  exportProfileName: { en: 'Profile name', fr: 'Nom de profil' },
  exportFirstContact: { en: 'First contact', fr: 'Premier contact' },
  exportLastInbound: { en: 'Last message from the customer', fr: 'Dernier message du client' },
  exportLegalHold: { en: 'Under legal hold', fr: 'Sous conservation légale (legal hold)' },
  exportCustomer: { en: 'Customer', fr: 'Client' },
  exportAgent: { en: 'Agent', fr: 'Conseiller' },
  exportContentRemoved: { en: 'content removed by retention', fr: 'contenu supprimé par la durée de conservation' },
  exportUnreadable: { en: 'content could not be decrypted', fr: 'contenu impossible à déchiffrer' },
  exportAttachment: { en: 'Attachment', fr: 'Pièce jointe' },
  exportAttachmentNotKept: { en: 'not kept by Relais', fr: 'non conservée par Relais' },
  exportAttachmentInChat: { en: 'kept by the chat platform, not by Relais', fr: 'conservée par la messagerie interne, pas par Relais' },
  exportStatus: { en: 'Delivery', fr: 'Remise' },
  exportNoMessages: { en: 'No messages.', fr: 'Aucun message.' },
} as const satisfies Record<string, Record<Language, string>>;

export type StringKey = keyof typeof STRINGS;

/** The text of `key` in `lang`, with `{name}` placeholders filled from `vars`. Pure. */
export function t(lang: Language, key: StringKey, vars: Record<string, string | number> = {}): string {
  const template: string = STRINGS[key][lang] ?? STRINGS[key].en;
  return template.replace(/\{(\w+)\}/g, (_, name: string) => (name in vars ? String(vars[name]) : `{${name}}`));
}
