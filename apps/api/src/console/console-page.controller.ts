import { readFileSync } from 'node:fs';
import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '@relay/auth';
import { notFound } from '@relay/errors';

/** The page's files, read once from the assets folder beside this file (nest-cli.json copies it to dist). Nothing else is served. */
const FILES: Record<string, { type: string; body: string }> = Object.fromEntries(
  [
    ['index.html', 'text/html'],
    ['console.js', 'text/javascript'],
    ['console-view.js', 'text/javascript'],
    ['console.css', 'text/css'],
  ].map(([name, type]) => [name, { type: `${type}; charset=utf-8`, body: readFileSync(new URL(`./assets/${name}`, import.meta.url), 'utf8') }]),
);

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
// The console serves operators through its own page, not integrators: it is not in the OpenAPI document.
@ApiExcludeController()
@Controller('console')
@Public()
export class ConsolePageController {
  @Get()
  page(@Res() res: Response) {
    send(res, FILES['index.html']);
  }

  @Get(':file')
  file(@Param('file') name: string, @Res() res: Response) {
    // The page is served at /console only; its files by their own names.
    if (name === 'index.html' || !Object.hasOwn(FILES, name)) throw notFound('file');
    send(res, FILES[name]);
  }
}

function send(res: Response, file: { type: string; body: string }): void {
  res.setHeader('Content-Type', file.type);
  res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cache-Control', 'no-cache');
  res.status(200).send(file.body);
}
