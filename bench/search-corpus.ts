/**
 * A synthetic but realistic customer-service corpus for the search benchmark: French and English
 * words drawn from a Zipf distribution (s = 1.05) over a 60,000-word vocabulary (the ~300 most
 * common real words first, then pronounceable rare words, some accented), order numbers quoted a
 * few times each around the same period, phone numbers, amounts. Deterministic (seeded PRNG).
 */

/** Common words, most frequent first (French and English interleaved, as a bilingual support desk writes). */
const COMMON = `bonjour merci le la de je vous et hello thanks the to you is pour un une est pas a i my
commande order mon ma it que in for not livraison delivery avec sur on have please svp colis package
des les du au ce il elle nous bien can with your this be at reçu received toujours still rien nothing
quand when hier yesterday aujourd today demain tomorrow problème problem aide help besoin need numéro number
suivi tracking adresse address remboursement refund retour return produit product article item paiement payment
carte card facture invoice compte account mot passe password email téléphone phone client customer service
annuler cancel changer change taille size couleur colour stock disponible available prix price euros dollars
promo code réduction discount semaine week jours days heures hours minutes attente waiting réponse answer
message messages envoyé sent reçue arrivé arrived cassé broken abîmé damaged manquant missing erreur error
mauvais wrong bon good très very merci beaucoup much vite quickly possible encore again déjà already
depuis since toujours always jamais never peut can pourriez could voudrais would like vouloir want savoir know
comment how pourquoi why où where quoi what qui who lequel which combien many trop too peu little plus more
moins less avant before après after entre between chez home maison house bureau office magasin store boutique
shop site website application app connexion login inscription signup abonnement subscription offre offer
contrat contract garantie warranty réparation repair échange exchange remplacement replacement pièce part
délai delay retard late rapide fast lent slow normal standard express relais pickup point livreur courier
transporteur carrier chronopost colissimo ups dhl fedex poste post boîte box lettres letter signature signed
photo picture vidéo video fichier file document pdf capture screenshot lien link cliquer click page bouton
button écran screen fonctionne works marche working plante crashes bug mise jour update version nouveau new
ancien old même same autre other tous all chaque each certain sure vraiment really juste just seulement only`
  .split(/\s+/).filter((w, i, all) => w && all.indexOf(w) === i);

const SYLLABLES = ['ba', 'ke', 'lo', 'mi', 'nu', 'ra', 'te', 'vo', 'zi', 'da', 'fe', 'gu', 'po', 'sa', 'ri', 'mé', 'lè', 'xo', 'qui', 'tra', 'ber', 'stan', 'ville', 'ette', 'ton'];
export const VOCABULARY_SIZE = 60_000;
const ZIPF_S = 1.05;

/** Mulberry32: small, fast, seeded. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The word of rank `r` (0 = most frequent). */
export function wordOfRank(r: number): string {
  if (r < COMMON.length) return COMMON[r]!;
  let n = r;
  let w = '';
  do { w += SYLLABLES[n % SYLLABLES.length]; n = Math.floor(n / SYLLABLES.length); } while (n > 0);
  return w.length < 4 ? `${w}${SYLLABLES[r % 7]}` : w;
}

/** Cumulative Zipf weights over the vocabulary, for inverse-CDF sampling. */
const CDF = (() => {
  const c = new Float64Array(VOCABULARY_SIZE);
  let sum = 0;
  for (let r = 0; r < VOCABULARY_SIZE; r++) { sum += 1 / Math.pow(r + 1, ZIPF_S); c[r] = sum; }
  for (let r = 0; r < VOCABULARY_SIZE; r++) c[r]! /= sum;
  return c;
})();

export function sampleRank(rand: () => number): number {
  const x = rand();
  let lo = 0, hi = VOCABULARY_SIZE - 1;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (CDF[mid]! < x) lo = mid + 1; else hi = mid; }
  return lo;
}

export interface GeneratedMessage {
  text: string;
  /** Ranks of the vocabulary words used (for building queries of known frequency). */
  ranks: number[];
  /** The order number quoted, if any. */
  order?: string;
}

const ORDER_TEMPLATES = ['commande {n}', 'Commande Nº {n}', 'order #{n}', 'ma commande n° {n}', 'colis {n}', 'Order {n} please'];
const CASE = [(w: string) => w, (w: string) => w, (w: string) => w, (w: string) => w[0]!.toUpperCase() + w.slice(1), (w: string) => w.toUpperCase()];

/**
 * Message `i` of `total` (older first): 3–40 words (median about 10), an order number in 15% of
 * messages (numbers grow with time; each is quoted 1–4 times by nearby messages), a phone number
 * in 1%, an amount in 5%.
 */
export function generateMessage(i: number, total: number, rand: () => number): GeneratedMessage {
  const len = Math.min(40, 3 + Math.floor(-Math.log(1 - rand()) * 8));
  const ranks: number[] = [];
  const words: string[] = [];
  for (let k = 0; k < len; k++) {
    const r = sampleRank(rand);
    ranks.push(r);
    words.push(CASE[Math.floor(rand() * CASE.length)]!(wordOfRank(r)));
  }
  let order: string | undefined;
  if (rand() < 0.15) {
    order = String(100_000 + Math.floor((i / total) * 400_000) + Math.floor(rand() * 50));
    const tpl = ORDER_TEMPLATES[Math.floor(rand() * ORDER_TEMPLATES.length)]!;
    words.splice(Math.floor(rand() * words.length), 0, tpl.replace('{n}', order));
  }
  if (rand() < 0.01) {
    const d = () => String(Math.floor(rand() * 100)).padStart(2, '0');
    words.push(`0${1 + Math.floor(rand() * 7)} ${d()} ${d()} ${d()} ${d()}`);
  }
  if (rand() < 0.05) words.push(`${(rand() * 500).toFixed(2).replace('.', ',')} €`);
  return { text: words.join(' ') + (rand() < 0.5 ? '.' : ' ?'), ranks, order };
}
