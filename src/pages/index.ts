export * from './pages.module';
export * from './pages.repository';
export { PAGE_VIEWS } from './page-views';
