import sjson from 'secure-json-parse';
import { RelaisError } from '../core/errors.js';

/**
 * Cloud API (Graph API) error codes and what Relais does about them. Pure data and pure functions.
 *
 * Meanings: Meta's "Error codes" reference for the Cloud API, as summarised in shared/CONTRACTS.md §1.3
 * (131047, 131026, 130429, 131056, 131048, 131051, 131057, 131000, 130472) and Meta's Graph API
 * error-handling page (0, 1, 2, 3, 4, 10, 100, 190, 200–299, 368). Build on `code`, never on titles.
 */

export type GraphErrorKind =
  | 'rate_limit'
  | 'pair_rate_limit'
  | 'window_closed'
  | 'undeliverable'
  | 'auth'
  | 'invalid'
  | 'transient'
  | 'policy';

export interface GraphErrorInfo {
  title: string;
  retryable: boolean;
  kind: GraphErrorKind;
  /** Safe to show to agents in the customer channel. */
  agentHint: { en: string; fr: string };
}

const e = (title: string, retryable: boolean, kind: GraphErrorKind, en: string, fr: string): GraphErrorInfo =>
  ({ title, retryable, kind, agentHint: { en, fr } });

const TRY_LATER_EN = 'WhatsApp is temporarily unavailable. Relais will retry automatically.';
const TRY_LATER_FR = 'WhatsApp est momentanément indisponible. Relais réessaiera automatiquement.';
const AUTH_EN = 'Relais cannot authenticate with WhatsApp. An administrator must fix the access token or its permissions.';
const AUTH_FR = "Relais ne peut pas s'authentifier auprès de WhatsApp. Un administrateur doit corriger le jeton d'accès ou ses permissions.";
const INVALID_EN = 'WhatsApp refused this message as invalid. Check its content or format and send it again.';
const INVALID_FR = 'WhatsApp a refusé ce message comme invalide. Vérifiez son contenu ou son format puis renvoyez-le.';

