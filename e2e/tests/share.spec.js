// Share links: the Share dialog shows both links; a viewer follows the text
// live but cannot change it (not by typing, not by an op forced through the
// page's socket); reissuing the view link cuts the viewer off with a plain
// message; reissuing one's own edit link moves the page to the new link
// without losing anything; the home page lists what this browser opened.
const { test, expect, converge, editKey, viewKey } = require('./fixtures');

// recordSockets runs in the page before the app: it keeps every WebSocket
// the page opens in window.__sockets, so a test can send through the
// page's own connection what the page itself never would.
function recordSockets() {
  const Native = window.WebSocket;
  window.__sockets = [];
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      window.__sockets.push(this);
    }
  };
}

test('a viewer follows live, cannot change the text, and is cut off when the view link is reissued', async ({ server, join }, testInfo) => {
  const doc = await server.createDoc('Field notes');
  const key = editKey(doc);
  const a = await join(key, 'Ada', { context: { permissions: ['clipboard-read', 'clipboard-write'] } });
  await a.caretAtEnd();
  await a.page.keyboard.type('Hello, readers.');
  await converge(server, key, [a]);

  // The Share dialog: both links as full addresses, a working Copy, and
  // Escape closes it, giving the focus back to the Share button.
  const shareButton = a.page.getByTestId('share');
  await shareButton.click();
  const dialog = a.page.getByRole('dialog', { name: 'Share this document' });
  await expect(dialog).toBeVisible();
  await expect(dialog.getByTestId('share-edit-url')).toHaveValue(`${server.url}${doc.links.edit}`);
  await expect(dialog.getByTestId('share-view-url')).toHaveValue(`${server.url}${doc.links.view}`);
  await dialog.getByTestId('copy-view').click();
  await expect(dialog.getByTestId('copy-view')).toHaveText('Copied');
  expect(await a.page.evaluate(() => navigator.clipboard.readText())).toBe(`${server.url}${doc.links.view}`);
  await a.page.screenshot({ path: testInfo.outputPath('share-dialog.png') });
  await a.page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  await expect(shareButton).toBeFocused();

  // The viewer sees the text and the badge; the others see the viewer,
  // marked as viewing.
  const v = await join(viewKey(doc), 'Vic', { initScript: recordSockets });
  await expect(v.page.getByTestId('view-only')).toBeVisible();
  await expect(v.page.getByTestId('view-only')).toHaveText('View only');
  expect(await v.text()).toBe('Hello, readers.');
  await expect(v.page.getByTestId('title')).toBeDisabled();
  await expect(v.page.getByTestId('title')).toHaveValue('Field notes');
  const vicAtAda = a.page.locator(`[data-testid="person"][data-client="${v.id}"]`);
  await expect(vicAtAda).toContainText('Vic');
  await expect(vicAtAda).toContainText('viewing');
  await expect(vicAtAda).toHaveAttribute('data-view', 'true');
  await expect(v.page.locator(`[data-testid="person"][data-client="${a.id}"]`)).toContainText('Ada');
  await expect(v.page.locator(`[data-testid="person"][data-client="${a.id}"]`)).not.toHaveAttribute('data-view', 'true');

  // Ada's edits reach the viewer as she types.
  await a.caretAtEnd();
  await a.page.keyboard.type(' Live!');
  await expect.poll(() => v.text()).toBe('Hello, readers. Live!');
  await expect.poll(() => v.shown()).toBe('Hello, readers. Live!');

  // Typing does nothing on the viewer's page: its text, the others' and
  // the server's stay as they are.
  await v.editor.click();
  await v.page.keyboard.press('Control+End');
  await v.page.keyboard.type('vandal');
  await v.page.keyboard.press('Backspace');
  await v.page.keyboard.press('Enter');
  expect(await v.text()).toBe('Hello, readers. Live!');
  expect(await v.shown()).toBe('Hello, readers. Live!');
  expect((await server.doc(key)).text).toBe('Hello, readers. Live!');
  // The viewer's caret is shown to the others.
  await expect(a.page.locator(`.cm-remote-caret[data-client="${v.id}"]`)).toHaveCount(1);
  await v.page.screenshot({ path: testInfo.outputPath('view-only.png') });

  // An op forced through the page's own socket is refused: the server
  // answers forbidden and closes, and the page says why.
  const rev = (await server.doc(key)).rev;
  await v.page.evaluate(
    ([r]) => {
      const ws = window.__sockets.filter((s) => s.readyState === WebSocket.OPEN).at(-1);
      ws.send(JSON.stringify({ type: 'op', rev: r, seq: 1, op: [21, ' forced'] }));
    },
    [rev],
  );
  await expect(v.page.getByTestId('error-banner')).toContainText('lets you view the document, not change it');
  await expect(v.status).toHaveAttribute('data-state', 'offline');
  await expect(v.status).toContainText('View only');
  const after = await server.doc(key);
  expect(after.text).toBe('Hello, readers. Live!');
  expect(after.rev).toBe(rev);
  await expect(vicAtAda).toHaveCount(0);

  // The viewer comes back (a reload), then the view link is reissued: the
  // viewer's page says the link was revoked and stops; the old view link
  // is gone and the new one works.
  await v.page.reload();
  await expect(v.status).toHaveAttribute('data-state', 'connected');
  await expect(a.page.locator('[data-testid="person"][data-view="true"]')).toHaveCount(1);
  await shareButton.click();
  await dialog.getByTestId('reissue-view').click();
  await expect(dialog.getByText('The current view link will stop working at once')).toBeVisible();
  await dialog.getByTestId('confirm-reissue-view').click();
  await expect(dialog.getByTestId('share-view-url')).not.toHaveValue(`${server.url}${doc.links.view}`);
  const newViewURL = await dialog.getByTestId('share-view-url').inputValue();
  await expect(dialog.getByRole('status')).toContainText('The old one no longer works');
  await expect(v.page.getByTestId('error-banner')).toContainText('This link was revoked. Ask the owner for a new one.');
  await expect(v.status).toContainText('Link revoked');
  await expect(v.page.getByTestId('share')).toBeDisabled();
  await v.page.screenshot({ path: testInfo.outputPath('link-revoked.png') });
  await expect(a.page.locator('[data-testid="person"][data-view="true"]')).toHaveCount(0);
  await expect(server.doc(viewKey(doc))).rejects.toThrow(/404/);
  // The edit link did not change, and Ada is still connected.
  await expect(dialog.getByTestId('share-edit-url')).toHaveValue(`${server.url}${doc.links.edit}`);
  await a.page.keyboard.press('Escape');
  await expect(a.status).toHaveAttribute('data-state', 'connected');

  const v2 = await join(new URL(newViewURL).pathname.split('/').pop(), 'Val');
  expect(await v2.text()).toBe('Hello, readers. Live!');
  await expect(v2.page.getByTestId('view-only')).toBeVisible();

  // The home page: Ada's browser lists the document she can edit; Vic's
  // lists the view link he had, now revoked, with a way to remove it.
  await a.page.goto(`${server.url}/`);
  const item = a.page.getByTestId('doc-item').filter({ hasText: 'Field notes' });
  await expect(item).toHaveCount(1);
  await expect(item).toHaveAttribute('data-key', key);
  await expect(item).toHaveAttribute('data-state', 'ok');
  await expect(item).toContainText('Can edit');
  await v.page.goto(`${server.url}/`);
  const gone = v.page.getByTestId('doc-item').filter({ hasText: 'Field notes' });
  await expect(gone).toHaveAttribute('data-state', 'gone');
  await expect(gone).toContainText('Deleted or link revoked');
  await gone.getByRole('button', { name: /Remove/ }).click();
  await expect(v.page.getByTestId('doc-item')).toHaveCount(0);
  expect([...a.resyncs(), ...v.resyncs(), ...v2.resyncs()]).toEqual([]);
});

