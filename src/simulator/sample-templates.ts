/**
 * Message templates in the shape of `GET /{waba-id}/message_templates` (v23.0 OpenAPI example):
 * `{ name, language, status, category, components, id }`. Two translations of one utility
 * template are seeded so a newcomer can try "send a template" outside the 24-hour window.
 */

export interface TemplateComponentDef {
  type: 'HEADER' | 'BODY' | 'FOOTER' | 'BUTTONS';
  format?: 'TEXT';
  text?: string;
  example?: { body_text?: string[][]; header_text?: string[] };
  buttons?: { type: 'QUICK_REPLY' | 'URL' | 'PHONE_NUMBER'; text: string; url?: string }[];
}

export interface MessageTemplate {
  id: string;
  name: string;
  language: string;
  status: 'APPROVED' | 'PENDING' | 'REJECTED' | 'PAUSED' | 'DISABLED';
  category: 'UTILITY' | 'MARKETING' | 'AUTHENTICATION';
  components: TemplateComponentDef[];
}

/** A fresh copy of the seeded templates (en_US and fr translations of `relais_follow_up`). */
export function sampleTemplates(): MessageTemplate[] {
  return [
    {
      id: '1192339204654487',
      name: 'relais_follow_up',
      language: 'en_US',
      status: 'APPROVED',
      category: 'UTILITY',
      components: [
        { type: 'BODY', text: 'Hello {{1}}, we have news about your request {{2}}. Reply to this message to continue the conversation.', example: { body_text: [['Sheena', '#1042']] } },
        { type: 'FOOTER', text: 'Sent by Relais' },
        { type: 'BUTTONS', buttons: [{ type: 'QUICK_REPLY', text: 'Continue' }, { type: 'QUICK_REPLY', text: 'Stop' }] },
      ],
    },
    {
      id: '1192339204654488',
      name: 'relais_follow_up',
      language: 'fr',
      status: 'APPROVED',
      category: 'UTILITY',
      components: [
        { type: 'BODY', text: 'Bonjour {{1}}, nous avons du nouveau concernant votre demande {{2}}. Répondez à ce message pour reprendre la conversation.', example: { body_text: [['Sheena', '#1042']] } },
        { type: 'FOOTER', text: 'Envoyé par Relais' },
        { type: 'BUTTONS', buttons: [{ type: 'QUICK_REPLY', text: 'Continuer' }, { type: 'QUICK_REPLY', text: 'Arrêter' }] },
      ],
    },
  ];
}

/** Body text of a template, '' when it has no BODY component. */
export function templateBodyText(t: MessageTemplate): string {
  return t.components.find((c) => c.type === 'BODY')?.text ?? '';
}
