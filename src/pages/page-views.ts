import type { CounterDefinition } from '../counters';

/** Page views: counted in Redis on every GET, written back to `pages.views` by the worker. */
export const PAGE_VIEWS: CounterDefinition = {
  name: 'page-views',
  table: 'pages',
  idColumn: 'id',
  column: 'views',
};
