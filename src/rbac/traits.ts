// Role templates such as "{{internal.db_users}}": a role names the trait, each user fills it in from
// their own traits, so one role serves many people (Teleport's trait variables). Gatehouse has no
// external identity provider, so "{{external.x}}" reads the same per-user traits as "{{internal.x}}".

export type TraitNamespace = 'internal' | 'external';

export type ParsedValue =
  | { readonly kind: 'literal'; readonly value: string }
  | { readonly kind: 'template'; readonly prefix: string; readonly namespace: TraitNamespace; readonly trait: string; readonly suffix: string }
  | { readonly kind: 'invalid'; readonly reason: string };

// {{internal.db_users}}, {{ external.logins }}, {{internal["db users"]}}, with optional text around.
const TEMPLATE = /^([^{}]*)\{\{\s*(internal|external)(?:\.([A-Za-z0-9_-]+)|\["([^"\]]+)"\])\s*\}\}([^{}]*)$/;

/** Reads one value of a role condition: a literal, a trait template, or something that looks like a broken template. */
export function parseTraitValue(value: string): ParsedValue {
  if (!value.includes('{{') && !value.includes('}}')) return { kind: 'literal', value };
  const match = TEMPLATE.exec(value);
  if (match === null) {
    return {
      kind: 'invalid',
      reason: `${JSON.stringify(value)} is not a valid trait template; write {{internal.<trait>}} or {{external.<trait>}}, e.g. {{internal.db_users}}`,
    };
  }
  const [, prefix = '', namespace, dotted, bracketed, suffix = ''] = match;
  return { kind: 'template', prefix, namespace: namespace as TraitNamespace, trait: dotted ?? bracketed ?? '', suffix };
}

/**
 * Replaces every template in `values` with the user's values of that trait (wrapped in the template's
 * prefix and suffix). A template whose trait the user lacks, and a malformed template, expand to
 * nothing: they must never match a literal database user called "{{internal.db_users}}".
 */
export function expandTraits(values: readonly string[], traits: Readonly<Record<string, readonly string[]>>): string[] {
  const expanded = new Set<string>();
  for (const value of values) {
    const parsed = parseTraitValue(value);
    if (parsed.kind === 'literal') {
      expanded.add(parsed.value);
    } else if (parsed.kind === 'template') {
      const traitValues = Object.hasOwn(traits, parsed.trait) ? (traits[parsed.trait] ?? []) : [];
      for (const traitValue of traitValues) expanded.add(`${parsed.prefix}${traitValue}${parsed.suffix}`);
    }
  }
  return [...expanded];
}
