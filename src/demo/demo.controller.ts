import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import { DEMO_CSP, DemoPath, loadDemoAssets } from './demo-assets';

/**
 * The demo page at `/`: plain HTML, one script and one stylesheet, served from memory on both
 * HTTP platforms through ordinary Nest routes (no static-file plugin, so nothing under `/` but
 * these three paths is ever looked up on disk). The socket.io client comes from the socket
 * server itself (`/socket.io/socket.io.js`).
 *
 * Not in the OpenAPI document (it is not part of the API) and not rate limited: a page load is
 * three in-memory answers, cheaper than the Redis round trip a limit check would cost; the API
 * calls the page makes are limited as usual.
 */
@ApiExcludeController()
@SkipThrottle()
@Controller()
export class DemoController {
  private readonly assets = loadDemoAssets();

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Content-Security-Policy', DEMO_CSP)
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('X-Frame-Options', 'DENY')
  @Header('Referrer-Policy', 'no-referrer')
  @Header('Cache-Control', 'no-cache')
  page(): string {
    return this.text('/');
  }

  @Get('demo/app.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Cache-Control', 'no-cache')
  script(): string {
    return this.text('/demo/app.js');
  }

  @Get('demo/app.css')
  @Header('Content-Type', 'text/css; charset=utf-8')
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Cache-Control', 'no-cache')
  stylesheet(): string {
    return this.text('/demo/app.css');
  }

  private text(path: DemoPath): string {
    return this.assets.get(path) ?? '';
  }
}
