// The demo page at `/`: static HTML, script and stylesheet served by the API role.
export * from './demo.module';
export { DEMO_CSP, DEMO_FILES } from './demo-assets';