export const GRAPH_ERROR_CODES: Readonly<Record<number, GraphErrorInfo>> = {
  0: e('AuthException', false, 'auth', AUTH_EN, AUTH_FR),
  1: e('API Unknown', true, 'transient', TRY_LATER_EN, TRY_LATER_FR),
  2: e('API Service', true, 'transient', TRY_LATER_EN, TRY_LATER_FR),
  3: e('API Method (capability or permission missing)', false, 'auth', AUTH_EN, AUTH_FR),
  4: e('API Too Many Calls', true, 'rate_limit',
    'Too many requests to WhatsApp right now. Relais will retry automatically.',
    'Trop de requêtes vers WhatsApp pour le moment. Relais réessaiera automatiquement.'),
  10: e('Permission Denied', false, 'auth', AUTH_EN, AUTH_FR),
  100: e('Invalid parameter', false, 'invalid', INVALID_EN, INVALID_FR),
  190: e('Access token has expired or is invalid', false, 'auth', AUTH_EN, AUTH_FR),
  200: e('Permission missing', false, 'auth', AUTH_EN, AUTH_FR),
  368: e('Temporarily blocked for policy violations', false, 'policy',
    'This WhatsApp number is temporarily blocked by Meta for policy violations. An administrator must check WhatsApp Manager.',
    'Ce numéro WhatsApp est temporairement bloqué par Meta pour non-respect des règles. Un administrateur doit vérifier le WhatsApp Manager.'),
  80007: e('Rate limit issues (WhatsApp Business Account)', true, 'rate_limit',
    'WhatsApp rate limit reached. Relais will retry automatically.',
    'Limite de débit WhatsApp atteinte. Relais réessaiera automatiquement.'),
  130429: e('Rate limit hit', true, 'rate_limit',
    'WhatsApp throughput limit reached for this number. Relais will retry automatically.',
    'Limite de débit WhatsApp atteinte pour ce numéro. Relais réessaiera automatiquement.'),
  130472: e("User's number is part of an experiment", false, 'undeliverable',
    'WhatsApp did not deliver this message: the customer is part of a Meta experiment. Try another channel.',
    "WhatsApp n'a pas remis ce message : le client fait partie d'une expérimentation de Meta. Essayez un autre canal."),
  130497: e('Business account is restricted from messaging users in this country', false, 'policy',
    "WhatsApp does not allow this business to message customers in this customer's country.",
    "WhatsApp n'autorise pas cette entreprise à écrire aux clients du pays de ce client."),
  131000: e('Something went wrong', true, 'transient', TRY_LATER_EN, TRY_LATER_FR),
  131005: e('Access denied', false, 'auth', AUTH_EN, AUTH_FR),
  131008: e('Required parameter is missing', false, 'invalid', INVALID_EN, INVALID_FR),
  131009: e('Parameter value is not valid', false, 'invalid', INVALID_EN, INVALID_FR),
  131016: e('Service unavailable', true, 'transient', TRY_LATER_EN, TRY_LATER_FR),
  131021: e('Recipient cannot be sender', false, 'invalid',
    'A business number cannot send a WhatsApp message to itself.',
    'Un numéro professionnel ne peut pas s\'envoyer un message WhatsApp à lui-même.'),
  131026: e('Message undeliverable', false, 'undeliverable',
    'WhatsApp could not deliver this message: the customer may not use WhatsApp, may have an old app version, may not have accepted the terms, or may have blocked this number.',
    "WhatsApp n'a pas pu remettre ce message : le client n'utilise peut-être pas WhatsApp, a une ancienne version de l'application, n'a pas accepté les conditions ou a bloqué ce numéro."),
  131031: e('Account has been locked', false, 'policy',
    'The WhatsApp business account is locked. An administrator must check WhatsApp Manager.',
    'Le compte WhatsApp Business est verrouillé. Un administrateur doit vérifier le WhatsApp Manager.'),
  131042: e('Business eligibility payment issue', false, 'policy',
    'WhatsApp refused the message because of a payment problem on the business account. An administrator must check the payment method.',
    "WhatsApp a refusé le message à cause d'un problème de paiement sur le compte. Un administrateur doit vérifier le moyen de paiement."),
  131047: e('Re-engagement message', false, 'window_closed',
    'More than 24 hours have passed since the customer last wrote. Send an approved template to reopen the conversation.',
    "Plus de 24 heures se sont écoulées depuis le dernier message du client. Envoyez un modèle approuvé pour rouvrir la conversation."),
  131048: e('Spam rate limit hit', false, 'policy',
    'WhatsApp restricted this number after blocks or spam reports. Stop sending for now; an administrator must check the quality rating in WhatsApp Manager.',
    "WhatsApp a restreint ce numéro après des blocages ou signalements de spam. Cessez d'envoyer pour l'instant ; un administrateur doit vérifier la note de qualité dans le WhatsApp Manager."),
  131049: e('Meta chose not to deliver (healthy ecosystem engagement)', false, 'undeliverable',
    'WhatsApp chose not to deliver this marketing message to keep engagement healthy. Do not resend it right away.',
    "WhatsApp a choisi de ne pas remettre ce message marketing pour préserver l'engagement. Ne le renvoyez pas tout de suite."),
  131050: e('User has stopped marketing messages', false, 'undeliverable',
    'The customer has stopped marketing messages from this business.',
    'Le client a refusé les messages marketing de cette entreprise.'),
  131051: e('Unsupported message type', false, 'invalid',
    'WhatsApp does not support this message type.',
    'WhatsApp ne prend pas en charge ce type de message.'),
  131052: e('Media download error', false, 'invalid',
    "WhatsApp could not download the customer's media. Ask the customer to send it again.",
    "WhatsApp n'a pas pu télécharger le média du client. Demandez-lui de le renvoyer."),
  131053: e('Media upload error', false, 'invalid',
    'WhatsApp could not process the attached file (unsupported type or too large). Try another format or send it as a document.',
    "WhatsApp n'a pas pu traiter le fichier joint (type non pris en charge ou trop volumineux). Essayez un autre format ou envoyez-le comme document."),
  131056: e('(Business, Consumer) pair rate limit hit', true, 'pair_rate_limit',
    'Too many messages to this customer in a short time. Relais will send the rest shortly.',
    'Trop de messages envoyés à ce client en peu de temps. Relais enverra la suite sous peu.'),
  131057: e('Account in maintenance mode', true, 'transient', TRY_LATER_EN, TRY_LATER_FR),
  132000: e('Template parameter count mismatch', false, 'invalid',
    'The template was sent with the wrong number of parameters.',
    'Le modèle a été envoyé avec un nombre de paramètres incorrect.'),
  132001: e('Template does not exist', false, 'invalid',
    'This template does not exist in this language or is not approved yet.',
    "Ce modèle n'existe pas dans cette langue ou n'est pas encore approuvé."),
  132005: e('Template hydrated text too long', false, 'invalid',
    'The template text is too long once its parameters are filled in.',
    'Le texte du modèle est trop long une fois les paramètres remplis.'),
  132007: e('Template format character policy violated', false, 'invalid',
    'The template parameters break WhatsApp formatting rules.',
    'Les paramètres du modèle enfreignent les règles de mise en forme de WhatsApp.'),
  132012: e('Template parameter format mismatch', false, 'invalid',
    'A template parameter does not have the expected format.',
    "Un paramètre du modèle n'a pas le format attendu."),
  132015: e('Template is paused', false, 'policy',
    'This template is paused by Meta because of low quality. Use another template.',
    'Ce modèle est suspendu par Meta pour qualité insuffisante. Utilisez un autre modèle.'),
  132016: e('Template is disabled', false, 'policy',
    'This template is disabled by Meta. Use another template.',
    'Ce modèle est désactivé par Meta. Utilisez un autre modèle.'),
  133010: e('Phone number not registered', false, 'auth',
    'This business number is not registered with the WhatsApp Cloud API. An administrator must register it.',
    "Ce numéro professionnel n'est pas enregistré auprès de l'API WhatsApp Cloud. Un administrateur doit l'enregistrer."),
};