test('reissuing your own edit link moves the page to the new link and keeps every edit', async ({ server, join }) => {
  const doc = await server.createDoc('Moving');
  const oldKey = editKey(doc);
  const a = await join(oldKey, 'Ada');
  const b = await join(oldKey, 'Bo');
  await a.caretAtEnd();
  await a.page.keyboard.type('one');
  await converge(server, oldKey, [a, b]);
  const adaId = a.id;

  await a.page.getByTestId('share').click();
  const dialog = a.page.getByRole('dialog', { name: 'Share this document' });
  await dialog.getByTestId('reissue-edit').click();
  await dialog.getByTestId('confirm-reissue-edit').click();
  await expect(dialog.getByTestId('share-edit-url')).not.toHaveValue(`${server.url}${doc.links.edit}`);
  const newKey = new URL(await dialog.getByTestId('share-edit-url').inputValue()).pathname.split('/').pop();
  await a.page.keyboard.press('Escape');

  // Ada's page now lives at the new link and is connected through it, with
  // the same identity; Bo, on the old link, is told it was revoked.
  await expect(a.page).toHaveURL(new RegExp(`/d/${newKey}$`));
  expect(await a.page.evaluate(() => window.tandem.key())).toBe(newKey);
  await expect(a.status).toHaveAttribute('data-state', 'connected');
  await expect(b.page.getByTestId('error-banner')).toContainText('This link was revoked');
  await expect(a.page.getByTestId('error-banner')).toBeHidden();
  await a.caretAtEnd();
  await a.page.keyboard.type(' two');
  expect(await converge(server, newKey, [a])).toBe('one two');
  expect(await a.page.evaluate(() => window.tandem.clientId())).toBe(adaId);
  await expect(server.doc(oldKey)).rejects.toThrow(/404/);

  // The home page has the new key, not the old one.
  await a.page.goto(`${server.url}/`);
  await expect(a.page.getByTestId('doc-item')).toHaveCount(1);
  await expect(a.page.getByTestId('doc-item')).toHaveAttribute('data-key', newKey);
  await expect(a.page.getByTestId('doc-item')).toHaveAttribute('data-state', 'ok');
  expect(a.resyncs()).toEqual([]);
});
