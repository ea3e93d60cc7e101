import { readFileSync } from 'node:fs';
import { Controller, Get, Res } from '@nestjs/common';
import type { Response } from 'express';
import { Public } from '@relay/auth';

/** The page, its script and its style, read once from the assets folder beside this file (copied to dist by nest-cli.json). */
const asset = (name: string) => readFileSync(new URL(`./assets/${name}`, import.meta.url), 'utf8');

/**
 * Nothing but same-origin files: no inline script or style, no other host,
 * no framing. The page holds an operator key (in sessionStorage), so an
 * injected script must have nowhere to run and nowhere to send it.
 */
const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * The operator console's static files (README "Operator console"). Public:
 * they hold no data and no key; everything they show comes from
 * /console/api, which needs an operator key.
 */
@Controller('console')
@Public()
export class ConsolePageController {
  private readonly files = { html: asset('index.html'), js: asset('console.js'), css: asset('console.css') };

  @Get()
  page(@Res() res: Response) {
    this.send(res, 'text/html; charset=utf-8', this.files.html);
  }

  @Get('console.js')
  script(@Res() res: Response) {
    this.send(res, 'text/javascript; charset=utf-8', this.files.js);
  }

  @Get('console.css')
  style(@Res() res: Response) {
    this.send(res, 'text/css; charset=utf-8', this.files.css);
  }

  private send(res: Response, type: string, body: string): void {
    res.setHeader('Content-Type', type);
    res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cache-Control', 'no-cache');
    res.status(200).send(body);
  }
}
