// History, authorship, files and the trash, as people use them: restoring
// an old version while someone else types, the text coloured by who wrote
// it, a download uploaded back, an export imported, a document deleted,
// found in the trash and restored. Every scenario checks the pages and the
// server's text (GET /api/docs/{key}).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { test, expect, converge, editKey } = require('./fixtures');

const authorOf = (person) => person.page.evaluate(() => localStorage.getItem('tandem.author'));

// rgb turns #rrggbb into the rgb() form computed styles use.
function rgb(hex, alpha = null) {
  const n = (i) => Number.parseInt(hex.slice(i, i + 2), 16);
  return alpha === null ? `rgb(${n(1)}, ${n(3)}, ${n(5)})` : `rgba(${n(1)}, ${n(3)}, ${n(5)}, ${alpha})`;
}

// openHistory opens the panel and waits until it shows the current text.
async function openHistory(p) {
  await p.page.getByTestId('history-toggle').click();
  await expect(p.page.getByTestId('history-panel')).toBeVisible();
  await expect(p.page.getByTestId('history-rev')).toContainText('Current version');
}

// showRevision moves the slider to rev with the keyboard (Home, then
// ArrowRight rev times) and waits for the viewer to show that revision.
async function showRevision(p, rev) {
  const slider = p.page.getByTestId('history-slider');
  await slider.focus();
  await p.page.keyboard.press('Home');
  for (let i = 0; i < rev; i++) await p.page.keyboard.press('ArrowRight');
  await expect(slider).toHaveValue(String(rev));
  await expect(p.page.getByTestId('history-text')).toHaveAttribute('data-rev', String(rev));
}

// download clicks a link of the document menu and returns the saved file's
// path and suggested name.
async function download(p, testid, dir) {
  await p.page.getByTestId('doc-menu').locator('summary').click();
  const [dl] = await Promise.all([p.page.waitForEvent('download'), p.page.getByTestId(testid).click()]);
  const file = path.join(dir, dl.suggestedFilename());
  await dl.saveAs(file);
  return { file, name: dl.suggestedFilename() };
}

// viewerText is the whole text the history viewer shows (the page's hook:
// CodeMirror draws only the lines in view), without the widgets that show
// what was added since.
const viewerText = (page) => page.evaluate(() => window.tandemHistory.text());

const keyOfPage = (page) => decodeURIComponent(new URL(page.url()).pathname.split('/').pop());

