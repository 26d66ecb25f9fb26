// Entry point: the path decides the page. "/" lists documents, "/d/{id}"
// edits one; the server serves the same index.html for both.

import { errorBanner, h } from './dom.js';
import { renderEditor } from './editor.js';
import { renderHome } from './home.js';

function route() {
  const root = document.getElementById('app');
  const path = location.pathname;
  if (path === '/' || path === '') {
    renderHome(root);
    return;
  }
  const m = path.match(/^\/d\/([^/]+)\/?$/);
  if (m) {
    let id;
    try {
      id = decodeURIComponent(m[1]);
    } catch {
      id = null;
    }
    if (id) {
      renderEditor(root, id);
      return;
    }
  }
  const banner = errorBanner();
  banner.show('There is no page at this address. ', { dismissible: false, action: h('a', { href: '/' }, 'See all documents') });
  root.replaceChildren(banner.el);
}

route();