/** The table entry for `code`, or undefined for a code Relais does not know (Graph permission codes 200–299 share one). */
export function describeGraphError(code: number | undefined | null): GraphErrorInfo | undefined {
  if (code === undefined || code === null) return undefined;
  if (GRAPH_ERROR_CODES[code]) return GRAPH_ERROR_CODES[code];
  if (code > 200 && code < 300) return GRAPH_ERROR_CODES[200];
  return undefined;
}

/** Fields of a Graph error body Relais reads. */
interface GraphErrorBody {
  code?: number;
  subcode?: number;
  type?: string;
  details?: string;
  fbtraceId?: string;
}

function readBody(body: unknown): GraphErrorBody {
  let b = body;
  if (typeof b === 'string' || b instanceof Uint8Array) {
    try {
      b = sjson.parse(typeof b === 'string' ? b : new TextDecoder().decode(b), null, { protoAction: 'remove', constructorAction: 'remove' });
    } catch {
      return {};
    }
  }
  const err = isObject(b) && isObject(b.error) ? b.error : undefined;
  if (!err) return {};
  const data = isObject(err.error_data) ? err.error_data : undefined;
  return {
    code: typeof err.code === 'number' && Number.isInteger(err.code) ? err.code : undefined,
    subcode: typeof err.error_subcode === 'number' ? err.error_subcode : undefined,
    type: typeof err.type === 'string' ? err.type.slice(0, 64) : undefined,
    details: typeof data?.details === 'string' ? data.details : typeof err.message === 'string' ? err.message : undefined,
    fbtraceId: typeof err.fbtrace_id === 'string' ? err.fbtrace_id.slice(0, 64) : undefined,
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Meta's free text may quote a phone number or a wamid; keep it for operators without them.
 * Long digit runs become `[number]`, wamids `wamid.[redacted]`, and the text is capped.
 */
export function scrubGraphText(text: string): string {
  return text
    .replace(/wamid\.[A-Za-z0-9+/=_-]+/g, 'wamid.[redacted]')
    .replace(/\+?\d[\d\s().-]{4,}\d/g, '[number]')
    .replace(/[\r\n\t]+/g, ' ')
    .slice(0, 240);
}

/**
 * `Retry-After` as milliseconds: delta-seconds or an HTTP date (relative to `now`). Undefined when
 * absent or unreadable; negative values become 0.
 */
export function parseRetryAfter(header: string | null | undefined, now: number = Date.now()): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Turns a failed Graph API response into a RelaisError. Pure (reads the clock only to resolve an
 * HTTP-date `Retry-After`).
 *
 * - `code`: `whatsapp_<error.code>` when the body has one (`whatsapp_token_invalid` for 190),
 *   else `whatsapp_http_<status>`.
 * - `retryable`: from the table for known codes; otherwise 429, 408 and 5xx are retryable, other
 *   statuses are not. HTTP 429 is always retryable.
 * - `retryAfterMs`: from `Retry-After` when the error is retryable and the header is present.
 * - `agentMessage`: the table's hint in `locale` (default `en`), or a generic one.
 * - `message` (operators): code, title, HTTP status, Meta's details with numbers and wamids scrubbed,
 *   and `fbtrace_id` for Meta support; never the request, the token or message text.
 */
export function classifyGraphError(
  httpStatus: number,
  body: unknown,
  opts: { retryAfter?: string | null; locale?: 'en' | 'fr' } = {},
): RelaisError {
  const locale = opts.locale ?? 'en';
  const parsed = readBody(body);
  const info = describeGraphError(parsed.code);
  const statusRetryable = httpStatus === 429 || httpStatus === 408 || httpStatus >= 500;
  const retryable = httpStatus === 429 || (info ? info.retryable : statusRetryable);

  let code: string;
  if (parsed.code === 190) code = 'whatsapp_token_invalid';
  else if (parsed.code !== undefined) code = `whatsapp_${parsed.code}`;
  else code = `whatsapp_http_${httpStatus}`;

  const parts = [
    parsed.code !== undefined ? `WhatsApp Graph API error ${parsed.code}` : 'WhatsApp Graph API request failed',
    info ? `(${info.title})` : undefined,
    `HTTP ${httpStatus}`,
  ].filter(Boolean);
  let message = parts.join(' ');
  if (parsed.subcode !== undefined) message += `, subcode ${parsed.subcode}`;
  if (parsed.details) message += `: ${scrubGraphText(parsed.details)}`;
  if (parsed.code === 190) {
    message += '. The access token has expired or was revoked: renew WHATSAPP_ACCESS_TOKEN (a system-user token with whatsapp_business_messaging) and restart Relais.';
  } else if (info?.kind === 'auth') {
    message += '. Check that WHATSAPP_ACCESS_TOKEN has whatsapp_business_messaging on this WhatsApp Business Account.';
  }
  if (parsed.fbtraceId) message += ` (fbtrace_id ${parsed.fbtraceId})`;

  const agentMessage = info ? info.agentHint[locale] : retryable
    ? (locale === 'fr' ? TRY_LATER_FR : TRY_LATER_EN)
    : (locale === 'fr' ? "WhatsApp a refusé ce message." : 'WhatsApp refused this message.');
  const retryAfterMs = retryable ? parseRetryAfter(opts.retryAfter) : undefined;
  return new RelaisError(code, message, { retryable, agentMessage, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
}
