// Light and dark: the page follows the system's preference until the
// person picks one with the toggle, which this browser then remembers
// (localStorage "tandem.theme": "light" or "dark"; absent: follow the
// system). The theme is the `data-theme` attribute of <html>; app.css
// gives both themes their colours (each pair of text and background
// passes WCAG AA).

import { h } from './dom.js';

const ITEM = 'tandem.theme';

function stored() {
  try {
    const t = localStorage.getItem(ITEM);
    return t === 'light' || t === 'dark' ? t : null;
  } catch {
    return null;
  }
}

const systemDark = () => globalThis.matchMedia?.('(prefers-color-scheme: dark)').matches === true;

// currentTheme is "light" or "dark", as shown now.
export const currentTheme = () => document.documentElement.dataset.theme ?? 'light';

const listeners = new Set();

function apply() {
  const theme = stored() ?? (systemDark() ? 'dark' : 'light');
  document.documentElement.dataset.theme = theme;
  document.documentElement.style.colorScheme = theme;
  for (const f of listeners) f(theme);
}

// initTheme sets the theme before the page is drawn and follows the
// system (and other tabs' choices) from then on.
export function initTheme() {
  apply();
  globalThis.matchMedia?.('(prefers-color-scheme: dark)').addEventListener?.('change', apply);
  window.addEventListener('storage', (e) => {
    if (e.key === ITEM || e.key === null) apply();
  });
}

// setTheme remembers a choice; null follows the system again.
export function setTheme(theme) {
  try {
    if (theme === null) localStorage.removeItem(ITEM);
    else localStorage.setItem(ITEM, theme);
  } catch {
    // storage disabled: for this page only
    document.documentElement.dataset.theme = theme ?? (systemDark() ? 'dark' : 'light');
  }
  apply();
}

// themeToggle is the button that switches between light and dark.
export function themeToggle() {
  const button = h('button', { className: 'icon-btn theme-btn', type: 'button', 'data-testid': 'theme-toggle' });
  const render = (theme) => {
    const dark = theme === 'dark';
    button.setAttribute('aria-pressed', String(dark));
    button.setAttribute('aria-label', 'Dark mode');
    button.title = dark ? 'Switch to the light theme' : 'Switch to the dark theme';
    button.textContent = dark ? '☀' : '☾';
  };
  render(currentTheme());
  listeners.add(render);
  button.addEventListener('click', () => {
    const next = currentTheme() === 'dark' ? 'light' : 'dark';
    // Choosing what the system already says: follow the system again.
    setTheme(next === (systemDark() ? 'dark' : 'light') ? null : next);
  });
  return button;
}
