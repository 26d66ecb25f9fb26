// The home page: create a document, rename it, find it in the list.
const { test, expect } = require('./fixtures');

test('a document created from the home page can be renamed and opened from the list', async ({ server, page }) => {
  await server.createDoc('Another document');
  await page.goto(`${server.url}/`);
  await expect(page.getByTestId('doc-item')).toHaveCount(1);
  await expect(page.getByTestId('doc-item')).toContainText('Another document');

  await page.getByTestId('new-doc').click();
  await expect(page).toHaveURL(/\/d\/[^/]+$/);
  const id = decodeURIComponent(new URL(page.url()).pathname.split('/').pop());
  await expect(page.getByTestId('status')).toHaveAttribute('data-state', 'connected');
  expect((await server.doc(id)).title).toBe('Untitled');

  const title = page.getByTestId('title');
  await expect(title).toBeEnabled();
  await title.fill('Shopping list');
  await title.press('Enter');
  await expect.poll(async () => (await server.doc(id)).title).toBe('Shopping list');
  await expect(page).toHaveTitle(/Shopping list/);

  await page.locator('.cm-content').click();
  await page.keyboard.type('milk, eggs');
  await expect(page.getByTestId('status')).toHaveAttribute('data-pending', '0');
  await expect.poll(async () => (await server.doc(id)).text).toBe('milk, eggs');

  await page.goto(`${server.url}/`);
  const item = page.getByTestId('doc-item').filter({ hasText: 'Shopping list' });
  await expect(item).toHaveCount(1);
  await expect(item).toHaveAttribute('data-id', id);
  await expect(page.getByTestId('doc-item')).toHaveCount(2);
  // Most recently edited first.
  await expect(page.getByTestId('doc-item').first()).toContainText('Shopping list');

  await item.getByRole('link').click();
  await expect(page).toHaveURL(new RegExp(`/d/${id}$`));
  await expect(page.getByTestId('title')).toHaveValue('Shopping list');
  await expect(page.locator('.cm-content')).toHaveText('milk, eggs');
  await expect(page.getByTestId('status')).toHaveAttribute('data-state', 'connected');
});
