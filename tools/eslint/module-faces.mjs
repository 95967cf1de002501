// @ts-check
import path from 'node:path';

/**
 * `nrp/module-faces`: code outside a module imports it only through its public face, the
 * folder's index.ts (`import { CacheService } from '../cache'`), never one of its files
 * (`'../cache/cache.service'`). Files inside a module import their siblings directly.
 * A module is a folder directly under src/.
 *
 * @type {import('eslint').Rule.RuleModule}
 */
export const moduleFaces = {
  meta: {
    type: 'problem',
    docs: { description: "Import other modules only through their index.ts" },
    messages: {
      deep: "'{{spec}}' reaches into module '{{module}}': import it from its public face '{{face}}' (src/{{module}}/index.ts), and export what you need there.",
    },
    schema: [],
  },
  create(context) {
    const file = context.filename;
    const srcDir = path.join(context.cwd, 'src');
    const fromParts = path.relative(srcDir, file).split(path.sep);
    const fromModule = fromParts[0] !== '..' && fromParts.length > 1 ? fromParts[0] : undefined;

    /** @param {import('estree').Literal | null | undefined} source */
    function check(source) {
      if (!source || typeof source.value !== 'string' || !source.value.startsWith('.')) return;
      const target = path.resolve(path.dirname(file), source.value);
      const parts = path.relative(srcDir, target).split(path.sep);
      if (parts[0] === '..' || parts.length < 2) return; // outside src, or a top-level file
      const [module, ...inner] = parts;
      if (module === fromModule) return; // a sibling inside the same module
      if (inner.length === 1 && inner[0] === 'index') return;
      const face = path.relative(path.dirname(file), path.join(srcDir, module)) || '.';
      context.report({
        node: source,
        messageId: 'deep',
        data: { spec: source.value, module, face: face.startsWith('.') ? face : `./${face}` },
      });
    }

    return {
      ImportDeclaration: (node) => check(node.source),
      ExportNamedDeclaration: (node) => check(node.source),
      ExportAllDeclaration: (node) => check(node.source),
      ImportExpression: (node) => check(/** @type {any} */ (node.source)),
    };
  },
};
