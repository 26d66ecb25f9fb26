// Entry point: the path decides the page. "/" lists this browser's
// documents, "/d/{key}" opens one through an edit or view link's key; the
// server serves the same index.html for both.

import { errorBanner, h } from './dom.js';
import { renderEditor } from './editor.js';
import { renderHome } from './home.js';
import { initTheme } from './theme.js';

initTheme();

function route() {
  const root = document.getElementById('app');
  const path = location.pathname;
  if (path === '/' || path === '') {
    renderHome(root);
    return;
  }
  const m = path.match(/^\/d\/([^/]+)\/?$/);
  if (m) {
    let key;
    try {
      key = decodeURIComponent(m[1]);
    } catch {
      key = null;
    }
    if (key) {
      renderEditor(root, key);
      return;
    }
  }
  const banner = errorBanner();
  banner.show('There is no page at this address. ', { dismissible: false, action: h('a', { href: '/' }, 'Your documents') });
  root.replaceChildren(banner.el);
}

route();
