// Uploads and imports are checked before they are sent: clear sentences
// for files that are too large, not text, or not an export.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { checkImport, checkUpload, fileError, parseExport, textOfUpload, titleFromFileName } from '../src/files.js';

describe('files', () => {
  it('names a document after its file, without the extension', () => {
    assert.equal(titleFromFileName('Notes for May.md'), 'Notes for May');
    assert.equal(titleFromFileName('plan.TXT'), 'plan');
    assert.equal(titleFromFileName('archive.tar.txt'), 'archive.tar');
    assert.equal(titleFromFileName('.md'), 'Untitled');
    assert.equal(titleFromFileName(' a\u0007b .txt'), 'ab');
    const long = `${'x'.repeat(199)}😀more.txt`;
    assert.equal(titleFromFileName(long), 'x'.repeat(199));
  });

  it('takes .txt and .md files and refuses others and oversized ones', () => {
    assert.equal(checkUpload({ name: 'a.txt', size: 10, type: 'text/plain' }), null);
    assert.equal(checkUpload({ name: 'a.md', size: 10, type: '' }), null);
    assert.equal(checkUpload({ name: 'notes', size: 10, type: 'text/markdown' }), null);
    assert.match(checkUpload({ name: 'photo.png', size: 10, type: 'image/png' }), /not a text file/);
    assert.match(checkUpload({ name: 'big.txt', size: 100, type: 'text/plain' }, 10), /too large/);
    assert.equal(checkUpload({ name: 'fits.txt', size: 30, type: 'text/plain' }, 10), null);
  });

  it('checks the decoded text: length in UTF-16 units, binary data, a byte order mark', () => {
    assert.deepEqual(textOfUpload('a.txt', '\ufeffhello'), { text: 'hello' });
    assert.deepEqual(textOfUpload('a.txt', 'a\r\nb'), { text: 'a\r\nb' });
    assert.match(textOfUpload('a.txt', 'a\u0000b').error, /binary/);
    assert.match(textOfUpload('a.txt', '😀😀😀', 5).error, /too long: 6 characters/);
    assert.deepEqual(textOfUpload('a.txt', '😀😀', 4), { text: '😀😀' });
  });

  it('imports only history exports within the size limit', () => {
    assert.equal(checkImport({ name: 'h.json', size: 100, type: 'application/json' }), null);
    assert.match(checkImport({ name: 'h.txt', size: 100, type: 'text/plain' }), /not a history export/);
    assert.match(checkImport({ name: 'h.json', size: 65 * 1024 * 1024, type: 'application/json' }), /too large to import \(65 MiB; at most 64 MiB\)/);
    assert.deepEqual(parseExport('h.json', JSON.stringify({ format: 'tandem-history', version: 1, title: 'T' })), { title: 'T' });
    assert.match(parseExport('h.json', '{').error, /not JSON/);
    assert.match(parseExport('h.json', '{"format":"other"}').error, /not a Tandem history export/);
    assert.match(parseExport('h.json', '{"format":"tandem-history","version":2}').error, /version/);
  });

  it('says why the server refused a file', () => {
    assert.match(fileError({ status: 413, code: 'too_large', message: 'the text is 20 units long; the limit is 10' }, 'a.txt', 'upload'), /too large for this server \(the text is 20/);
    assert.match(fileError({ status: 400, code: 'bad_request', message: 'not a Tandem history file' }, 'h.json', 'import'), /refused “h.json”/);
    assert.match(fileError({ status: 0, code: 'network', message: 'offline' }, 'a.txt', 'upload'), /Could not upload “a.txt”: offline/);
  });
});
