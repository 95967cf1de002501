import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_FILES, loadDemoAssets } from './demo-assets';

describe('loadDemoAssets', () => {
  it('reads every file of the page from the committed public folder', () => {
    const assets = loadDemoAssets();
    expect([...assets.keys()].sort()).toEqual(Object.keys(DEMO_FILES).sort());
    expect(assets.get('/')).toContain('<script src="/demo/app.js" defer></script>');
    expect(assets.get('/')).toContain('<script src="/socket.io/socket.io.js" defer></script>');
    // No inline script or style: the CSP allows only the page's own files.
    expect(assets.get('/')).not.toMatch(
      /<script(?![^>]*\bsrc=)[^>]*>|<style|\sstyle=|\son[a-z]+=/i,
    );
  });

  it('refuses to start without one of them, naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'demo-assets-'));
    try {
      writeFileSync(join(dir, 'index.html'), '<!doctype html>');
      writeFileSync(join(dir, 'app.css'), '');
      expect(() => loadDemoAssets(dir)).toThrow(/app\.js/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
