// @ts-check
// A method's settings form and caption, built from the registry the worker exports: every
// setting's label, type, limits, choices and help come from the core's schema, so the page
// restates none of them. The image grid and the text view both use it.

import { el, field, option } from './dom.js';
import { formatNumber } from './methods.js';

/**
 * @typedef {object} Setting
 * @property {string} key
 * @property {string} label
 * @property {string} help
 * @property {'integer'|'number'|'choice'|'seed'|'layer'|'index'} type
 * @property {number} [min]
 * @property {number} [max]
 * @property {boolean} [exclusiveMin]
 * @property {{value: unknown, label: string}[]} [choices]
 * @property {string} [none] what null means, when null is allowed
 * @property {unknown} default
 */

/**
 * The form fields of a method's settings.
 * @param {{settings: Setting[]}} entry the method's registry entry
 * @param {Record<string, unknown>} values the settings now
 * @param {(change: Record<string, unknown>) => void} onChange called with `{key: value}`
 * @param {Record<string, (setting: Setting) => HTMLElement>} [custom] fields the view builds itself
 *   (a layer list from the model, a baseline with its upload), by key
 * @returns {HTMLElement[]}
 */
export function settingsFields(entry, values, onChange, custom = {}) {
  return entry.settings.map((setting) => {
    if (custom[setting.key]) return custom[setting.key](setting);
    const control = setting.type === 'choice' ? choiceControl(setting, values, onChange) : numberControl(setting, values, onChange);
    control.dataset.setting = setting.key;
    return field(setting.label, control, setting.help || null);
  });
}

/** A select over the setting's choices; values travel as JSON, so numbers and null survive. */
function choiceControl(setting, values, onChange) {
  const current = JSON.stringify(values[setting.key] ?? null);
  const select = el('select', {}, ...setting.choices.map((c) =>
    option(JSON.stringify(c.value), capitalised(c.label), JSON.stringify(c.value) === current)));
  select.addEventListener('change', () => onChange({ [setting.key]: JSON.parse(select.value) }));
  return select;
}

/**
 * A number field, with the schema's limits as hints. The value goes to the core as typed: the
 * core checks it against the schema, and a value it refuses comes back as the tile's message.
 * An empty field means none where the setting allows it.
 */
function numberControl(setting, values, onChange) {
  const input = el('input', {
    type: 'number', value: values[setting.key] ?? '', min: setting.min ?? 0,
    step: setting.type === 'number' ? 'any' : 1,
  });
  if (setting.max !== undefined) input.max = setting.max;
  if (setting.none) input.placeholder = setting.none;
  input.addEventListener('change', () => {
    onChange({ [setting.key]: input.value === '' ? null : Number(input.value) });
  });
  return input;
}

/**
 * A select for a setting chosen from a list the model gives (layers, heads): `none` first when
 * the setting allows it.
 * @param {Setting} setting
 * @param {unknown} value the setting now
 * @param {[unknown, string][]} items values and their labels
 * @param {(change: Record<string, unknown>) => void} onChange
 */
export function listField(setting, value, items, onChange, className = '') {
  const all = setting.none ? [[null, capitalised(setting.none)], ...items] : items;
  const select = el('select', { className },
    ...all.map(([v, text]) => option(JSON.stringify(v), text, JSON.stringify(v) === JSON.stringify(value ?? null))));
  select.dataset.setting = setting.key;
  select.addEventListener('change', () => onChange({ [setting.key]: JSON.parse(select.value) }));
  return field(setting.label, select, setting.help || null);
}

/**
 * The method's caption with its settings filled in: `{key}` becomes the setting's value (a
 * choice by its label, none by what it means), and any key of `extra` its text.
 * @param {{caption: string, settings: Setting[]}} entry
 * @param {Record<string, unknown>} values
 * @param {Record<string, string>} [extra]
 */
export function caption(entry, values, extra = {}) {
  return entry.caption.replace(/\{(\w+)\}/g, (whole, key) => {
    if (key in extra) return extra[key];
    const setting = entry.settings.find((s) => s.key === key);
    if (!setting) return whole;
    const value = values[key];
    if (value === null || value === undefined) return setting.none ?? '';
    if (setting.type === 'choice') return setting.choices.find((c) => c.value === value)?.label ?? String(value);
    if (setting.type === 'index') return `${setting.label.toLowerCase()} ${Number(value) + 1}`;
    return typeof value === 'number' ? formatNumber(value, { digits: 3 }) : String(value);
  });
}

/** How the registry's costs rank: the cheap methods run first. */
const COST_RANK = { single: 0, 'per-feature': 1, many: 2 };

/** The cheapest of these tiles (`{info: {cost}}`), the first in the list among equals. */
export function cheapest(tiles) {
  let best = null;
  for (const tile of tiles) {
    if (!best || COST_RANK[tile.info.cost] < COST_RANK[best.info.cost]) best = tile;
  }
  return best;
}

function capitalised(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