test.describe('history', () => {
  test('restore an old version while another person types: both end with the server text, with the other person’s words', async ({ server, join }) => {
    const doc = await server.createDoc('Restore');
    const key = editKey(doc);
    const ada = await join(key, 'Ada');
    const bo = await join(key, 'Bo', { cuttable: true });

    await ada.caretAtEnd();
    await ada.page.keyboard.insertText('Version one.');
    await converge(server, key, [ada, bo]);
    const old = await server.doc(key);
    expect(old.text).toBe('Version one.');
    await ada.page.keyboard.insertText(' Second part, to be undone.');
    await converge(server, key, [ada, bo]);

    // Bo loses the network and writes at the start: edits the server has
    // not seen when the restore is made.
    bo.network.cut();
    await expect(bo.status).not.toHaveAttribute('data-state', 'connected');
    await bo.caretAt(0);
    await bo.page.keyboard.type('Hello from Bo. ');

    // Ada finds revision 1 in the history and restores it.
    await openHistory(ada);
    await showRevision(ada, old.rev);
    await expect.poll(() => viewerText(ada.page)).toBe('Version one.');
    // What changed since is highlighted: the second part is not in that version.
    await expect(ada.page.getByTestId('history-text').locator('.cm-hist-added')).toContainText('Second part');
    await expect(ada.page.getByTestId('history-author-name')).toHaveText('Ada');
    await ada.page.getByTestId('history-restore').click();
    await expect(ada.page.getByTestId('confirm-dialog')).toBeVisible();
    await ada.page.getByTestId('confirm-ok').click();
    await expect(ada.page.getByTestId('history-panel')).toBeHidden();
    await expect(ada.page.getByTestId('tool-notice')).toContainText(`Restored the version of revision ${old.rev}`);
    await expect.poll(async () => (await server.doc(key)).text).toBe('Version one.');

    // Bo comes back and keeps typing, live, while the restore reaches him.
    bo.network.restore();
    await expect(bo.status).toHaveAttribute('data-state', 'connected', { timeout: 30_000 });
    await bo.page.keyboard.type('Still here. ', { delay: 20 });
    const text = await converge(server, key, [ada, bo]);
    expect(text).toBe('Hello from Bo. Still here. Version one.');
    expect(ada.resyncs()).toEqual([]);
    expect(bo.resyncs()).toEqual([]);

    // The restore is in the history, as an edit by Ada.
    const ops = await server.ops(key);
    const adaAuthor = await authorOf(ada);
    expect(ops.some((e) => e.client === '@server' && e.author === adaAuthor)).toBe(true);
  });

  test('the slider steps, plays and names versions', async ({ server, join }) => {
    const doc = await server.createDoc('Steps');
    const key = editKey(doc);
    const ada = await join(key, 'Ada');
    await ada.caretAtEnd();
    for (const w of ['one', ' two', ' three', ' four']) {
      await ada.page.keyboard.insertText(w);
      await expect.poll(() => ada.page.evaluate(() => window.tandem.isSynchronized())).toBe(true);
    }
    const { rev } = await converge(server, key, [ada]).then(() => server.doc(key));
    expect(rev).toBe(4);
    await openHistory(ada);
    const shows = (text) => expect.poll(() => viewerText(ada.page)).toBe(text);
    await ada.page.getByTestId('history-back').click();
    await shows('one two three');
    await ada.page.getByTestId('history-first').click();
    await shows('');
    await expect(ada.page.getByTestId('history-time')).toContainText('empty document');
    await ada.page.getByTestId('history-forward').click();
    await shows('one');
    await expect(ada.page.getByTestId('history-summary')).toContainText('1 change since');

    // Name revision 2.
    await ada.page.getByTestId('history-forward').click();
    await shows('one two');
    await ada.page.getByTestId('history-name').click();
    await ada.page.getByTestId('history-name-input').fill('Sent to the client');
    await ada.page.getByTestId('history-name-save').click();
    await expect(ada.page.getByTestId('history-version')).toHaveText(/Sent to the client/);
    const versions = await server.api('GET', `/api/docs/${encodeURIComponent(key)}/versions`);
    expect(versions.map((v) => [v.rev, v.name])).toEqual([[2, 'Sent to the client']]);

    // Play from the start: it ends at the current text.
    await ada.page.getByTestId('history-first').click();
    await ada.page.getByTestId('history-play').click();
    await expect(ada.page.getByTestId('history-slider')).toHaveValue('4', { timeout: 10_000 });
    await shows('one two three four');
    await expect(ada.page.getByTestId('history-rev')).toContainText('Current version');

    // The named version is one click away.
    await ada.page.getByTestId('history-version').click();
    await shows('one two');
    await expect(ada.page.getByTestId('history-named')).toHaveText('Sent to the client');
    await ada.page.getByTestId('history-close').click();
    await expect(ada.page.getByTestId('history-panel')).toBeHidden();
    await expect(ada.editor).toBeVisible();
  });

  test('a history of 100,000 revisions: the slider loads pages around its position and steps without asking', async ({ server, join }) => {
    // An exported history with 100,000 small ops, imported in one request.
    const N = 100_000;
    const ops = [];
    let length = 0;
    for (let rev = 1; rev <= N; rev++) {
      const ins = rev % 10 ? `w${rev} ` : '\n';
      ops.push({ rev, op: length ? [length, ins] : [ins], client: 'script', seq: rev, time: new Date(Date.UTC(2026, 10, 1) + rev * 1000).toISOString(), author: rev % 2 ? 'adaAuthor' : 'boAuthor' });
      length += ins.length;
    }
    const texts = (rev) => {
      let t = '';
      for (let r = 1; r <= rev; r++) t += r % 10 ? `w${r} ` : '\n';
      return t;
    };
    const history = {
      format: 'tandem-history',
      version: 1,
      title: 'Long history',
      created: new Date(Date.UTC(2026, 10, 1)).toISOString(),
      rev: N,
      text: texts(N),
      ops,
      authors: [
        { id: 'adaAuthor', name: 'Ada', color: '#e5484d' },
        { id: 'boAuthor', name: 'Bo', color: '#0090ff' },
      ],
      versions: [],
    };
    const doc = await server.api('POST', '/api/docs/import', history);
    expect(doc.rev).toBe(N);
    const key = editKey(doc);
    const ada = await join(key, 'Cy');
    const requests = [];
    ada.page.on('request', (r) => {
      const u = new URL(r.url());
      if (u.pathname.endsWith('/ops')) requests.push(`ops ${u.searchParams.get('from')}-${u.searchParams.get('to')}`);
      else if (u.searchParams.has('rev') && !u.pathname.endsWith('/authorship')) requests.push(`text ${u.searchParams.get('rev')}`);
    });
    await openHistory(ada);
    await expect(ada.page.getByTestId('history-author-name')).toHaveText('Bo');
    expect(requests).toEqual(['ops 99501-100000']);

    // A far jump: one page of the log and one text.
    const slider = ada.page.getByTestId('history-slider');
    await slider.evaluate((el) => {
      el.value = '54321';
      el.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await expect(ada.page.getByTestId('history-text')).toHaveAttribute('data-rev', '54321', { timeout: 30_000 });
    await expect(ada.page.getByTestId('history-author-name')).toHaveText('Ada');
    expect(await viewerText(ada.page)).toBe(texts(54_321));
    expect(requests.slice(1).sort()).toEqual(['ops 54001-54500', 'text 54321']);

    // Stepping forward is made from the loaded ops: no request, and quick.
    requests.length = 0;
    await slider.focus();
    const t0 = Date.now();
    for (let i = 0; i < 20; i++) await ada.page.keyboard.press('ArrowRight');
    await expect(ada.page.getByTestId('history-text')).toHaveAttribute('data-rev', '54341');
    const took = Date.now() - t0;
    expect(await viewerText(ada.page)).toBe(texts(54_341));
    expect(requests).toEqual([]);
    expect(took).toBeLessThan(5_000);
    test.info().annotations.push({ type: 'timing', description: `20 steps on a 490,000-character text: ${took} ms` });
  });

  test('Who wrote this shows two authors in their colours', async ({ server, join }) => {
    const doc = await server.createDoc('Authors');
    const key = editKey(doc);
    const ada = await join(key, 'Ada'); // #e5484d (fixtures' first colour)
    const bo = await join(key, 'Bo'); // #0090ff
    await ada.caretAtEnd();
    await ada.page.keyboard.insertText('Ada wrote this. ');
    await converge(server, key, [ada, bo]);
    await bo.caretAtEnd();
    await bo.page.keyboard.insertText('Bo wrote that.');
    await converge(server, key, [ada, bo]);
    const [adaId, boId] = [await authorOf(ada), await authorOf(bo)];
    expect(adaId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(boId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(adaId).not.toBe(boId);

    await ada.page.getByTestId('authors-toggle').click();
    await expect(ada.page.getByTestId('authors-toggle')).toHaveAttribute('aria-pressed', 'true');
    const adaMarks = ada.page.locator(`.cm-author[data-author="${adaId}"]`);
    const boMarks = ada.page.locator(`.cm-author[data-author="${boId}"]`);
    await expect(adaMarks).toHaveText(['Ada wrote this. ']);
    await expect(boMarks).toHaveText(['Bo wrote that.']);
    await expect(adaMarks.first()).toHaveCSS('background-color', rgb('#e5484d', 0.2));
    await expect(boMarks.first()).toHaveCSS('background-color', rgb('#0090ff', 0.2));

    const legend = ada.page.getByTestId('authors-legend');
    await expect(legend).toBeVisible();
    const items = legend.getByTestId('author-item');
    await expect(items).toHaveCount(2);
    await expect(legend.locator(`[data-author="${adaId}"]`)).toContainText('Ada (you)');
    await expect(legend.locator(`[data-author="${boId}"]`)).toContainText('Bo');
    await expect(legend.locator(`[data-author="${adaId}"] .authors-swatch`)).toHaveCSS('border-top-color', rgb('#e5484d'));
    await expect(legend.locator(`[data-author="${boId}"] .authors-swatch`)).toHaveCSS('border-top-color', rgb('#0090ff'));

    // Bo writes more while Ada looks: it is coloured as his once the view
    // refreshes.
    await bo.page.keyboard.insertText(' And more.');
    await converge(server, key, [ada, bo]);
    await expect(boMarks).toHaveText(['Bo wrote that. And more.']);
    // The server agrees.
    const who = await server.api('GET', `/api/docs/${encodeURIComponent(key)}/authorship`);
    expect(who.spans).toEqual([
      { len: 16, author: adaId },
      { len: 24, author: boId },
    ]);

    await ada.page.getByTestId('authors-toggle').click();
    await expect(ada.page.locator('.cm-author')).toHaveCount(0);
    await expect(legend).toBeHidden();
  });
});

test.describe('files', () => {
  test('download as .txt and upload it back: a new document with identical text', async ({ server, join }) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-e2e-files-'));
    try {
      const doc = await server.createDoc('Round trip');
      const key = editKey(doc);
      const ada = await join(key, 'Ada');
      const TEXT = '# Grüße 😀\n\nZeile zwei, 中文, tabs\there.\r\nLast line without newline';
      // Set through the API's edit (typing would turn "\r\n" into "\n"): the
      // page receives it live.
      await server.api('POST', `/api/docs/${encodeURIComponent(key)}/edit`, { text: TEXT });
      expect(await converge(server, key, [ada])).toBe(TEXT);

      const txt = await download(ada, 'download-txt', dir);
      expect(txt.name).toBe('Round trip.txt');
      expect(fs.readFileSync(txt.file, 'utf8')).toBe(TEXT);
      const md = await download(ada, 'download-md', dir);
      expect(md.name).toBe('Round trip.md');
      expect(fs.readFileSync(md.file, 'utf8')).toBe(TEXT);

      await ada.page.goto(`${server.url}/`);
      await ada.page.getByTestId('upload-input').setInputFiles(txt.file);
      await expect(ada.page).toHaveURL(/\/d\/[^/]+$/);
      await expect(ada.status).toHaveAttribute('data-state', 'connected');
      const copy = await server.doc(keyOfPage(ada.page));
      expect(copy.text).toBe(TEXT);
      expect(copy.title).toBe('Round trip');
      expect(copy.id).not.toBe(doc.id);
      await expect.poll(() => ada.page.evaluate(() => window.tandem.getText())).toBe(TEXT);

      // Not text, or too large: a clear sentence, nothing created.
      await ada.page.goto(`${server.url}/`);
      const png = path.join(dir, 'photo.png');
      fs.writeFileSync(png, Buffer.from([0x89, 0x50, 0x4e, 0x47]));
      await ada.page.getByTestId('upload-input').setInputFiles(png);
      await expect(ada.page.getByTestId('error-banner')).toContainText('is not a text file');
      const huge = path.join(dir, 'huge.txt');
      fs.writeFileSync(huge, Buffer.alloc(31 * 1024 * 1024 + 1, 0x61));
      await ada.page.getByTestId('upload-input').setInputFiles(huge);
      await expect(ada.page.getByTestId('error-banner')).toContainText('is too large');
      await expect(ada.page).toHaveURL(`${server.url}/`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('export the history as .json and import it: the same text and revision', async ({ server, join }) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-e2e-files-'));
    try {
      const doc = await server.createDoc('Exported');
      const key = editKey(doc);
      const ada = await join(key, 'Ada');
      await ada.caretAtEnd();
      for (const w of ['Hello', ' wide', ' world 🌍']) {
        await ada.page.keyboard.insertText(w);
        await expect.poll(() => ada.page.evaluate(() => window.tandem.isSynchronized())).toBe(true);
      }
      await ada.page.keyboard.press('Backspace');
      await ada.page.keyboard.press('Backspace');
      const original = await converge(server, key, [ada]).then(() => server.doc(key));

      const json = await download(ada, 'download-json', dir);
      expect(json.name).toBe('Exported.json');
      const data = JSON.parse(fs.readFileSync(json.file, 'utf8'));
      expect(data.format).toBe('tandem-history');
      expect(data.rev).toBe(original.rev);
      expect(data.ops.map((o) => o.rev)).toEqual(Array.from({ length: original.rev }, (_, i) => i + 1));

      await ada.page.goto(`${server.url}/`);
      await ada.page.getByTestId('import-input').setInputFiles(json.file);
      await expect(ada.page).toHaveURL(/\/d\/[^/]+$/);
      await expect(ada.status).toHaveAttribute('data-state', 'connected');
      const copy = await server.doc(keyOfPage(ada.page));
      expect(copy.id).not.toBe(original.id);
      expect(copy.text).toBe(original.text);
      expect(copy.rev).toBe(original.rev);
      expect(copy.title).toBe('Exported');

      // Something else is refused with a sentence.
      await ada.page.goto(`${server.url}/`);
      const bad = path.join(dir, 'other.json');
      fs.writeFileSync(bad, '{"hello":"world"}');
      await ada.page.getByTestId('import-input').setInputFiles(bad);
      await expect(ada.page.getByTestId('error-banner')).toContainText('not a Tandem history export');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

test.describe('trash', () => {
  test('delete, see it in the trash, restore it', async ({ server, join }) => {
    const doc = await server.createDoc('Trash me');
    const key = editKey(doc);
    const ada = await join(key, 'Ada');
    const bo = await join(key, 'Bo');
    await ada.caretAtEnd();
    await ada.page.keyboard.insertText('Keep this text.');
    await converge(server, key, [ada, bo]);

    // Delete from the editor, after a confirmation (Cancel first).
    await ada.page.getByTestId('doc-menu').locator('summary').click();
    await ada.page.getByTestId('delete-doc').click();
    await ada.page.getByTestId('confirm-cancel').click();
    expect((await server.doc(key)).text).toBe('Keep this text.');
    await ada.page.getByTestId('doc-menu').locator('summary').click();
    await ada.page.getByTestId('delete-doc').click();
    await ada.page.getByTestId('confirm-ok').click();

    // Both pages say so, with Undelete (both hold the edit link).
    for (const p of [ada, bo]) {
      await expect(p.page.getByTestId('error-banner')).toContainText('This document was deleted. It stays in the trash until');
      await expect(p.page.getByTestId('undelete')).toBeVisible();
      await expect(p.status).toHaveAttribute('data-state', 'offline');
    }
    const res = await fetch(`${server.url}/api/docs/${encodeURIComponent(key)}`);
    expect(res.status).toBe(410);
    expect((await res.json()).error.code).toBe('deleted');

    // The home page lists it as in the trash, and restores it.
    await ada.page.goto(`${server.url}/`);
    const item = ada.page.getByTestId('doc-item').filter({ hasText: 'Trash me' });
    await expect(item).toHaveAttribute('data-state', 'trashed');
    await expect(item.getByTestId('doc-trash')).toContainText('In the trash until');
    await item.getByTestId('restore-doc').click();
    await expect(item).toHaveAttribute('data-state', 'ok');
    expect((await server.doc(key)).text).toBe('Keep this text.');

    // Bo's page stopped when the document went; a reload opens it again.
    await bo.page.reload();
    await expect(bo.status).toHaveAttribute('data-state', 'connected');
    await expect.poll(() => bo.page.evaluate(() => window.tandem.getText())).toBe('Keep this text.');

    // Delete from the home list, then undelete from the editor page.
    await item.getByTestId('delete-doc').click();
    await ada.page.getByTestId('confirm-ok').click();
    await expect(item).toHaveAttribute('data-state', 'trashed');
    await expect(bo.page.getByTestId('undelete')).toBeVisible();
    await bo.page.getByTestId('undelete').click();
    await expect(bo.status).toHaveAttribute('data-state', 'connected');
    await expect.poll(() => bo.page.evaluate(() => window.tandem.getText())).toBe('Keep this text.');

    // Delete forever: gone from the server and from the list.
    await ada.page.reload();
    await item.getByTestId('delete-doc').click();
    await ada.page.getByTestId('confirm-ok').click();
    await expect(item).toHaveAttribute('data-state', 'trashed');
    await item.getByTestId('purge-doc').click();
    await ada.page.getByTestId('confirm-ok').click();
    await expect(item).toHaveCount(0);
    const gone = await fetch(`${server.url}/api/docs/${encodeURIComponent(key)}`);
    expect(gone.status).toBe(404);
  });

  test('a viewer of a deleted document is told so, without Undelete', async ({ server, join }) => {
    const doc = await server.createDoc('Viewed');
    const viewer = await join(doc.links.view.split('/').pop(), 'Cy');
    await server.api('DELETE', `/api/docs/${encodeURIComponent(editKey(doc))}`);
    await expect(viewer.page.getByTestId('error-banner')).toContainText('This document was deleted');
    await expect(viewer.page.getByTestId('error-banner')).toContainText('Ask someone with the edit link');
    await expect(viewer.page.getByTestId('undelete')).toHaveCount(0);
  });
});
