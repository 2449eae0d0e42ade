// Small helpers for building the page's controls, shared by the image grid and the text view.

/** Makes an element: `el('p', {className: 'x'}, 'text', child)`. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

export function option(value, text, selected = false) {
  return el('option', { value, selected }, text);
}

/** A labelled form field: the label's text above the control. */
export function field(label, control, hint) {
  return el('label', { className: 'field' }, el('span', {}, label), control, hint ? el('small', {}, hint) : null);
}

export function formatSeconds(seconds) {
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}
