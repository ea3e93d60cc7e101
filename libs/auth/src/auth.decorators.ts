import { SetMetadata } from '@nestjs/common';
import type { Scope } from './scopes.js';

export const PUBLIC_ROUTE = Symbol('relay:public-route');
export const REQUIRED_SCOPES = Symbol('relay:required-scopes');

/** Marks a route or controller as reachable without an API key (health, metrics). */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);

/** The scopes an API key must carry for this route. */
export const Scopes = (...scopes: Scope[]) => SetMetadata(REQUIRED_SCOPES, scopes);
