// keygen: the encryption key block — a key generated in the browser (256 random bits,
// base64), a refresh button for a new one, copy and download, and the "I have saved this
// key" checkbox that must be ticked before the form can be saved: without the key, an
// encrypted backup cannot be restored, and the server never shows it again.
import { h, uid } from './ui.js';

export function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes));
}

/** keyBlock: `onChange` is called when "saved" changes; `.key()` is the key, `.saved()` whether it was confirmed. */
export function keyBlock(onChange) {
  const keyId = uid('key');
  const keyInput = h('input', { type: 'text', id: keyId, class: 'key', readonly: true, value: newKey(), 'data-role': 'key' });
  const saved = h('input', { type: 'checkbox', 'data-role': 'key-saved', onchange: () => onChange() });
  const note = h('p', { class: 'hint', role: 'status' });
  const block = h('div', { class: 'keyblock' },
    h('label', { for: keyId }, 'Encryption key (AES-256)'),
    h('div', { class: 'row' },
      keyInput,
      h('button', { type: 'button', class: 'secondary', 'aria-label': 'Generate a new key', 'data-role': 'key-refresh', onclick: () => { keyInput.value = newKey(); saved.checked = false; note.textContent = 'A new key was generated; save it.'; onChange(); } }, '↻ New key'),
      h('button', { type: 'button', class: 'secondary', onclick: async () => { try { await navigator.clipboard.writeText(keyInput.value); note.textContent = 'Copied.'; } catch { keyInput.select(); note.textContent = 'Select the key and copy it (Ctrl+C).'; } } }, 'Copy'),
      h('button', { type: 'button', class: 'secondary', onclick: () => {
        const a = h('a', { href: URL.createObjectURL(new Blob([`${keyInput.value}\n`], { type: 'text/plain' })), download: 'pagevault-backup.key' });
        document.body.append(a);
        a.click();
        a.remove();
      } }, 'Download')),
    h('p', { class: 'hint' }, 'Keep this key apart from the backups. Without it an encrypted backup cannot be restored; the server keeps a copy to run scheduled backups but never shows it again.'),
    h('label', { class: 'inline' }, saved, 'I have saved this key'),
    note);
  block.key = () => keyInput.value;
  block.saved = () => saved.checked;
  return block;
}
