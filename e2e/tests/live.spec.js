// The live document list: renames, people and deletions reach an open
// home page and editor within a second or two (the pages also poll, but
// only every 30 s).
const { test, expect, editKey } = require('./fixtures');

test('renames, people and deletions reach open pages at once', async ({ server, page, browser }) => {
  const doc = await server.createDoc('Before');
  const key = editKey(doc);
  // Opening the document records it in this browser's list.
  await page.goto(`${server.url}/d/${key}`);
  await expect(page.getByTestId('status')).toHaveAttribute('data-state', 'connected');
  const editor = await browser.newPage();
  await editor.goto(`${server.url}/d/${key}`);
  await expect(editor.getByTestId('status')).toHaveAttribute('data-state', 'connected');

  await page.goto(`${server.url}/`);
  const item = page.locator(`[data-testid="doc-item"][data-key="${key}"]`);
  await expect(item).toContainText('Before');
  await expect(item).toContainText('1 here now');

  // A rename over the API: both pages show it well before the next poll.
  await server.api('PATCH', `/api/docs/${key}`, { title: 'After' });
  await expect(item).toContainText('After', { timeout: 3000 });
  await expect(editor.getByTestId('title')).toHaveValue('After', { timeout: 3000 });

  // The other person leaves: nobody is here.
  await editor.close();
  await expect(item).not.toContainText('here now', { timeout: 3000 });

  // Deleted: the list says so.
  await server.api('DELETE', `/api/docs/${key}`);
  await expect(item).toHaveAttribute('data-state', 'trashed', { timeout: 3000 });
});
