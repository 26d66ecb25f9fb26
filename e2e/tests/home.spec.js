// The home page: "your documents", the documents this browser created or
// opened (the server lists all documents only to its administrator).
const { test, expect, editKey } = require('./fixtures');

test('the home page lists the documents this browser created or opened, with their state', async ({ server, page }) => {
  // A document nobody opened here is not listed.
  const other = await server.createDoc('Another document');
  await page.goto(`${server.url}/`);
  await expect(page.getByTestId('no-docs')).toBeVisible();
  await expect(page.getByTestId('doc-item')).toHaveCount(0);

  // New document: opens its edit link, and is listed.
  await page.getByTestId('new-doc').click();
  await expect(page).toHaveURL(/\/d\/[^/]+$/);
  const key = decodeURIComponent(new URL(page.url()).pathname.split('/').pop());
  await expect(page.getByTestId('status')).toHaveAttribute('data-state', 'connected');
  const created = await server.doc(key);
  expect(created.title).toBe('Untitled');
  expect(created.role).toBe('edit');
  expect(editKey(created)).toBe(key);

  const title = page.getByTestId('title');
  await expect(title).toBeEnabled();
  await title.fill('Shopping list');
  await title.press('Enter');
  await expect.poll(async () => (await server.doc(key)).title).toBe('Shopping list');
  await expect(page).toHaveTitle(/Shopping list/);

  await page.locator('.cm-content').click();
  await page.keyboard.type('milk, eggs');
  await expect(page.getByTestId('status')).toHaveAttribute('data-pending', '0');
  await expect.poll(async () => (await server.doc(key)).text).toBe('milk, eggs');

  await page.goto(`${server.url}/`);
  const item = page.getByTestId('doc-item').filter({ hasText: 'Shopping list' });
  await expect(item).toHaveCount(1);
  await expect(item).toHaveAttribute('data-key', key);
  await expect(item).toHaveAttribute('data-state', 'ok');
  await expect(item).toContainText('Can edit');
  await expect(page.getByTestId('doc-item')).toHaveCount(1);

  // Opening a view link someone shared (pasted into the home page) lists
  // that document too, as view only, most recently opened first.
  await page.getByTestId('open-link').fill(`${server.url}${other.links.view}`);
  await page.getByTestId('open-link').press('Enter');
  await expect(page.getByTestId('view-only')).toBeVisible();
  await expect(page.getByTestId('status')).toHaveAttribute('data-state', 'connected');
  await page.goto(`${server.url}/`);
  await expect(page.getByTestId('doc-item')).toHaveCount(2);
  await expect(page.getByTestId('doc-item').first()).toContainText('Another document');
  await expect(page.getByTestId('doc-item').first()).toContainText('View only');

  // A deleted document is in the trash (a viewer cannot restore it); once
  // purged it is gone, and can be removed from the list.
  await server.api('DELETE', `/api/docs/${encodeURIComponent(editKey(other))}`);
  await page.reload();
  const gone = page.getByTestId('doc-item').filter({ hasText: 'Another document' });
  await expect(gone).toHaveAttribute('data-state', 'trashed');
  await expect(gone).toContainText('In the trash until');
  await expect(gone.getByTestId('restore-doc')).toHaveCount(0);
  await server.api('DELETE', `/api/docs/${encodeURIComponent(editKey(other))}?purge=true`);
  await page.reload();
  await expect(gone).toHaveAttribute('data-state', 'gone');
  await expect(gone).toContainText('Deleted or link revoked');
  await gone.getByRole('button', { name: 'Remove “Another document” from your documents' }).click();
  await expect(page.getByTestId('doc-item')).toHaveCount(1);

  // The list opens the document.
  await item.getByRole('link').click();
  await expect(page).toHaveURL(new RegExp(`/d/${key}$`));
  await expect(page.getByTestId('title')).toHaveValue('Shopping list');
  await expect(page.locator('.cm-content')).toHaveText('milk, eggs');
  await expect(page.getByTestId('status')).toHaveAttribute('data-state', 'connected');
});
